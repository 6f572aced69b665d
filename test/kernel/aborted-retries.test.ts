import { describe, expect, it } from 'vitest';
import { retryingAborted } from '../../src/kernel/db/errors.js';

const aborted = (code: string) => Object.assign(new Error('deadlock detected'), { code });

// A transaction PostgreSQL ended to break a deadlock (or could not serialise) is run again, a
// few times; any other failure is the caller's at once.
describe('retryingAborted', () => {
  it('runs a transaction again while PostgreSQL aborts it, and answers what the run that committed gave', async () => {
    let runs = 0;
    const result = await retryingAborted(async () => {
      runs++;
      if (runs === 1) throw aborted('40P01');
      if (runs === 2) throw aborted('40001');
      return 'committed';
    });
    expect(result).toBe('committed');
    expect(runs).toBe(3);
  });

  it('gives up after five runs with the last abort, and never runs again what failed otherwise', async () => {
    let runs = 0;
    await expect(
      retryingAborted(async () => {
        runs++;
        throw aborted('40P01');
      }),
    ).rejects.toMatchObject({ code: '40P01' });
    expect(runs).toBe(5);

    runs = 0;
    await expect(
      retryingAborted(async () => {
        runs++;
        throw Object.assign(new Error('duplicate key'), { code: '23505' });
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(runs).toBe(1);
  });
});
