import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from './types.js';

/** An answer kept to be replayed, and what it was computed from. */
export interface KeptAnswer {
  /** The store's read version when the request that produced it began. */
  version: string;
  /** The instant the credential that was shown stops being valid (Infinity: never). */
  until: number;
  body: Buffer;
  contentType: string;
  /** Who asked, and through which route: for the journal and the metrics of a replay. */
  route: string;
  account: string;
}

export interface ReadCacheOptions {
  /** The store's read version now (see Store.readVersion). */
  version(): string;
  /** Whether replaying is allowed at all right now (not while an injected fault is staged). */
  open(): boolean;
  now(): number;
  /** Called for every replayed answer, to record it as any other answer is recorded. */
  replayed(answer: KeptAnswer, request: IncomingMessage, startedAt: bigint): void;
  /** How many bytes of answers to keep; beyond that, the least recently kept go. */
  budget?: number;
}

/** The headers a credential is shown in (by either cloud's clients). */
const CREDENTIAL_HEADERS = new Set(['authorization', 'x-auth-token']);

/**
 * Answers a repeated read from memory, before the framework sees the request. Clients poll:
 * a wait loop asks for the same instance until it is active, a dashboard lists the same page.
 * The answer to `GET <url>` shown the same credential is the same bytes for as long as nothing
 * in the store has changed, which the store's read version tells exactly (any write statement
 * on this process's connection, or a commit by another process), so a kept answer is replayed
 * only while the version it was computed at is still current and the credential still valid.
 * A kept answer is keyed by the credential header itself: one tenant's answers can only ever
 * be replayed to a request showing the same credential.
 */
export class ReadCache {
  private readonly answers = new Map<string, KeptAnswer>();
  private readonly budget: number;
  private bytes = 0;

  constructor(private readonly options: ReadCacheOptions) {
    this.budget = options.budget ?? 32 * 1024 * 1024;
  }

  /**
   * The key of a request's answer: its URL as sent and the credentials it shows, every
   * `Authorization` and `X-Auth-Token` line as sent, in order. Read from the raw header lines:
   * `request.headers` is built on first use, which is a fair share of a replay's cost.
   */
  static key(request: IncomingMessage): string {
    let key = request.url ?? '';
    const lines = request.rawHeaders;
    for (let i = 0; i < lines.length; i += 2) {
      const name = lines[i]!;
      if ((name.length === 13 || name.length === 12) && CREDENTIAL_HEADERS.has(name.toLowerCase())) key += `\n${name.length}:${lines[i + 1]}`;
    }
    return key;
  }

  /** Replays the kept answer to this request if there is a current one; false to let it through. */
  serve(request: IncomingMessage, response: ServerResponse): boolean {
    if (request.method !== 'GET' || this.answers.size === 0) return false;
    const startedAt = process.hrtime.bigint();
    const key = ReadCache.key(request);
    const answer = this.answers.get(key);
    if (answer === undefined) return false;
    if (answer.version !== this.options.version() || this.options.now() >= answer.until || !this.options.open()) {
      this.forget(key);
      return false;
    }
    response.writeHead(200, { 'content-type': answer.contentType, 'content-length': answer.body.length });
    response.end(answer.body);
    this.options.replayed(answer, request, startedAt);
    return true;
  }

  /** Keeps an answer computed from reads that began at `answer.version`. */
  keep(request: IncomingMessage, answer: KeptAnswer): void {
    if (answer.version !== this.options.version()) return; // something changed while it was computed
    if (answer.body.length > this.budget / 16) return; // (a huge page would push out everything else)
    const key = ReadCache.key(request);
    this.forget(key); // (set again below, last: the Map's order is the eviction order)
    while (this.bytes + answer.body.length > this.budget) this.forget(this.answers.keys().next().value!);
    this.answers.set(key, answer);
    this.bytes += answer.body.length;
  }

  private forget(key: string): void {
    const answer = this.answers.get(key);
    if (answer === undefined) return;
    this.answers.delete(key);
    this.bytes -= answer.body.length;
  }
}

/**
 * The read cache hooked into a server: the routes clients poll opt in (config.cache), and the
 * cloud's auth says until when a credential's answers may be replayed (request.replayableUntil).
 * The cache itself answers before the framework (see the server factory in server.ts).
 */
export function installReadCache(app: App, cache: ReadCache, options: { version(): string; now(): number }): void {
  // The version is taken before the request reads anything: a write that lands while it
  // runs makes its answer out of date before it is kept.
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.cache === true && request.method === 'GET') request.readVersion = options.version();
  });
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.readVersion === '' || reply.statusCode !== 200 || request.replayableUntil <= options.now()) return payload;
    if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload;
    cache.keep(request.raw, {
      version: request.readVersion,
      until: request.replayableUntil,
      body: Buffer.from(payload),
      contentType: String(reply.getHeader('content-type') ?? 'application/json; charset=utf-8'),
      route: request.routeOptions.url ?? 'unmatched',
      account: request.accountId,
    });
    return payload;
  });
}
