import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { get, query, type Facets, type FleetLine } from '../api';
import { useLive, useThrottled } from '../live';
import { href, replaceParams } from '../router';
import { Badge, ErrorNote, short } from '../ui';

const PAGE = 100;
const ROW = 38;
const FILTERS = ['cloud', 'kind', 'status', 'region', 'account'] as const;
type Filter = (typeof FILTERS)[number] | 'q';

/**
 * Every resource of both clouds in one table. The server filters and pages (GET /fleet); the
 * table renders only the rows in view (a virtualised list), asking for the pages of 100 it
 * shows, so 10,000 resources scroll like 100. Live events re-read the pages in view.
 */
export function FleetPage({ params }: { params: URLSearchParams }) {
  const [filter, setFilter] = useState<Record<Filter, string>>(() => ({
    cloud: params.get('cloud') ?? '',
    kind: params.get('kind') ?? '',
    status: params.get('status') ?? '',
    region: params.get('region') ?? '',
    account: params.get('account') ?? '',
    q: params.get('q') ?? '',
  }));
  const [search, setSearch] = useState(filter.q);
  const [facets, setFacets] = useState<Facets | null>(null);
  const [total, setTotal] = useState<number | null>(null);
  const [pages, setPages] = useState<Map<number, FleetLine[]>>(new Map());
  const [error, setError] = useState<unknown>(null);
  const generation = useRef(0);
  const inFlight = useRef(new Set<number>());
  const scroller = useRef<HTMLDivElement>(null);

  const filterQuery = useMemo(() => ({ ...filter }), [filter]);

  // Typing in the search box filters after a short pause.
  useEffect(() => {
    const t = setTimeout(() => setFilter((f) => (f.q === search ? f : { ...f, q: search })), 200);
    return () => clearTimeout(t);
  }, [search]);
  useEffect(() => replaceParams('fleet', filter), [filter]);

  const loadFacets = useCallback(() => {
    get<Facets>('/fleet/facets').then(setFacets, setError);
  }, []);
  useEffect(loadFacets, [loadFacets]);

  const loadPage = useCallback(
    async (index: number, gen: number) => {
      inFlight.current.add(index);
      try {
        const res = await get<{ total: number; resources: FleetLine[] }>(`/fleet${query({ ...filterQuery, offset: index * PAGE, limit: PAGE })}`);
        if (gen !== generation.current) return;
        setError(null);
        setTotal(res.total);
        setPages((old) => new Map(old).set(index, res.resources));
      } catch (e) {
        if (gen === generation.current) setError(e);
      } finally {
        inFlight.current.delete(index);
      }
    },
    [filterQuery],
  );

  // A new filter: start again from the top.
  useEffect(() => {
    generation.current++;
    inFlight.current.clear();
    setPages(new Map());
    setTotal(null);
    scroller.current?.scrollTo({ top: 0 });
    void loadPage(0, generation.current);
  }, [loadPage]);

  const virtual = useVirtualizer({ count: total ?? 0, getScrollElement: () => scroller.current, estimateSize: () => ROW, overscan: 12 });
  const items = virtual.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? 0;

  // Ask for the pages in view that are not here yet, once the view rests a moment: a fast
  // scroll through 10,000 rows must not queue a request for every page it passes.
  useEffect(() => {
    if (total === null) return;
    const timer = setTimeout(() => {
      for (let p = Math.floor(first / PAGE); p <= Math.floor(last / PAGE); p++) {
        if (!pages.has(p) && !inFlight.current.has(p)) void loadPage(p, generation.current);
      }
    }, 60);
    return () => clearTimeout(timer);
  }, [first, last, total, pages, loadPage]);

  // Something changed: re-read the pages in view (and the counts); the others are read again when seen.
  const refresh = useThrottled(() => {
    const gen = generation.current;
    const inView = new Set<number>();
    for (let p = Math.floor(first / PAGE); p <= Math.floor(last / PAGE); p++) inView.add(p);
    if (inView.size === 0) inView.add(0);
    setPages((old) => new Map([...old].filter(([p]) => inView.has(p))));
    for (const p of inView) void loadPage(p, gen);
    loadFacets();
  }, 400);
  useLive((event) => {
    if (event.type === 'transitions') refresh();
    else if (event.type === 'request' && event.entry.method !== 'GET' && event.entry.status < 400) refresh();
  });

  const row = (index: number): FleetLine | undefined => pages.get(Math.floor(index / PAGE))?.[index % PAGE];

  const onKeyDown = (e: React.KeyboardEvent) => {
    const target = e.target as HTMLElement;
    const index = Number(target.dataset.index);
    if (!Number.isFinite(index) || target.dataset.index === undefined) return;
    let next: number | null = null;
    if (e.key === 'ArrowDown') next = Math.min((total ?? 1) - 1, index + 1);
    else if (e.key === 'ArrowUp') next = Math.max(0, index - 1);
    else if (e.key === 'PageDown') next = Math.min((total ?? 1) - 1, index + 15);
    else if (e.key === 'PageUp') next = Math.max(0, index - 15);
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = (total ?? 1) - 1;
    if (next === null) return;
    e.preventDefault();
    virtual.scrollToIndex(next);
    requestAnimationFrame(() => requestAnimationFrame(() => (scroller.current?.querySelector(`[data-index="${next}"]`) as HTMLElement | null)?.focus()));
  };

  const options = (name: (typeof FILTERS)[number]): [string, number][] => {
    const source = !facets ? {} : name === 'cloud' ? facets.clouds : name === 'kind' ? facets.kinds : name === 'status' ? facets.statuses : name === 'region' ? facets.regions : facets.accounts;
    const entries = Object.entries(source).sort(([a], [b]) => a.localeCompare(b));
    const chosen = filter[name];
    if (chosen && !entries.some(([k]) => k === chosen)) entries.push([chosen, 0]);
    return entries;
  };
  const label: Record<(typeof FILTERS)[number], string> = { cloud: 'Cloud', kind: 'Kind', status: 'Status', region: 'Region', account: 'Account' };

  return (
    <section aria-labelledby="fleet-title">
      <div className="page-head">
        <h1 id="fleet-title">Fleet</h1>
        <p className="muted" aria-live="polite" data-testid="fleet-total">
          {total === null ? 'loading…' : `${total.toLocaleString('en')} resource${total === 1 ? '' : 's'}`}
          {facets && total !== null && facets.total !== total ? ` of ${facets.total.toLocaleString('en')}` : ''}
        </p>
      </div>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <input type="search" placeholder="Search by id or name" aria-label="Search by id or name" value={search} onChange={(e) => setSearch(e.target.value)} />
        {FILTERS.map((name) => (
          <select key={name} aria-label={label[name]} value={filter[name]} onChange={(e) => setFilter((f) => ({ ...f, [name]: e.target.value }))}>
            <option value="">{`${label[name]}: all`}</option>
            {options(name).map(([value, n]) => (
              <option key={value} value={value}>
                {name === 'account' ? short(value) : value} ({n})
              </option>
            ))}
          </select>
        ))}
      </form>
      <ErrorNote error={error} />
      <div className="fleet" role="table" aria-label="Resources" aria-rowcount={total ?? -1} onKeyDown={onKeyDown}>
        <div role="rowgroup" className="fleet-head">
          <div role="row" className="fleet-row">
            <span role="columnheader">Name</span>
            <span role="columnheader">Status</span>
            <span role="columnheader">Kind</span>
            <span role="columnheader" className="wide">Region</span>
            <span role="columnheader" className="wide">Account / project</span>
            <span role="columnheader" className="wide">Type</span>
            <span role="columnheader" className="wide">Created</span>
          </div>
        </div>
        <div ref={scroller} className="fleet-body" role="rowgroup" data-testid="fleet-body">
          <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
            {items.map((item) => {
              const r = row(item.index);
              return r ? (
                <a
                  key={item.key}
                  role="row"
                  aria-rowindex={item.index + 2}
                  data-index={item.index}
                  data-id={r.id}
                  href={href('resource', r.id)}
                  className="fleet-row"
                  style={{ transform: `translateY(${item.start}px)`, height: ROW }}
                >
                  <span role="cell" className="name" title={r.id}>
                    {r.name}
                  </span>
                  <span role="cell">
                    <Badge status={r.status} />
                  </span>
                  <span role="cell" className="kind">
                    {r.kind}
                  </span>
                  <span role="cell" className="wide">
                    {r.region ?? '—'}
                  </span>
                  <span role="cell" className="wide mono" title={r.project_id ? `account ${r.account_id}, project ${r.project_id}` : r.account_id}>
                    {short(r.account_id)}
                    {r.project_id ? ` / ${short(r.project_id)}` : ''}
                  </span>
                  <span role="cell" className="wide">
                    {r.type ?? ''}
                  </span>
                  <span role="cell" className="wide mono">
                    {r.created_at.slice(0, 19).replace('T', ' ')}
                  </span>
                </a>
              ) : (
                <div key={item.key} role="row" className="fleet-row placeholder" data-index={item.index} style={{ transform: `translateY(${item.start}px)`, height: ROW }}>
                  <span role="cell">…</span>
                </div>
              );
            })}
          </div>
          {total === 0 && <p className="empty">No resource matches.</p>}
        </div>
      </div>
    </section>
  );
}
