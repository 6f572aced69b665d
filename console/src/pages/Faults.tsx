import { useCallback, useEffect, useState } from 'react';
import { admin, get, type FaultRule } from '../api';
import { useLive, useThrottled } from '../live';
import { Empty, ErrorNote } from '../ui';

const FIELDS = ['cloud', 'method', 'path', 'status', 'code', 'count', 'probability', 'latency_ms', 'kind', 'transition'] as const;
type Field = (typeof FIELDS)[number];
const NUMERIC: Field[] = ['status', 'count', 'probability', 'latency_ms'];

/** Fault rules: which fired how often, a form to add one, remove one or all. */
export function FaultsPage() {
  const [faults, setFaults] = useState<FaultRule[] | null>(null);
  const [kinds, setKinds] = useState<string[]>([]);
  const [form, setForm] = useState<Record<Field, string>>({ cloud: '', method: '', path: '', status: '', code: '', count: '', probability: '', latency_ms: '', kind: '', transition: '' });
  const [target, setTarget] = useState<'request' | 'lifecycle'>('request');
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState<string | null>(null);

  const load = useCallback(() => {
    get<{ faults: FaultRule[] }>('/faults').then((r) => setFaults(r.faults), setError);
  }, []);
  useEffect(() => {
    load();
    get<{ kinds: { kind: string }[] }>('/lifecycle').then((r) => setKinds(r.kinds.map((k) => k.kind)), () => undefined);
  }, [load]);
  // A fault fires on a request or a transition: re-read the counts.
  const refresh = useThrottled(load, 500);
  useLive((e) => {
    if (e.type === 'transitions' || (e.type === 'request' && e.entry.status >= 400)) refresh();
  });

  const set = (field: Field) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => setForm((f) => ({ ...f, [field]: e.target.value }));
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const relevant: Field[] = target === 'request' ? ['cloud', 'method', 'path', 'status', 'code', 'count', 'probability', 'latency_ms'] : ['cloud', 'kind', 'transition', 'count', 'probability'];
    const body: Record<string, string | number> = {};
    for (const field of relevant) {
      const value = form[field].trim();
      if (value === '') continue;
      body[field] = NUMERIC.includes(field) ? Number(value) : value;
    }
    try {
      const created = await admin<FaultRule>('POST', '/faults', body);
      setError(null);
      setNote(`Added fault ${created.id.slice(0, 8)}.`);
      load();
    } catch (err) {
      setError(err);
      setNote(null);
    }
  };
  const remove = async (id: string) => {
    try {
      await admin('DELETE', `/faults/${id}`);
      setNote('Removed.');
      load();
    } catch (err) {
      setError(err);
    }
  };
  const clear = async () => {
    await admin('DELETE', '/faults').catch(setError);
    setNote('Every fault removed.');
    load();
  };

  return (
    <section aria-labelledby="faults-title">
      <div className="page-head">
        <h1 id="faults-title">Faults</h1>
      </div>
      <div className="faults-layout">
        <article>
          <h2>Rules</h2>
          {faults === null ? (
            <p aria-busy="true">Loading…</p>
          ) : faults.length === 0 ? (
            <Empty>No fault rule: every call is answered as the cloud would.</Empty>
          ) : (
            <div className="scroll-x">
              <table className="striped" data-testid="faults">
                <thead>
                  <tr>
                    <th>Matches</th>
                    <th>Does</th>
                    <th>Limit</th>
                    <th>Fired</th>
                    <th>
                      <span className="visually-hidden">Remove</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {faults.map((f) => (
                    <tr key={f.id} data-fault={f.id}>
                      <td className="mono">
                        {f.kind ? `${f.kind}${f.transition ? `.${f.transition}` : ''}` : `${f.cloud ?? 'any cloud'} ${f.method ?? '*'} ${f.path ?? '**'}`}
                      </td>
                      <td>
                        {f.kind ? 'fail the transition' : [f.status !== undefined ? `answer ${f.status}${f.code ? ` ${f.code}` : ''}` : null, f.latency_ms ? `+${f.latency_ms} ms` : null].filter(Boolean).join(', ')}
                      </td>
                      <td>
                        {f.count !== undefined ? `${f.count}×` : 'always'}
                        {f.probability !== undefined ? `, p=${f.probability}` : ''}
                      </td>
                      <td data-testid="fired">{f.fired}</td>
                      <td>
                        <button type="button" className="outline secondary small" onClick={() => remove(f.id)} aria-label={`Remove fault ${f.id.slice(0, 8)}`}>
                          Remove
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <button type="button" className="outline contrast small" onClick={clear}>
                Remove all
              </button>
            </div>
          )}
        </article>
        <article>
          <h2>Add a fault</h2>
          <form onSubmit={submit} aria-label="Add a fault">
            <fieldset>
              <legend>It fails</legend>
              <label>
                <input type="radio" name="target" checked={target === 'request'} onChange={() => setTarget('request')} /> API calls
              </label>
              <label>
                <input type="radio" name="target" checked={target === 'lifecycle'} onChange={() => setTarget('lifecycle')} /> a lifecycle transition
              </label>
            </fieldset>
            <label>
              Cloud
              <select value={form.cloud} onChange={set('cloud')} name="cloud">
                <option value="">any</option>
                <option value="genesis">genesis</option>
                <option value="crusoe">crusoe</option>
              </select>
            </label>
            {target === 'request' ? (
              <>
                <div className="grid">
                  <label>
                    Method
                    <select value={form.method} onChange={set('method')} name="method">
                      <option value="">any</option>
                      {['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => (
                        <option key={m}>{m}</option>
                      ))}
                    </select>
                  </label>
                  <label>
                    Status
                    <input name="status" type="number" min={400} max={599} placeholder="503" value={form.status} onChange={set('status')} />
                  </label>
                </div>
                <label>
                  Path
                  <input name="path" placeholder="/compute/v1/instances/*" value={form.path} onChange={set('path')} aria-describedby="path-help" />
                  <small id="path-help">Exact, * for one segment, ** for the rest; empty for any.</small>
                </label>
                <div className="grid">
                  <label>
                    Code
                    <input name="code" placeholder="(the cloud's usual)" value={form.code} onChange={set('code')} />
                  </label>
                  <label>
                    Latency (ms)
                    <input name="latency_ms" type="number" min={0} value={form.latency_ms} onChange={set('latency_ms')} />
                  </label>
                </div>
              </>
            ) : (
              <div className="grid">
                <label>
                  Kind
                  <select value={form.kind} onChange={set('kind')} name="kind" required>
                    <option value="">choose…</option>
                    {kinds.map((k) => (
                      <option key={k}>{k}</option>
                    ))}
                  </select>
                </label>
                <label>
                  Transition
                  <input name="transition" placeholder="any that can fail" value={form.transition} onChange={set('transition')} />
                </label>
              </div>
            )}
            <div className="grid">
              <label>
                Count
                <input name="count" type="number" min={1} placeholder="unlimited" value={form.count} onChange={set('count')} />
              </label>
              <label>
                Probability
                <input name="probability" type="number" min={0} max={1} step="0.01" placeholder="1" value={form.probability} onChange={set('probability')} />
              </label>
            </div>
            <button type="submit">Add fault</button>
          </form>
          <p role="status">{note}</p>
          <ErrorNote error={error} />
        </article>
      </div>
    </section>
  );
}
