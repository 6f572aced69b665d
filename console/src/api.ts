// The console speaks only the admin API (and, through the user's own tools, the clouds' public
// APIs). Auth as the admin API: none on loopback, else HANGAR_ADMIN_TOKEN as a Bearer token,
// which the console asks for once and keeps for the browser tab.

const TOKEN_KEY = 'hangar-admin-token';
export const ADMIN = '/admin/v1';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type AuthListener = (needed: boolean) => void;
const authListeners = new Set<AuthListener>();
export function onAuthNeeded(listener: AuthListener): () => void {
  authListeners.add(listener);
  return () => authListeners.delete(listener);
}

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}
export function setToken(value: string | null): void {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
  for (const listener of authListeners) listener(false);
}

function headers(json: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  const t = token();
  if (t) out.authorization = `Bearer ${t}`;
  if (json) out['content-type'] = 'application/json';
  return out;
}

/** A call to the admin API: the parsed answer, or an ApiError carrying its `{code, message}`. */
export async function admin<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(ADMIN + path, { method, headers: headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const parsed = text === '' ? undefined : JSON.parse(text);
  if (!res.ok) {
    if (res.status === 401 || res.status === 403) for (const listener of authListeners) listener(true);
    throw new ApiError(res.status, parsed?.code ?? String(res.status), parsed?.message ?? res.statusText);
  }
  return parsed as T;
}

export const get = <T = any>(path: string) => admin<T>('GET', path);

export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

export interface FeedHandlers {
  transitions?(data: { items: Transition[]; more: number }): void;
  request?(data: JournalEntry): void;
  clock?(data: ClockState): void;
  status?(connected: boolean): void;
}

/**
 * Follows GET /admin/v1/events (server-sent events). Read with fetch rather than EventSource,
 * which cannot send the admin token; reconnects after a drop.
 */
export function follow(handlers: FeedHandlers): () => void {
  let stopped = false;
  let controller: AbortController | null = null;
  const run = async () => {
    while (!stopped) {
      controller = new AbortController();
      try {
        const res = await fetch(`${ADMIN}/events`, { headers: headers(false), signal: controller.signal });
        if (!res.ok || !res.body) throw new Error(`events answered ${res.status}`);
        handlers.status?.(true);
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (!event || !data) continue;
            const parsed = JSON.parse(data);
            if (event === 'transitions') handlers.transitions?.(parsed);
            else if (event === 'request') handlers.request?.(parsed);
            else if (event === 'clock') handlers.clock?.(parsed);
          }
        }
      } catch {
        // dropped or refused: try again shortly
      }
      handlers.status?.(false);
      if (!stopped) await new Promise((r) => setTimeout(r, 1000));
    }
  };
  void run();
  return () => {
    stopped = true;
    controller?.abort();
  };
}

export interface ClockState {
  now: string;
  frozen: boolean;
}

export interface Transition {
  kind: string;
  resource_id: string;
  transition: string;
  from: string;
  to: string | null;
  due_at: string;
  applied_at: string;
}

export interface JournalEntry {
  id: number;
  at: string;
  cloud: string;
  method: string;
  path: string;
  route: string | null;
  account: string | null;
  status: number;
  latency_ms: number;
  ignored_fields: string[];
}

export interface FleetLine {
  id: string;
  cloud: string;
  kind: string;
  name: string;
  status: string | null;
  region: string | null;
  account_id: string;
  project_id: string | null;
  type: string | null;
  created_at: string;
}

export interface Facets {
  total: number;
  kinds_known: string[];
  clouds: Record<string, number>;
  kinds: Record<string, number>;
  statuses: Record<string, number>;
  regions: Record<string, number>;
  accounts: Record<string, number>;
  projects: Record<string, number>;
}

export interface FaultRule {
  id: string;
  fired: number;
  cloud?: string;
  method?: string;
  path?: string;
  account?: string;
  count?: number;
  probability?: number;
  status?: number;
  code?: string;
  message?: string;
  latency_ms?: number;
  kind?: string;
  transition?: string;
}
