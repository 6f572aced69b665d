import { expect } from 'vitest';
import type { ApiResponse, HttpClient } from './http-client.js';
import { publicKey, type TestHangar } from './hangar.js';
import { Counter } from '../../src/clouds/genesis/model/context.js';

/** Shared Genesis fixtures: the region, types and images most tests use, and row inserts for resources the core cannot create yet. */
export const REGION = 'NORD-NO-KRS-1';
export const GPU_TYPE = 'vcpu-8_memory-48g_nvidia-rtx-3090-2';
export const CPU_TYPE = 'vcpu-2_memory-4g';
export const UBUNTU_22 = '7b1644e2-d97d-4725-a927-0028bc60bc28';
export const UBUNTU_20 = 'ac26fa2b-c6d5-47a7-bc4e-5a219797e70f';
/** Boot time of an instance under the `fast` timings the test hangar runs with. */
export const BOOT_MS = 3_000;

/** Asserts a Genesis error: HTTP status, code, and a message that names what is at fault. */
export function expectError(res: ApiResponse, status: number, code: string, mentions?: string | RegExp): void {
  expect(res.status, res.text).toBe(status);
  expect(Object.keys(res.body).sort()).toEqual(['code', 'message']);
  expect(res.body.code).toBe(code);
  expect(typeof res.body.message).toBe('string');
  if (mentions !== undefined) {
    if (typeof mentions === 'string') expect(res.body.message).toContain(mentions);
    else expect(res.body.message).toMatch(mentions);
  }
}

export async function createKey(client: HttpClient, name = 'laptop', value = publicKey()): Promise<any> {
  const res = await client.post('/ssh-keys', { name, value });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

/** Creates an instance (status `creating`); a fresh SSH key is made unless the body brings keys or a password. */
export async function createInstance(client: HttpClient, body: Record<string, unknown> = {}): Promise<any> {
  const auth = 'ssh_keys' in body || 'password' in body ? {} : { ssh_keys: [(await createKey(client)).id] };
  const res = await client.post('/instances', {
    name: 'worker',
    hostname: 'worker',
    type: GPU_TYPE,
    region: REGION,
    image: 'ubuntu-22.04',
    ...auth,
    ...body,
  });
  expect(res.status, res.text).toBe(201);
  expect(res.body.instance.status).toBe('creating');
  return res.body.instance;
}

/** Creates an instance and moves the clock until it is active. */
export async function activeInstance(h: TestHangar, body: Record<string, unknown> = {}, client: HttpClient = h.genesis): Promise<any> {
  const created = await createInstance(client, body);
  await h.advance(BOOT_MS);
  const res = await client.get(`/instances/${created.id}`);
  expect(res.body.instance.status).toBe('active');
  return res.body.instance;
}

export async function instanceStatus(client: HttpClient, id: string): Promise<string> {
  const res = await client.get(`/instances/${id}`);
  expect(res.status, res.text).toBe(200);
  return res.body.instance.status;
}

function rowTimes(h: TestHangar) {
  const now = h.clock.now();
  return { seq: h.hangar.kernel.ids.ordinal(now), created_at: now, updated_at: now };
}

/** Security groups cannot be created through the core API yet: insert the row. */
export async function insertSecurityGroup(h: TestHangar, accountId: string, name: string, region = REGION): Promise<string> {
  const id = h.hangar.kernel.ids.uuid();
  await h.hangar.kernel.db
    .insertInto('genesis_security_groups')
    .values({ id, account_id: accountId, name, description: '', region, status: 'created', is_default: 0, is_internal: 0, rules: '[]', ...rowTimes(h) })
    .execute();
  return id;
}

/** Volumes cannot be created through the core API yet: insert the row. */
export async function insertVolume(h: TestHangar, accountId: string, name: string, region = REGION): Promise<string> {
  const id = h.hangar.kernel.ids.uuid();
  await h.hangar.kernel.db
    .insertInto('genesis_volumes')
    .values({ id, account_id: accountId, name, description: '', type: 'ssd', size: 50, region, status: 'created', ...rowTimes(h) })
    .execute();
  return id;
}

/**
 * A floating IP with a chosen address (the API picks addresses itself): its row inserted, and
 * the account's floating IP count moved, as creating one through the API does.
 */
export async function insertFloatingIp(h: TestHangar, accountId: string, name: string, address: string, region = REGION): Promise<string> {
  const { kernel } = h.hangar;
  const id = kernel.ids.uuid();
  await kernel.db.transaction().execute(async (trx) => {
    await trx
      .insertInto('genesis_floating_ips')
      .values({ id, account_id: accountId, name, description: '', region, version: 'ipv4', ip_address: address, status: 'created', ...rowTimes(h) })
      .execute();
    await kernel.counters.add(trx, accountId, Counter.floatingIps, 1);
  });
  return id;
}

/** The id of the account's default ("standard") security group in a region. */
export async function standardGroupId(h: TestHangar, accountId: string, region = REGION): Promise<string> {
  const row = await h.hangar.kernel.db
    .selectFrom('genesis_security_groups')
    .select('id')
    .where('account_id', '=', accountId)
    .where('region', '=', region)
    .where('is_default', '=', 1)
    .executeTakeFirstOrThrow();
  return row.id as string;
}
