import type sshpkModule from 'sshpk';
import { lazy } from '../../../kernel/lazy.js';
import { badRequest, conflict, notFound } from '../errors.js';
import type { SshKeyRow } from '../tables.js';
import type { CrusoeContext } from './context.js';

const sshpk = lazy<typeof sshpkModule>('sshpk');

export interface ParsedKey {
  /** The key line as stored: type, base64 and comment, single spaces. */
  line: string;
  md5: string;
  sha256: string;
}

/**
 * Reads an OpenSSH public key line ("ssh-ed25519 AAAA… comment"): one line, a public key
 * (a private key pasted by mistake is refused as such). `field` names the request field in
 * the error message.
 */
export function parsePublicKey(input: string, field: string): ParsedKey {
  const value = input.trim();
  if (/PRIVATE KEY/.test(value)) throw badRequest(`"${field}" is a private key: send the public key (the .pub file) instead`);
  let key: sshpkModule.Key;
  try {
    if (/[\r\n]/.test(value)) throw new Error('more than one line');
    key = sshpk().parseKey(value, 'ssh');
  } catch {
    throw badRequest(`"${field}" is not an OpenSSH public key (expected "<type> <base64> [comment]" on one line)`);
  }
  return {
    line: value.split(/\s+/).join(' '),
    md5: key.fingerprint('md5').toString('hex'),
    // OpenSSH's form without its "SHA256:" label, as the seed shows it: 43 characters of base64.
    sha256: key.fingerprint('sha256').toString('base64').replace(/^SHA256:/, '').replace(/=+$/, ''),
  };
}

/** The user's SSH keys: registered once, named, shown with both fingerprints. */
export class SshKeys {
  constructor(private readonly ctx: CrusoeContext) {}

  async list(accountId: string): Promise<SshKeyRow[]> {
    return this.ctx.db
      .selectFrom('crusoe_ssh_keys')
      .selectAll()
      .where('account_id', '=', accountId)
      .orderBy('seq')
      .orderBy('id')
      .execute();
  }

  async create(accountId: string, input: { name: string; public_key: string }): Promise<SshKeyRow> {
    const parsed = parsePublicKey(input.public_key, 'public_key');
    const { db, kernel } = this.ctx;
    return db.transaction().execute(async (trx) => {
      const taken = await trx
        .selectFrom('crusoe_ssh_keys')
        .select('id')
        .where('account_id', '=', accountId)
        .where('name', '=', input.name)
        .executeTakeFirst();
      if (taken) throw conflict(`an SSH key named "${input.name}" already exists`);
      const row: SshKeyRow = {
        id: kernel.ids.uuid(),
        account_id: accountId,
        name: input.name,
        public_key: parsed.line,
        md5: parsed.md5,
        sha256: parsed.sha256,
        seq: kernel.ids.ordinal(kernel.clockFor(accountId).now()),
        created_at: kernel.clockFor(accountId).now(),
      };
      await trx.insertInto('crusoe_ssh_keys').values(row).execute();
      return row;
    });
  }

  async delete(accountId: string, id: string): Promise<void> {
    const result = await this.ctx.db.deleteFrom('crusoe_ssh_keys').where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst();
    if (Number(result.numDeletedRows) !== 1) throw notFound('ssh key', id);
  }
}
