import type { CloudProject } from '../http/cloud.js';
import type { Kernel } from '../kernel/kernel.js';
import { DAY_MS, quantity, split } from '../kernel/metering.js';
import type { Fleet, FleetLine } from './fleet.js';

/** One line of a chart: a quantity per day of the range. */
export interface UsageSeries {
  account_id: string | null;
  account_name: string;
  /** A Crusoe project (null for Genesis, which has none). */
  project_id: string | null;
  project_name: string | null;
  values: number[];
  total: number;
}

export interface DailyUsage {
  from: string;
  to: string;
  days: string[];
  crusoe: { metric: 'gpu-hours'; source: 'metering ledger'; series: UsageSeries[] };
  genesis: { metric: 'instance-hours'; source: 'audit log'; series: UsageSeries[] };
}

const GENESIS_INSTANCE = 'genesis.instance';
/** Ids looked up in the fleet per statement. */
const LOOKUP = 500;
const round = (n: number) => Math.round(n * 1000) / 1000;
export const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Usage per UTC day over [from, to] (both days included), every account:
 * - Crusoe gpu-hours per project, from the metering ledger the VM lifecycles write (the ledger
 *   Crusoe's own usage API reports from; open intervals count up to the clock's now).
 * - Genesis instance-hours per account, from the audit log: an instance counts from the
 *   transition that made it active (boot, start, reset) to the next that took it elsewhere
 *   (stop, delete, a failure), or to now while still active. Genesis meters nothing itself
 *   and its real API has no usage report. An instance no longer in the store is shown under
 *   "deleted instances" (the audit log does not name accounts), and one that vanished with its
 *   account stops counting at its last transition.
 */
export async function dailyUsage(kernel: Kernel, fleet: Fleet, projectList: readonly CloudProject[], from: number, to: number): Promise<DailyUsage> {
  const end = to + DAY_MS;
  const now = kernel.clock.now();
  const days: string[] = [];
  for (let d = from; d < end; d += DAY_MS) days.push(dayOf(d));
  const accounts = new Map((await kernel.tenancy.list()).map((a) => [a.id, a.name]));
  const accountName = (id: string | null) => (id === null ? 'deleted instances' : (accounts.get(id) ?? id));
  const series = new Map<string, UsageSeries>();
  const add = (cloud: string, account: string | null, project: string | null, start: number, stop: number | null, rate: number) => {
    const key = `${cloud}\u0000${account}\u0000${project}`;
    let s = series.get(key);
    if (!s) {
      s = { account_id: account, account_name: accountName(account), project_id: project, project_name: null, values: days.map(() => 0), total: 0 };
      series.set(key, s);
    }
    for (const [period, ms] of split({ started_at: start, ended_at: stop }, from, end, now)) {
      const q = quantity(rate, ms);
      s.values[Math.round((period - from) / DAY_MS)]! += q;
      s.total += q;
    }
  };

  // Crusoe: the ledger's gpu-hours intervals overlapping the range.
  const intervals = await kernel.db
    .selectFrom('metering_intervals')
    .select(['account_id', 'scope', 'rate', 'started_at', 'ended_at'])
    .where('cloud', '=', 'crusoe')
    .where('metric', '=', 'gpu-hours')
    .where('started_at', '<', end)
    .where((eb) => eb.or([eb('ended_at', 'is', null), eb('ended_at', '>', from)]))
    .execute();
  for (const i of intervals) add('crusoe', i.account_id, i.scope, Number(i.started_at), i.ended_at === null ? null : Number(i.ended_at), Number(i.rate));

  // Genesis: running spans rebuilt from the audit log's instance transitions.
  const log = await kernel.db
    .selectFrom('lifecycle_log')
    .select(['resource_id', 'to_state', 'applied_at'])
    .where('kind', '=', GENESIS_INSTANCE)
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
  const owners = await linesOf(fleet, [...new Set([...spans.map((s) => s.id), ...running.keys()])]);
  for (const [id, open] of running) spans.push({ id, start: open.start, stop: owners.has(id) ? null : open.last });
  for (const span of spans) if (span.stop === null || span.stop > from) add('genesis', owners.get(span.id)?.account_id ?? null, null, span.start, span.stop, 1);

  // Project names, where the project still exists.
  const projects = new Map(projectList.map((p) => [p.id, p]));
  const out = (cloud: string) =>
    [...series.entries()]
      .filter(([key]) => key.startsWith(`${cloud}\u0000`))
      .map(([, s]) => ({ ...s, project_name: s.project_id ? (projects.get(s.project_id)?.name ?? null) : null, values: s.values.map(round), total: round(s.total) }))
      .sort((a, b) => b.total - a.total || a.account_name.localeCompare(b.account_name));
  return {
    from: dayOf(from),
    to: dayOf(to),
    days,
    crusoe: { metric: 'gpu-hours', source: 'metering ledger', series: out('crusoe') },
    genesis: { metric: 'instance-hours', source: 'audit log', series: out('genesis') },
  };
}

async function linesOf(fleet: Fleet, ids: string[]): Promise<Map<string, FleetLine>> {
  const found = new Map<string, FleetLine>();
  for (let i = 0; i < ids.length; i += LOOKUP) for (const line of await fleet.lines(ids.slice(i, i + LOOKUP))) found.set(line.id, line);
  return found;
}
