import type { CloudProject, CloudUsage } from '../http/cloud.js';
import type { Kernel } from '../kernel/kernel.js';
import { DAY_MS, quantity, split } from '../kernel/metering.js';

/** One line of a chart: a quantity per day of the range. */
export interface UsageSeries {
  account_id: string | null;
  account_name: string;
  /** A project, on a cloud that has them (Crusoe); null elsewhere. */
  project_id: string | null;
  project_name: string | null;
  values: number[];
  total: number;
}

/** Usage per UTC day of each cloud that reports some, under its name. */
export interface DailyUsage {
  from: string;
  to: string;
  days: string[];
  [cloud: string]: string | string[] | { metric: string; source: string; series: UsageSeries[] };
}

/** The clouds' usage sources, by cloud name. */
export type UsageSources = readonly { cloud: string; usage: CloudUsage }[];

const round = (n: number) => Math.round(n * 1000) / 1000;
export const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Usage per UTC day over [from, to] (both days included), every account and project, of each
 * cloud that reports some (its intervals: e.g. Crusoe's gpu-hours from the metering ledger,
 * Genesis's instance-hours from the audit log). Open intervals count up to the clock's now; an
 * interval whose account is gone shows under "deleted instances".
 */
export async function dailyUsage(kernel: Kernel, sources: UsageSources, projectList: readonly CloudProject[], from: number, to: number): Promise<DailyUsage> {
  const end = to + DAY_MS;
  const now = kernel.clock.now();
  const days: string[] = [];
  for (let d = from; d < end; d += DAY_MS) days.push(dayOf(d));
  const accounts = new Map((await kernel.tenancy.list()).map((a) => [a.id, a.name]));
  const projects = new Map(projectList.map((p) => [p.id, p.name]));
  const usage: DailyUsage = { from: dayOf(from), to: dayOf(to), days };
  for (const { cloud, usage: source } of sources) {
    const series = new Map<string, UsageSeries>();
    for (const i of await source.intervals(from, end)) {
      const key = `${i.account_id}\u0000${i.project_id}`;
      let s = series.get(key);
      if (!s) {
        const accountName = i.account_id === null ? 'deleted instances' : (accounts.get(i.account_id) ?? i.account_id);
        s = { account_id: i.account_id, account_name: accountName, project_id: i.project_id, project_name: i.project_id ? (projects.get(i.project_id) ?? null) : null, values: days.map(() => 0), total: 0 };
        series.set(key, s);
      }
      for (const [period, ms] of split({ started_at: i.started_at, ended_at: i.ended_at }, from, end, now)) {
        const q = quantity(i.rate, ms);
        s.values[Math.round((period - from) / DAY_MS)]! += q;
        s.total += q;
      }
    }
    const rounded = [...series.values()]
      .map((s) => ({ ...s, values: s.values.map(round), total: round(s.total) }))
      .sort((a, b) => b.total - a.total || a.account_name.localeCompare(b.account_name));
    usage[cloud] = { metric: source.metric, source: source.source, series: rounded };
  }
  return usage;
}
