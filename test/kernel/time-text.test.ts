import { describe, expect, it } from 'vitest';
import { isoMillis, isoSeconds } from '../../src/kernel/time-text.js';

const DAY = 86_400_000;

describe('instants as text', () => {
  // Around the epoch, day and year boundaries, a leap day, the limits of four-digit years and
  // beyond them (toISOString's six-digit form), fractions of a millisecond, and text input.
  const instants: (number | string)[] = [
    0, -1, 1, 999, 1000, DAY - 1, DAY, -DAY, -DAY - 1, 951_782_400_000 /* 2000-02-29 */, 1_764_970_456_789, 1_764_970_456_789.9, -1.5,
    Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10000, 0, 1), Date.UTC(0, 0, 1) - 1, -62_198_755_200_001, 8.64e15, '1764970456789',
  ];
  for (let i = 0; i < 2000; i++) instants.push(Math.floor(Math.sin(i) * 4e12) + i * 7919);

  it('writes what toISOString writes, with milliseconds (Genesis) and without (Crusoe)', () => {
    for (const at of instants) {
      const expected = new Date(Number(at)).toISOString();
      expect(isoMillis(at), String(at)).toBe(expected);
      expect(isoSeconds(at), String(at)).toBe(expected.replace(/\.\d{3}Z$/, 'Z'));
    }
  });

  it('refuses an instant that is no time, as toISOString does', () => {
    for (const at of [Number.NaN, 8.64e15 + 1, 'soon']) {
      expect(() => isoMillis(at)).toThrow(RangeError);
      expect(() => isoSeconds(at)).toThrow(RangeError);
    }
  });
});
