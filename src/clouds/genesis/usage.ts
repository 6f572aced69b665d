import type { Kysely } from 'kysely';
import type { CloudUsage, UsageInterval } from '../../http/cloud.js';
import { INSTANCE_KIND } from './model/instances.js';

/** Instance ids looked up per statement. */
const LOOKUP = 500;

/**
 * Genesis instance-hours, for the console's usage page. Genesis meters nothing itself and its
 * real API has no usage report, so the spans are rebuilt from the audit log: an instance counts
 * from the transition that made it active (boot, start, reset) to the next that took it
 * elsewhere (stop, delete, a failure), or to now while still active. The audit log names no
 * account: an instance no longer in the store has none (null), and one that vanished with its
 * account stops counting at its last transition.
 */
export function instanceHours(db: Kysely<any>): CloudUsage {
  return {
    metric: 'instance-hours',
    source: 'audit log',
    async intervals(from, end) {
      const log = await db
        .selectFrom('lifecycle_log')
        .select(['resource_id', 'to_state', 'applied_at'])
        .where('kind', '=', INSTANCE_KIND)
        .where('applied_at', '<', end)
        .orderBy('applied_at')
        .orderBy('id')
        .execute();
      const spans: { id: string; start: number; stop: number | null }[] = [];
      const running = new Map<string, { start: number; last: number }>();
      for (const row of log) {
        const at = Number(row.applied_at);
        const open = running.get(row.resource_id);
        if (row.to_state === 'active') {
          if (open) open.last = at;
          else running.set(row.resource_id, { start: at, last: at });
        } else if (open) {
          spans.push({ id: row.resource_id, start: open.start, stop: at });
          running.delete(row.resource_id);
        }
      }
      const owners = await ownersOf(db, [...new Set([...spans.map((s) => s.id), ...running.keys()])]);
      for (const [id, open] of running) spans.push({ id, start: open.start, stop: owners.has(id) ? null : open.last });
      return spans
        .filter((span) => span.stop === null || span.stop > from)
        .map((span): UsageInterval => ({ account_id: owners.get(span.id) ?? null, project_id: null, started_at: span.start, ended_at: span.stop, rate: 1 }));
    },
  };
}

/** The accounts of the instances still in the store. */
async function ownersOf(db: Kysely<any>, ids: string[]): Promise<Map<string, string>> {
  const owners = new Map<string, string>();
  for (let i = 0; i < ids.length; i += LOOKUP) {
    const rows = await db.selectFrom('genesis_instances').select(['id', 'account_id']).where('id', 'in', ids.slice(i, i + LOOKUP)).execute();
    for (const r of rows) owners.set(String(r.id), String(r.account_id));
  }
  return owners;
}
