import { useCallback, useEffect, useState } from 'react';
import { get } from '../api';
import { useLive, useThrottled } from '../live';
import { href } from '../router';
import { Empty, ErrorNote } from '../ui';

interface Stock {
  cloud: string;
  region: string;
  sku: string;
  total: number;
  used: number;
}
interface Quota {
  limit: number;
  used: number;
  custom: boolean;
}
interface AccountQuotas {
  account_id: string;
  name: string;
  quotas: Record<string, Quota>;
}

/** A bar of `used` out of `total`, with the numbers beside it (and read out). */
export function Bar({ used, total, label }: { used: number; total: number; label: string }) {
  const share = total === 0 ? (used > 0 ? 1 : 0) : Math.min(1, used / total);
  const tone = share >= 1 ? 'full' : share >= 0.8 ? 'high' : 'ok';
  return (
    <span className="bar-line">
      <span className="bar" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={total} aria-valuenow={used}>
        <span className={`bar-fill bar-${tone}`} style={{ width: `${share * 100}%` }} />
      </span>
      <span className="bar-text">
        {used} / {total}
      </span>
    </span>
  );
}

/** Stock in use per cloud, region and type as bars; every account's quotas. */
export function CapacityPage() {
  const [stock, setStock] = useState<Stock[] | null>(null);
  const [quotas, setQuotas] = useState<AccountQuotas[] | null>(null);
  const [onlyUsed, setOnlyUsed] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    Promise.all([get<{ capacity: Stock[] }>('/capacity'), get<{ accounts: AccountQuotas[] }>('/quotas')]).then(([c, q]) => {
      setStock(c.capacity);
      setQuotas(q.accounts);
      setError(null);
    }, setError);
  }, []);
  useEffect(load, [load]);
  // Stock is taken by a create and given back by a delete or a transition.
  const refresh = useThrottled(load, 1000);
  useLive((e) => {
    if (e.type === 'transitions' || (e.type === 'request' && e.entry.method !== 'GET')) refresh();
  });

  const groups = new Map<string, Stock[]>();
  for (const line of stock ?? []) {
    if (onlyUsed && line.used === 0) continue;
    const key = `${line.cloud} · ${line.region}`;
    groups.set(key, [...(groups.get(key) ?? []), line]);
  }
  const keys = [...new Set((quotas ?? []).flatMap((a) => Object.keys(a.quotas)))].sort();

  return (
    <section aria-labelledby="capacity-title">
      <div className="page-head">
        <h1 id="capacity-title">Capacity and quotas</h1>
      </div>
      <ErrorNote error={error} />
      <h2>Stock in use</h2>
      <label className="inline-check">
        <input type="checkbox" role="switch" checked={onlyUsed} onChange={(e) => setOnlyUsed(e.target.checked)} /> Only types in use
      </label>
      {stock === null ? (
        <p aria-busy="true">Loading…</p>
      ) : groups.size === 0 ? (
        <Empty>{onlyUsed ? 'Nothing in use.' : 'No stock is defined.'}</Empty>
      ) : (
        <div className="stock-grid" data-testid="stock">
          {[...groups.entries()].map(([key, lines]) => (
            <article key={key} className="stock-card">
              <h3>{key}</h3>
              <ul className="stock-lines">
                {lines.map((l) => (
                  <li key={l.sku} data-sku={l.sku}>
                    <span className="mono sku" title={l.sku}>
                      {l.sku}
                    </span>
                    <Bar used={l.used} total={l.total} label={`${l.sku} in ${l.region}`} />
                  </li>
                ))}
              </ul>
            </article>
          ))}
        </div>
      )}
      <h2>Quotas per account</h2>
      {quotas === null ? (
        <p aria-busy="true">Loading…</p>
      ) : (
        <div className="scroll-x">
          <table className="striped quotas" data-testid="quotas">
            <thead>
              <tr>
                <th>Account</th>
                {keys.map((k) => (
                  <th key={k} className="mono">
                    {k}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {quotas.map((a) => (
                <tr key={a.account_id} data-account={a.account_id}>
                  <th scope="row">
                    <a href={href('accounts', a.account_id)}>{a.name}</a>
                  </th>
                  {keys.map((k) => {
                    const q = a.quotas[k];
                    return <td key={k}>{q ? <Bar used={q.used} total={q.limit} label={`${k} of ${a.name}`} /> : '—'}</td>;
                  })}
                </tr>
              ))}
            </tbody>
          </table>
          <p className="muted">Set an account's quotas on its page under <a href={href('accounts')}>Accounts</a>.</p>
        </div>
      )}
    </section>
  );
}
