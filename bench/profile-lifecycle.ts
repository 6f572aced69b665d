// Profiles the lifecycle engine draining a burst, with nothing else running: fills a store
// (SQLite, or PostgreSQL with --engine postgres) with N instances waiting to boot, starts Hangar under `node --cpu-prof`, makes every
// boot due at once, waits until no timer is left, stops it and prints the profile's summary.
//
// With --replicas N (PostgreSQL), N Hangars share the store and the drain; only the first is profiled.
//
//   node --import tsx bench/profile-lifecycle.ts [--transitions 30000] [--engine sqlite|postgres] [--replicas 1] [--account-clocks 1000] [--no-prof]
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spreadOverAccountClocks } from './suites/lifecycle.js';
import { GENESIS, RESULTS, cpuMs, fillStore, fmt, hangarEnv, log, postgresCpuMs, postgresStore, scratch, sideConnection, sleep, sqliteStore, startHangar, summarizeProfile } from './lib/common.js';

const { values } = parseArgs({ options: { transitions: { type: 'string', default: '30000' }, 'no-prof': { type: 'boolean', default: false }, 'account-clocks': { type: 'string', default: '0' }, engine: { type: 'string', default: 'sqlite' }, replicas: { type: 'string', default: '1' } } });
const replicas = Number(values.replicas);
if (replicas > 1 && values.engine !== 'postgres') throw new Error('--replicas needs --engine postgres');
const count = Number(values.transitions);
const profiling = !values['no-prof'];
const dir = join(RESULTS, 'profiles', `lifecycle-${new Date().toISOString().replace(/[:.]/g, '-')}`);
mkdirSync(dir, { recursive: true });
const store = values.engine === 'postgres' ? postgresStore('profile_lifecycle') : sqliteStore(scratch('profile-lifecycle'), 'lifecycle.db');
try {
  log(`filling ${fmt.int(count)} instances waiting to boot`);
  const { ids } = await fillStore(store, count, 'creating', Date.now() + 86_400_000);
  if (Number(values['account-clocks']) > 0) await spreadOverAccountClocks(store, Number(values['account-clocks']));
  const hangar = await startHangar('hangar', hangarEnv(store), { probe: `${GENESIS}/instances/${ids[0]}`, flags: profiling ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [] });
  const others = await Promise.all(Array.from({ length: replicas - 1 }, (_, i) => startHangar(`replica-${i + 2}`, hangarEnv(store), { probe: `${GENESIS}/instances/${ids[0]}` })));
  const side = await sideConnection(store);
  try {
    const dueAt = Date.now() + 500;
    await side.query('update lifecycle_timers set due_at = ?', [dueAt]);
    // CPU from here to the end (the half second before the burst is due included): the
    // processes' own, which a busy machine distorts less than the drain's duration.
    const database = values.engine === 'postgres' ? postgresCpuMs : () => 0;
    const [hangarBefore, databaseBefore] = [cpuMs(hangar.pid), database()];
    for (;;) {
      const [left] = await side.query<{ n: number }>('select exists (select 1 from lifecycle_timers) as n');
      if (Number(left!.n) === 0) break;
      await sleep(20);
    }
    const perBoot = (ms: number) => `${Math.round((ms * 1000) / count)} µs`;
    const cpu = `Hangar's CPU ${perBoot(cpuMs(hangar.pid) - hangarBefore)} per boot${values.engine === 'postgres' ? `, PostgreSQL's ${perBoot(database() - databaseBefore)}` : ''}`;
    log(`${fmt.int(count)} boots applied in ${fmt.s(Date.now() - dueAt)}${replicas > 1 ? ` by ${replicas} replicas` : ''}; ${cpu}`);
  } finally {
    await side.close();
    await Promise.all(others.map((other) => other.stop()));
    await hangar.stop();
  }
  await sleep(300);
  if (profiling) summarizeProfile(dir, 30);
} finally {
  await store.drop();
}
