import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A Hangar running as its own process (`node bin/hangar.js serve`), as replicas and crash tests need. */
export interface HangarProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  /** Stops it: SIGTERM waits for a clean exit, SIGKILL is a crash. Resolves with the exit code. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<number | null>;
}

/** Runs `script serve` (the `hangar` command unless told another entry point). */
export async function spawnHangar(env: Record<string, string>, options: { timeoutMs?: number; script?: string } = {}): Promise<HangarProcess> {
  const { timeoutMs = 30_000, script = 'bin/hangar.js' } = options;
  const child = spawn(process.execPath, [script, 'serve'], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', HANGAR_LOG_LEVEL: 'warn', HANGAR_RATE_LIMIT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`hangar did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const poll = setInterval(() => {
      const match = /Hangar is serving on (http:\/\/\S+)/.exec(out);
      if (match) finish(null, match[1]);
    }, 20);
    const onExit = (code: number | null) => finish(new Error(`hangar exited (${code}) before it was serving:\n${out}`));
    child.once('exit', onExit);
    function finish(error: Error | null, value?: string) {
      clearTimeout(timer);
      clearInterval(poll);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(value!);
    }
  });
  return {
    url,
    child,
    output: () => out,
    stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill(signal);
      return exited;
    },
  };
}

/** A PostgreSQL schema of its own for one test, and a client on it; dropped by `drop()`. */
export async function postgresSchema(base: string): Promise<{ url: string; query<T = any>(text: string, values?: unknown[]): Promise<T[]>; drop(): Promise<void> }> {
  const schema = `hangar_proc_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  await client.query(`create schema "${schema}"`);
  return {
    url: `${base}${base.includes('?') ? '&' : '?'}schema=${schema}`,
    async query<T>(text: string, values: unknown[] = []) {
      await client.query(`set search_path to "${schema}"`);
      return (await client.query(text, values)).rows as T[];
    },
    async drop() {
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
    },
  };
}

export const postgresUrl = process.env.HANGAR_TEST_POSTGRES_URL || null;
export const redisUrl = process.env.HANGAR_TEST_REDIS_URL || null;
