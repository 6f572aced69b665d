import { afterEach, describe, expect, it } from 'vitest';
import { spawnHangar, type HangarProcess } from '../helpers/process.js';

/**
 * What `hangar serve` writes: one line per request (method, path, status, ms, account, cloud),
 * readable lines at a terminal, JSON for a collector. Output captured from real processes. The
 * PostgreSQL pass skips it: nothing here depends on the engine.
 */
describe.skipIf(process.env.HANGAR_TEST_ENGINE === 'postgres')('request log', () => {
  let server: HangarProcess | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  /** Starts a logging Hangar (stdout is a pipe here, as under a collector) and makes a few calls. */
  async function traffic(env: Record<string, string>): Promise<{ lines: string[]; account: string }> {
    server = await spawnHangar({ HANGAR_DATABASE_URL: 'sqlite::memory:', HANGAR_LOG_LEVEL: 'info', ...env }, { timeoutMs: 90_000 });
    const token = /token\s+(\S+)/.exec(server.output())![1]!;
    const account = ((await (await fetch(`${server.url}/admin/v1/demo`)).json()) as { account_id: string }).account_id;
    const auth = { authorization: `Bearer ${token}` };
    expect((await fetch(`${server.url}/compute/v1/instances`)).status).toBe(401);
    const created = await fetch(`${server.url}/compute/v1/ssh-keys`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'k', value: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGalSmgoMEtwX3oxRLNYZwhG1gRXGh996hvhof0B3PHn k' }),
    });
    expect(created.status).toBe(201);
    expect((await fetch(`${server.url}/compute/v1/instances`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    // A last call every mode logs (a 404): once its line is out, every earlier one is.
    expect((await fetch(`${server.url}/the-end`)).status).toBe(404);
    await expect.poll(() => server!.output(), { timeout: 10_000 }).toContain('/the-end');
    return { lines: server.output().split('\n'), account };
  }

  const requests = (lines: string[]) => lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((l) => l.kind === 'request');

  // (each starts a server of its own: tens of seconds on a loaded machine)
  it('JSON when stdout is not a terminal: writes and failures at info, successful reads not, ISO times', async () => {
    const { lines, account } = await traffic({});
    const logged = requests(lines);
    expect(logged).toContainEqual({
      level: 30,
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      kind: 'request',
      method: 'POST',
      path: '/compute/v1/ssh-keys',
      status: 201,
      ms: expect.any(Number),
      account,
      cloud: 'genesis',
      msg: 'request',
    });
    expect(logged).toContainEqual(expect.objectContaining({ level: 30, method: 'GET', path: '/compute/v1/instances', status: 401, account: '', cloud: 'genesis' }));
    // Polled reads and probes are not worth a line at info (see http/logging.ts).
    expect(logged.filter((l) => l.status === 200 && l.method === 'GET')).toEqual([]);
    expect(logged.map((l) => l.path)).not.toContain('/healthz');
    // Every line after the banner is one JSON object.
    const banner = lines.findIndex((l) => l.startsWith('Hangar is serving'));
    for (const line of lines.slice(banner).filter((l) => l.startsWith('{'))) expect(() => JSON.parse(line)).not.toThrow();
  }, 120_000);

  it('JSON at debug: every request, successful reads and probes too', async () => {
    const { lines, account } = await traffic({ HANGAR_LOG_FORMAT: 'json', HANGAR_LOG_LEVEL: 'debug' });
    const logged = requests(lines);
    expect(logged).toContainEqual(expect.objectContaining({ level: 20, method: 'GET', path: '/compute/v1/instances', status: 200, account, cloud: 'genesis' }));
    expect(logged).toContainEqual(expect.objectContaining({ level: 20, method: 'GET', path: '/healthz', status: 200, cloud: '' }));
    expect(logged).toContainEqual(expect.objectContaining({ level: 20, method: 'GET', path: '/admin/v1/demo', status: 200, cloud: 'admin' }));
  }, 120_000);

  it('pretty (HANGAR_LOG_FORMAT=pretty, the default at a terminal): one readable line per request', async () => {
    const { lines, account } = await traffic({ HANGAR_LOG_FORMAT: 'pretty' });
    const time = String.raw`\[\d\d:\d\d:\d\d\.\d{3}\]`;
    const expected = [
      new RegExp(`^${time} INFO: GET    /compute/v1/instances 401 \\d+\\.\\d ms  genesis$`),
      new RegExp(`^${time} INFO: POST   /compute/v1/ssh-keys 201 \\d+\\.\\d ms  genesis  account ${account}$`),
      new RegExp(`^${time} INFO: GET    /compute/v1/instances 200 \\d+\\.\\d ms  genesis  account ${account}$`),
      new RegExp(`^${time} INFO: GET    /admin/v1/demo 200 \\d+\\.\\d ms  admin$`),
    ];
    for (const pattern of expected) expect(lines.some((line) => pattern.test(line)), `${pattern}\n${lines.join('\n')}`).toBe(true);
    expect(lines.filter((l) => l.startsWith('{'))).toEqual([]);
    expect(lines.some((l) => l.includes('/healthz'))).toBe(false);
  }, 120_000);
});
