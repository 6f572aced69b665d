import { randomUUID } from 'node:crypto';

/**
 * Crusoe Cloud errors. The spec's error responses are `{"code": "<status>", "message": ...}`
 * (`{"code": "401", "message": "bad_credential"}` in both the seed and the spec), and its
 * `ErrorBody` adds `error_id` and `reason`; clients decode errors into that shape.
 *
 * Hangar fills them as follows:
 * - `code`: the HTTP status as a string, as the seed and the spec examples show;
 * - `message`: what was wrong, in words that name the field or resource at fault (the
 *   Terraform provider shows `message` to its user);
 * - `reason`: the short slug the seed shows as its message (`bad_request`, `bad_credential`,
 *   `unauthorized`, `not_found`, `conflict`, `internal_error`), so a program can branch on it;
 * - `error_id`: a fresh id for this failure, also written to the log for 5xx answers.
 */
export const Reason = {
  BadRequest: 'bad_request',
  BadCredential: 'bad_credential',
  Unauthorized: 'unauthorized',
  NotFound: 'not_found',
  Conflict: 'conflict',
  QuotaExceeded: 'quota_exceeded',
  TooManyRequests: 'too_many_requests',
  Internal: 'internal_error',
} as const;

export type CrusoeReason = (typeof Reason)[keyof typeof Reason] | string;

export interface CrusoeErrorBody {
  code: string;
  message: string;
  reason: string;
  error_id: string;
}

export class CrusoeError extends Error {
  readonly errorId = randomUUID();

  constructor(
    readonly statusCode: number,
    readonly reason: CrusoeReason,
    message: string,
  ) {
    super(message);
  }

  toJSON(): CrusoeErrorBody {
    return { code: String(this.statusCode), message: this.message, reason: this.reason, error_id: this.errorId };
  }
}

export const badRequest = (message: string) => new CrusoeError(400, Reason.BadRequest, message);
export const badCredential = (message: string) => new CrusoeError(401, Reason.BadCredential, message);
export const notFound = (what: string, id: string) => new CrusoeError(404, Reason.NotFound, `${what} "${id}" not found`);
export const conflict = (message: string) => new CrusoeError(409, Reason.Conflict, message);

/**
 * Someone else's project, or none at all: the same answer for both, so a project's existence
 * is not revealed to those outside it (the spec's `permissionsError`).
 */
export const projectForbidden = (projectId: string) =>
  new CrusoeError(403, Reason.Unauthorized, `unauthorized: project "${projectId}" does not exist or you are not a member of it`);

/** An operation that does not exist, is not the caller's, or has expired: 403, as the seed says. */
export const operationForbidden = (operationId: string) =>
  new CrusoeError(403, Reason.Unauthorized, `unauthorized: operation "${operationId}" does not exist, is not yours, or has expired`);

export function reasonForStatus(status: number): CrusoeReason {
  if (status === 400) return Reason.BadRequest;
  if (status === 401) return Reason.BadCredential;
  if (status === 403) return Reason.Unauthorized;
  if (status === 404) return Reason.NotFound;
  if (status === 409) return Reason.Conflict;
  if (status === 429) return Reason.TooManyRequests;
  if (status >= 500) return Reason.Internal;
  return Reason.BadRequest;
}
