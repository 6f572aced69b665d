/**
 * The request journal: the last N cloud API requests, with who sent them, what answered,
 * how long it took, and any body fields the route does not read, so a client sending a field
 * Hangar ignores shows up instead of silently doing nothing.
 */
export interface JournalEntry {
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

/** An entry as recorded: its instant in epoch milliseconds, written out only when listed. */
export type JournalRecord = Omit<JournalEntry, 'at'> & { at: number };

export class Journal {
  private entries: JournalRecord[] = [];
  private next = 0;
  private readonly listeners: ((entry: JournalRecord) => void)[] = [];

  constructor(private readonly size: number) {}

  /** Tells `listener` of each request recorded from now on (the console's live tail). */
  onRecord(listener: (entry: JournalRecord) => void): void {
    this.listeners.push(listener);
  }

  record(entry: JournalRecord): void {
    for (const listener of this.listeners) listener(entry);
    if (this.size <= 0) return;
    if (this.entries.length < this.size) this.entries.push(entry);
    else this.entries[this.next] = entry;
    this.next = (this.next + 1) % this.size;
  }

  /** Newest first. */
  list(limit = this.size): JournalEntry[] {
    const ordered = this.entries.length < this.size ? [...this.entries] : [...this.entries.slice(this.next), ...this.entries.slice(0, this.next)];
    return ordered
      .reverse()
      .slice(0, limit)
      .map((entry) => ({ ...entry, at: new Date(entry.at).toISOString() }));
  }

  clear(): void {
    this.entries = [];
    this.next = 0;
  }
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
