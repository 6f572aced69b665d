import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { goTimestamp, signCrusoe } from '../helpers/crusoe.js';

/**
 * A request must arrive in full within HANGAR_REQUEST_TIMEOUT: a client trickling its body a
 * byte at a time (or never finishing its headers) is answered 408 and disconnected, in the
 * error body of the API it called. The server here runs with a short timeout; the test only
 * waits for the server to act, it measures nothing.
 */
describe('request timeout', () => {
  let h: TestHangar;
  let port: number;
  beforeAll(async () => {
    h = await startHangar({ env: { HANGAR_REQUEST_TIMEOUT: '400ms' } });
    port = Number(new URL(h.url).port);
  });
  afterAll(() => h.close());

  /** Sends `head`, then one byte of body every 100 ms until the server closes the connection; resolves with what it answered. */
  function trickle(head: string, trickling = true): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let answer = '';
      let timer: NodeJS.Timeout | undefined;
      socket.on('connect', () => {
        socket.write(head);
        if (trickling) timer = setInterval(() => socket.writable && socket.write(' '), 100);
      });
      socket.on('data', (chunk) => (answer += chunk.toString()));
      socket.on('error', () => undefined); // the server may reset a connection still writing
      socket.on('close', () => {
        clearInterval(timer);
        resolve(answer);
      });
      setTimeout(() => reject(new Error(`the server never cut the request off; got: ${answer}`)), 20_000).unref();
    });
  }

  const post = (path: string, headers = '') =>
    `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n${headers}\r\n{"name":`;

  function parse(answer: string): { status: number; body: any } {
    const [head, body] = answer.split('\r\n\r\n');
    return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head!)?.[1]), body: JSON.parse(body!) };
  }

  it('cuts off a Genesis request whose body trickles in, with 408 and the Genesis error body', async () => {
    const { status, body } = parse(await trickle(post('/compute/v1/instances', `Authorization: Bearer ${h.hangar.demo.credentials.genesis!.token}\r\n`)));
    expect(status).toBe(408);
    expect(body).toEqual({ code: '02002', message: expect.stringContaining('did not arrive in full within the request timeout') });
  });

  it('cuts off a signed Crusoe request the same way, with the Crusoe error body', async () => {
    const { access_key, secret_key, project_id } = h.hangar.demo.credentials.crusoe as Record<string, string>;
    const path = `/v1alpha5/projects/${project_id}/compute/vms/instances`;
    const timestamp = goTimestamp(h.clock.now());
    const signature = signCrusoe({ secret: secret_key!, method: 'POST', path, rawQuery: '', timestamp });
    const { status, body } = parse(await trickle(post(path, `Authorization: Bearer 1.0:${access_key}:${signature}\r\nX-Crusoe-Timestamp: ${timestamp}\r\n`)));
    expect(status).toBe(408);
    expect(body).toEqual({ code: '408', reason: 'bad_request', message: expect.stringContaining('request timeout'), error_id: expect.any(String) });
  });

  it('closes the connection of an unauthenticated request whose body trickles on after its 401, without a second answer', async () => {
    const answer = await trickle(post('/v1alpha5/projects/x/compute/vms/instances'));
    expect(answer.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(parse(answer)).toMatchObject({ status: 401, body: { code: '401', reason: 'bad_credential' } });
  });

  it("cuts off headers that never end, and a request outside the clouds in Hangar's own body", async () => {
    const headers = await trickle('GET /compute/v1/instances HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    // (no request line was complete enough to route: Hangar's own body)
    expect(parse(headers)).toEqual({ status: 408, body: { code: 'request_timeout', message: expect.any(String) } });
    const admin = parse(await trickle(post('/admin/v1/faults')));
    expect(admin).toEqual({ status: 408, body: { code: 'request_timeout', message: expect.any(String) } });
  });

  it('answers a request that arrives in time as usual', async () => {
    expect((await h.genesis.get('/instances')).status).toBe(200);
  });
});
