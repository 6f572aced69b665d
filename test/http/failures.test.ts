import { describe, expect, it } from 'vitest';
import { classifyFailure } from '../../src/http/failures.js';

describe('classifying store failures', () => {
  it('reads a foreign-key violation on either engine as something the request refers to, deleted meanwhile (404)', () => {
    for (const code of ['SQLITE_CONSTRAINT_FOREIGNKEY', '23503']) {
      const failure = classifyFailure(Object.assign(new Error('FOREIGN KEY constraint failed'), { code }));
      expect(failure, code).toEqual({ kind: 'gone', status: 404, message: expect.stringContaining('was deleted by another request while this one ran') });
    }
  });

  it('reads a unique violation as a conflict with a concurrent request (409), never a 500', () => {
    for (const code of ['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY', '23505']) {
      expect(classifyFailure(Object.assign(new Error('duplicate'), { code })), code).toMatchObject({ kind: 'conflict', status: 409 });
    }
  });

  it('reads a write PostgreSQL ended to break a deadlock, or could not serialise, as a busy store (503), never a 500', () => {
    for (const code of ['40P01', '40001']) {
      expect(classifyFailure(Object.assign(new Error('deadlock detected'), { code })), code).toEqual({
        kind: 'busy',
        status: 503,
        message: expect.stringContaining('retry shortly'),
      });
    }
  });
});
