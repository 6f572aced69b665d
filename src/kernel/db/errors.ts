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
  return typeof message === 'string' && /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED/i.test(message);
}
