import type { Executor } from '../../../kernel/db/store.js';
import { conflict } from '../errors.js';

export const ReferrerKind = { firewallRule: 'firewall_rule', loadBalancer: 'load_balancer' } as const;
export type ReferrerKind = (typeof ReferrerKind)[keyof typeof ReferrerKind];

const label: Record<string, string> = { firewall_rule: 'firewall rule', load_balancer: 'load balancer' };

/**
 * Who names whom by id (a firewall rule's sources and destinations, a load balancer's
 * targets). The rows make "is anything pointing at this?" one indexed read, so a resource
 * that something depends on is refused deletion with the name of what depends on it.
 */
export class References {
  /** Replaces what a referrer points at. */
  async set(trx: Executor, accountId: string, referrerId: string, kind: ReferrerKind, targets: readonly string[]): Promise<void> {
    await trx.deleteFrom('crusoe_references').where('referrer_id', '=', referrerId).execute();
    const unique = [...new Set(targets)];
    if (unique.length === 0) return;
    await trx
      .insertInto('crusoe_references')
      .values(unique.map((target_id) => ({ referrer_id: referrerId, target_id, account_id: accountId, referrer_kind: kind })))
      .execute();
  }

  async clear(trx: Executor, referrerIds: readonly string[]): Promise<void> {
    if (referrerIds.length === 0) return;
    await trx.deleteFrom('crusoe_references').where('referrer_id', 'in', [...referrerIds]).execute();
  }

  /** 409 when anything names the resource. `what` is how the message names it: `VM "…"`. */
  async assertFree(trx: Executor, targetId: string, what: string): Promise<void> {
    const found = await trx
      .selectFrom('crusoe_references')
      .select(['referrer_id', 'referrer_kind'])
      .where('target_id', '=', targetId)
      .orderBy('referrer_id')
      .limit(1)
      .executeTakeFirst();
    if (found) {
      const kind = label[found.referrer_kind] ?? found.referrer_kind;
      throw conflict(`${what} is in use: ${kind} "${found.referrer_id}" names it; change or delete the ${kind} first`);
    }
  }
}
