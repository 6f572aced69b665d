import { useCallback, useEffect, useState } from 'react';
import { ApiError, get, query, type JournalEntry } from '../api';
import { useLive } from '../live';
import { href, replaceParams } from '../router';
import { Empty, ErrorNote, Time, short } from '../ui';

interface KeptBody {
  content_type: string | null;
  text: string;
  truncated: boolean;
  bytes: number;
}
interface Detail extends JournalEntry {
  request: { headers: Record<string, string>; body: KeptBody | null };
  response: { body: KeptBody | null };
}
interface Account {
  id: string;
  name: string;
}

/** The most entries the live tail holds on screen. */
const SHOWN = 500;
const FILTERS = ['cloud', 'account', 'method', 'status', 'q'] as const;
type Filter = Partial<Record<(typeof FILTERS)[number], string>>;

function matches(e: JournalEntry, f: Filter): boolean {
  if (f.cloud && e.cloud !== f.cloud) return false;
  if (f.account && e.account !== f.account) return false;
  if (f.method && e.method !== f.method) return false;
  if (f.status) {
    if (/^[1-5]xx$/.test(f.status) ? Math.floor(e.status / 100) !== Number(f.status[0]) : String(e.status) !== f.status) return false;
  }
  if (f.q && !e.path.toLowerCase().includes(f.q.toLowerCase()) && !(e.route ?? '').toLowerCase().includes(f.q.toLowerCase())) return false;
  return true;
}

const statusTone = (status: number) => (status >= 500 ? 'bad' : status >= 400 ? 'busy' : 'ok');

/** A live tail of the clouds' API requests; a click opens one with what was sent and answered. */
export function JournalPage({ params, open }: { params: URLSearchParams; open: string | null }) {
  const filter: Filter = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) ?? undefined]).filter(([, v]) => v));
  const [entries, setEntries] = useState<JournalEntry[] | null>(null);
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [paused, setPaused] = useState(false);
  const [missed, setMissed] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const key = JSON.stringify(filter);

  const load = useCallback(() => {
    get<{ requests: JournalEntry[] }>(`/journal${query({ limit: SHOWN, ...JSON.parse(key) })}`).then((r) => {
      setEntries(r.requests);
      setMissed(0);
      setError(null);
    }, setError);
  }, [key]);
  useEffect(load, [load]);
  useEffect(() => {
    get<{ accounts: Account[] }>('/accounts').then((r) => setAccounts(r.accounts), () => undefined);
  }, []);
  useLive((event) => {
    if (event.type !== 'request' || !matches(event.entry, filter)) return;
    if (paused) setMissed((n) => n + 1);
    else setEntries((list) => [event.entry, ...(list ?? [])].slice(0, SHOWN));
  });

  const setFilter = (name: keyof Filter, value: string) => {
    const next = { ...filter, [name]: value || undefined };
    replaceParams(open ? `journal/${open}` : 'journal', next);
    dispatchEvent(new HashChangeEvent('hashchange'));
  };
  const accountName = (id: string | null) => (id === null ? '—' : (accounts.find((a) => a.id === id)?.name ?? short(id)));
  const select = (name: keyof Filter, label: string, options: [string, string][]) => (
    <select aria-label={label} value={filter[name] ?? ''} onChange={(e) => setFilter(name, e.target.value)}>
      <option value="">{`${label}: any`}</option>
      {options.map(([value, text]) => (
        <option key={value} value={value}>
          {text}
        </option>
      ))}
    </select>
  );

  return (
    <section aria-labelledby="journal-title">
      <div className="page-head">
        <h1 id="journal-title">Journal</h1>
        <span className="muted" data-testid="journal-count">
          {entries === null ? '' : `${entries.length} request${entries.length === 1 ? '' : 's'}${entries.length === SHOWN ? ' (latest)' : ''}`}
        </span>
        <button type="button" className={`small ${paused ? '' : 'outline'}`} aria-pressed={paused} onClick={() => (paused ? (setPaused(false), load()) : setPaused(true))}>
          {paused ? `Resume tail${missed ? ` (${missed} new)` : ''}` : 'Pause tail'}
        </button>
      </div>
      <div className="filters journal-filters">
        <input type="search" aria-label="Path or route contains" placeholder="Path or route contains…" value={filter.q ?? ''} onChange={(e) => setFilter('q', e.target.value)} />
        {select('cloud', 'Cloud', [
          ['genesis', 'genesis'],
          ['crusoe', 'crusoe'],
        ])}
        {select(
          'account',
          'Account',
          accounts.map((a) => [a.id, a.name]),
        )}
        {select(
          'method',
          'Method',
          ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => [m, m]),
        )}
        {select(
          'status',
          'Status',
          ['2xx', '4xx', '5xx', '400', '401', '403', '404', '409', '429', '503'].map((s) => [s, s]),
        )}
      </div>
      <ErrorNote error={error} />
      <div className={open ? 'journal-layout with-detail' : 'journal-layout'}>
        <div className="scroll-x journal-list">
          {entries === null ? (
            <p aria-busy="true">Loading…</p>
          ) : entries.length === 0 ? (
            <Empty>No request matches yet. Requests to either cloud's API appear here as they are answered.</Empty>
          ) : (
            <table className="striped journal" data-testid="journal">
              <thead>
                <tr>
                  <th>At</th>
                  <th>Cloud</th>
                  <th className="wide">Account</th>
                  <th>Request</th>
                  <th>Status</th>
                  <th className="wide">Latency</th>
                  <th className="wide">Ignored fields</th>
                </tr>
              </thead>
              <tbody>
                {entries.map((e) => (
                  <tr key={e.id} data-request={e.id} aria-current={open === String(e.id) ? 'true' : undefined}>
                    <td>
                      <Time iso={e.at} />
                    </td>
                    <td>{e.cloud}</td>
                    <td className="wide">{accountName(e.account)}</td>
                    <td className="mono">
                      <a href={href(`journal/${e.id}`, null, filter)} title={e.route ?? undefined}>
                        {e.method} {e.path}
                      </a>
                    </td>
                    <td>
                      <span className={`badge badge-${statusTone(e.status)}`}>{e.status}</span>
                    </td>
                    <td className="wide">{e.latency_ms.toFixed(1)} ms</td>
                    <td className="wide mono">{e.ignored_fields.length === 0 ? '' : <span className="ignored">{e.ignored_fields.join(', ')}</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        {open && <RequestDetail id={open} filter={filter} accountName={accountName} />}
      </div>
    </section>
  );
}

function RequestDetail({ id, filter, accountName }: { id: string; filter: Filter; accountName(id: string | null): string }) {
  const [detail, setDetail] = useState<Detail | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    setDetail(null);
    setError(null);
    get<Detail>(`/journal/${encodeURIComponent(id)}`).then(setDetail, (e) =>
      setError(e instanceof ApiError && e.status === 404 ? new Error(`Request ${id} is no longer in the journal (it keeps the latest requests of this replica).`) : e),
    );
  }, [id]);
  useEffect(() => {
    document.getElementById('request-title')?.focus();
  }, [detail]);
  return (
    <article className="journal-detail" aria-labelledby="request-title" data-testid="request-detail">
      <header className="page-head">
        <h2 id="request-title" tabIndex={-1}>
          Request {id}
        </h2>
        <a href={href('journal', null, filter)} className="small">
          Close
        </a>
      </header>
      <ErrorNote error={error} />
      {!detail && !error && <p aria-busy="true">Loading…</p>}
      {detail && (
        <>
          <dl className="facts">
            <dt>Request</dt>
            <dd className="mono">
              {detail.method} {detail.path}
            </dd>
            <dt>Route</dt>
            <dd className="mono">{detail.route ?? 'none matched'}</dd>
            <dt>Answer</dt>
            <dd>
              <span className={`badge badge-${statusTone(detail.status)}`}>{detail.status}</span> in {detail.latency_ms.toFixed(1)} ms
            </dd>
            <dt>At</dt>
            <dd>
              <Time iso={detail.at} />
            </dd>
            <dt>Account</dt>
            <dd>{detail.account ? <a href={href('journal', null, { account: detail.account })}>{accountName(detail.account)}</a> : '—'}</dd>
            {detail.ignored_fields.length > 0 && (
              <>
                <dt>Ignored fields</dt>
                <dd className="mono ignored">{detail.ignored_fields.join(', ')}</dd>
              </>
            )}
          </dl>
          <h3>Request headers</h3>
          <table className="headers mono">
            <tbody>
              {Object.entries(detail.request.headers).map(([name, value]) => (
                <tr key={name}>
                  <th scope="row">{name}</th>
                  <td>{value}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Request body</h3>
          <Body body={detail.request.body} testid="request-body" />
          <h3>Answer body</h3>
          <Body body={detail.response.body} testid="response-body" />
        </>
      )}
    </article>
  );
}

function Body({ body, testid }: { body: KeptBody | null; testid: string }) {
  if (!body) return <Empty>None.</Empty>;
  let text = body.text;
  if (!body.truncated && /json/.test(body.content_type ?? 'json')) {
    try {
      text = JSON.stringify(JSON.parse(body.text), null, 2);
    } catch {
      // shown as sent
    }
  }
  return (
    <>
      <pre className="json" data-testid={testid}>
        {text}
      </pre>
      {body.truncated && <p className="muted">Cut at {body.text.length.toLocaleString()} characters of {body.bytes.toLocaleString()} bytes.</p>}
    </>
  );
}
