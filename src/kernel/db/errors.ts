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

/**
 * Whether PostgreSQL ended the transaction to break a deadlock (40P01) or because it could not
 * serialise it (40001). Nothing of it was committed, and the same work run again normally
 * succeeds: two creates racing to make an account's first rows (its counter, a region's
 * default security group) lock them in opposite orders once, on replicas or in one process.
 */
export function isTransactionAborted(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

/** How many times a transaction PostgreSQL aborted (see isTransactionAborted) is run in all. */
const ABORTED_ATTEMPTS = 5;

/**
 * Runs `transaction` (the whole of a transaction: begin to commit) again while PostgreSQL
 * aborts it, after a short random pause that grows with each attempt, so that the transactions
 * that met do not meet again in step. The work must be repeatable, as every write given to the
 * group commit or the lifecycle engine is. The last abort is thrown, and answered 503: the
 * store is contended, and the caller may retry.
 */
export async function retryingAborted<T>(transaction: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (error) {
      if (attempt >= ABORTED_ATTEMPTS || !isTransactionAborted(error)) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
  }
}
