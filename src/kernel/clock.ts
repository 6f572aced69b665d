/**
 * The kernel clock. Every timestamp Hangar writes and every lifecycle timer reads it, so a
 * test (or an operator) can freeze time, move it forward, and watch lifecycles complete at
 * once instead of sleeping.
 *
 * While running, the clock follows the wall clock plus an offset, so moving it forward keeps
 * it ticking from the new point. While frozen, it stays on one instant until moved.
 */
export type ClockListener = () => void;

/** What reads the time: the global clock, or an account's own (see account-clocks.ts). */
export interface TimeSource {
  /** Milliseconds since the epoch, as Hangar sees it. */
  now(): number;
  /** The current instant as an ISO 8601 string. */
  iso(): string;
  readonly frozen: boolean;
}

export class Clock implements TimeSource {
  private offsetMs = 0;
  private frozenAt: number | null = null;
  private readonly listeners = new Set<ClockListener>();

  constructor(options: { frozenAt?: number } = {}) {
    if (options.frozenAt !== undefined) this.frozenAt = options.frozenAt;
  }

  /** Milliseconds since the epoch, as Hangar sees it. */
  now(): number {
    return this.frozenAt ?? Date.now() + this.offsetMs;
  }

  /** The current instant as an ISO 8601 string, the format both clouds put on the wire. */
  iso(): string {
    return new Date(this.now()).toISOString();
  }

  get frozen(): boolean {
    return this.frozenAt !== null;
  }

  /** Stops the clock at its current instant (or at `at`). */
  freeze(at?: number): void {
    this.frozenAt = at ?? this.now();
    this.changed();
  }

  /** Lets a frozen clock run again from the instant it shows. */
  resume(): void {
    if (this.frozenAt === null) return;
    this.offsetMs = this.frozenAt - Date.now();
    this.frozenAt = null;
    this.changed();
  }

  /** Moves the clock forward; it never goes back, so stored timestamps stay ordered. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('the clock only moves forward');
    if (this.frozenAt !== null) this.frozenAt += ms;
    else this.offsetMs += ms;
    this.changed();
  }

  /** The clock's setting, to share with other replicas (an offset from the wall clock, or an instant). */
  snapshot(): { frozenAt: number | null; offsetMs: number } {
    return { frozenAt: this.frozenAt, offsetMs: this.offsetMs };
  }

  /** Takes a setting another replica shared. */
  restore(setting: { frozenAt: number | null; offsetMs: number }): void {
    if (setting.frozenAt === this.frozenAt && setting.offsetMs === this.offsetMs) return;
    this.frozenAt = setting.frozenAt;
    this.offsetMs = setting.offsetMs;
    this.changed();
  }

  /** Back to the wall clock, running: what a reset store starts from. */
  reset(): void {
    this.offsetMs = 0;
    this.frozenAt = null;
    this.changed();
  }

  /** Called whenever the clock is frozen, resumed or moved (the lifecycle engine re-arms). */
  onChange(listener: ClockListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}

/** Parses durations such as "90s", "5m", "1h30m", "250ms" or a bare number of milliseconds. */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new RangeError(`invalid duration: ${input}`);
    return input;
  }
  const text = input.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = part.exec(text)) !== null) {
    total += Number(m[1]) * units[m[2]!]!;
    matched = part.lastIndex;
  }
  if (matched === 0 || matched !== text.length) throw new RangeError(`invalid duration: "${input}"`);
  return Math.round(total);
}
