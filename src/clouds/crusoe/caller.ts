import type { FastifyRequest } from 'fastify';
import type { FusedRead } from '../../kernel/tenancy/accounts.js';
import { projectForbidden } from './errors.js';
import type { CrusoeModel } from './model/index.js';
import type { SignedRequest } from './model/tokens.js';

/** What a request's signature covers, as Tokens verifies it. */
export function signedRequest(request: FastifyRequest): SignedRequest {
  return {
    method: request.method,
    url: request.raw.url ?? request.url,
    authorization: request.headers.authorization,
    timestamp: request.headers['x-crusoe-timestamp'],
  };
}

export function projectIdOf(request: FastifyRequest): string {
  return String((request.params as { project_id?: string }).project_id ?? '');
}

/** A route's read made with the caller's access key (see readAsCaller): the statement, its arguments after the key, and what the route makes of its rows. */
export interface ReadWithKey<R, T> {
  read: FusedRead<R>;
  args: unknown[];
  /** (given the account the key speaks for, once verified) */
  use(rows: R[], accountId: string): Promise<T>;
}

/**
 * What a project-scoped route reads as its caller. Where authenticate left the access key to
 * the route (`request.deferredCredential`: a `fused` route on PostgreSQL), `fused` reads the
 * key's credential, the project if it is the key's account's, and the route's rows in one
 * statement (see Tenancy.fused); the request is verified (signature, then project) before
 * `use` sees the rows. Otherwise (or where the route has no such read: `fused` null) `plain`
 * reads as the caller admitted.
 */
export async function readAsCaller<R, T>(
  m: CrusoeModel,
  request: FastifyRequest,
  fused: ReadWithKey<R, T> | null,
  plain: () => Promise<T>,
): Promise<T> {
  const accessKey = request.deferredCredential;
  if (accessKey === null) return plain();
  request.deferredCredential = null;
  if (fused === null) {
    request.accountId = await m.tokens.authenticate(signedRequest(request), projectIdOf(request));
    return plain();
  }
  const { credential, rows } = await fused.read(accessKey, ...fused.args);
  request.accountId = await m.tokens.admitWith(signedRequest(request), credential);
  if (rows.length === 0) throw projectForbidden(projectIdOf(request));
  return fused.use(rows, request.accountId);
}
