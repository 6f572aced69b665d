#!/usr/bin/env node
// The test command: the whole suite on SQLite, then again on PostgreSQL when
// HANGAR_TEST_POSTGRES_URL names a server (each test Hangar gets a schema of its own there).
import { spawnSync } from 'node:child_process';

const extra = process.argv.slice(2);
const run = (label, env) => {
  console.log(`\n== tests on ${label} ==`);
  const result = spawnSync('npx', ['vitest', 'run', ...extra], { stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

run('SQLite', { HANGAR_TEST_ENGINE: 'sqlite' });
if (process.env.HANGAR_TEST_POSTGRES_URL) run('PostgreSQL', { HANGAR_TEST_ENGINE: 'postgres' });
else console.log('\n(HANGAR_TEST_POSTGRES_URL is not set: PostgreSQL run skipped)');
