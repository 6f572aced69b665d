import { generateKeyPairSync, randomBytes } from 'node:crypto';
import pg from 'pg';
import sshpk from 'sshpk';
import { createHangar, type Hangar } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { Clock } from '../../src/kernel/clock.js';
import { HttpClient } from './http-client.js';
import { SpecValidator } from './spec-validator.js';

export const GENESIS = '/compute/v1';
export const T0 = Date.parse('2026-01-05T10:00:00.000Z');

let genesisSpec: SpecValidator | undefined;
export function genesisSpecValidator(): SpecValidator {
  genesisSpec ??= new SpecValidator(new URL('../../spec/genesis-compute-v1.shapes.json', import.meta.url), GENESIS);
  return genesisSpec;
}

export interface TestHangar {
  hangar: Hangar;
  url: string;
  clock: Clock;
  /** The demo account's Genesis client (responses checked against the reference spec). */
  genesis: HttpClient;
  /** A client with no credentials. */
  anonymous: HttpClient;
  demoAccountId: string;
  /** Moves the clock forward and waits until every transition due by then is applied. */
  advance(ms: number): Promise<void>;
  /** A new account and a Genesis client speaking for it. */
  newAccount(name?: string): Promise<{ accountId: string; genesis: HttpClient; token: string }>;
  close(): Promise<void>;
}

/**
 * Starts a real Hangar on an ephemeral port (in-memory store, clock frozen at T0, rate limit
 * off unless asked for) and returns clients that speak HTTP to it.
 */
export async function startHangar(options: { env?: Record<string, string>; clock?: Clock } = {}): Promise<TestHangar> {
  const clock = options.clock ?? new Clock({ frozenAt: T0 });
  const store = testStore();
  const config = loadConfig({
    HANGAR_DATABASE_URL: store.url,
    HANGAR_SECRET_KEY: 'hangar-test-sealing-key',
    HANGAR_TIMINGS: 'fast',
    HANGAR_RATE_LIMIT: '0',
    HANGAR_LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: '0',
    ...options.env,
  });
  let hangar: Hangar;
  try {
    hangar = await createHangar(config, { clock });
  } catch (error) {
    await store.drop();
    throw error;
  }
  const url = await hangar.listen();
  const validator = genesisSpecValidator();
  const token = String(hangar.demo.credentials.genesis?.token);
  const client = (t: string) => new HttpClient(url + GENESIS, { authorization: `Bearer ${t}` }, validator);
  return {
    hangar,
    url,
    clock,
    genesis: client(token),
    anonymous: new HttpClient(url + GENESIS, {}, validator),
    demoAccountId: hangar.demo.accountId!,
    async advance(ms: number) {
      clock.advance(ms);
      await hangar.kernel.lifecycle.runDue();
    },
    async newAccount(name = 'tenant') {
      const { account, clouds } = await hangar.kernel.tenancy.create(name);
      const t = String(clouds.genesis!.token);
      return { accountId: account.id, genesis: client(t), token: t };
    },
    async close() {
      await hangar.close();
      await store.drop();
    },
  };
}

/**
 * The store a test Hangar runs on: in-memory SQLite, or, when the suite runs against
 * PostgreSQL (HANGAR_TEST_ENGINE=postgres with HANGAR_TEST_POSTGRES_URL), a schema of its
 * own that is dropped afterwards, so tests and concurrent runs never see each other's rows.
 */
export function testStore(): { url: string; drop(): Promise<void> } {
  const base = process.env.HANGAR_TEST_POSTGRES_URL;
  if (process.env.HANGAR_TEST_ENGINE !== 'postgres' || !base) return { url: 'sqlite::memory:', drop: async () => undefined };
  const schema = `hangar_test_${randomBytes(6).toString('hex')}`;
  const url = `${base}${base.includes('?') ? '&' : '?'}schema=${schema}`;
  return {
    url,
    async drop() {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      try {
        await client.query(`drop schema if exists "${schema}" cascade`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A fresh OpenSSH public key line. */
export function publicKey(kind: 'ed25519' | 'rsa' = 'ed25519', comment = 'tester@hangar'): string {
  const pair =
    kind === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
      : generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  return `${sshpk.parseKey(pair.publicKey, 'pem').toString('ssh')} ${comment}`;
}

export function privateKeyPem(): string {
  return generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }).privateKey;
}
