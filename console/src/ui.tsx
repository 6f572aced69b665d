import type { ReactNode } from 'react';

/** The tone of a status badge: both clouds' words for the same few situations. */
export function tone(status: string | null): 'ok' | 'busy' | 'off' | 'bad' | 'none' {
  if (status === null) return 'none';
  const s = status.toLowerCase().replace(/^state_/, '');
  if (/(error|fail|broken)/.test(s)) return 'bad';
  if (/^(active|running|available|created|ready|succeeded|in_use|attached)$/.test(s)) return 'ok';
  if (/(stopped|shutoff|inactive|suspended|deleted|terminated)/.test(s)) return 'off';
  return 'busy';
}

export function Badge({ status }: { status: string | null }) {
  return (
    <span className={`badge badge-${tone(status)}`} data-status={status ?? ''}>
      {status ?? '—'}
    </span>
  );
}

export function Time({ iso }: { iso: string }) {
  const d = new Date(iso);
  return (
    <time dateTime={iso} title={iso}>
      {d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z')}
    </time>
  );
}

/** "in 3s", "2m 5s ago": a duration as a person reads it. */
export function span(ms: number): string {
  const abs = Math.abs(ms);
  const parts: string[] = [];
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
  ];
  let rest = abs;
  for (const [size, unit] of units) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (parts.length === 0) parts.push(`${Math.round(abs)}ms`);
  return parts.join(' ');
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p className="error-note" role="alert">
      {error instanceof Error ? error.message : String(error)}
    </p>
  );
}

export const short = (id: string) => (id.length > 13 ? `${id.slice(0, 8)}…` : id);
