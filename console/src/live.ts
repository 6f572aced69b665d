import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { follow, get, type ClockState, type JournalEntry, type Transition } from './api';

// One event stream for the whole console; pages subscribe to what they show.
type Listener = (event: LiveEvent) => void;
export type LiveEvent = { type: 'transitions'; items: Transition[] } | { type: 'request'; entry: JournalEntry } | { type: 'clock'; clock: ClockState };

const listeners = new Set<Listener>();
let connected = false;
const connectionListeners = new Set<() => void>();
let clock: { state: ClockState; at: number } | null = null;
const clockListeners = new Set<() => void>();

function setClock(state: ClockState) {
  clock = { state, at: Date.now() };
  for (const l of clockListeners) l();
}

let stop: (() => void) | null = null;
export function startLive(): void {
  if (stop) return;
  stop = follow({
    transitions: (data) => emit({ type: 'transitions', items: data.items }),
    request: (entry) => emit({ type: 'request', entry }),
    clock: (state) => {
      setClock(state);
      emit({ type: 'clock', clock: state });
    },
    status: (up) => {
      connected = up;
      for (const l of connectionListeners) l();
    },
  });
}

function emit(event: LiveEvent) {
  for (const l of listeners) l(event);
}

/** Calls `handler` for each live event while the component is mounted. */
export function useLive(handler: Listener): void {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => {
    const l: Listener = (e) => ref.current(e);
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
}

export function useConnected(): boolean {
  return useSyncExternalStore(
    (cb) => {
      connectionListeners.add(cb);
      return () => connectionListeners.delete(cb);
    },
    () => connected,
  );
}

/** Re-reads the clock from the admin API (after the console moved it). */
export async function refreshClock(): Promise<ClockState> {
  const state = await get<ClockState>('/clock');
  setClock(state);
  return state;
}

/** Hangar's clock as of now: ticks locally while it runs. */
export function useClock(): { now: number; frozen: boolean } | null {
  const snapshot = useSyncExternalStore(
    (cb) => {
      clockListeners.add(cb);
      return () => clockListeners.delete(cb);
    },
    () => clock,
  );
  const [, tick] = useState(0);
  useEffect(() => {
    if (!snapshot || snapshot.state.frozen) return;
    const timer = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(timer);
  }, [snapshot]);
  if (!snapshot) return null;
  const base = Date.parse(snapshot.state.now);
  return { now: snapshot.state.frozen ? base : base + (Date.now() - snapshot.at), frozen: snapshot.state.frozen };
}

/** Runs `fn` at most once per `ms`, the last call winning (live refreshes of a view). */
export function useThrottled(fn: () => void, ms: number): () => void {
  const ref = useRef(fn);
  ref.current = fn;
  const state = useRef<{ timer: ReturnType<typeof setTimeout> | null; last: number }>({ timer: null, last: 0 });
  useEffect(() => () => void (state.current.timer && clearTimeout(state.current.timer)), []);
  return () => {
    const s = state.current;
    if (s.timer) return;
    const wait = Math.max(0, s.last + ms - Date.now());
    s.timer = setTimeout(() => {
      s.timer = null;
      s.last = Date.now();
      ref.current();
    }, wait);
  };
}
