#!/usr/bin/env node
// The test command: the whole suite on SQLite, then again on PostgreSQL. PostgreSQL is
// HANGAR_TEST_POSTGRES_URL when set, else the local server on its default port when it answers
// (each test Hangar gets a schema of its own there); Redis likewise (HANGAR_TEST_REDIS_URL, else
// 127.0.0.1:6379), for the test of replicas sharing a rate limit. Set either to `off` to skip it.
//
// Two runs rather than one vitest run with two `projects`: the suite keeps both cores busy
// already (maxWorkers: 2), so one run of both engines takes as long as two runs one after the
// other; this way SQLite's failures show before PostgreSQL's pass begins, each engine's result
// stands on its own, and the probing of local services stays out of the vitest config.
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { vacuumCatalogs } from './catalogs.mjs';

const extra = process.argv.slice(2);
const run = (label, env) => {
  console.log(`\n== tests on ${label} ==`);
  const result = spawnSync('npx', ['vitest', 'run', ...extra], { stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

/** Whether something accepts connections on host:port within a second. */
function answers(host, port) {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1000 });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true)).once('error', () => done(false)).once('timeout', () => done(false));
  });
}

/** The local PostgreSQL's `test` database, as this user (trust auth, as on the project's machines), if it lets us in. */
async function localPostgres() {
  if (!(await answers('127.0.0.1', 5432))) return { url: null, why: 'nothing answers on 127.0.0.1:5432' };
  const user = process.env.PGUSER ?? userInfo().username;
  const url = `postgres://${user}@127.0.0.1:5432/test`;
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return { url, why: '' };
  } catch (error) {
    return { url: null, why: `${url}: ${error.message}` };
  } finally {
    await client.end().catch(() => undefined);
  }
}

const env = {};
let postgres = process.env.HANGAR_TEST_POSTGRES_URL;
if (postgres === 'off') {
  postgres = undefined;
  env.HANGAR_TEST_POSTGRES_URL = ''; // (not 'off': the tests read it as a URL when set)
  console.log('PostgreSQL: off (HANGAR_TEST_POSTGRES_URL=off)');
} else if (postgres) {
  console.log(`PostgreSQL: ${postgres} (HANGAR_TEST_POSTGRES_URL)`);
} else {
  const found = await localPostgres();
  postgres = found.url ?? undefined;
  if (postgres) console.log(`PostgreSQL: ${postgres} answers, the suite runs on it too (HANGAR_TEST_POSTGRES_URL chooses another, =off skips it)`);
  else console.log(`PostgreSQL: none found (${found.why}); its pass is skipped. Set HANGAR_TEST_POSTGRES_URL=postgres://user@host:5432/db to run it`);
}
if (postgres) env.HANGAR_TEST_POSTGRES_URL = postgres;

let redis = process.env.HANGAR_TEST_REDIS_URL;
if (redis === 'off') {
  env.HANGAR_TEST_REDIS_URL = '';
  console.log('Redis: off (HANGAR_TEST_REDIS_URL=off)');
} else if (redis) {
  console.log(`Redis: ${redis} (HANGAR_TEST_REDIS_URL)`);
} else if (await answers('127.0.0.1', 6379)) {
  env.HANGAR_TEST_REDIS_URL = redis = 'redis://127.0.0.1:6379';
  console.log(`Redis: ${redis} answers, the shared rate-limit test uses it (HANGAR_TEST_REDIS_URL=off skips it)`);
} else {
  console.log('Redis: none on 127.0.0.1:6379; the shared rate-limit test is skipped. Set HANGAR_TEST_REDIS_URL=redis://host:6379 to run it');
}

/** The system catalogs vacuumed before the PostgreSQL pass (see catalogs.mjs). */
async function vacuumBefore(url) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    const failed = await vacuumCatalogs(client);
    if (failed !== null) console.log(`PostgreSQL: the system catalogs could not be vacuumed (${failed}); the pass runs anyway`);
  } catch (error) {
    console.log(`PostgreSQL: the system catalogs could not be vacuumed (${error.message}); the pass runs anyway`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

run('SQLite', { ...env, HANGAR_TEST_ENGINE: 'sqlite' });
if (postgres) {
  await vacuumBefore(postgres);
  run('PostgreSQL', { ...env, HANGAR_TEST_ENGINE: 'postgres' });
}
