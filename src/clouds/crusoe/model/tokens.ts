import type { Executor } from '../../../kernel/db/store.js';
import type { CredentialMatch } from '../../../kernel/tenancy/accounts.js';
import { badCredential, badRequest, notFound, projectForbidden } from '../errors.js';
import {
  decodeSecret,
  parseAuthorization,
  parseTimestamp,
  sign,
  signaturesMatch,
  signedPath,
  signingMessages,
  SigningError,
} from '../signing.js';
import type { ProjectRow } from '../tables.js';
import { ACCESS_KEY_KIND, CLOUD, type CrusoeContext } from './context.js';
import type { Projects } from './projects.js';

/** How far a request's X-Crusoe-Timestamp may be from now, either way (replays beyond it fail). */
export const TIMESTAMP_WINDOW_MS = 5 * 60_000;
/** last_used is written at most this often per key: a busy client does not write on every call. */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface IssuedKey {
  /** The kernel credential the key is (what the admin API revokes). */
  credential_id: string;
  access_key: string;
  secret_key: string;
  alias: string;
  created_at: number;
  expires_at: number | null;
}

export interface TokenView {
  access_key: string;
  alias: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
}

/** A request's signature headers, parsed (see Tokens.presented). */
interface Presented {
  accessKey: string;
  signature: string;
  timestamp: number;
  /** Why the timestamp is outside the window of Hangar's and the wall clock (null: it is not). */
  skewed: string | null;
  /** What the signature may be of (see signingMessages). */
  messages: string[];
}

export interface SignedRequest {
  method: string;
  /** The request target as received (path and raw query). */
  url: string;
  authorization: string | undefined;
  timestamp: string | string[] | undefined;
}

/**
 * API tokens (access key + secret) and the verification of signed requests.
 *
 * The access key is public (it travels in every request); the secret is the HMAC key, which
 * the server must read back, so it is stored sealed (kernel SecretBox), never in clear. The
 * credential row is the single source of truth: a deleted or expired token stops working on
 * the next request.
 */
export class Tokens {
  /** Opened secrets by sealed value (the seal is opened once, not per request; a new seal is a new entry). */
  private readonly opened = new Map<string, Buffer>();
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    private readonly ctx: CrusoeContext,
    private readonly projects: Projects,
  ) {}

  /** Issues a key pair to an account (in the caller's transaction). */
  async issue(trx: Executor, accountId: string, input: { alias: string; expiresAt: number | null; accessKey?: string; secretKey?: string }): Promise<IssuedKey> {
    const { kernel } = this.ctx;
    const accessKey = input.accessKey ?? kernel.ids.secret(16, 'base64url');
    const secretKey = input.secretKey ?? kernel.ids.secret(16, 'base64url');
    const credentialId = await kernel.tenancy.addCredential(trx, {
      accountId,
      cloud: CLOUD,
      kind: ACCESS_KEY_KIND,
      lookup: accessKey,
      secretSealed: kernel.secrets.seal(secretKey),
      label: input.alias,
      expiresAt: input.expiresAt,
    });
    await trx
      .insertInto('crusoe_tokens')
      .values({ access_key: accessKey, account_id: accountId, last_used_at: null })
      .onConflict((oc) => oc.column('access_key').doNothing())
      .execute();
    return { credential_id: credentialId, access_key: accessKey, secret_key: secretKey, alias: input.alias, created_at: kernel.clockFor(accountId).now(), expires_at: input.expiresAt };
  }

  /** POST /users/tokens: the secret is shown in this answer and never again. */
  async create(accountId: string, input: { alias?: string; expires_at: string }): Promise<IssuedKey> {
    const { kernel, db } = this.ctx;
    const expiresAt = parseTime(input.expires_at, 'expires_at');
    if (expiresAt <= kernel.clockFor(accountId).now()) throw badRequest(`"expires_at" must be in the future (got ${input.expires_at})`);
    return db.transaction().execute((trx) => this.issue(trx, accountId, { alias: input.alias ?? '', expiresAt }));
  }

  async list(accountId: string): Promise<TokenView[]> {
    const { kernel, db } = this.ctx;
    const [credentials, usage] = await Promise.all([
      kernel.tenancy.listCredentials(db, accountId, CLOUD, ACCESS_KEY_KIND),
      db.selectFrom('crusoe_tokens').select(['access_key', 'last_used_at']).where('account_id', '=', accountId).execute(),
    ]);
    const lastUsed = new Map(usage.map((u) => [u.access_key, u.last_used_at === null ? null : Number(u.last_used_at)]));
    return credentials.map((c) => ({
      access_key: c.lookup,
      alias: c.label,
      created_at: c.createdAt,
      expires_at: c.expiresAt,
      last_used_at: lastUsed.get(c.lookup) ?? null,
    }));
  }

  async delete(accountId: string, accessKey: string): Promise<void> {
    const { kernel, db } = this.ctx;
    await db.transaction().execute(async (trx) => {
      const removed = await kernel.tenancy.removeCredential(trx, accountId, CLOUD, ACCESS_KEY_KIND, accessKey);
      if (!removed) throw notFound('token', accessKey);
      await trx.deleteFrom('crusoe_tokens').where('access_key', '=', accessKey).where('account_id', '=', accountId).execute();
    });
    this.lastUsedWritten.delete(accessKey);
  }

  /**
   * Verifies a signed request and returns the account it speaks for. Every failure is a 401
   * whose message says what was wrong (malformed header, stale timestamp, unknown or expired
   * key, signature mismatch). A request under a project (`projectId`) must be the project's
   * account's too: otherwise 403, once the signature has been verified.
   */
  async authenticate(request: SignedRequest, projectId: string | null): Promise<string> {
    const presented = this.presented(request);
    const { match, project } = await this.credentialOf(presented.accessKey, projectId);
    const accountId = await this.admit(presented, match);
    if (projectId !== null) {
      if (project === null) await this.projects.member(this.ctx.db, accountId, projectId);
      else if (project === undefined) throw projectForbidden(projectId);
    }
    return accountId;
  }

  /**
   * The access key a request presents, for a route that reads with it in one statement (see
   * admitWith); a malformed Authorization header is refused here. The rest (timestamp,
   * signature) is checked once, by admitWith, before anything read is used.
   */
  presentedKey(request: SignedRequest): string {
    try {
      return parseAuthorization(request.authorization).accessKey;
    } catch (error) {
      if (error instanceof SigningError) throw badCredential(error.message);
      throw error;
    }
  }

  /** Verifies a request against the credential read with its access key (see presentedKey): the account it speaks for. */
  admitWith(request: SignedRequest, match: CredentialMatch | undefined): Promise<string> {
    return this.admit(this.presented(request), match);
  }

  /** What a request's signature headers say, or a 401 for headers that say nothing valid. */
  private presented(request: SignedRequest): Presented {
    const { kernel } = this.ctx;
    try {
      const { accessKey, signature } = parseAuthorization(request.authorization);
      const timestamp = parseTimestamp(request.timestamp);
      // The kernel clock is Hangar's "now"; the wall clock is accepted too, so an operator who
      // moved the clock (a test clock) does not lock out clients signing with the real time.
      // (and the account's own clock, once the key says whose it is: see admit)
      const skew = Math.min(Math.abs(timestamp - kernel.clock.now()), Math.abs(timestamp - Date.now()));
      const skewed =
        skew > TIMESTAMP_WINDOW_MS
          ? `X-Crusoe-Timestamp ${String(request.timestamp)} is outside the allowed window of ${TIMESTAMP_WINDOW_MS / 60_000} minutes: sign each request with the current time`
          : null;
      const { path, rawQuery } = signedPath(request.url);
      return { accessKey, signature, timestamp, skewed, messages: signingMessages(path, rawQuery, request.method, String(request.timestamp)) };
    } catch (error) {
      if (error instanceof SigningError) throw badCredential(`${error.message}`);
      throw error;
    }
  }

  /** The account a request speaks for, once its key is found live and its signature matches. */
  private async admit(presented: Presented, match: CredentialMatch | undefined): Promise<string> {
    const { accessKey, skewed } = presented;
    if (skewed !== null && (match === undefined || Math.abs(presented.timestamp - this.ctx.kernel.clockFor(match.accountId).now()) > TIMESTAMP_WINDOW_MS)) {
      throw badCredential(skewed);
    }
    if (!match || match.secretSealed === null) throw badCredential(`access key "${accessKey}" is unknown, deleted or expired`);
    const key = this.secretOf(match.credentialId, match.secretSealed);
    if (!presented.messages.some((message) => signaturesMatch(sign(key, message), presented.signature))) {
      throw badCredential('the signature does not match the request (path, canonical query, method and timestamp)');
    }
    await this.touch(match.accountId, accessKey);
    return match.accountId;
  }

  /**
   * The access key's credential and, for a request under a project, that project if it is the
   * key's account's: read in one statement where the store can (else `project` is null, to be
   * asked once the key is verified).
   */
  private async credentialOf(accessKey: string, projectId: string | null): Promise<{ match: CredentialMatch | undefined; project: ProjectRow | undefined | null }> {
    const fused = projectId === null ? null : this.projects.memberWithCredential;
    if (fused === null) return { match: await this.ctx.kernel.tenancy.findCredential(CLOUD, ACCESS_KEY_KIND, accessKey), project: null };
    const { credential, rows } = await fused(accessKey, projectId);
    return { match: credential, project: rows[0] };
  }

  private secretOf(credentialId: string, sealed: string): Buffer {
    let key = this.opened.get(sealed);
    if (key === undefined) {
      try {
        key = decodeSecret(this.ctx.kernel.secrets.open(sealed));
      } catch {
        // Sealed under another server key (HANGAR_SECRET_KEY or the key file changed).
        this.ctx.kernel.log.warn({ credentialId }, 'a Crusoe secret key cannot be opened with the current sealing key');
        throw badCredential('this access key can no longer be verified (the server\'s sealing key changed): create a new one');
      }
      if (this.opened.size >= 10_000) this.opened.clear();
      this.opened.set(sealed, key);
    }
    return key;
  }

  private async touch(accountId: string, accessKey: string): Promise<void> {
    const now = this.ctx.kernel.clockFor(accountId).now();
    const written = this.lastUsedWritten.get(accessKey);
    if (written !== undefined && Math.abs(now - written) < LAST_USED_RESOLUTION_MS) return;
    this.lastUsedWritten.set(accessKey, now);
    await this.ctx.db
      .updateTable('crusoe_tokens')
      .set({ last_used_at: now })
      .where('access_key', '=', accessKey)
      .where('account_id', '=', accountId)
      .execute();
  }
}

/** An RFC 3339 time in a request body, or a 400 naming the field. */
export function parseTime(value: string, field: string): number {
  const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(at)) throw badRequest(`"${field}" must be an RFC 3339 time such as 2030-01-01T00:00:00Z (got "${value}")`);
  return at;
}
