import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxFabric } from '../../src/fabric/sandbox.js';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { BOOT_MS, CPU_TYPE, createInstance, createKey } from '../helpers/genesis.js';
import { postgresSchema, postgresUrl } from '../helpers/process.js';
import { SshClient, eventually, sandboxEnv, sandboxUnavailable } from '../helpers/ssh.js';

const unavailable = sandboxUnavailable();

/**
 * Two replicas on one PostgreSQL schema, one files directory: exactly one runs the machines;
 * the other takes over (bringing the running instances' machines up) when it goes away.
 */
describe.skipIf(unavailable !== null || postgresUrl === null)('sandbox fabric with replicas', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-sandbox-replicas-'));
  let db: Awaited<ReturnType<typeof postgresSchema>>;
  let first: TestHangar | undefined;
  let second: TestHangar | undefined;
  const machine = (h: TestHangar, id: string) => (h.hangar.fabric as SandboxFabric).environment(id);
  const client = new SshClient();

  beforeAll(async () => {
    db = await postgresSchema(postgresUrl!);
    const env = { ...sandboxEnv(join(dir, 'files')), HANGAR_DATABASE_URL: db.url, HANGAR_DEMO_GENESIS_TOKEN: 'sandbox-replicas-token-0123456789' };
    first = await startHangar({ env });
    second = await startHangar({ env });
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
    await db?.drop();
    client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs each machine in one replica only, and moves them all to the other when it goes away', async () => {
    const replicas = (line: string) => line.startsWith('  replicas');
    expect(first!.hangar.banner().find(replicas)).toMatch(/this one\)$/);
    expect(second!.hangar.banner().find(replicas)).toMatch(/another replica/);

    // Created through the replica that does not run machines (its clock applies the boot).
    const key = await createKey(second!.genesis, 'k', client.publicKey);
    const created = await createInstance(second!.genesis, { type: CPU_TYPE, hostname: 'replicated', ssh_keys: [key.id] });
    await second!.advance(BOOT_MS);
    const instance = (await second!.genesis.get(`/instances/${created.id}`)).body.instance;
    expect(instance.status).toBe('active');
    // The running replica hears of it (a notice, else its own check of the store).
    await eventually(
      async () => machine(first!, created.id)?.running ?? false,
      (running) => running,
    );
    expect(machine(second!, created.id)).toBeUndefined();
    const target = `ubuntu@${instance.public_ip}`;
    const wrote = await eventually(
      () => client.ssh(target, 'hostname; echo kept > note.txt'),
      (r) => r.code === 0,
    );
    expect(wrote.stdout).toBe('replicated\n');

    // The first goes away: the second takes over and brings the machine back, with its files.
    await first!.close();
    first = undefined;
    const back = await eventually(
      () => client.ssh(target, 'hostname; cat note.txt'),
      (r) => r.code === 0,
    );
    expect(back.stdout).toBe('replicated\nkept\n');
    expect(machine(second!, created.id)?.running).toBe(true);
    expect(second!.hangar.banner().find(replicas)).toMatch(/this one\)$/);
  });
});
