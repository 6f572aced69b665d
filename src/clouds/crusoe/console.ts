import type { Kysely } from 'kysely';
import type { CloudProject, CloudUsage } from '../../http/cloud.js';
import { CLOUD } from './model/context.js';

/**
 * Crusoe gpu-hours per project, for the console's usage page: the metering ledger the VM
 * lifecycles write, which Crusoe's own usage API reports from.
 */
export function gpuHours(db: Kysely<any>): CloudUsage {
  return {
    metric: 'gpu-hours',
    source: 'metering ledger',
    async intervals(from, end) {
      const rows = await db
        .selectFrom('metering_intervals')
        .select(['account_id', 'scope', 'rate', 'started_at', 'ended_at'])
        .where('cloud', '=', CLOUD)
        .where('metric', '=', 'gpu-hours')
        .where('started_at', '<', end)
        .where((eb) => eb.or([eb('ended_at', 'is', null), eb('ended_at', '>', from)]))
        .execute();
      return rows.map((r) => ({ account_id: r.account_id, project_id: r.scope, started_at: Number(r.started_at), ended_at: r.ended_at === null ? null : Number(r.ended_at), rate: Number(r.rate) }));
    },
  };
}

/** The projects (of one account, or all), oldest first: where a client's settings name one. */
export async function projectsOf(db: Kysely<any>, accountId?: string): Promise<CloudProject[]> {
  let query = db.selectFrom('crusoe_projects').select(['id', 'name', 'account_id', 'organization_id']);
  if (accountId !== undefined) query = query.where('account_id', '=', accountId);
  const rows = await query.orderBy('seq').execute();
  return rows.map((r) => ({ cloud: CLOUD, id: String(r.id), name: String(r.name), account_id: String(r.account_id), organization_id: String(r.organization_id) }));
}
