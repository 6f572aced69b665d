import { useCallback, useEffect, useState } from 'react';
import { admin, get } from '../api';
import { refreshClock, useClock, useLive, useThrottled } from '../live';
import { href } from '../router';
import { Empty, ErrorNote, short, span } from '../ui';

interface Pending {
  now: string;
  frozen: boolean;
  total: number;
  pending: { kind: string; resource_id: string; transition: string; due_at: string; held: boolean; reads_left: number | null }[];
}

const STEPS: [string, number][] = [
  ['1s', 1000],
  ['5s', 5000],
  ['10s', 10_000],
  ['30s', 30_000],
  ['1m', 60_000],
  ['5m', 300_000],
  ['1h', 3_600_000],
  ['1d', 86_400_000],
];

/** Hangar's clock: freeze, resume, advance; and the transitions waiting on it, on a timeline. */
export function ClockPage() {
  const clock = useClock();
  const [pending, setPending] = useState<Pending | null>(null);
  const [step, setStep] = useState('10s');
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(() => {
    get<Pending>('/lifecycle/pending?limit=500').then(setPending, setError);
  }, []);
  useEffect(load, [load]);
  const refresh = useThrottled(load, 300);
  useLive((e) => {
    if (e.type === 'transitions' || e.type === 'clock' || (e.type === 'request' && e.entry.method !== 'GET')) refresh();
  });

  const act = async (what: string, run: () => Promise<string>) => {
    setBusy(true);
    setError(null);
    try {
      setMessage(await run());
      await refreshClock();
      load();
    } catch (e) {
      setError(e);
      setMessage(null);
    } finally {
      setBusy(false);
    }
    void what;
  };
  const stepMs = STEPS.find(([s]) => s === step)?.[1] ?? null;
  const now = clock?.now ?? (pending ? Date.parse(pending.now) : Date.now());
  const timed = pending?.pending.filter((p) => !p.held) ?? [];
  const held = pending?.pending.filter((p) => p.held) ?? [];
  const horizon = Math.max(stepMs ?? 0, ...timed.map((p) => Date.parse(p.due_at) - now), 1000);
  const applies = stepMs === null ? null : timed.filter((p) => Date.parse(p.due_at) <= now + stepMs).length;

  return (
    <section aria-labelledby="clock-title">
      <div className="page-head">
        <h1 id="clock-title">Clock</h1>
      </div>
      <article className="clock-card">
        <p className="clock-now" data-testid="clock-now">
          {clock ? new Date(clock.now).toISOString() : '…'}
        </p>
        <p>
          <strong data-testid="clock-state">{clock?.frozen ? 'Frozen' : 'Running'}</strong>
          {clock?.frozen ? ': it moves only when advanced.' : ': it follows the wall clock.'}
        </p>
        <div className="clock-actions">
          <div role="group">
            <button type="button" disabled={busy || clock?.frozen} onClick={() => act('freeze', async () => (await admin('POST', '/clock/freeze'), 'Frozen.'))}>
              Freeze
            </button>
            <button type="button" className="secondary" disabled={busy || !clock?.frozen} onClick={() => act('resume', async () => (await admin('POST', '/clock/resume'), 'Running again.'))}>
              Resume
            </button>
          </div>
          <form
            className="advance"
            onSubmit={(e) => {
              e.preventDefault();
              void act('advance', async () => {
                const res = await admin<{ applied: number }>('POST', '/clock/advance', { by: step });
                return `Advanced by ${step}: ${res.applied} transition${res.applied === 1 ? '' : 's'} applied.`;
              });
            }}
          >
            <label htmlFor="step">Advance by</label>
            <input id="step" list="steps" value={step} onChange={(e) => setStep(e.target.value)} aria-describedby="step-help" required />
            <datalist id="steps">
              {STEPS.map(([s]) => (
                <option key={s} value={s} />
              ))}
            </datalist>
            <button type="submit" disabled={busy}>
              Advance
            </button>
          </form>
          <small id="step-help">A duration such as 90s, 5m, 2h, or milliseconds.</small>
        </div>
        <p role="status" data-testid="clock-message">
          {message}
        </p>
        <ErrorNote error={error} />
      </article>

      <AccountClocks step={step} />

      <section aria-labelledby="pending-title">
        <h2 id="pending-title">Pending transitions</h2>
        {pending && (
          <p data-testid="pending-summary">
            {pending.total.toLocaleString('en')} waiting
            {applies !== null && `; advancing by ${step} applies ${applies}${timed.length < pending.total - held.length ? '+' : ''}`}
            {held.length > 0 && `; ${held.length} held (manual or read-counting mode)`}.
          </p>
        )}
        {pending && timed.length > 0 && (
          <div className="timeline" aria-hidden="true">
            {stepMs !== null && <div className="timeline-step" style={{ width: `${Math.min(100, (stepMs / horizon) * 100)}%` }} />}
            {timed.map((p, i) => (
              <span key={i} className="timeline-dot" style={{ left: `${Math.min(100, Math.max(0, ((Date.parse(p.due_at) - now) / horizon) * 100))}%` }} title={`${p.kind} ${p.transition}`} />
            ))}
          </div>
        )}
        {pending && pending.pending.length === 0 ? (
          <Empty>Nothing is waiting on the clock.</Empty>
        ) : (
          <div className="scroll-x">
            <table className="striped" data-testid="pending">
              <thead>
                <tr>
                  <th>Due</th>
                  <th>Kind</th>
                  <th>Transition</th>
                  <th>Resource</th>
                </tr>
              </thead>
              <tbody>
                {pending?.pending.map((p, i) => {
                  const due = Date.parse(p.due_at) - now;
                  const will = !p.held && stepMs !== null && due <= stepMs;
                  return (
                    <tr key={i} className={will ? 'will-apply' : undefined}>
                      <td title={p.due_at}>{p.held ? 'held' : due <= 0 ? 'due now' : `in ${span(due)}`}</td>
                      <td>{p.kind}</td>
                      <td>{p.transition}</td>
                      <td className="mono">
                        <a href={href('resource', p.resource_id)}>{short(p.resource_id)}</a>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </section>
  );
}

interface AccountClock {
  id: string;
  name: string;
  now: string;
  frozen: boolean;
  follows_global: boolean;
}

/** Each account's own clock: one that follows the global clock, or one frozen, moved or run on its own. */
function AccountClocks({ step }: { step: string }) {
  const [clocks, setClocks] = useState<AccountClock[] | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    get<{ accounts: { id: string; name: string }[] }>('/accounts')
      .then(({ accounts }) =>
        Promise.all(accounts.map(async (a) => ({ id: a.id, name: a.name, ...(await get<Omit<AccountClock, 'id' | 'name'>>(`/accounts/${a.id}/clock`)) }))),
      )
      .then(setClocks, setError);
  }, []);
  useEffect(load, [load]);
  const refresh = useThrottled(load, 500);
  useLive((e) => {
    if (e.type === 'clock') refresh();
  });
  const act = async (a: AccountClock, op: string, body?: unknown) => {
    try {
      const res = await admin<{ applied?: number }>('POST', `/accounts/${a.id}/clock/${op}`, body);
      setMessage(`${a.name}: ${op === 'advance' ? `advanced by ${step}, ${res.applied ?? 0} applied` : op === 'release' ? 'follows the global clock again' : op === 'freeze' ? 'frozen' : 'running'}.`);
      setError(null);
    } catch (err) {
      setError(err);
    }
    load();
  };
  return (
    <section aria-labelledby="account-clocks-title">
      <h2 id="account-clocks-title">Accounts' clocks</h2>
      <p className="muted">An account follows the global clock until its own is frozen or moved; its transitions then wait on its time. Advancing one uses the step above.</p>
      <ErrorNote error={error} />
      <p role="status" data-testid="account-clock-message">
        {message}
      </p>
      {clocks === null ? (
        <p aria-busy="true">Loading…</p>
      ) : (
        <div className="scroll-x">
          <table className="striped" data-testid="account-clocks">
            <thead>
              <tr>
                <th>Account</th>
                <th>Now</th>
                <th>Clock</th>
                <th>
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {clocks.map((c) => (
                <tr key={c.id} data-account={c.id}>
                  <th scope="row">{c.name}</th>
                  <td className="mono">{c.now.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</td>
                  <td data-testid="account-clock-state">{c.follows_global ? 'follows the global clock' : c.frozen ? 'its own, frozen' : 'its own, running'}</td>
                  <td className="row-actions">
                    {c.frozen && !c.follows_global ? (
                      <button type="button" className="outline small" onClick={() => act(c, 'resume')} aria-label={`Resume ${c.name}'s clock`}>
                        Resume
                      </button>
                    ) : (
                      <button type="button" className="outline small" onClick={() => act(c, 'freeze')} aria-label={`Freeze ${c.name}'s clock`}>
                        Freeze
                      </button>
                    )}
                    <button type="button" className="outline small" onClick={() => act(c, 'advance', { by: step })} aria-label={`Advance ${c.name}'s clock by ${step}`}>
                      +{step}
                    </button>
                    {!c.follows_global && (
                      <button type="button" className="outline secondary small" onClick={() => act(c, 'release')} aria-label={`Release ${c.name}'s clock`}>
                        Release
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
