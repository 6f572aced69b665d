import { isStoreUnavailable, isTransactionAborted, STORE_BUSY } from '../kernel/db/errors.js';
import { describeValidation } from './validation.js';

/**
 * One classifier of failures for every API Hangar serves. Whatever went wrong (a body that is
 * not JSON, a URL that does not decode, a value out of range, the store unreachable, a name
 * taken by a concurrent request, a bug) is sorted into one of these kinds, with the HTTP status
 * it answers and a message naming the problem; each cloud renders a failure in its own error
 * body and picks its own code for the kind. Errors a cloud raises on purpose (its own error
 * class) never come here.
 */
export type FailureKind =
  /** A field has the wrong type, range or form (400). */
  | 'invalid'
  /** A required field is absent (400). */
  | 'missing'
  /** The request cannot be read at all: not JSON, a URL that does not decode, a NUL byte, the wrong media type (400). */
  | 'malformed'
  /** The body, a path segment or the headers are longer than Hangar reads (413, 414, 431). */
  | 'too_large'
  /** No route answers this method and path (404). */
  | 'not_found'
  /** The request did not arrive in full within the request timeout (408). */
  | 'timeout'
  /**
   * Something the request refers to (its account, its project, a resource it names) was
   * deleted by a concurrent request while it ran (404; see cloudPlugin, which asks the
   * cloud to admit the request again so that a caller or project now gone hears the cloud's
   * own refusal instead).
   */
  | 'gone'
  /** A concurrent request took the name or id first (409). */
  | 'conflict'
  /** The store cannot be reached, or the server is shutting down (503). */
  | 'unavailable'
  /** Every store connection is taken and the queue for one is full or waited too long (503). */
  | 'busy'
  /** Any other client error Fastify reported, with its own status (4xx). */
  | 'client'
  /** Anything else: a bug (500). */
  | 'internal';

export interface Failure {
  kind: FailureKind;
  status: number;
  /** What was wrong, in words a client can act on; never the internals of a 500. */
  message: string;
}

/**
 * A failure raised on purpose by code shared between the clouds (request hooks, the store),
 * already classified; each cloud renders it in its own body.
 */
export class RequestFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export function classifyFailure(error: unknown): Failure {
  if (error instanceof RequestFailure) return { kind: error.kind, status: error.statusCode, message: error.message };
  const err = (error ?? {}) as { code?: unknown; statusCode?: unknown; message?: unknown; validation?: unknown; validationContext?: string };
  const message = typeof err.message === 'string' ? err.message : String(error);
  if (err.validation) {
    const problem = describeValidation(err.validation as never, err.validationContext);
    const where = err.validationContext === 'querystring' ? ' (query)' : err.validationContext === 'params' ? ' (path)' : '';
    return { kind: problem.missing ? 'missing' : 'invalid', status: 400, message: `${problem.message}${where}` };
  }
  const code = typeof err.code === 'string' ? err.code : '';
  const byCode = FRAMEWORK[code];
  if (byCode) return byCode(message);
  if (code === STORE_BUSY) return { kind: 'busy', status: 503, message };
  if (isStoreUnavailable(error)) return { kind: 'unavailable', status: 503, message: 'the store cannot be reached right now; retry shortly' };
  // (the writes that retry an abort gave up, or one that does not: contention, not a bug)
  if (isTransactionAborted(error)) return { kind: 'busy', status: 503, message: 'the store ended this write to resolve a conflict with concurrent writes; retry shortly' };
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || code === '23503') {
    return { kind: 'gone', status: 404, message: 'a resource this request refers to was deleted by another request while this one ran' };
  }
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505') {
    return { kind: 'conflict', status: 409, message: 'a resource with that name or id already exists (created by a concurrent request)' };
  }
  // PostgreSQL data exceptions (22xxx: a number out of its column's range, a NUL byte, text
  // that is not a number): the request carried a value the store cannot hold. Validation
  // refuses such values first; this is the backstop that keeps one from becoming a 500.
  if (/^22[0-9A-Z]{3}$/.test(code)) return { kind: 'invalid', status: 400, message: 'a value in the request is out of the range the store accepts' };
  if (error instanceof SyntaxError) return { kind: 'malformed', status: 400, message: `malformed request: ${message}` };
  const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
  if (status >= 400 && status < 500) return { kind: 'client', status, message };
  return { kind: 'internal', status: 500, message: 'internal error: the request could not be completed' };
}

/** Fastify's own errors, by code. */
const FRAMEWORK: Record<string, (message: string) => Failure> = {
  FST_ERR_CTP_INVALID_JSON_BODY: (m) => ({ kind: 'malformed', status: 400, message: `the request body is not valid JSON (${m})` }),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => ({ kind: 'malformed', status: 400, message: 'the request body is empty; send a JSON object' }),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => ({ kind: 'malformed', status: 400, message: 'send the request body as application/json' }),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => ({ kind: 'malformed', status: 400, message: 'the Content-Length header does not match the body' }),
  FST_ERR_CTP_BODY_TOO_LARGE: () => ({ kind: 'too_large', status: 413, message: 'the request body is too large' }),
  FST_ERR_BAD_URL: () => ({ kind: 'malformed', status: 400, message: 'the URL is not validly percent-encoded' }),
  FST_ERR_MAX_PARAM_LENGTH: () => ({ kind: 'too_large', status: 414, message: 'a path segment is longer than 100 characters' }),
  FST_ERR_ASYNC_CONSTRAINT: () => ({ kind: 'malformed', status: 400, message: 'the request cannot be routed' }),
};

/** Hangar's own error codes, for answers outside any cloud's API (the admin API, probes, unknown paths). */
const PLAIN_CODES: Record<FailureKind, string> = {
  invalid: 'invalid_request',
  missing: 'invalid_request',
  malformed: 'malformed_request',
  too_large: 'too_large',
  not_found: 'not_found',
  timeout: 'request_timeout',
  gone: 'not_found',
  conflict: 'conflict',
  unavailable: 'unavailable',
  busy: 'busy',
  client: 'invalid_request',
  internal: 'internal',
};

/** The one error body of everything outside the clouds' prefixes: `{"code": "<slug>", "message": "..."}`. */
export function plainFailureBody(failure: Failure): { code: string; message: string } {
  const message = failure.kind === 'not_found' ? `no route ${failure.message}` : failure.message;
  return { code: PLAIN_CODES[failure.kind], message };
}
