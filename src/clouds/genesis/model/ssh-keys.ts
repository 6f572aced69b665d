import type sshpkModule from 'sshpk';
import { lazy } from '../../../kernel/lazy.js';
import type { Executor } from '../../../kernel/db/store.js';
import { Code, genesisError, notFound } from '../errors.js';
import type { SshKeyRow } from '../tables.js';
import { CLOUD, Counter, type GenesisContext } from './context.js';
import { fetchPage, type Page, type PageRequest } from './pagination.js';
import { declareResource, type ResourceDef } from '../../../kernel/resources.js';
import type { GenesisModel } from './index.js';
import { renderSshKey } from '../render.js';

const sshpk = lazy<typeof sshpkModule>('sshpk');

export interface ParsedPublicKey {
  value: string;
  type: string;
  size: number;
  fingerprint: string;
}

/**
 * Reads an OpenSSH public key line ("ssh-ed25519 AAAA… comment"). A private key pasted by
 * mistake is refused with its own code, so the client can tell the user what happened.
 */
export function parsePublicKey(input: string): ParsedPublicKey {
  const value = input.trim();
  if (/PRIVATE KEY-----/.test(value) || looksLikePrivateKey(value)) {
    throw genesisError(Code.PrivateKeyProvided, '"value" is a private key: send the public key (the .pub file) instead');
  }
  let key: sshpkModule.Key;
  try {
    if (value.includes('\n')) throw new Error('more than one line');
    key = sshpk().parseKey(value, 'ssh');
  } catch {
    throw genesisError(Code.SshKeyMalformed, '"value" is not an OpenSSH public key (expected "<type> <base64> [comment]")');
  }
  return {
    value,
    type: key.toString('ssh').split(' ')[0]!,
    size: key.size,
    fingerprint: key.fingerprint('md5').toString('hex'),
  };
}

function looksLikePrivateKey(value: string): boolean {
  try {
    sshpk().parsePrivateKey(value, 'auto');
    return true;
  } catch {
    return false;
  }
}

export class SshKeys {
  constructor(private readonly ctx: GenesisContext) {}

  async list(accountId: string, request: PageRequest): Promise<Page<SshKeyRow>> {
    const { db, kernel } = this.ctx;
    return fetchPage(
      db.selectFrom('genesis_ssh_keys').selectAll().where('account_id', '=', accountId),
      request,
      kernel.counters.get(db, accountId, Counter.sshKeys),
    );
  }

  async get(accountId: string, id: string): Promise<SshKeyRow> {
    const row = await this.ctx.db
      .selectFrom('genesis_ssh_keys')
      .selectAll()
      .where('id', '=', id)
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    if (!row) throw notFound(Code.SshKeyNotFound, 'ssh key', id);
    return row;
  }

  async create(accountId: string, input: { name: string; value: string }): Promise<SshKeyRow> {
    const parsed = parsePublicKey(input.value);
    const { db, kernel } = this.ctx;
    const now = kernel.clockFor(accountId).now();
    const row: SshKeyRow = {
      id: kernel.ids.uuid(),
      account_id: accountId,
      name: input.name,
      value: parsed.value,
      fingerprint: parsed.fingerprint,
      type: parsed.type,
      size: parsed.size,
      seq: kernel.ids.ordinal(now),
      created_at: now,
      updated_at: now,
    };
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('genesis_ssh_keys').values(row).execute();
      await kernel.counters.add(trx, accountId, Counter.sshKeys, 1);
    });
    return row;
  }

  async rename(accountId: string, id: string, name: string | undefined): Promise<SshKeyRow> {
    const { db, kernel } = this.ctx;
    return db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('genesis_ssh_keys')
        .selectAll()
        .where('id', '=', id)
        .where('account_id', '=', accountId)
        .executeTakeFirst();
      if (!row) throw notFound(Code.SshKeyNotFound, 'ssh key', id);
      if (name === undefined || name === row.name) return row;
      const now = kernel.clockFor(accountId).now();
      await trx.updateTable('genesis_ssh_keys').set({ name, updated_at: now }).where('id', '=', id).execute();
      await trx
        .updateTable('genesis_instance_links')
        .set({ target_name: name })
        .where('target_id', '=', id)
        .where('kind', '=', 'ssh_key')
        .execute();
      return { ...row, name, updated_at: now };
    });
  }

  /** Deleting a key does not touch instances already running with it (the key was copied in at boot). */
  async delete(accountId: string, id: string): Promise<void> {
    const { db, kernel } = this.ctx;
    await db.transaction().execute(async (trx) => {
      const result = await trx.deleteFrom('genesis_ssh_keys').where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst();
      if (Number(result.numDeletedRows) !== 1) throw notFound(Code.SshKeyNotFound, 'ssh key', id);
      await kernel.counters.add(trx, accountId, Counter.sshKeys, -1);
    });
  }

  /**
   * Resolves the keys named at instance creation. An unknown one (or another account's) is the
   * seed's 02005 "Invalid ssh key", a fault of the create body; 02047 is for the key routes.
   */
  async resolve(trx: Executor, accountId: string, ids: readonly string[]): Promise<SshKeyRow[]> {
    if (ids.length === 0) return [];
    const rows = (await trx
      .selectFrom('genesis_ssh_keys')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('id', 'in', [...new Set(ids)])
      .execute()) as SshKeyRow[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    const unique = [...new Set(ids)];
    const unknown = unique.find((id) => !byId.has(id));
    if (unknown !== undefined) throw genesisError(Code.InvalidSshKey, `invalid ssh key: "${unknown}" is not one of this account's ssh keys`);
    return unique.map((id) => byId.get(id)!);
  }
}

/** The ssh key as a resource: its table, counter and place in the fleet (kernel/resources.ts). */
export const sshKeyResource: ResourceDef<GenesisModel> = declareResource({
  cloud: CLOUD,
  kind: 'genesis.ssh_key',
  table: 'genesis_ssh_keys',
  counter: Counter.sshKeys,
  fleet: { collection: 'ssh-keys', columns: { status: null, region: null }, read: async (m, a, id) => renderSshKey(await m.sshKeys.get(a, id)) },
});
