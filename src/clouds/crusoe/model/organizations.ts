import type { Executor } from '../../../kernel/db/store.js';
import { CrusoeError, Reason } from '../errors.js';
import type { IdentityRow, OrganizationRow } from '../tables.js';
import type { UpdateEntityInput } from '../wire.js';
import type { CrusoeContext } from './context.js';

/** Someone else's organization, or none: the same answer for both. */
export const orgForbidden = (orgId: string) =>
  new CrusoeError(403, Reason.Unauthorized, `unauthorized: organization "${orgId}" does not exist or you are not its owner`);

/**
 * Organizations ("entities") and the user's identity. Each account is one user who owns one
 * organization, created with the account.
 */
export class Organizations {
  constructor(private readonly ctx: CrusoeContext) {}

  async list(accountId: string): Promise<OrganizationRow[]> {
    return this.ctx.db
      .selectFrom('crusoe_organizations')
      .selectAll()
      .where('account_id', '=', accountId)
      .orderBy('seq')
      .orderBy('id')
      .execute();
  }

  /** One of the caller's organizations, or 403. */
  async owned(trx: Executor, accountId: string, orgId: string): Promise<OrganizationRow> {
    const row = await trx
      .selectFrom('crusoe_organizations')
      .selectAll()
      .where('id', '=', orgId)
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    if (!row) throw orgForbidden(orgId);
    return row as OrganizationRow;
  }

  async update(accountId: string, orgId: string, input: UpdateEntityInput): Promise<OrganizationRow> {
    const { db, kernel } = this.ctx;
    return db.transaction().execute(async (trx) => {
      const row = await this.owned(trx, accountId, orgId);
      const set: Partial<OrganizationRow> = { updated_at: kernel.clockFor(accountId).now() };
      if (input.organization_name !== undefined) set.name = input.organization_name;
      if (input.company_name !== undefined) set.company_name = input.company_name;
      if (input.tax_id !== undefined) set.tax_id = input.tax_id;
      if (input.tax_id_type !== undefined) set.tax_id_type = input.tax_id_type;
      if (input.billing_addr !== undefined) set.billing_addr = JSON.stringify(input.billing_addr);
      await trx.updateTable('crusoe_organizations').set(set).where('id', '=', orgId).execute();
      return { ...row, ...set };
    });
  }

  async identity(accountId: string): Promise<IdentityRow> {
    const row = await this.ctx.db.selectFrom('crusoe_identities').selectAll().where('account_id', '=', accountId).executeTakeFirst();
    if (!row) throw new CrusoeError(401, Reason.BadCredential, 'this account has no Crusoe identity');
    return row as IdentityRow;
  }

  async updateIdentity(accountId: string, input: { name: string; role?: string }): Promise<IdentityRow> {
    const { db, kernel } = this.ctx;
    const set: Partial<IdentityRow> = { name: input.name, updated_at: kernel.clockFor(accountId).now() };
    if (input.role !== undefined) set.role = input.role;
    await db.updateTable('crusoe_identities').set(set).where('account_id', '=', accountId).execute();
    return this.identity(accountId);
  }
}
