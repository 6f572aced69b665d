/**
 * Whether an error means the store could not be reached (as opposed to a query it refused):
 * the request should be answered 503 and retried, and no data should be judged bad for it.
 */
export function isStoreUnavailable(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', 'EHOSTUNREACH', 'SQLITE_BUSY'].includes(code)) return true;
    // PostgreSQL: connection exceptions (08xxx), shutdown or crash (57P01-57P03).
    if (/^08/.test(code) || /^57P0[1-3]$/.test(code)) return true;
  }
  return (
    typeof message === 'string' &&
    /Connection terminated|timeout expired|Client has encountered a connection error|connect ECONNREFUSED/i.test(message)
  );
}

/**
 * Every store connection is taken and a request waited for one longer than the queue allows,
 * or found the queue full (see db/store.ts): the database is healthy but saturated.
 */
export class StoreBusy extends Error {
  readonly code = STORE_BUSY;
}

export const STORE_BUSY = 'HANGAR_STORE_BUSY';
