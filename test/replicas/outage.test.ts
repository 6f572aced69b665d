import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresSchema, postgresUrl } from '../helpers/process.js';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { crusoeClient, expectCrusoeError } from '../helpers/crusoe.js';
import { adminOf } from '../helpers/admin.js';

/** A TCP hop in front of PostgreSQL that the test can cut and restore, as a network outage would. */
class Hop {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async open(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async cut(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}

describe.runIf(postgresUrl && process.env.HANGAR_TEST_ENGINE !== 'sqlite')('PostgreSQL outage', () => {
  let db: Awaited<ReturnType<typeof postgresSchema>>;
  let h: TestHangar;
  const url = new URL(postgresUrl ?? 'postgres://localhost:5432/x');
  const hop = new Hop({ host: url.hostname, port: Number(url.port || 5432) });

  afterAll(async () => {
    await h?.close().catch(() => undefined);
    await hop.cut().catch(() => undefined);
    await db?.drop();
  });

  it("answers 503 in each API's error body while the database is away (Genesis, Crusoe, admin), and recovers by itself", async () => {
    db = await postgresSchema(postgresUrl!);
    await hop.open();
    const proxied = new URL(db.url);
    proxied.host = `127.0.0.1:${hop.port}`;
    h = await startHangar({ env: { HANGAR_DATABASE_URL: proxied.toString() } });
    expect((await fetch(`${h.url}/readyz`)).status).toBe(200);
    expect((await h.genesis.get('/instances')).status).toBe(200);
    const crusoe = crusoeClient(h);
    const admin = adminOf(h);
    expect((await crusoe.get('/locations')).status).toBe(200);

    await hop.cut();
    const started = Date.now();
    const ready = await fetch(`${h.url}/readyz`);
    expect(ready.status).toBe(503);
    const res = await h.genesis.get('/instances');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ code: expect.any(String), message: expect.stringContaining('store cannot be reached') });
    // Crusoe in its own body (it answered 500 internal_error before), signed so it gets past the signature check to the store.
    expectCrusoeError(await crusoe.get('/locations'), 503, 'internal_error', 'store cannot be reached');
    expectCrusoeError(await crusoe.get(`/projects/${crusoe.projectId}/compute/vms/instances`), 503, 'internal_error', 'store cannot be reached');
    // The admin API: an outage is not a bad request.
    const fault = await admin.post('/faults', { cloud: 'genesis', status: 500 });
    expect(fault.status, fault.text).toBe(503);
    expect(fault.body).toEqual({ code: 'unavailable', message: expect.stringContaining('store cannot be reached') });
    expect(Date.now() - started).toBeLessThan(20_000); // answered, not hung

    await hop.open(); // same port: the database is back
    const deadline = Date.now() + 15_000;
    while ((await fetch(`${h.url}/readyz`)).status !== 200) {
      if (Date.now() > deadline) throw new Error('Hangar did not reconnect');
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await h.genesis.get('/instances')).status).toBe(200);
    expect((await crusoe.get('/locations')).status).toBe(200);
  }, 60_000);
});
