import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Kernel } from '../kernel/kernel.js';

/** Accounts that get a series of their own in hangar_account_requests_total; later ones count as `other`. */
export const ACCOUNT_SERIES_LIMIT = 100;

/** How long a count of resources by status is reused: each is a grouped scan of every kind's table. */
const RESOURCE_COUNT_TTL_MS = 5_000;

/**
 * The metrics a dashboard is made of (deploy/grafana-dashboard.json), beside the HTTP ones:
 * resources by kind and status, lifecycle transitions applied and how late, faults fired, and
 * requests per account. Returns what the request path calls.
 */
export function dashboardMetrics(registry: Registry, kernel: Kernel): { request(account: string, cloud: string | null): void } {
  let counted: { at: number; rows: Promise<{ kind: string; status: string; count: number }[]> } | null = null;
  new Gauge({
    name: 'hangar_resources',
    help: 'Resources by kind and status (e.g. genesis.instance active)',
    labelNames: ['kind', 'status'] as const,
    registers: [registry],
    async collect() {
      const now = Date.now();
      if (counted === null || now - counted.at > RESOURCE_COUNT_TTL_MS) counted = { at: now, rows: kernel.lifecycle.countByStatus() };
      const rows = await counted.rows;
      // A status no resource is in any more reads 0 rather than its last count.
      this.reset();
      for (const row of rows) this.set({ kind: row.kind, status: row.status }, row.count);
    },
  });

  const transitions = new Counter({
    name: 'hangar_lifecycle_transitions_total',
    help: 'Lifecycle transitions applied, by kind, transition and outcome (failed: a staged fault sent the resource to its failure state)',
    labelNames: ['kind', 'transition', 'outcome'] as const,
    registers: [registry],
  });
  const lag = new Histogram({
    name: 'hangar_lifecycle_transition_lag_seconds',
    help: "How long after its due time a transition was applied, on Hangar's clock (moving the clock forward shows here too)",
    labelNames: ['kind'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 3600],
    registers: [registry],
  });
  kernel.lifecycle.onApplied(({ kind, transition, failed, lagMs }) => {
    transitions.inc({ kind, transition, outcome: failed ? 'failed' : 'applied' });
    lag.observe({ kind }, lagMs / 1000);
  });

  const faults = new Counter({
    name: 'hangar_faults_fired_total',
    help: 'Staged faults that fired, by cloud and target (a request, or a lifecycle transition)',
    labelNames: ['cloud', 'target'] as const,
    registers: [registry],
  });
  kernel.faults.onFired(({ cloud, target }) => faults.inc({ cloud, target }));

  // Per-account counts in plain numbers, folded into the counter when scraped (the request path
  // only bumps a number). The first ACCOUNT_SERIES_LIMIT accounts get a series each; the rest
  // share `other`, so a suite that makes thousands of accounts cannot blow up the series count.
  const unfolded = new Map<string, { account: string; cloud: string; n: number }>();
  const named = new Set<string>();
  new Counter({
    name: 'hangar_account_requests_total',
    help: `API requests by account (the first ${ACCOUNT_SERIES_LIMIT} accounts seen; later ones as "other") and cloud`,
    labelNames: ['account', 'cloud'] as const,
    registers: [registry],
    collect() {
      for (const tally of unfolded.values()) {
        if (tally.n === 0) continue;
        this.inc({ account: tally.account, cloud: tally.cloud }, tally.n);
        tally.n = 0;
      }
    },
  });
  return {
    request(account, cloud) {
      if (account === '' || cloud === null) return;
      const key = `${cloud} ${account}`;
      let tally = unfolded.get(key);
      if (tally === undefined) {
        if (named.size < ACCOUNT_SERIES_LIMIT) named.add(account);
        const label = named.has(account) ? account : 'other';
        tally = unfolded.get(`${cloud} ${label}`) ?? { account: label, cloud, n: 0 };
        unfolded.set(`${cloud} ${label}`, tally);
        unfolded.set(key, tally);
      }
      tally.n++;
    },
  };
}
