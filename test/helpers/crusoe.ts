import { createHmac } from 'node:crypto';
import { expect } from 'vitest';
import type { ApiResponse } from './http-client.js';
import { HttpClient } from './http-client.js';
import type { TestHangar } from './hangar.js';
import { SpecValidator } from './spec-validator.js';

/**
 * A Crusoe test client that signs requests the way the official Go client
 * (github.com/crusoecloud/client-go) does, written from its algorithm independently of the
 * server's verifier:
 *
 *   message   = <URL path, decoded> "\n" <canonical query> "\n" <METHOD> "\n" <timestamp> "\n"
 *   signature = base64url_nopad(HMAC-SHA256(base64url_decode(secret), message))
 *   Authorization: Bearer 1.0:<access key>:<signature>
 *   X-Crusoe-Timestamp: <time.Now().UTC().Format(time.RFC3339)>
 *
 * Query parameters are sent as url.Values.Encode sends them (keys sorted, Go QueryEscape), so
 * the order on the wire and the canonical order coincide, as with the Go client; `rawQuery`
 * sends a query exactly as given to exercise the server's canonicalization.
 */
export const CRUSOE = '/v1alpha5';

let crusoeSpec: SpecValidator | undefined;
export function crusoeSpecValidator(): SpecValidator {
  crusoeSpec ??= new SpecValidator(new URL('../../spec/crusoe-v1alpha5.shapes.json', import.meta.url), CRUSOE);
  return crusoeSpec;
}

export interface CrusoeCredentials {
  access_key: string;
  secret_key: string;
  organization_id?: string;
  project_id?: string;
}

export type QueryValues = Record<string, string | string[]>;

export interface CrusoeRequestOptions {
  /** Query parameters, encoded as Go's url.Values.Encode does. */
  query?: QueryValues;
  /** A query string sent (and signed) exactly as written. */
  rawQuery?: string;
  /** Overrides X-Crusoe-Timestamp (and what is signed). */
  timestamp?: string;
  /** Replaces the Authorization header entirely (or removes it with null). */
  authorization?: string | null;
  /** Leaves X-Crusoe-Timestamp out. */
  omitTimestamp?: boolean;
  /** Signs a different method or path than the one sent (to provoke mismatches). */
  signAs?: { method?: string; path?: string; rawQuery?: string };
  /** A body sent as raw text. */
  raw?: string;
  skipSpec?: boolean;
}

/** Go's url.QueryEscape: space as "+", every byte outside A-Z a-z 0-9 - _ . ~ as upper-case %XX. */
export function goQueryEscape(text: string): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (b === 0x20) out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Go's url.QueryUnescape in form mode: "+" is a space, %XX a byte. */
function goQueryUnescape(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '+') bytes.push(0x20);
    else if (text[i] === '%') {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(text[i]!, 'utf8'));
  }
  return Buffer.from(bytes);
}

/** url.Values.Encode: keys sorted, values in their order. */
export function goValuesEncode(values: QueryValues): string {
  return Object.keys(values)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .flatMap((k) => ([] as string[]).concat(values[k]!).map((v) => `${goQueryEscape(k)}=${goQueryEscape(v)}`))
    .join('&');
}

/** The client's canonicalizeQuery: parse the raw query, then encode as url.Values.Encode does. */
export function goCanonicalQuery(rawQuery: string): string {
  const groups = new Map<string, { key: Buffer; values: Buffer[] }>();
  for (const piece of rawQuery.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const key = goQueryUnescape(eq < 0 ? piece : piece.slice(0, eq));
    const value = goQueryUnescape(eq < 0 ? '' : piece.slice(eq + 1));
    const group = groups.get(key.toString('hex'));
    if (group) group.values.push(value);
    else groups.set(key.toString('hex'), { key, values: [value] });
  }
  const escape = (b: Buffer) => goQueryEscape(b.toString('utf8'));
  return [...groups.values()]
    .sort((a, b) => Buffer.compare(a.key, b.key))
    .flatMap((g) => g.values.map((v) => `${escape(g.key)}=${escape(v)}`))
    .join('&');
}

/** The signature of one request, as the Go client computes it. */
export function signCrusoe(input: { secret: string; method: string; path: string; rawQuery: string; timestamp: string }): string {
  const message = `${input.path}\n${goCanonicalQuery(input.rawQuery)}\n${input.method.toUpperCase()}\n${input.timestamp}\n`;
  return createHmac('sha256', Buffer.from(input.secret, 'base64url')).update(message).digest('base64url');
}

/** time.Now().UTC().Format(time.RFC3339) on the given instant. */
export const goTimestamp = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export class CrusoeClient {
  private readonly http: HttpClient;

  constructor(
    readonly serverUrl: string,
    readonly credentials: CrusoeCredentials,
    private readonly now: () => number,
    private readonly validator: SpecValidator = crusoeSpecValidator(),
  ) {
    this.http = new HttpClient(serverUrl + CRUSOE, {}, validator);
  }

  /** The same client speaking with other credentials. */
  as(credentials: CrusoeCredentials): CrusoeClient {
    return new CrusoeClient(this.serverUrl, credentials, this.now, this.validator);
  }

  get projectId(): string {
    return String(this.credentials.project_id);
  }

  async request<T = any>(method: string, path: string, body?: unknown, options: CrusoeRequestOptions = {}): Promise<ApiResponse<T>> {
    const rawQuery = options.rawQuery ?? (options.query ? goValuesEncode(options.query) : '');
    const timestamp = options.timestamp ?? goTimestamp(this.now());
    const signature = signCrusoe({
      secret: this.credentials.secret_key,
      method: options.signAs?.method ?? method,
      path: CRUSOE + (options.signAs?.path ?? path),
      rawQuery: options.signAs?.rawQuery ?? rawQuery,
      timestamp,
    });
    const headers: Record<string, string> = {};
    const authorization = options.authorization === undefined ? `Bearer 1.0:${this.credentials.access_key}:${signature}` : options.authorization;
    if (authorization !== null) headers.authorization = authorization;
    if (!options.omitTimestamp) headers['x-crusoe-timestamp'] = timestamp;
    const target = rawQuery === '' ? path : `${path}?${rawQuery}`;
    const res = await this.http.request<T>(method, target, body, { headers, raw: options.raw, skipSpec: true });
    if (!options.skipSpec) this.checkSpec(method, path, res);
    return res;
  }

  /**
   * Every response against the spec: the operation's own response for a status it lists; for
   * an error status it does not list (a 404 or 409 the spec leaves out), the spec's shared
   * error shape.
   */
  private checkSpec(method: string, path: string, res: ApiResponse): void {
    const full = CRUSOE + path;
    if (!this.validator.operation(method, full)) return;
    const problems =
      res.status >= 400 && !this.validator.lists(method, full, res.status)
        ? this.validator.checkShared('badReqError', res.body)
        : this.validator.check(method, full, res.status, res.body);
    if (problems.length > 0) throw new Error(`response does not match the reference spec:\n${problems.join('\n')}\nbody: ${res.text.slice(0, 2000)}`);
  }

  get<T = any>(path: string, options?: CrusoeRequestOptions) {
    return this.request<T>('GET', path, undefined, options);
  }
  post<T = any>(path: string, body?: unknown, options?: CrusoeRequestOptions) {
    return this.request<T>('POST', path, body, options);
  }
  put<T = any>(path: string, body?: unknown, options?: CrusoeRequestOptions) {
    return this.request<T>('PUT', path, body, options);
  }
  patch<T = any>(path: string, body?: unknown, options?: CrusoeRequestOptions) {
    return this.request<T>('PATCH', path, body, options);
  }
  delete<T = any>(path: string, options?: CrusoeRequestOptions) {
    return this.request<T>('DELETE', path, undefined, options);
  }
}

/** The demo account's Crusoe client of a test Hangar (signing with the Hangar's clock). */
export function crusoeClient(h: TestHangar, credentials?: CrusoeCredentials): CrusoeClient {
  const demo = (credentials ?? h.hangar.demo.credentials.crusoe) as unknown as CrusoeCredentials;
  return new CrusoeClient(h.url, demo, () => h.clock.now());
}

/** A new account and a Crusoe client speaking for it. */
export async function newCrusoeAccount(h: TestHangar, name = 'tenant'): Promise<{ accountId: string; client: CrusoeClient; credentials: CrusoeCredentials }> {
  const { account, clouds } = await h.hangar.kernel.tenancy.create(name);
  const credentials = clouds.crusoe as unknown as CrusoeCredentials;
  return { accountId: account.id, client: crusoeClient(h, credentials), credentials };
}

/** Asserts the Crusoe error body: status, code (the status as a string), reason, a message naming the culprit. */
export function expectCrusoeError(res: ApiResponse, status: number, reason: string, mentions?: string | RegExp): void {
  expect(res.status, res.text).toBe(status);
  expect(Object.keys(res.body).sort()).toEqual(['code', 'error_id', 'message', 'reason']);
  expect(res.body.code).toBe(String(status));
  expect(res.body.reason).toBe(reason);
  expect(res.body.error_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  expect(typeof res.body.message).toBe('string');
  if (mentions !== undefined) {
    if (typeof mentions === 'string') expect(res.body.message).toContain(mentions);
    else expect(res.body.message).toMatch(mentions);
  }
}

/** Polls an operation, moving the clock as a client's wait loop would let time pass, until it is done. */
export async function awaitOperation(h: TestHangar, client: CrusoeClient, projectId: string, operation: { operation_id: string }, stepMs = 1_000): Promise<any> {
  for (let i = 0; i < 600; i++) {
    const res = await client.get(`/projects/${projectId}/compute/vms/instances/operations/${operation.operation_id}`);
    expect(res.status, res.text).toBe(200);
    if (res.body.state !== 'IN_PROGRESS') return res.body;
    await h.advance(stepMs);
  }
  throw new Error(`operation ${operation.operation_id} never finished`);
}

/** A fresh ed25519 public key line. */
export { publicKey } from './hangar.js';
