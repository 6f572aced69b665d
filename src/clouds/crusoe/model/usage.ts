import { DAY_MS, quantity, split, type MeterInterval } from '../../../kernel/metering.js';
import { badRequest } from '../errors.js';
import { CLOUD, regionOf, type CrusoeContext } from './context.js';
import type { Organizations } from './organizations.js';
import { csv } from './resource.js';

/** One row of the project-level report: a metric of a resource type in a project and region, for a day (or month). */
export interface UsageRow {
  date: string;
  project_id: string;
  region: string;
  resource_type: string;
  billable_metric: string;
  quantity: number;
}

/** One row of the resource-level export: the same, per resource and day. */
export interface UsageExportRow extends UsageRow {
  resource_id: string;
}

export interface UsageFilter {
  projects?: string[];
  resource_types?: string[];
  regions?: string[];
  resources?: string[];
  start_date?: string;
  end_date?: string;
  interval?: string;
}

export interface UsageOptionsView {
  projects: string[];
  resource_types: string[];
  product_lines: string[];
  regions: string[];
  start_date: string;
  end_date: string;
}

/** The longest range one report may cover. */
const MAX_DAYS = 3 * 366;

/** The product line a metric bills: VMs are compute, disks and snapshots storage, load balancers networking. */
const productLine = (metric: string): string => (metric === 'gpu-hours' || metric === 'cpu-hours' ? 'compute' : metric === 'gib-hours' ? 'storage' : 'networking');

/**
 * Usage, computed from the kernel's metering ledger: every interval a VM of a type ran, a
 * disk or snapshot existed at a size, a load balancer existed, split into UTC days. A VM of
 * type a100.2x running a whole day is 48 gpu-hours that day; a 100 GiB disk, 2,400
 * gib-hours. Open intervals count up to the clock's now.
 */
export class Usage {
  constructor(
    private readonly ctx: CrusoeContext,
    private readonly organizations: Organizations,
  ) {}

  /** Project-level usage: per date, project, region, resource type and metric. */
  async report(accountId: string, orgId: string, filter: UsageFilter): Promise<UsageRow[]> {
    await this.organizations.owned(this.ctx.db, accountId, orgId);
    const monthly = parseInterval(filter.interval);
    const rows = await this.rows(accountId, filter);
    const sums = new Map<string, UsageRow>();
    for (const r of rows) {
      const date = monthly ? `${r.date.slice(0, 7)}-01` : r.date;
      const key = [date, r.project_id, r.region, r.resource_type, r.billable_metric].join('\u0000');
      const sum = sums.get(key);
      if (sum) sum.quantity += r.quantity;
      else sums.set(key, { date, project_id: r.project_id, region: r.region, resource_type: r.resource_type, billable_metric: r.billable_metric, quantity: r.quantity });
    }
    return sortRows([...sums.values()].map((r) => ({ ...r, quantity: round(r.quantity) })));
  }

  /** Resource-level usage: per date and resource. */
  async export(accountId: string, orgId: string, filter: UsageFilter): Promise<UsageExportRow[]> {
    await this.organizations.owned(this.ctx.db, accountId, orgId);
    const rows = await this.rows(accountId, filter);
    const sums = new Map<string, UsageExportRow>();
    for (const r of rows) {
      // A VM that changed type has one row per type (each type is billed at its own rate).
      const key = [r.date, r.resource_id, r.resource_type, r.billable_metric].join('\u0000');
      const sum = sums.get(key);
      if (sum) sum.quantity += r.quantity;
      else sums.set(key, { ...r });
    }
    return sortRows([...sums.values()].map((r) => ({ ...r, quantity: round(r.quantity) })));
  }

  /** What the filters can be set to: the organization's projects, and what its usage has seen. */
  async options(accountId: string, orgId: string): Promise<UsageOptionsView> {
    const { db, kernel } = this.ctx;
    await this.organizations.owned(db, accountId, orgId);
    const { metering } = kernel;
    const clock = kernel.clockFor(accountId);
    const projects = (await db.selectFrom('crusoe_projects').select('id').where('organization_id', '=', orgId).orderBy('seq').orderBy('id').execute()).map((p) => p.id as string);
    const scopes = await metering.distinct(db, accountId, CLOUD, 'scope');
    const types = await metering.distinct(db, accountId, CLOUD, 'resource_type');
    const metrics = await metering.distinct(db, accountId, CLOUD, 'metric');
    const first = await metering.firstUsage(db, accountId, CLOUD);
    const lines = new Set(metrics.map(productLine));
    return {
      projects: [...projects, ...scopes.filter((s) => !projects.includes(s))],
      resource_types: types,
      product_lines: [...lines].sort(),
      regions: await metering.distinct(db, accountId, CLOUD, 'region'),
      start_date: day(first ?? clock.now()),
      end_date: day(clock.now()),
    };
  }

  /** Usage per interval and UTC day within the filter's range. */
  private async rows(accountId: string, filter: UsageFilter): Promise<UsageExportRow[]> {
    const { db, kernel } = this.ctx;
    const now = kernel.clockFor(accountId).now();
    const from = filter.start_date ? parseDate(filter.start_date, 'start_date') : Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1);
    const until = (filter.end_date ? parseDate(filter.end_date, 'end_date') : parseDate(day(now), 'end_date')) + DAY_MS; // the end date is included
    if (until <= from) throw badRequest(`"end_date" (${day(until - DAY_MS)}) must not be before "start_date" (${day(from)})`);
    if ((until - from) / DAY_MS > MAX_DAYS) throw badRequest(`a report covers at most ${MAX_DAYS} days; narrow "start_date" to "end_date"`);
    const regions = csv(filter.regions).map(regionOf);
    const intervals: MeterInterval[] = await kernel.metering.intervals(db, {
      accountId,
      cloud: CLOUD,
      from,
      to: until,
      scopes: csv(filter.projects),
      regions,
      resourceTypes: csv(filter.resource_types),
      resourceIds: csv(filter.resources),
    });
    const out: UsageExportRow[] = [];
    for (const interval of intervals) {
      for (const [period, ms] of split(interval, from, until, now)) {
        out.push({
          date: day(period),
          project_id: interval.scope,
          region: interval.region,
          resource_type: interval.resource_type,
          billable_metric: interval.metric,
          resource_id: interval.resource_id,
          quantity: quantity(interval.rate, ms),
        });
      }
    }
    return out;
  }
}

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** Six decimals: whole seconds of a one-unit rate show exactly (1 s = 0.000278 h), sums stay tidy. */
const round = (n: number): number => Math.round(n * 1e6) / 1e6;

/** "2022-07-01", also as the seed's samples write it (`"2022-07-01"`, quotes included). */
function parseDate(text: string, field: string): number {
  const value = text.trim().replace(/^"(.*)"$/, '$1');
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const ms = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : Number.NaN;
  if (!Number.isFinite(ms) || day(ms) !== value) throw badRequest(`"${field}" must be a date such as "2024-07-01" (got "${text}")`);
  return ms;
}

function parseInterval(interval: string | undefined): boolean {
  if (interval === undefined || interval === '' || interval === 'daily') return false;
  if (interval === 'monthly') return true;
  throw badRequest(`"interval" must be one of: daily, monthly (got "${interval}")`);
}

function sortRows<T extends UsageRow & { resource_id?: string }>(rows: T[]): T[] {
  const key = (r: T) => [r.date, r.project_id, r.region, r.resource_type, r.resource_id ?? '', r.billable_metric].join('\u0000');
  return rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
