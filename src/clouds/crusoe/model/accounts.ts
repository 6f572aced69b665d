import type { Executor } from '../../../kernel/db/store.js';
import type { Account } from '../../../kernel/tenancy/accounts.js';
import type { CrusoeContext } from './context.js';
import type { Projects } from './projects.js';
import type { IssuedKey, Tokens } from './tokens.js';

export const DEFAULT_PROJECT = 'default';

export interface Provisioned {
  organizationId: string;
  projectId: string;
}

/**
 * What an account is in Crusoe terms: one user (its identity) who owns one organization,
 * which starts with a project named "default", and an API key pair to sign requests with.
 */
export class Accounts {
  constructor(
    private readonly ctx: CrusoeContext,
    private readonly projects: Projects,
    private readonly tokens: Tokens,
  ) {}

  /**
   * The account's user, organization and default project; created if missing (idempotent),
   * with the ids in `keep` when given (the demo account made again after a reset).
   */
  async provision(trx: Executor, account: Pick<Account, 'id' | 'name'>, keep?: Provisioned): Promise<Provisioned> {
    const { kernel } = this.ctx;
    const existing = await trx
      .selectFrom('crusoe_organizations')
      .select('id')
      .where('account_id', '=', account.id)
      .orderBy('seq')
      .limit(1)
      .executeTakeFirst();
    if (existing) {
      const project = await trx
        .selectFrom('crusoe_projects')
        .select('id')
        .where('account_id', '=', account.id)
        .orderBy('seq')
        .limit(1)
        .executeTakeFirst();
      return { organizationId: existing.id, projectId: project?.id ?? (await this.projects.insert(trx, account.id, existing.id, DEFAULT_PROJECT)).id };
    }
    const now = kernel.clockFor(account.id).now();
    const slug = account.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'user';
    await trx
      .insertInto('crusoe_identities')
      .values({ account_id: account.id, id: kernel.ids.uuid(), email: `${slug}@hangar.test`, name: account.name, role: 'admin', created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('account_id').doNothing())
      .execute();
    const organizationId = keep?.organizationId ?? kernel.ids.uuid();
    await trx
      .insertInto('crusoe_organizations')
      .values({
        id: organizationId,
        account_id: account.id,
        name: account.name,
        company_name: null,
        tax_id: null,
        tax_id_type: null,
        billing_addr: null,
        seq: kernel.ids.ordinal(now),
        created_at: now,
        updated_at: now,
      })
      .execute();
    const project = await this.projects.insert(trx, account.id, organizationId, DEFAULT_PROJECT, keep?.projectId);
    return { organizationId, projectId: project.id };
  }

  /** A key pair that does not expire (the account's first, or one pinned by the environment). */
  async issueKey(trx: Executor, accountId: string, pinned?: { accessKey: string; secretKey: string }): Promise<IssuedKey> {
    return this.tokens.issue(trx, accountId, { alias: pinned ? 'pinned' : 'default', expiresAt: null, ...pinned });
  }
}
