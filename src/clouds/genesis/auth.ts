import type { FastifyRequest } from 'fastify';
import type { Kernel } from '../../kernel/kernel.js';
import type { AccountStanding, CredentialMatch } from '../../kernel/tenancy/accounts.js';
import { Code, GenesisError } from './errors.js';
import { CLOUD, READ_TOKEN_KIND, TOKEN_KIND } from './model/context.js';

/** A credential found for a request, and of which kind (a read-only token, or not). */
export type FoundCredential = CredentialMatch & { kind: string };

/**
 * Lets a request in as the credential's account, or refuses it: no live credential (401), an
 * account whose standing refuses the request, a read-only token asking for a change (403).
 * Answers to the token may be replayed until it expires, unless a rate limit must count every
 * request (`replayable` false).
 */
export function admit(kernel: Kernel, request: FastifyRequest, found: FoundCredential | undefined, replayable: boolean): void {
  if (!found) throw new GenesisError(401, Code.PermissionDeniedAuth, 'permission denied: the API token is not valid');
  // (routeOptions is built afresh on each read: only looked at for an account in bad standing)
  if (found.standing !== 'active') refuseByStanding(found.standing, request.method, request.routeOptions.url ?? '');
  if (found.kind === READ_TOKEN_KIND && request.method !== 'GET' && request.method !== 'HEAD') {
    throw new GenesisError(403, Code.PermissionDenied, `permission denied: this API token may only read (${request.method} is a change)`);
  }
  request.accountId = found.accountId;
  // (The expiry is on the account's clock, the replay's check on the global one: shifted by
  // the account's lead, so an account clock ahead of it stops the replays when it should.)
  if (replayable) {
    request.replayableUntil = found.expiresAt === null ? Number.POSITIVE_INFINITY : found.expiresAt - (kernel.clockFor(found.accountId).now() - kernel.clock.now());
  }
}

/** The live token with this lookup: a full one, else a read-only one. */
export async function findToken(kernel: Kernel, lookup: string): Promise<FoundCredential | undefined> {
  const match = await kernel.tenancy.findCredential(CLOUD, TOKEN_KIND, lookup);
  if (match !== undefined) return { ...match, kind: TOKEN_KIND };
  const readOnly = await kernel.tenancy.findCredential(CLOUD, READ_TOKEN_KIND, lookup);
  return readOnly && { ...readOnly, kind: READ_TOKEN_KIND };
}

/** What a read made with the caller's credential found: the credential (undefined: none is live), and what was read. */
export interface AsCaller<T> {
  credential: FoundCredential | undefined;
  value: T;
}

/** A read in one statement with the caller's credential (Tenancy.fused), or null where it cannot be. */
export type ReadAsCaller<T> = (lookup: string) => Promise<AsCaller<T>> | null;

/**
 * What a route reads as its caller. Where authenticate left the credential to the route
 * (`request.deferredCredential`), the read is made with the credential in one statement and
 * the credential checked as `admit` checks it before anything read is used; otherwise (or
 * where `fused` cannot make that read) `plain` reads as the account already admitted.
 */
export async function readAsCaller<T>(kernel: Kernel, request: FastifyRequest, fused: ReadAsCaller<T>, plain: (accountId: string) => Promise<T>): Promise<T> {
  const lookup = request.deferredCredential;
  if (lookup === null) return plain(request.accountId);
  request.deferredCredential = null;
  const read = fused(lookup);
  if (read === null) {
    admit(kernel, request, await findToken(kernel, lookup), false);
    return plain(request.accountId);
  }
  const { credential, value } = await read;
  admit(kernel, request, credential, false);
  return value;
}

/**
 * What an account's standing refuses, with the seed's codes: a suspended, banned or disabled
 * account gets nothing; an unverified one may read but not change anything; one that needs a
 * payment method may do anything but create (every POST but an instance action).
 */
function refuseByStanding(standing: AccountStanding, method: string, route: string): void {
  switch (standing) {
    case 'active':
      return;
    case 'suspended':
      throw new GenesisError(403, Code.AccountSuspended, 'your account is suspended');
    case 'banned':
      throw new GenesisError(403, Code.AccountBanned, 'your account is banned');
    case 'disabled':
      throw new GenesisError(403, Code.AccountDisabled, 'your account is disabled');
    case 'unverified':
      if (method === 'GET' || method === 'HEAD') return;
      throw new GenesisError(403, Code.AccountNotVerified, 'account not verified: verify your account before making changes');
    case 'payment_method_required':
      if (method !== 'POST' || route.endsWith('/actions')) return;
      throw new GenesisError(403, Code.PaymentMethodRequired, 'payment method required: add a payment method before creating resources');
  }
}

