import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Reads the child's stdout until `pattern` matches, or fails after `ms`. */
function waitFor(child: ChildProcess, pattern: RegExp, ms: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => done(new Error(`no match for ${pattern} within ${ms} ms\nstdout: ${out}\nstderr: ${err}`)), ms);
    const onOut = (chunk: Buffer) => {
      out += chunk.toString();
      const match = out.match(pattern);
      if (match) done(null, match);
    };
    const onErr = (chunk: Buffer) => {
      err += chunk.toString();
    };
    const onExit = (code: number | null) => done(new Error(`hangar exited (${code}) before printing its banner\nstdout: ${out}\nstderr: ${err}`));
    function done(error: Error | null, match?: RegExpMatchArray) {
      clearTimeout(timer);
      child.stdout!.off('data', onOut);
      child.stderr!.off('data', onErr);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(match!);
    }
    child.stdout!.on('data', onOut);
    child.stderr!.on('data', onErr);
    child.on('exit', onExit);
  });
}

describe('`hangar serve` as a newcomer runs it', () => {
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('prints a curl line that works as printed', async () => {
    child = spawn(process.execPath, ['bin/hangar.js', 'serve'], {
      cwd: root,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', HANGAR_DATABASE_URL: 'sqlite::memory:', HANGAR_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [, line] = await waitFor(child, /^\s*try\s+(curl .+)\n/m, 20_000);
    // Replay the line as curl would send it: its -H headers, GET, the URL at the end.
    const headers = Object.fromEntries(
      [...line!.matchAll(/-H "([^":]+):\s*([^"]*)"/g)].map(([, name, value]) => [name!, value!]),
    );
    const url = line!.split(/\s+/).pop()!;
    expect(headers.Authorization).toMatch(/^Bearer \S+$/);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/compute\/v1\/instances$/);
    expect(url).not.toMatch(/:0\//); // the port it listens on, not the one asked for

    const res = await fetch(url, { headers });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ instances: [], total_count: 0, page: 1, per_page: 50 });

    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
