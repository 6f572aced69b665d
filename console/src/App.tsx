import { lazy, Suspense, useEffect, useState } from 'react';
import { onAuthNeeded, setToken } from './api';
import { refreshClock, startLive, useClock, useConnected } from './live';
import { href, useRoute } from './router';
import { FleetPage } from './pages/Fleet';
import { span } from './ui';

// The first page a user opens is in the main chunk; the others load when first visited.
const ResourcePage = lazy(() => import('./pages/Resource').then((m) => ({ default: m.ResourcePage })));
const ClockPage = lazy(() => import('./pages/Clock').then((m) => ({ default: m.ClockPage })));
const FaultsPage = lazy(() => import('./pages/Faults').then((m) => ({ default: m.FaultsPage })));
const CapacityPage = lazy(() => import('./pages/Capacity').then((m) => ({ default: m.CapacityPage })));
const UsagePage = lazy(() => import('./pages/Usage').then((m) => ({ default: m.UsagePage })));
const ConnectPage = lazy(() => import('./pages/Connect').then((m) => ({ default: m.ConnectPage })));
const AccountsPage = lazy(() => import('./pages/Accounts').then((m) => ({ default: m.AccountsPage })));
const JournalPage = lazy(() => import('./pages/Journal').then((m) => ({ default: m.JournalPage })));

const PAGES = [
  ['fleet', 'Fleet'],
  ['clock', 'Clock'],
  ['journal', 'Journal'],
  ['faults', 'Faults'],
  ['capacity', 'Capacity'],
  ['usage', 'Usage'],
  ['accounts', 'Accounts'],
  ['connect', 'Connect'],
] as const;

export function App() {
  const route = useRoute();
  const [askToken, setAskToken] = useState(false);
  useEffect(() => {
    const off = onAuthNeeded((needed) => setAskToken(needed));
    startLive();
    refreshClock().catch(() => undefined);
    return off;
  }, []);
  useEffect(() => {
    const title = PAGES.find(([p]) => p === route.page)?.[1] ?? (route.page === 'resource' ? 'Resource' : 'Fleet');
    document.title = `${title} · Hangar console`;
  }, [route.page]);

  let page;
  if (route.page === 'resource' && route.arg) page = <ResourcePage id={route.arg} />;
  else if (route.page === 'clock') page = <ClockPage />;
  else if (route.page === 'faults') page = <FaultsPage />;
  else if (route.page === 'capacity') page = <CapacityPage />;
  else if (route.page === 'usage') page = <UsagePage params={route.params} />;
  else if (route.page === 'connect') page = <ConnectPage accountId={route.arg} />;
  else if (route.page === 'accounts') page = <AccountsPage accountId={route.arg} />;
  else if (route.page === 'journal') page = <JournalPage params={route.params} open={route.arg} />;
  else page = <FleetPage params={route.params} />;

  return (
    <>
      <a className="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header className="top">
        <nav aria-label="Console">
          <ul>
            <li>
              <a href="#/fleet" className="brand">
                <strong>Hangar</strong>
              </a>
            </li>
          </ul>
          <ul>
            {PAGES.map(([p, label]) => (
              <li key={p}>
                <a href={href(p)} aria-current={route.page === p || (p === 'fleet' && route.page === 'resource') ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
          <ul>
            <li>
              <ClockChip />
            </li>
          </ul>
        </nav>
      </header>
      {askToken && <TokenPrompt onDone={() => setAskToken(false)} />}
      <main id="main" tabIndex={-1} className="container-fluid">
        <Suspense fallback={<p aria-busy="true">Loading…</p>}>{page}</Suspense>
      </main>
    </>
  );
}

function ClockChip() {
  const clock = useClock();
  const live = useConnected();
  return (
    <a href="#/clock" className="clock-chip" title={live ? 'live updates on' : 'live updates reconnecting'} data-testid="clock-chip">
      <span className={`dot ${live ? 'dot-on' : 'dot-off'}`} aria-hidden="true" />
      {clock ? (
        <>
          <time dateTime={new Date(clock.now).toISOString()}>{new Date(clock.now).toISOString().replace('T', ' ').slice(0, 19)}</time>
          {clock.frozen && <span className="frozen"> frozen</span>}
        </>
      ) : (
        'clock…'
      )}
    </a>
  );
}

function TokenPrompt({ onDone }: { onDone(): void }) {
  const [value, setValue] = useState('');
  return (
    <dialog open aria-labelledby="token-title">
      <article>
        <h2 id="token-title">Admin token</h2>
        <p>This Hangar answers its admin API only with <code>HANGAR_ADMIN_TOKEN</code>. It is kept for this tab only.</p>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setToken(value.trim());
            onDone();
            location.reload();
          }}
        >
          <input type="password" autoFocus aria-label="Admin token" value={value} onChange={(e) => setValue(e.target.value)} autoComplete="off" />
          <button type="submit">Use this token</button>
        </form>
      </article>
    </dialog>
  );
}

