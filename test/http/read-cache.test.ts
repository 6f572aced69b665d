import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ReadCache, type KeptAnswer } from '../../src/http/read-cache.js';

/** A GET as node:http hands it over: its header lines as sent, in `rawHeaders`. */
const request = (url: string, authorization = 'Bearer t', lines: string[] = ['Authorization', authorization]) =>
  ({ method: 'GET', url, rawHeaders: ['Host', 'hangar', ...lines, 'Accept', '*/*'] }) as unknown as IncomingMessage;
function response() {
  const sent: { status?: number; body?: Buffer } = {};
  const res = {
    writeHead: (status: number) => (sent.status = status),
    end: (body: Buffer) => (sent.body = body),
  } as unknown as ServerResponse;
  return { res, sent };
}

describe('the read cache', () => {
  let version = 'v1';
  const cache = (budget: number) =>
    new ReadCache({ version: () => version, open: () => true, now: () => 0, replayed: () => undefined, budget });
  const answer = (body: string, until = Number.POSITIVE_INFINITY): KeptAnswer => ({ version, until, body: Buffer.from(body), contentType: 'application/json', route: '/r', account: 'a' });
  const replays = (c: ReadCache, url: string, authorization?: string) => {
    const { res, sent } = response();
    return c.serve(request(url, authorization), res) ? sent.body!.toString() : null;
  };

  it('replays an answer only to the same URL and credential, and only at the version it was read at', () => {
    version = 'v1';
    const c = cache(1024);
    c.keep(request('/x'), answer('one'));
    expect(replays(c, '/x')).toBe('one');
    expect(replays(c, '/x', 'Bearer other')).toBeNull();
    expect(replays(c, '/x?page=2')).toBeNull();
    version = 'v2';
    expect(replays(c, '/x')).toBeNull();
    // An answer computed while the version moved is never kept.
    c.keep(request('/y'), { ...answer('stale'), version: 'v1' });
    expect(replays(c, '/y')).toBeNull();
  });

  it('tells credentials apart by header and value, whatever the header names\' case', () => {
    const key = (lines: string[]) => ReadCache.key(request('/x', '', lines));
    expect(key(['Authorization', 'Bearer a'])).toBe(key(['authorization', 'Bearer a']));
    const distinct = [
      [],
      ['Authorization', 'Bearer a'],
      ['Authorization', 'Bearer b'],
      ['X-Auth-Token', 'Bearer a'],
      ['x-auth-token', 'a'],
      ['Authorization', 'Bearer a', 'X-Auth-Token', 'b'],
      ['X-Auth-Token', 'b', 'Authorization', 'Bearer a'],
      ['Authorization', 'Bearer a', 'Authorization', 'Bearer b'],
    ].map(key);
    expect(new Set(distinct).size).toBe(distinct.length);
    // Headers that carry no credential do not split answers.
    expect(key(['Authorization', 'Bearer a', 'User-Agent', 'terraform'])).toBe(key(['Authorization', 'Bearer a']));
  });

  it('keeps within its byte budget, forgetting the least recently kept first, and never keeps a huge answer', () => {
    version = 'v1';
    const c = cache(1600); // answers of up to 100 bytes (a sixteenth) are kept
    for (let i = 0; i < 17; i++) c.keep(request(`/${i}`), answer(String(i).padEnd(90, '.'))); // 1,530 bytes
    expect(replays(c, '/0')).toBe('0'.padEnd(90, '.'));
    c.keep(request('/0'), answer('0'.padEnd(90, '.'))); // kept again: now the most recent
    c.keep(request('/17'), answer('17'.padEnd(90, '.'))); // 1,620 bytes: the least recent (/1) goes
    expect(replays(c, '/1')).toBeNull();
    expect(replays(c, '/0')).toBe('0'.padEnd(90, '.'));
    expect(replays(c, '/2')).toBe('2'.padEnd(90, '.'));
    expect(replays(c, '/17')).toBe('17'.padEnd(90, '.'));
    c.keep(request('/huge'), answer('h'.repeat(101)));
    expect(replays(c, '/huge')).toBeNull();
    expect(replays(c, '/16')).toBe('16'.padEnd(90, '.'));
  });

  it('stops replaying at the instant the credential expires', () => {
    version = 'v1';
    let now = 0;
    const c = new ReadCache({ version: () => version, open: () => true, now: () => now, replayed: () => undefined });
    c.keep(request('/x'), answer('one', 1000));
    now = 999;
    expect(replays(c, '/x')).toBe('one');
    now = 1000;
    expect(replays(c, '/x')).toBeNull();
  });
});
