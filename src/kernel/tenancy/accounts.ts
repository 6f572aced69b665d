import { createHash } from 'node:crypto';
import { sql, type Expression, type Kysely, type SelectQueryBuilder, type Transaction } from 'kysely';
import type { AccountClocks, ClockColumns } from '../account-clocks.js';
import type { IdGenerator } from '../ids.js';
import type { Executor, Store } from '../db/store.js';
import { KeptReads } from '../db/kept-reads.js';
import { prepared } from '../db/prepared.js';

/**
 * What an operator says of an account, from `active` (everything allowed) to `banned`. Each
 * cloud decides what the others refuse and with which of its errors.
 */
export const ACCOUNT_STANDINGS = ['active', 'suspended', 'banned', 'disabled', 'unverified', 'payment_method_required'] as const;
export type AccountStanding = (typeof ACCOUNT_STANDINGS)[number];

export interface Account {
  id: string;
  name: string;
  createdAt: number;
  standing: AccountStanding;
}

export interface AccountCreation {
  readonly trx: Transaction<any>;
  readonly account: Account;
  /** The demo account may take pinned credentials from the environment. */
  readonly demo: boolean;
  /**
   * What this cloud reported for the account when it was last made, to be made again as it was
   * (the demo account after a reset keeps the credentials it printed); empty for a new account.
   */
  readonly previous: Record<string, unknown>;
}

/**
 * What a cloud adds when an account is created (its credentials, default resources), and
 * what it reports back, such as `{token}` for Genesis. Runs inside the creating transaction.
 */
export type AccountCreatedHook = (creation: AccountCreation) => Promise<Record<string, unknown> | void>;

export interface CredentialMatch {
  accountId: string;
  credentialId: string;
  /** The account's standing, read in the same statement as the credential. */
  standing: AccountStanding;
  expiresAt: number | null;
  /** The sealed secret stored with the credential (e.g. an HMAC key), or null. */
  secretSealed: string | null;
}

/** A credential as its owner may see it: never its secret. */
export interface CredentialInfo {
  id: string;
  lookup: string;
  label: string;
  createdAt: number;
  expiresAt: number | null;
}

/** One-way hash for bearer tokens: they are long random strings, so a fast hash is enough. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Accounts and their credentials. Every resource row carries the id of the account that owns
 * it; a request is bound to an account by its credential and sees nothing else.
 */
export class Tenancy {
  private readonly hooks = new Map<string, AccountCreatedHook>();
  private readonly issuers = new Map<string, { issue: CredentialIssuer; options: readonly string[] }>();

  constructor(
    private readonly db: Kysely<any>,
    private readonly clocks: AccountClocks,
    private readonly ids: IdGenerator,
    store: Pick<Store, 'tableVersion' | 'writeVersion'>,
  ) {
    // Every authenticated request looks its credential up, and credentials change rarely.
    this.found = new KeptReads(store, ['credentials', 'accounts']);
  }

  /** Credentials found, by cloud, kind and lookup (see KeptReads). */
  private readonly found: KeptReads<CredentialRow>;

  /** Each cloud registers what a new account gets in it. */
  onAccountCreated(cloud: string, hook: AccountCreatedHook): void {
    this.hooks.set(cloud, hook);
  }

  /**
   * Each cloud says how to issue one more credential of its kind (a token, a key pair), and
   * which options it understands (such as `read_only`); others are refused, never ignored.
   */
  onIssueCredential(cloud: string, issue: CredentialIssuer, options: readonly string[] = []): void {
    this.issuers.set(cloud, { issue, options });
  }

  clouds(): string[] {
    return [...this.issuers.keys()];
  }

  async issueCredential(accountId: string, cloud: string, options: Record<string, unknown> = {}): Promise<Record<string, unknown> | undefined> {
    const issuer = this.issuers.get(cloud);
    if (!issuer) return undefined;
    const unknown = Object.keys(options).find((key) => options[key] !== undefined && !issuer.options.includes(key));
    if (unknown !== undefined) throw new CredentialOptionError(`${cloud} credentials have no option "${unknown}" (options: ${issuer.options.join(', ') || 'none'})`);
    return this.db.transaction().execute((trx) => issuer.issue(trx, accountId, options));
  }

  async list(): Promise<Account[]> {
    const rows = await this.db.selectFrom('accounts').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toAccount);
  }

  /** Sets what the operator says of an account; false when there is no such account. */
  async setStanding(accountId: string, standing: AccountStanding): Promise<boolean> {
    const result = await this.db.updateTable('accounts').set({ standing }).where('id', '=', accountId).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** An account's credentials, without anything secret. */
  async credentials(accountId: string): Promise<{ id: string; cloud: string; kind: string; label: string; createdAt: number; expiresAt: number | null }[]> {
    const rows = await this.db
      .selectFrom('credentials')
      .select(['id', 'cloud', 'kind', 'label', 'created_at', 'expires_at'])
      .where('account_id', '=', accountId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      cloud: r.cloud,
      kind: r.kind,
      label: r.label,
      createdAt: Number(r.created_at),
      expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    }));
  }

  /** Revokes a credential at once: the next request presenting it is refused. */
  async revokeCredential(accountId: string, credentialId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('credentials').where('id', '=', credentialId).where('account_id', '=', accountId).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  /**
   * A new account and what each cloud gives it. `previous` (the demo account's, across a reset)
   * makes it again with its former id and what each cloud reported for it, credentials included.
   */
  async create(
    name: string,
    options: { demo?: boolean; previous?: { accountId: string; clouds: Record<string, Record<string, unknown>> } } = {},
  ): Promise<{ account: Account; clouds: Record<string, Record<string, unknown>> }> {
    return this.db.transaction().execute(async (trx) => {
      const account: Account = { id: options.previous?.accountId ?? this.ids.uuid(), name, createdAt: this.clocks.clockFor(null).now(), standing: 'active' };
      await trx.insertInto('accounts').values({ id: account.id, name, created_at: account.createdAt }).execute();
      const clouds: Record<string, Record<string, unknown>> = {};
      for (const [cloud, hook] of this.hooks) {
        const previous = options.previous?.clouds[cloud] ?? {};
        clouds[cloud] = (await hook({ trx, account, demo: options.demo ?? false, previous })) ?? {};
      }
      return { account, clouds };
    });
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async get(id: string): Promise<Account | undefined> {
    const row = await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toAccount(row) : undefined;
  }

  async findByName(name: string): Promise<Account | undefined> {
    const row = await this.db.selectFrom('accounts').selectAll().where('name', '=', name).orderBy('created_at').limit(1).executeTakeFirst();
    return row ? toAccount(row) : undefined;
  }

  async addCredential(
    trx: Executor,
    input: { accountId: string; cloud: string; kind: string; lookup: string; secretSealed?: string | null; label?: string; expiresAt?: number | null },
  ): Promise<string> {
    const id = this.ids.uuid();
    await trx
      .insertInto('credentials')
      .values({
        id,
        account_id: input.accountId,
        cloud: input.cloud,
        kind: input.kind,
        lookup: input.lookup,
        secret_sealed: input.secretSealed ?? null,
        label: input.label ?? '',
        created_at: this.clocks.clockFor(input.accountId).now(),
        expires_at: input.expiresAt ?? null,
      })
      .execute();
    return id;
  }

  /** Every authenticated request runs this one (unless `found` kept its row): built and compiled once (see prepared.ts). */
  private readonly credentialByLookup = prepared<CredentialRow>((cloud, kind, lookup) =>
    this.db
      .selectFrom('credentials as c')
      .innerJoin('accounts as a', 'a.id', 'c.account_id')
      .select([
        'c.id as id',
        'c.account_id as account_id',
        'c.expires_at as expires_at',
        'c.secret_sealed as secret_sealed',
        'a.standing as standing',
        // (the account's clock, read with it: every replica sees a test's clock at once)
        'a.clock_follows_global as clock_follows_global',
        'a.clock_offset_ms as clock_offset_ms',
        'a.clock_frozen_at as clock_frozen_at',
      ])
      .where('c.cloud', '=', cloud)
      .where('c.kind', '=', kind)
      .where('c.lookup', '=', lookup),
  );

  /** Finds the live credential a request presents (its lookup value, already hashed if hashed). */
  async findCredential(cloud: string, kind: string, lookup: string): Promise<CredentialMatch | undefined> {
    const row = await this.credentialRow(cloud, kind, lookup);
    return row === undefined ? undefined : this.matchOf(row);
  }

  /** A credential row as a match: undefined once expired on its account's clock. */
  private matchOf(row: CredentialRow): CredentialMatch | undefined {
    this.clocks.observe(row.account_id, row);
    const expiresAt = row.expires_at === null ? null : Number(row.expires_at);
    if (expiresAt !== null && expiresAt <= this.clocks.clockFor(row.account_id).now()) return undefined;
    return { accountId: row.account_id, credentialId: row.id, standing: row.standing, expiresAt, secretSealed: row.secret_sealed ?? null };
  }

  /**
   * A read made in the same statement as the credential lookup: one round trip where a
   * request would otherwise make two (PostgreSQL). `build` gets the account's id as an
   * expression (the credential's column) and its own arguments' placeholders, as `prepared`
   * gives them; its rows come back in the order of `orderBy` (its own column names, ascending
   * unless a direction is given). The
   * credential is the first of `kinds` that matches `lookup`; its rows are empty when there
   * is none, or when `present` (a column `build` always fills) is null: nothing was found.
   * PostgreSQL only (a lateral join); SQLite keeps found credentials in memory instead.
   *
   * `aggregated` reads the rows as one JSON value (numbers, strings and nulls, as the driver
   * would give them): for a page of small rows, where the driver's work per row cost Hangar
   * more than PostgreSQL's building the JSON does (BENCHMARKS.md, issue 23, sixteenth round).
   */
  fused<R>(
    cloud: string,
    kinds: readonly string[],
    present: string,
    orderBy: readonly (string | readonly [column: string, direction: 'asc' | 'desc'])[],
    build: (account: Expression<string>, ...args: any[]) => SelectQueryBuilder<any, any, R>,
    arity = build.length - 1,
    { aggregated = false }: { aggregated?: boolean } = {},
  ): FusedRead<R> {
    const db = this.db;
    const read = prepared<Record<string, any>>((lookup, ...args) => {
      const preference = sql<number>`case ${sql.join(kinds.map((kind, i) => sql`when c.kind = ${kind} then ${i}`), sql` `)} end`;
      const query = db
        .with('cred', (qb) =>
          qb
            .selectFrom('credentials as c')
            .innerJoin('accounts as a', 'a.id', 'c.account_id')
            .select([
              'c.account_id as credential_account_id',
              // (the credential's columns as one JSON text, on the first row only: see below)
              sql<string>`json_build_array(${sql.join(CREDENTIAL_COLUMNS.map((column) => sql.ref(column)))})::text`.as('credential'),
            ] as any)
            .where('c.cloud', '=', cloud)
            .where('c.kind', 'in', [...kinds])
            .where('c.lookup', '=', lookup)
            .orderBy(preference)
            .limit(1),
        )
        .selectFrom('cred');
      const rows = build(sql.ref<string>('cred.credential_account_id'), ...args).as('d');
      if (aggregated) {
        const order = orderBy.map((by) => (typeof by === 'string' ? sql`${sql.ref(`d.${by}`)}` : sql`${sql.ref(`d.${by[0]}`)} ${sql.raw(by[1])}`));
        const all = sql<string | null>`json_agg(d${orderBy.length > 0 ? sql` order by ${sql.join(order)}` : sql``})::text`;
        return query
          .leftJoinLateral((qb) => qb.selectFrom(rows).select(all.as('rows')).as('x'), (join) => join.onTrue())
          .select(['cred.credential', 'x.rows'] as any);
      }
      let page = query
        .leftJoinLateral(rows, (join) => join.onTrue())
        // (the credential on one row only, as one column: a page of 50 rows would otherwise
        // carry the same nine values 50 times, for the driver to decode and set on each row)
        .select(sql<string | null>`case when row_number() over () = 1 then cred.credential end`.as('credential'))
        .selectAll('d');
      for (const by of orderBy) page = typeof by === 'string' ? page.orderBy(`d.${by}` as any) : page.orderBy(`d.${by[0]}` as any, by[1]);
      return page;
    }, arity + 1);
    return async (lookup, ...args) => {
      const found = await read(db, lookup, ...args);
      if (found.length === 0) return { credential: undefined, rows: [] };
      // (aggregated: one row, the credential and its rows' JSON array, null where `build` found none)
      const rows: Record<string, any>[] = aggregated ? JSON.parse(found[0]!.rows ?? '[]') : found;
      const values = JSON.parse(aggregated ? found[0]!.credential : found.find((row) => row.credential !== null)!.credential) as unknown[];
      const row = Object.fromEntries(CREDENTIAL_COLUMNS.map((column, i) => [column.slice(2), values[i]])) as unknown as CredentialRow & { kind: string };
      const match = this.matchOf(row);
      return { credential: match && { ...match, kind: row.kind }, rows: rows.length === 0 || rows[0]![present] === null ? [] : (rows as R[]) };
    };
  }

  /** The credential's row with its account's (kept while both tables are as they were). */
  private credentialRow(cloud: string, kind: string, lookup: string): Promise<CredentialRow | undefined> {
    return this.found.get(`${cloud}\0${kind}\0${lookup}`, async () => (await this.credentialByLookup(this.db, cloud, kind, lookup))[0]);
  }

  /** An account's credentials of one kind, oldest first, expired ones included. */
  async listCredentials(trx: Executor, accountId: string, cloud: string, kind: string): Promise<CredentialInfo[]> {
    const rows = await trx
      .selectFrom('credentials')
      .select(['id', 'lookup', 'label', 'created_at', 'expires_at'])
      .where('account_id', '=', accountId)
      .where('cloud', '=', cloud)
      .where('kind', '=', kind)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      lookup: r.lookup,
      label: r.label,
      createdAt: Number(r.created_at),
      expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    }));
  }

  /** Removes one of an account's credentials; false when the account has no such credential. */
  async removeCredential(trx: Executor, accountId: string, cloud: string, kind: string, lookup: string): Promise<boolean> {
    const result = await trx
      .deleteFrom('credentials')
      .where('cloud', '=', cloud)
      .where('kind', '=', kind)
      .where('lookup', '=', lookup)
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }
}

/** A read made with a credential lookup (Tenancy.fused): the credential, if live, and the rows read for its account. */
export type FusedRead<R> = (lookup: string, ...args: unknown[]) => Promise<{ credential: (CredentialMatch & { kind: string }) | undefined; rows: R[] }>;

/**
 * The columns of a credential and its account read with another read (Tenancy.fused), as one
 * JSON array in this order; each is set on the CredentialRow under its name without the alias.
 */
const CREDENTIAL_COLUMNS = [
  'c.id',
  'c.kind',
  'c.account_id',
  'c.expires_at',
  'c.secret_sealed',
  'a.standing',
  'a.clock_follows_global',
  'a.clock_offset_ms',
  'a.clock_frozen_at',
] as const;

/** A credential as the request path reads it, with its account's standing and clock. */
interface CredentialRow extends ClockColumns {
  id: string;
  account_id: string;
  expires_at: number | null;
  secret_sealed: string | null;
  standing: AccountStanding;
}

/** Issues one more credential of a cloud's kind, with the options the operator asked for. */
export type CredentialIssuer = (trx: Transaction<any>, accountId: string, options: Record<string, unknown>) => Promise<Record<string, unknown>>;

/** An option a cloud's credentials do not have. */
export class CredentialOptionError extends Error {}

function toAccount(row: Record<string, any>): Account {
  return { id: row.id, name: row.name, createdAt: Number(row.created_at), standing: row.standing as AccountStanding };
}
