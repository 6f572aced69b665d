import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * Sealing of secrets the server must read back in clear (an HMAC key, say), as opposed to
 * bearer tokens, which are only ever compared and so are stored hashed.
 *
 * A sealed value is AES-256-GCM under a server key: a copy of the database (a dump, a
 * backup, a stolen file) does not reveal the secrets without the key, and a tampered value
 * fails to open instead of yielding a wrong secret.
 *
 * Where the key comes from, in order:
 *  1. HANGAR_SECRET_KEY (64 hex digits or base64 of 32 bytes; any other text is hashed into a
 *     key), so an operator can keep the key out of the data directory altogether;
 *  2. for an SQLite file store, a key file beside the database (`secret.key`, mode 0600),
 *     created on first start, so a store keeps working across restarts without configuration
 *     while the key still lives outside the database file;
 *  3. for an in-memory store, a random key for this process: nothing outlives the process, so
 *     there is nothing a key would need to open later.
 * A PostgreSQL store has no directory of its own and is shared by replicas, so it needs (1).
 */
export class SecretBox {
  private static readonly VERSION = 'v1';
  private readonly nonceKey: Buffer;

  /** `reproducible`: whether to seal reproducibly now (a seeded run's, see seal()). */
  constructor(
    private readonly key: Buffer,
    private readonly reproducible: () => boolean = () => false,
  ) {
    if (key.length !== 32) throw new RangeError('the sealing key must be 32 bytes');
    this.nonceKey = createHash('sha256').update('hangar sealing nonce\0').update(key).digest();
  }

  /**
   * A fresh random nonce each time, except in a seeded run (a test suite comparing exports byte
   * for byte): there the nonce is derived from the secret (a synthetic IV, as in AES-SIV), so a
   * secret seals to the same text every time and two different secrets never share a nonce.
   */
  seal(plaintext: string): string {
    const iv = this.reproducible() ? createHmac('sha256', this.nonceKey).update(plaintext, 'utf8').digest().subarray(0, 12) : randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return `${SecretBox.VERSION}:${Buffer.concat([iv, tag, body]).toString('base64url')}`;
  }

  /** The secret in clear; throws when the value was sealed under another key or altered. */
  open(sealed: string): string {
    const [version, payload] = sealed.split(':', 2);
    if (version !== SecretBox.VERSION || payload === undefined) throw new Error('not a sealed secret');
    const raw = Buffer.from(payload, 'base64url');
    if (raw.length < 28) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}

/** Turns HANGAR_SECRET_KEY into 32 key bytes (see SecretBox for the accepted forms). */
export function keyFromText(text: string): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) {
    const bytes = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (bytes.length === 32) return bytes;
  }
  return createHash('sha256').update(trimmed, 'utf8').digest();
}

/** The sealing key for a store (see SecretBox for the order in which sources are tried). */
export function resolveSealingKey(options: { secretKey?: string | null; databaseUrl: string }): Buffer {
  if (options.secretKey) return keyFromText(options.secretKey);
  if (/^postgres(ql)?:\/\//.test(options.databaseUrl)) {
    // A shared database outlives any one process and has no directory of its own to keep a key in.
    throw new Error('HANGAR_SECRET_KEY must be set when the store is PostgreSQL (sealed secrets must open on every replica)');
  }
  const file = keyFileFor(options.databaseUrl);
  if (file === null) return randomBytes(32);
  try {
    return keyFromText(readFileSync(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = randomBytes(32);
  mkdirSync(dirname(file), { recursive: true });
  // 'wx': never overwrite a key another process wrote a moment ago; read that one instead.
  try {
    writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return keyFromText(readFileSync(file, 'utf8'));
    throw error;
  }
}

function keyFileFor(databaseUrl: string): string | null {
  if (!databaseUrl.startsWith('sqlite:')) return null;
  const path = databaseUrl.slice('sqlite:'.length);
  if (path === '' || path === ':memory:') return null;
  return join(dirname(resolve(path)), 'secret.key');
}
