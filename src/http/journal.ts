/**
 * The request journal: the last N cloud API requests, with who sent them, what answered,
 * how long it took, and any body fields the route does not read, so a client sending a field
 * Hangar ignores shows up instead of silently doing nothing. Each entry keeps the request's
 * headers and body and the answer's body, cut at JOURNAL_BODY_LIMIT, with credentials and
 * secret-looking fields redacted before they are kept.
 */
export interface JournalEntry {
  /** This process's sequence number of the request (the detail is at /journal/{id}). */
  id: number;
  /** ISO 8601, on the kernel's clock. */
  at: string;
  cloud: string;
  method: string;
  path: string;
  route: string | null;
  account: string | null;
  status: number;
  latency_ms: number;
  ignored_fields: string[];
}

/** A body as kept: its text up to the limit (redacted), whether it was cut, its full size. */
export interface KeptBody {
  content_type: string | null;
  text: string;
  truncated: boolean;
  bytes: number;
}

/** One entry with what was sent and what came back. */
export interface JournalDetail extends JournalEntry {
  request: { headers: Record<string, string>; body: KeptBody | null };
  response: { body: KeptBody | null };
}

/** What an answer's recording brings beyond the list fields (bodies as they went over the wire). */
export interface Exchange {
  /** The request's headers: parsed, or as the raw [name, value, …] list (a replay never parses them). */
  headers?: Record<string, string | string[] | undefined> | readonly string[];
  requestBody?: string | null;
  requestType?: string | null;
  responseBody?: string | Buffer | null;
  responseType?: string | null;
}

/** An entry as recorded: its instant in epoch milliseconds, written out only when listed. */
export type JournalRecord = Omit<JournalEntry, 'at' | 'id'> & { at: number; exchange?: Exchange };

interface Kept extends Omit<JournalEntry, 'at'> {
  at: number;
  headers: Record<string, string>;
  requestBody: KeptBody | null;
  /** An answer's bytes, cut and redacted when read (see keepAnswer). */
  responseBody: KeptBody | { raw: Buffer; type: string | null; bytes: number } | null;
}

export interface JournalFilter {
  cloud?: string;
  account?: string;
  method?: string;
  /** An exact status (404) or a class (4xx). */
  status?: string;
  /** A piece of the path or of the route. */
  q?: string;
}

/** Bytes of one body the journal keeps; the rest is cut (the entry says so and how big it was). */
export const JOURNAL_BODY_LIMIT = 16 * 1024;

/** Headers whose value is a credential: kept as their scheme (if any) and "[redacted]". */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'x-auth-token', 'cookie', 'set-cookie', 'x-api-key']);
/**
 * JSON fields whose string value is a secret: passwords, secret keys, tokens, private keys. A
 * value cut by the size limit is redacted up to the cut (the pattern ends at a quote or the end).
 */
const SECRET_FIELD = /("[^"\\]*(?:password|passwd|secret|token|private_key|api_key|credential)[^"\\]*"\s*:\s*)"(?:[^"\\]|\\.)*(?:"|\\?$)/gi;
export const REDACTED = '[redacted]';

/**
 * The words SECRET_FIELD looks for: a body holding none of them is kept as it is (most are).
 * Lower-casing and one plain pattern cost a third of what the case-blind field pattern does.
 */
const SECRET_WORDS = /password|passwd|secret|token|private_key|api_key|credential/;

export function redactText(text: string): string {
  if (!SECRET_WORDS.test(text.toLowerCase())) return text;
  return text.replace(SECRET_FIELD, `$1"${REDACTED}"`);
}

function keepHeaders(headers: Exchange['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined) return out;
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) keepHeader(out, headers[i]!.toLowerCase(), headers[i + 1]!);
  } else {
    for (const name in headers) {
      const value = (headers as Record<string, string | string[] | undefined>)[name];
      if (value !== undefined) keepHeader(out, name, Array.isArray(value) ? value.join(', ') : value);
    }
  }
  return out;
}

function keepHeader(out: Record<string, string>, name: string, text: string): void {
  if (SECRET_HEADERS.has(name)) {
    const scheme = /^(Bearer|Basic|Token)\s/i.exec(text)?.[1];
    out[name] = scheme ? `${scheme} ${REDACTED}` : REDACTED;
  } else out[name] = text.length > 1024 ? `${text.slice(0, 1024)}…` : text;
}

function keepBody(text: string | null | undefined, type: string | null | undefined): KeptBody | null {
  if (text === null || text === undefined || text === '') return null;
  const bytes = Buffer.byteLength(text);
  const truncated = text.length > JOURNAL_BODY_LIMIT;
  return { content_type: type ?? null, text: redactText(truncated ? text.slice(0, JOURNAL_BODY_LIMIT) : text), truncated, bytes };
}

/**
 * An answer's body as kept: its bytes up to the limit, outside V8's heap, cut and redacted only
 * when an entry is read. Answers are the large bodies (a page of 50 is 30–40 KB): kept as
 * strings, a thousand of them lived in the heap, where each answer was copied as it survived
 * collections, and each was lower-cased and searched for secrets as it was recorded.
 *
 * The bytes go into `own`, the buffer of the ring slot the entry is written to, which the
 * slot's earlier entries used. A buffer allocated for each answer was garbage a thousand answers
 * later, yet freed only at V8's next collection: under a load of pages such copies were a large
 * share of the process's peak memory (BENCHMARKS.md, fifteenth round). Returns the kept body
 * and the slot's buffer (a new, larger one when `own` is too small).
 */
function keepAnswer(answer: string | Buffer | null | undefined, type: string | null, own: Buffer | undefined): [Kept['responseBody'], Buffer | undefined] {
  if (answer === null || answer === undefined || answer.length === 0) return [null, own];
  // (a replayed answer's bytes, shared with the read cache: kept as they are unless cut)
  if (Buffer.isBuffer(answer) && answer.length <= JOURNAL_BODY_LIMIT) return [{ raw: answer, type, bytes: answer.length }, own];
  const bytes = Buffer.isBuffer(answer) ? answer.length : Buffer.byteLength(answer);
  const room = Math.min(bytes, JOURNAL_BODY_LIMIT);
  const slot = own !== undefined && own.length >= room ? own : Buffer.allocUnsafeSlow(room);
  // (a string's write stops before a character that would not fit whole)
  const written = Buffer.isBuffer(answer) ? answer.copy(slot, 0, 0, room) : slot.write(answer, 0, room, 'utf8');
  return [{ raw: slot.subarray(0, written), type, bytes }, slot];
}

export class Journal {
  private entries: Kept[] = [];
  /** Each slot's buffer for answers, reused by the entries written there (see keepAnswer). */
  private answerBuffers: (Buffer | undefined)[] = [];
  private next = 0;
  private seq = 0;
  private readonly listeners: ((entry: JournalEntry) => void)[] = [];

  constructor(private readonly size: number) {}

  /** Whether entries are kept at all (a size of 0 keeps none; the live tail still hears them). */
  get keeps(): boolean {
    return this.size > 0;
  }

  /** Tells `listener` of each request recorded from now on (the console's live tail). */
  onRecord(listener: (entry: JournalEntry) => void): void {
    this.listeners.push(listener);
  }

  record(record: JournalRecord): void {
    const id = ++this.seq;
    if (this.listeners.length > 0) {
      const listed = toEntry(id, record);
      for (const listener of this.listeners) listener(listed);
    }
    if (this.size <= 0) return;
    const exchange = record.exchange;
    const [responseBody, answerBuffer] = keepAnswer(exchange?.responseBody, exchange?.responseType ?? null, this.answerBuffers[this.next]);
    this.answerBuffers[this.next] = answerBuffer;
    const kept: Kept = {
      id,
      at: record.at,
      cloud: record.cloud,
      method: record.method,
      path: record.path,
      route: record.route,
      account: record.account,
      status: record.status,
      latency_ms: record.latency_ms,
      ignored_fields: record.ignored_fields,
      headers: keepHeaders(exchange?.headers),
      requestBody: keepBody(exchange?.requestBody, exchange?.requestType),
      responseBody,
    };
    if (this.entries.length < this.size) this.entries.push(kept);
    else this.entries[this.next] = kept;
    this.next = (this.next + 1) % this.size;
  }

  private ordered(): Kept[] {
    return this.entries.length < this.size ? [...this.entries] : [...this.entries.slice(this.next), ...this.entries.slice(0, this.next)];
  }

  /** Newest first, those matching `filter`. */
  list(limit = this.size, filter: JournalFilter = {}): JournalEntry[] {
    const match = matcher(filter);
    const out: JournalEntry[] = [];
    const ordered = this.ordered();
    for (let i = ordered.length - 1; i >= 0 && out.length < limit; i--) {
      const kept = ordered[i]!;
      if (match(kept)) out.push(listed(kept));
    }
    return out;
  }

  /** One entry with its headers and bodies, while it is still in the ring. */
  get(id: number): JournalDetail | null {
    const kept = this.entries.find((e) => e.id === id);
    if (!kept) return null;
    let response: KeptBody | null;
    const body = kept.responseBody;
    if (body !== null && 'raw' in body) {
      response = { content_type: body.type, text: redactText(body.raw.toString('utf8')), truncated: body.bytes > body.raw.length, bytes: body.bytes };
    } else response = body;
    return { ...listed(kept), request: { headers: kept.headers, body: kept.requestBody }, response: { body: response } };
  }

  clear(): void {
    this.entries = [];
    this.answerBuffers = [];
    this.next = 0;
  }
}

function listed(kept: Kept): JournalEntry {
  return toEntry(kept.id, kept);
}

function toEntry(id: number, e: Omit<JournalRecord, 'exchange'>): JournalEntry {
  return {
    id,
    at: new Date(e.at).toISOString(),
    cloud: e.cloud,
    method: e.method,
    path: e.path,
    route: e.route,
    account: e.account,
    status: e.status,
    latency_ms: e.latency_ms,
    ignored_fields: e.ignored_fields,
  };
}

function matcher(filter: JournalFilter): (e: Kept) => boolean {
  const method = filter.method?.toUpperCase();
  const status = filter.status?.toLowerCase();
  const statusClass = status && /^[1-5]xx$/.test(status) ? Number(status[0]) : null;
  const q = filter.q?.toLowerCase();
  return (e) =>
    (filter.cloud === undefined || e.cloud === filter.cloud) &&
    (filter.account === undefined || e.account === filter.account) &&
    (method === undefined || e.method === method) &&
    (status === undefined || (statusClass !== null ? Math.floor(e.status / 100) === statusClass : String(e.status) === status)) &&
    (q === undefined || e.path.toLowerCase().includes(q) || (e.route ?? '').toLowerCase().includes(q));
}

/** Paths (a.b.0.c) of body fields the schema does not describe. */
export function ignoredFields(body: unknown, schema: unknown, path = ''): string[] {
  if (!schema || typeof schema !== 'object' || body === null || typeof body !== 'object') return [];
  const s = schema as { properties?: Record<string, unknown>; items?: unknown; additionalProperties?: unknown };
  if (Array.isArray(body)) {
    if (!s.items) return [];
    return body.flatMap((item, i) => ignoredFields(item, s.items, `${path}${i}.`));
  }
  if (!s.properties || s.additionalProperties === true || typeof s.additionalProperties === 'object') return [];
  const out: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    const child = s.properties[key];
    if (child === undefined) out.push(`${path}${key}`);
    else out.push(...ignoredFields(value, child, `${path}${key}.`));
  }
  return out;
}
