import { HttpClient, type ApiResponse } from './http-client.js';
import { afterAll, beforeAll } from 'vitest';
import { GENESIS, genesisSpecValidator, startHangar, type TestHangar } from './hangar.js';

/**
 * A plain client for the admin API under /admin/v1: JSON in, JSON out, no spec validation
 * (the admin API is Hangar's own). `token` becomes `Authorization: Bearer <token>`.
 */
export class Admin {
  readonly baseUrl: string;

  constructor(
    url: string,
    private readonly token?: string,
  ) {
    this.baseUrl = `${url}/admin/v1`;
  }

  async request<T = any>(method: string, path: string, body?: unknown, options: { headers?: Record<string, string>; raw?: string } = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    const payload = options.raw ?? (body === undefined ? undefined : JSON.stringify(body));
    if (payload !== undefined) headers['content-type'] ??= 'application/json';
    const response = await fetch(this.baseUrl + path, { method, headers, body: payload });
    const text = await response.text();
    let parsed: unknown = undefined;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: response.status, body: parsed as T, headers: response.headers, text };
  }

  get<T = any>(path: string) {
    return this.request<T>('GET', path);
  }
  post<T = any>(path: string, body?: unknown) {
    return this.request<T>('POST', path, body);
  }
  put<T = any>(path: string, body?: unknown) {
    return this.request<T>('PUT', path, body);
  }
  delete<T = any>(path: string) {
    return this.request<T>('DELETE', path);
  }

  /** POST /accounts: the created account (throws unless 201). */
  async createAccount(name: string): Promise<{ id: string; name: string; genesis: { token: string }; crusoe?: Record<string, string> }> {
    const res = await this.post('/accounts', { name });
    if (res.status !== 201) throw new Error(`POST /admin/v1/accounts answered ${res.status}: ${res.text}`);
    return res.body;
  }

  /**
   * Stages a latency fault on the next matching request and returns a promise that resolves once
   * a request has been admitted and is held by it: what a test does meanwhile happens while
   * that request waits, between its admission and its writes.
   */
  async holdNext(rule: { cloud: string; method: string; path: string }, latencyMs = 3_000): Promise<() => Promise<void>> {
    const staged = await this.post('/faults', { ...rule, latency_ms: latencyMs, count: 1 });
    if (staged.status !== 201) throw new Error(`POST /admin/v1/faults answered ${staged.status}: ${staged.text}`);
    return async () => {
      while ((await this.get('/faults')).body.faults.find((f: { id: string }) => f.id === staged.body.id)?.fired !== 1) await new Promise((resolve) => setTimeout(resolve, 20));
    };
  }

  /** GET /state (whole store, or one account) as parsed JSON. */
  async exportState(account?: string): Promise<any> {
    const res = await this.get(account === undefined ? '/state' : `/state?account=${encodeURIComponent(account)}`);
    if (res.status !== 200) throw new Error(`GET /admin/v1/state answered ${res.status}: ${res.text}`);
    return res.body;
  }
}

/** The admin client of a test hangar (loopback, no token unless given). */
export function adminOf(h: TestHangar, token?: string): Admin {
  return new Admin(h.url, token);
}

/**
 * One Hangar for the tests of a describe block (started before them, closed after), with its
 * admin client: `const { h, admin } = hangarPerSuite();` in place of the same seven lines in
 * each file. Both stand for what beforeAll starts, so they may be used in tests and hooks only.
 */
export function hangarPerSuite(): { h: TestHangar; admin: Admin } {
  let started: { h: TestHangar; admin: Admin } | undefined;
  beforeAll(async () => {
    const h = await startHangar();
    started = { h, admin: adminOf(h) };
  });
  afterAll(() => started?.h.close());
  const standIn = <T extends object>(pick: (s: { h: TestHangar; admin: Admin }) => T): T =>
    new Proxy({} as T, {
      get(_standIn, key) {
        if (started === undefined) throw new Error('hangarPerSuite: used outside the tests and hooks of its describe block');
        const target = pick(started);
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  return { h: standIn((s) => s.h), admin: standIn((s) => s.admin) };
}

/** A Genesis client for any token (responses checked against the reference spec, as h.genesis). */
export function genesisFor(h: TestHangar, token: string): HttpClient {
  return new HttpClient(h.url + GENESIS, { authorization: `Bearer ${token}` }, genesisSpecValidator());
}

/** Free units per instance type in a region, as GET /availability reports them. */
export async function availability(client: HttpClient, region: string): Promise<Record<string, number>> {
  const res = await client.get(`/availability/${region}/instances`);
  if (res.status !== 200) throw new Error(`GET /availability answered ${res.status}: ${res.text}`);
  return Object.fromEntries(res.body.availability.instance_types.map((t: { type: string; count: number }) => [t.type, t.count]));
}
