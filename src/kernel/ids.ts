import { createHash, randomBytes, randomUUID } from 'node:crypto';

/**
 * Resource ids. By default they are random v4 UUIDs, the format both clouds use. With a
 * seed, the sequence is reproducible run to run (same seed, same calls, same ids), which
 * lets a test suite compare whole exports byte for byte.
 */
export class IdGenerator {
  private counter = 0;
  private lastOrdinal = 0;
  /** For sequential(): the millisecond of the last id, and how many were made in it. */
  private sequenceMs = 0;
  private sequence = 0;

  constructor(private seed: string | null = null) {}

  reseed(seed: string | null): void {
    this.seed = seed;
    this.counter = 0;
    this.lastOrdinal = 0;
  }

  /**
   * A number that orders rows by creation: the clock in microseconds, and never less than one
   * more than the last one, so rows created in the same millisecond (a frozen clock makes
   * every create so) still list in the order they were made.
   */
  ordinal(nowMs: number): number {
    this.lastOrdinal = Math.max(nowMs * 1000, this.lastOrdinal + 1);
    return this.lastOrdinal;
  }

  /**
   * A credential secret. Random from the system RNG, except under a seed, where it is derived
   * from the seed too so that a seeded run (a test suite's) is reproducible byte for byte.
   */
  secret(bytes: number, encoding: 'hex' | 'base64url' = 'hex'): string {
    if (this.seed === null) return randomSecret(bytes, encoding);
    const out = Buffer.alloc(bytes);
    for (let offset = 0; offset < bytes; offset += 32) {
      createHash('sha256').update(`${this.seed}:secret:${this.counter++}`).digest().copy(out, offset);
    }
    return out.toString(encoding);
  }

  get seeded(): string | null {
    return this.seed;
  }

  /**
   * An id for the engine's own bookkeeping rows (timers, audit entries) that sorts by creation:
   * a version 7 UUID, the wall clock's milliseconds first. Rows written together then share the
   * primary key index's last pages instead of dirtying a random page each, which is most of
   * what a burst of transitions costs to commit. Under a seed it is the seeded uuid (a seeded
   * run must not depend on the wall clock).
   */
  sequential(): string {
    if (this.seed !== null) return this.uuid();
    const ms = Date.now();
    this.sequence = ms === this.sequenceMs ? (this.sequence + 1) & 0xfff : 0;
    this.sequenceMs = ms;
    const time = ms.toString(16).padStart(12, '0');
    const random = randomUUID();
    return `${time.slice(0, 8)}-${time.slice(8)}-7${this.sequence.toString(16).padStart(3, '0')}${random.slice(18)}`;
  }

  uuid(): string {
    if (this.seed === null) return randomUUID();
    const digest = createHash('sha256').update(`${this.seed}:${this.counter++}`).digest();
    digest[6] = (digest[6]! & 0x0f) | 0x40; // version 4
    digest[8] = (digest[8]! & 0x3f) | 0x80; // RFC 4122 variant
    const hex = digest.subarray(0, 16).toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
}

/** A secret for a credential: never derived from the id seed, always from the system RNG. */
export function randomSecret(bytes: number, encoding: 'hex' | 'base64url' = 'hex'): string {
  return randomBytes(bytes).toString(encoding);
}
