import { useCallback, useEffect, useState } from 'react';
import { ApiError, get, type FleetLine, type JournalEntry } from '../api';
import { useLive, useThrottled } from '../live';
import { href } from '../router';
import { Badge, Empty, ErrorNote, Time } from '../ui';

interface Detail {
  resource: FleetLine;
  wire: { path: string; body: unknown } | null;
  history: { kind: string; resource_id: string; transition: string; from: string; to: string | null; due_at: string; applied_at: string }[];
  pending: { kind: string; resource_id: string; transition: string; due_at: string; held: boolean }[];
  requests: JournalEntry[];
  links: FleetLine[];
}

/** One resource: what its cloud's API answers for it, how it got here, who touched it, what it is attached to. */
export function ResourcePage({ id }: { id: string }) {
  const [detail, setDetail] = useState<Detail | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [gone, setGone] = useState(false);
  const load = useCallback(() => {
    get<Detail>(`/fleet/${encodeURIComponent(id)}`).then(
      (d) => {
        setDetail(d);
        setError(null);
        setGone(false);
      },
      (e) => {
        if (e instanceof ApiError && e.status === 404) setGone(true);
        else setError(e);
      },
    );
  }, [id]);
  useEffect(() => {
    setDetail(null);
    load();
  }, [load]);
  const refresh = useThrottled(load, 300);
  useLive((event) => {
    if (event.type === 'transitions') refresh();
    else if (event.type === 'request' && event.entry.path.includes(id)) refresh();
  });

  if (gone && !detail) return <Empty>No resource has the id {id} (it may have been deleted).</Empty>;
  if (!detail) return error ? <ErrorNote error={error} /> : <p aria-busy="true">Loading…</p>;
  const r = detail.resource;
  return (
    <article className="resource" aria-labelledby="resource-title">
      <nav aria-label="breadcrumb">
        <ul>
          <li>
            <a href={href('fleet')}>Fleet</a>
          </li>
          <li>
            <a href={href('fleet', null, { kind: r.kind })}>{r.kind}</a>
          </li>
          <li>{r.name}</li>
        </ul>
      </nav>
      <header className="page-head">
        <h1 id="resource-title">{r.name}</h1>
        <Badge status={gone ? 'deleted' : r.status} />
      </header>
      {gone && <p className="error-note">This resource is gone; what follows is what it was.</p>}
      <dl className="facts">
        <dt>Id</dt>
        <dd className="mono">{r.id}</dd>
        <dt>Kind</dt>
        <dd>{r.kind}</dd>
        <dt>Region</dt>
        <dd>{r.region ?? '—'}</dd>
        <dt>Account</dt>
        <dd className="mono">
          <a href={href('fleet', null, { account: r.account_id })}>{r.account_id}</a>
        </dd>
        {r.project_id && (
          <>
            <dt>Project</dt>
            <dd className="mono">{r.project_id}</dd>
          </>
        )}
        <dt>Created</dt>
        <dd>
          <Time iso={r.created_at} />
        </dd>
      </dl>

      <section aria-labelledby="history-title">
        <h2 id="history-title">Lifecycle history</h2>
        {detail.history.length === 0 && detail.pending.length === 0 ? (
          <Empty>No transition yet.</Empty>
        ) : (
          <div className="scroll-x">
            <table className="striped" data-testid="history">
              <thead>
                <tr>
                  <th>Applied (Hangar's clock)</th>
                  <th>Transition</th>
                  <th>From</th>
                  <th>To</th>
                  <th>Due</th>
                </tr>
              </thead>
              <tbody>
                {detail.history.map((h, i) => (
                  <tr key={i}>
                    <td>
                      <Time iso={h.applied_at} />
                    </td>
                    <td>
                      {h.kind === r.kind ? '' : `${h.kind} `}
                      <strong>{h.transition}</strong>
                    </td>
                    <td>
                      <Badge status={h.from} />
                    </td>
                    <td>
                      <Badge status={h.to ?? 'deleted'} />
                    </td>
                    <td>
                      <Time iso={h.due_at} />
                    </td>
                  </tr>
                ))}
                {detail.pending.map((p, i) => (
                  <tr key={`p${i}`} className="pending-row">
                    <td>{p.held ? 'held' : 'pending'}</td>
                    <td>
                      <strong>{p.transition}</strong>
                    </td>
                    <td colSpan={2}>waiting</td>
                    <td>
                      <Time iso={p.due_at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section aria-labelledby="wire-title">
        <h2 id="wire-title">As the API answers it</h2>
        {detail.wire ? (
          <>
            <p className="mono">GET {detail.wire.path}</p>
            <pre className="json" data-testid="wire" tabIndex={0}>
              {JSON.stringify(detail.wire.body, null, 2)}
            </pre>
          </>
        ) : (
          <Empty>Its cloud answers 404 now.</Empty>
        )}
      </section>

      <section aria-labelledby="links-title">
        <h2 id="links-title">Attached to</h2>
        {detail.links.length === 0 ? (
          <Empty>Nothing else in the fleet.</Empty>
        ) : (
          <ul className="links">
            {detail.links.map((l) => (
              <li key={l.id}>
                <a href={href('resource', l.id)}>
                  {l.kind} <strong>{l.name}</strong>
                </a>{' '}
                <Badge status={l.status} />
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="requests-title">
        <h2 id="requests-title">Requests that touched it</h2>
        {detail.requests.length === 0 ? (
          <Empty>None in the journal (it keeps the latest requests of this replica).</Empty>
        ) : (
          <div className="scroll-x">
            <table className="striped">
              <thead>
                <tr>
                  <th>At</th>
                  <th>Method</th>
                  <th>Path</th>
                  <th>Status</th>
                  <th>Latency</th>
                </tr>
              </thead>
              <tbody>
                {detail.requests.map((q) => (
                  <tr key={q.id}>
                    <td>
                      <Time iso={q.at} />
                    </td>
                    <td>{q.method}</td>
                    <td className="mono">
                      <a href={href(`journal/${q.id}`)}>{q.path}</a>
                    </td>
                    <td>{q.status}</td>
                    <td>{q.latency_ms.toFixed(1)} ms</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </article>
  );
}
