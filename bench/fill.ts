// Fills a store with Genesis instances through the store layer (not HTTP), in big
// transactions, writing what an instance create writes (src/clouds/genesis/model/instances.ts):
// the instance row with its `seq` ordinal, its link to the region's default security group, the
// account's instance counter and the stock in use, and either the pending boot timer
// (`--status creating`) or, for instances that have already booted (`--status active`), the
// addresses the boot transition leases and the columns it sets.
//
//   node --import tsx bench/fill.ts --url sqlite:/tmp/x.db --count 1000000 [--status active|creating] [--due-at <ms>]
//
// The store is created (migrations, catalog stock, the demo account with the bench token) if
// it is empty. The lifecycle log of the boot transitions is not written: nothing reads it on
// the paths measured.
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { createHangar } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { formatIpv4, parseCidr } from '../src/kernel/ipam.js';
import { REGION, hangarEnv, type StoreSpec } from './lib/common.js';

const INSTANCE_KIND = 'genesis.instance';
const TYPE = 'vcpu-4_memory-8g';
const IMAGE = { id: '', name: '', os_type: '' };
const PER_TRANSACTION = 50_000;
const PER_STATEMENT = 1_000;

export interface FillOptions {
  count: number;
  status: 'active' | 'creating';
  /** For `creating`: when every boot timer falls due (ms since the epoch). */
  dueAt?: number;
  onProgress?: (done: number) => void;
}

export async function fill(store: Pick<StoreSpec, 'url'>, options: FillOptions): Promise<{ accountId: string; ids: string[]; ms: number }> {
  const started = performance.now();
  const config = loadConfig({ ...hangarEnv({ engine: 'sqlite', url: store.url, drop: async () => undefined }), HANGAR_LOG_LEVEL: 'error' });
  const hangar = await createHangar(config);
  const { kernel } = hangar;
  await kernel.lifecycle.stop(); // the fill writes timers; this process must not apply them
  const db = kernel.db;
  try {
    const accountId = hangar.demo.accountId!;
    const image = await imageOf(config.catalogs.genesis!);
    const group = await db
      .selectFrom('genesis_security_groups')
      .select(['id', 'name'])
      .where('account_id', '=', accountId)
      .where('region', '=', REGION)
      .where('is_default', '=', 1)
      .executeTakeFirstOrThrow();
    const ids: string[] = [];
    for (let done = 0; done < options.count; ) {
      const n = Math.min(PER_TRANSACTION, options.count - done);
      await db.transaction().execute(async (trx) => {
        const now = kernel.clock.now();
        const rows: Record<string, unknown>[] = [];
        for (let i = 0; i < n; i++) {
          const id = kernel.ids.uuid();
          ids.push(id);
          rows.push({
            id,
            account_id: accountId,
            name: `bench-${done + i}`,
            hostname: `bench-${done + i}`,
            type: TYPE,
            region: REGION,
            placement_option: 'AUTO',
            image_id: image.id,
            image_name: image.name,
            os_type: image.os_type,
            status: 'creating',
            private_ip: null,
            public_ip: null,
            public_ip_type: 'dynamic',
            dns_name: '',
            is_protected: 0,
            disk_size: 80,
            destroy_on_shutdown: 0,
            public_ipv6: 0,
            billing_type: 'on-demand',
            reservation_id: null,
            metadata: '{}',
            seq: kernel.ids.ordinal(now),
            created_at: now,
            updated_at: now,
          });
        }
        if (options.status === 'active') {
          const privates = await lease(trx, `genesis:${REGION}:private`, rows.map((r) => r.id as string));
          const publics = await lease(trx, `genesis:${REGION}:public`, rows.map((r) => r.id as string));
          rows.forEach((row, i) => {
            row.status = 'active';
            row.private_ip = privates[i];
            row.public_ip = publics[i];
            row.dns_name = `${String(row.hostname).split('.')[0]}-${String(row.id).slice(0, 8)}.${REGION.toLowerCase()}.compute.hangar.test`;
          });
        }
        for (let i = 0; i < rows.length; i += PER_STATEMENT) {
          await trx.insertInto('genesis_instances').values(rows.slice(i, i + PER_STATEMENT)).execute();
        }
        const links = rows.map((r) => ({ instance_id: r.id, kind: 'security_group', target_id: group.id, target_name: group.name, position: 0 }));
        for (let i = 0; i < links.length; i += PER_STATEMENT * 5) {
          await trx.insertInto('genesis_instance_links').values(links.slice(i, i + PER_STATEMENT * 5)).execute();
        }
        if (options.status === 'creating') {
          const due = options.dueAt ?? now;
          const timers = rows.map((r) => ({
            id: kernel.ids.sequential(), // (as the lifecycle engine makes them)
            kind: INSTANCE_KIND,
            resource_id: r.id,
            transition: 'boot',
            due_at: due,
            created_at: now,
            held: 0,
            reads_left: null,
          }));
          for (let i = 0; i < timers.length; i += PER_STATEMENT * 3) {
            await trx.insertInto('lifecycle_timers').values(timers.slice(i, i + PER_STATEMENT * 3)).execute();
          }
        }
        await kernel.counters.add(trx, accountId, 'genesis.instances', n);
        if (!(await kernel.capacity.acquire(trx, 'genesis', REGION, TYPE, n))) throw new Error('the bench catalog ran out of stock');
      });
      done += n;
      options.onProgress?.(done);
    }
    // What autovacuum would have done by the time a store grew this big (this machine's
    // PostgreSQL runs with autovacuum off): without statistics the planner reads a million
    // rows to find a hundred.
    if (kernel.store.engine === 'postgres') {
      for (const table of ['genesis_instances', 'genesis_instance_links', 'lifecycle_timers', 'ip_leases']) await sql`analyze ${sql.table(table)}`.execute(db);
    }
    return { accountId, ids, ms: performance.now() - started };
  } finally {
    await hangar.close();
  }

  /** What Ipam.allocate hands out, in its order, for many owners at once. */
  async function lease(trx: any, pool: string, owners: string[]): Promise<string[]> {
    const row = await trx.selectFrom('ip_pools').select(['cidr', 'cursor']).where('name', '=', pool).executeTakeFirstOrThrow();
    const { base, size } = parseCidr(row.cidr);
    let cursor = Number(row.cursor);
    const out: string[] = [];
    const leases: Record<string, unknown>[] = [];
    for (const owner of owners) {
      for (;;) {
        cursor++;
        const offset = 2 + ((cursor - 1) % Math.max(1, size - 3));
        if (offset >= 2 && offset < size - 1 && offset % 256 !== 0 && offset % 256 !== 255) {
          leases.push({ pool, address: base + offset, owner });
          out.push(formatIpv4(base + offset));
          break;
        }
      }
    }
    for (let i = 0; i < leases.length; i += PER_STATEMENT * 5) await trx.insertInto('ip_leases').values(leases.slice(i, i + PER_STATEMENT * 5)).execute();
    await trx.updateTable('ip_pools').set({ cursor }).where('name', '=', pool).execute();
    return out;
  }
}

async function imageOf(catalogPath: string): Promise<typeof IMAGE> {
  const { readFileSync } = await import('node:fs');
  const catalog = JSON.parse(readFileSync(catalogPath, 'utf8'));
  const image = catalog.images.find((i: { slug: string }) => i.slug === 'ubuntu-22.04');
  return { id: image.id, name: image.name, os_type: image.os_type };
}

// As a command: fill, then print {accountId, count, ms, sample ids} as JSON.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      count: { type: 'string', default: '1000000' },
      status: { type: 'string', default: 'active' },
      'due-at': { type: 'string' },
      'ids-out': { type: 'string' },
    },
  });
  if (!values.url) {
    console.error('usage: node --import tsx bench/fill.ts --url <HANGAR_DATABASE_URL> [--count N] [--status active|creating] [--due-at ms] [--ids-out file]');
    process.exit(2);
  }
  const count = Number(values.count);
  let lastReport = 0;
  const result = await fill(
    { url: values.url },
    {
      count,
      status: values.status === 'creating' ? 'creating' : 'active',
      ...(values['due-at'] ? { dueAt: Number(values['due-at']) } : {}),
      onProgress: (done) => {
        if (done - lastReport >= 100_000 || done === count) {
          lastReport = done;
          process.stderr.write(`  filled ${done.toLocaleString('en-US')} / ${count.toLocaleString('en-US')}\n`);
        }
      },
    },
  );
  if (values['ids-out']) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(values['ids-out'], result.ids.join('\n') + '\n');
  }
  console.log(JSON.stringify({ accountId: result.accountId, count, ms: Math.round(result.ms) }));
}
