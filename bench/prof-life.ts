import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH, GENESIS, RESULTS, fillStore, hangarEnv, log, scratch, sideConnection, sleep, sqliteStore, startHangar } from './lib/common.js';
const n = Number(process.argv[2] ?? 30000);
const dir = join(RESULTS, 'profiles', `life-${Date.now()}`);
mkdirSync(dir, { recursive: true });
const store = sqliteStore(scratch('plife'), 'l.db');
const { ids } = await fillStore(store, n, 'creating', Date.now() + 86_400_000);
const hangar = await startHangar('h', hangarEnv(store), { probe: `${GENESIS}/instances/${ids[0]}`, flags: process.env.NOPROF ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
const side = await sideConnection(store);
const due = Date.now() + 500;
await side.query('update lifecycle_timers set due_at = ?', [due]);
for (;;) {
  const [t] = await side.query<{ n: number }>('select exists (select 1 from lifecycle_timers) as n');
  if (Number(t!.n) === 0) break;
  await sleep(20);
}
log(`drained ${n} in ${Date.now() - due} ms`);
await side.close();
process.kill(hangar.pid, 'SIGUSR2'); await sleep(500);
await hangar.stop();
await sleep(300);
if (!process.env.NOPROF) {
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!;
spawnSync(process.execPath, [join(BENCH, 'profile-summary.mjs'), join(dir, file), '40'], { stdio: 'inherit' });
}
await store.drop();
