import { afterEach, describe, expect, it, vi } from 'vitest';
import { Clock, parseDuration } from '../../src/kernel/clock.js';

describe('Clock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('stands still while frozen, and moves only when advanced', () => {
    const clock = new Clock({ frozenAt: 1_000 });
    expect(clock.frozen).toBe(true);
    expect(clock.now()).toBe(1_000);
    expect(clock.now()).toBe(1_000);
    clock.advance(250);
    expect(clock.now()).toBe(1_250);
    expect(clock.iso()).toBe(new Date(1_250).toISOString());
  });

  it('follows the wall clock when running, plus whatever it was advanced by', () => {
    vi.useFakeTimers({ now: 50_000 });
    const clock = new Clock();
    expect(clock.frozen).toBe(false);
    expect(clock.now()).toBe(50_000);
    clock.advance(10_000);
    expect(clock.now()).toBe(60_000);
    vi.advanceTimersByTime(500);
    expect(clock.now()).toBe(60_500);
  });

  it('freezes at its current instant or at a given one', () => {
    vi.useFakeTimers({ now: 5_000 });
    const clock = new Clock();
    clock.advance(1_000);
    clock.freeze();
    vi.advanceTimersByTime(10_000);
    expect(clock.now()).toBe(6_000);
    clock.freeze(9_999);
    expect(clock.now()).toBe(9_999);
  });

  it('resumes from the instant it shows, without jumping', () => {
    vi.useFakeTimers({ now: 100_000 });
    const clock = new Clock({ frozenAt: 20_000 });
    clock.resume();
    expect(clock.frozen).toBe(false);
    expect(clock.now()).toBe(20_000);
    vi.advanceTimersByTime(300);
    expect(clock.now()).toBe(20_300);
    // Resuming a running clock changes nothing.
    clock.resume();
    expect(clock.now()).toBe(20_300);
  });

  it('never goes back', () => {
    const clock = new Clock({ frozenAt: 1_000 });
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    expect(() => clock.advance(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(clock.now()).toBe(1_000);
    clock.advance(0);
    expect(clock.now()).toBe(1_000);
  });

  it('tells listeners about every freeze, resume and move, until they unsubscribe', () => {
    const clock = new Clock({ frozenAt: 0 });
    const listener = vi.fn();
    const unsubscribe = clock.onChange(listener);
    clock.advance(1);
    clock.resume();
    clock.freeze();
    expect(listener).toHaveBeenCalledTimes(3);
    unsubscribe();
    clock.advance(1);
    expect(listener).toHaveBeenCalledTimes(3);
  });
});

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['90s', 90_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1m30s500ms', 90_500],
    ['1.5s', 1_500],
    ['0.5ms', 1],
    ['1500', 1_500],
    [' 10s ', 10_000],
    ['0', 0],
  ])('reads %j as %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it('passes numbers of milliseconds through', () => {
    expect(parseDuration(0)).toBe(0);
    expect(parseDuration(42)).toBe(42);
  });

  it.each(['', ' ', 'abc', '5x', '10s junk', '1h 30m', 's', '-5s', '5 s', 'ms10', '1,5s'])('refuses %j', (input) => {
    expect(() => parseDuration(input)).toThrow(RangeError);
    expect(() => parseDuration(input)).toThrow(/invalid duration/);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('refuses the number %d', (input) => {
    expect(() => parseDuration(input)).toThrow(RangeError);
  });
});
