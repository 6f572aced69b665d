import { useCallback, useEffect, useState } from 'react';
import { admin, get } from '../api';
import { refreshClock } from '../live';
import { href } from '../router';
import { Badge, Empty, ErrorNote, Time, short } from '../ui';

interface Credential {
  id: string;
  cloud: string;
  kind: string;
  label: string;
  created_at: string;
  expires_at: string | null;
}
interface Account {
  id: string;
  name: string;
  standing: string;
  created_at: string;
  credentials: Credential[];
}
type Quotas = Record<string, { limit: number; used: number; custom: boolean }>;

const STANDINGS = ['active', 'suspended', 'banned', 'disabled', 'unverified', 'payment_method_required'];

/** Saves a JSON document as a file the browser downloads. */
function download(name: string, document: unknown) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(document, null, 2)], { type: 'application/json' }));
  const a = Object.assign(window.document.createElement('a'), { href: url, download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A button that asks once more before it acts (no modal: the same button, its words changed). */
function ConfirmButton({ label, confirm, onConfirm, className = 'secondary' }: { label: string; confirm: string; onConfirm(): void; className?: string }) {
  const [armed, setArmed] = useState(false);
  return (
    <button
      type="button"
      className={armed ? 'contrast' : className}
      onClick={() => {
        if (!armed) return setArmed(true);
        setArmed(false);
        onConfirm();
      }}
      onBlur={() => setArmed(false)}
    >
      {armed ? confirm : label}
    </button>
  );
}

/** Secrets shown once, as the admin API answered them. */
function Issued({ title, value }: { title: string; value: unknown }) {
  return (
    <article className="issued" data-testid="issued">
      <h3>{title}</h3>
      <p>
        Shown <strong>once</strong>: Hangar keeps only a hash (or a sealed copy) of each secret. Copy it now.
      </p>
      <pre className="json">{JSON.stringify(value, null, 2)}</pre>
    </article>
  );
}

export function AccountsPage({ accountId }: { accountId: string | null }) {
  return accountId ? <AccountDetail id={accountId} /> : <AccountList />;
}

function AccountList() {
  const [accounts, setAccounts] = useState<Account[] | null>(null);
  const [name, setName] = useState('');
  const [created, setCreated] = useState<unknown>(null);
  const [seed, setSeed] = useState('');
  const [renew, setRenew] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    get<{ accounts: Account[] }>('/accounts').then((r) => setAccounts(r.accounts), setError);
  }, []);
  useEffect(load, [load]);
  const act = async (what: () => Promise<unknown>, done: string) => {
    try {
      await what();
      setNote(done);
      setError(null);
    } catch (err) {
      setError(err);
      setNote(null);
    }
    load();
  };

  return (
    <section aria-labelledby="accounts-title">
      <div className="page-head">
        <h1 id="accounts-title">Accounts</h1>
      </div>
      <ErrorNote error={error} />
      <p role="status" data-testid="accounts-note">
        {note}
      </p>
      <div className="accounts-layout">
        <div className="scroll-x">
          {accounts === null ? (
            <p aria-busy="true">Loading…</p>
          ) : (
            <table className="striped" data-testid="accounts">
              <thead>
                <tr>
                  <th>Name</th>
                  <th className="wide">Id</th>
                  <th>Standing</th>
                  <th>Credentials</th>
                  <th className="wide">Created</th>
                  <th>
                    <span className="visually-hidden">Connect</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {accounts.map((a) => (
                  <tr key={a.id} data-account={a.id}>
                    <th scope="row">
                      <a href={href('accounts', a.id)}>{a.name}</a>
                    </th>
                    <td className="mono wide" title={a.id}>
                      {short(a.id)}
                    </td>
                    <td>
                      <Badge status={a.standing} />
                    </td>
                    <td>{a.credentials.length}</td>
                    <td className="wide">
                      <Time iso={a.created_at} />
                    </td>
                    <td>
                      <a href={href('connect', a.id)}>Connect</a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        <div>
          <article>
            <h2>Create an account</h2>
            <form
              aria-label="Create an account"
              onSubmit={(e) => {
                e.preventDefault();
                void act(async () => {
                  setCreated(await admin('POST', '/accounts', { name: name.trim() }));
                  setName('');
                }, `Created ${name.trim()}.`);
              }}
            >
              <fieldset role="group">
                <input aria-label="Account name" placeholder="name" required maxLength={255} value={name} onChange={(e) => setName(e.target.value)} />
                <button type="submit">Create</button>
              </fieldset>
            </form>
            {created !== null && <Issued title="Its credentials" value={created} />}
          </article>
          <article>
            <h2>Store</h2>
            <p className="muted">Reset empties the store back to the catalog and the demo account (its printed credentials stay valid unless renewed).</p>
            <div className="grid">
              <label>
                Seed
                <input aria-label="Seed" placeholder="(random ids)" value={seed} onChange={(e) => setSeed(e.target.value)} />
              </label>
              <label className="inline-check">
                <input type="checkbox" checked={renew} onChange={(e) => setRenew(e.target.checked)} /> New demo credentials
              </label>
            </div>
            <div className="button-row">
              <ConfirmButton
                label="Reset"
                confirm="Really reset?"
                onConfirm={() =>
                  void act(async () => {
                    await admin('POST', '/reset', { ...(seed ? { seed } : {}), demo_credentials: renew ? 'renew' : 'keep' });
                    setCreated(null);
                    await refreshClock();
                  }, 'The store was reset.')
                }
              />
              <button type="button" className="outline" onClick={() => void act(async () => download('hangar-state.json', await get('/state')), 'Exported the store.')}>
                Export state
              </button>
              <label className="file-button">
                <span role="button" className="outline" tabIndex={0} onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && (e.currentTarget.nextElementSibling as HTMLInputElement).click()}>
                  Import state…
                </span>
                <input
                  type="file"
                  accept="application/json,.json"
                  aria-label="Import state from a file"
                  className="visually-hidden"
                  onChange={(e) => {
                    const file = e.target.files?.[0];
                    e.target.value = '';
                    if (file) void act(async () => admin('PUT', '/state', JSON.parse(await file.text())), `Imported ${file.name}.`);
                  }}
                />
              </label>
            </div>
          </article>
        </div>
      </div>
    </section>
  );
}

function AccountDetail({ id }: { id: string }) {
  const [account, setAccount] = useState<Account | null>(null);
  const [quotas, setQuotas] = useState<Quotas | null>(null);
  const [limits, setLimits] = useState<Record<string, string>>({});
  const [cloud, setCloud] = useState('genesis');
  const [readOnly, setReadOnly] = useState(false);
  const [issued, setIssued] = useState<unknown>(null);
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [deleted, setDeleted] = useState(false);
  const load = useCallback(() => {
    Promise.all([get<Account>(`/accounts/${encodeURIComponent(id)}`), get<{ quotas: Quotas }>(`/accounts/${encodeURIComponent(id)}/quotas`)]).then(([a, q]) => {
      setAccount(a);
      setQuotas(q.quotas);
      setLimits(Object.fromEntries(Object.entries(q.quotas).map(([k, v]) => [k, v.custom ? String(v.limit) : ''])));
    }, setError);
  }, [id]);
  useEffect(load, [load]);
  const act = async (what: () => Promise<unknown>, done: string) => {
    try {
      await what();
      setNote(done);
      setError(null);
    } catch (err) {
      setError(err);
      setNote(null);
    }
    load();
  };

  if (deleted) {
    return (
      <p role="status" data-testid="account-deleted">
        Deleted, with everything it owned. <a href={href('accounts')}>Back to the accounts</a>
      </p>
    );
  }
  if (!account) return error ? <ErrorNote error={error} /> : <p aria-busy="true">Loading…</p>;
  return (
    <section aria-labelledby="account-title" className="account">
      <nav aria-label="breadcrumb">
        <ul>
          <li>
            <a href={href('accounts')}>Accounts</a>
          </li>
          <li>{account.name}</li>
        </ul>
      </nav>
      <div className="page-head">
        <h1 id="account-title">{account.name}</h1>
        <Badge status={account.standing} />
        <a href={href('connect', account.id)}>Connect a client</a>
        <a href={href('fleet', null, { account: account.id })}>Its fleet</a>
      </div>
      <p className="mono muted">{account.id}</p>
      <ErrorNote error={error} />
      <p role="status" data-testid="account-note">
        {note}
      </p>
      <div className="accounts-layout">
        <div>
          <h2>Credentials</h2>
          {account.credentials.length === 0 ? (
            <Empty>None: nothing can call the clouds as this account.</Empty>
          ) : (
            <div className="scroll-x">
              <table className="striped" data-testid="credentials">
                <thead>
                  <tr>
                    <th>Cloud</th>
                    <th>Kind</th>
                    <th>Label</th>
                    <th className="wide">Created</th>
                    <th>
                      <span className="visually-hidden">Revoke</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {account.credentials.map((c) => (
                    <tr key={c.id} data-credential={c.id}>
                      <td>{c.cloud}</td>
                      <td>{c.kind}</td>
                      <td>{c.label}</td>
                      <td className="wide">
                        <Time iso={c.created_at} />
                      </td>
                      <td>
                        <ConfirmButton label="Revoke" confirm="Revoke now?" className="outline secondary small" onConfirm={() => void act(() => admin('DELETE', `/accounts/${id}/credentials/${c.id}`), 'Revoked.')} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <form
            aria-label="Issue a credential"
            className="issue-form"
            onSubmit={(e) => {
              e.preventDefault();
              void act(async () => setIssued(await admin('POST', `/accounts/${id}/credentials`, { cloud, ...(readOnly ? { read_only: true } : {}) })), `Issued a ${cloud} credential.`);
            }}
          >
            <fieldset role="group">
              <select aria-label="Cloud of the credential" value={cloud} onChange={(e) => setCloud(e.target.value)}>
                <option value="genesis">genesis</option>
                <option value="crusoe">crusoe</option>
              </select>
              <button type="submit">Issue credential</button>
            </fieldset>
            <label className="inline-check">
              <input type="checkbox" checked={readOnly} onChange={(e) => setReadOnly(e.target.checked)} /> read-only
            </label>
          </form>
          {issued !== null && <Issued title="The new credential" value={issued} />}
        </div>
        <div>
          <h2>Quotas</h2>
          {quotas && (
            <form
              aria-label="Quotas"
              onSubmit={(e) => {
                e.preventDefault();
                const body = Object.fromEntries(Object.keys(quotas).map((k) => [k, limits[k]?.trim() ? Number(limits[k]) : null]));
                void act(() => admin('PUT', `/accounts/${id}/quotas`, body), 'Quotas saved.');
              }}
            >
              <table className="quota-form" data-testid="quota-form">
                <thead>
                  <tr>
                    <th>Quota</th>
                    <th>Used</th>
                    <th>Limit</th>
                  </tr>
                </thead>
                <tbody>
                  {Object.entries(quotas).map(([k, q]) => (
                    <tr key={k}>
                      <th scope="row" className="mono">
                        {k}
                      </th>
                      <td data-testid={`used-${k}`}>{q.used}</td>
                      <td>
                        <input
                          type="number"
                          min={0}
                          aria-label={`Limit of ${k}`}
                          placeholder={q.custom ? '' : `${q.limit} (default)`}
                          value={limits[k] ?? ''}
                          onChange={(e) => setLimits((l) => ({ ...l, [k]: e.target.value }))}
                        />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <small className="muted">Empty: the default.</small>
              <button type="submit">Save quotas</button>
            </form>
          )}
          <h2>Standing</h2>
          <select aria-label="Standing" value={account.standing} onChange={(e) => void act(() => admin('PUT', `/accounts/${id}/standing`, { standing: e.target.value }), `Standing set to ${e.target.value}.`)}>
            {[...new Set([...STANDINGS, account.standing])].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
          <h2>State</h2>
          <div className="button-row">
            <button type="button" className="outline" onClick={() => void act(async () => download(`hangar-${account.name}.json`, await get(`/state?account=${encodeURIComponent(id)}`)), 'Exported.')}>
              Export this account
            </button>
            <ConfirmButton
              label="Delete account"
              confirm="Delete it and all it owns?"
              onConfirm={async () => {
                try {
                  await admin('DELETE', `/accounts/${id}`);
                  setDeleted(true);
                } catch (err) {
                  setError(err);
                }
              }}
            />
          </div>
        </div>
      </div>
    </section>
  );
}
