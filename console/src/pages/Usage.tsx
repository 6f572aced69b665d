import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { get, query } from '../api';
import { useLive, useThrottled } from '../live';
import { replaceParams } from '../router';
import { Empty, ErrorNote } from '../ui';

interface Series {
  account_id: string | null;
  account_name: string;
  project_id: string | null;
  project_name: string | null;
  values: number[];
  total: number;
}
interface Daily {
  from: string;
  to: string;
  days: string[];
  crusoe: { metric: string; source: string; series: Series[] };
  genesis: { metric: string; source: string; series: Series[] };
}

const COLOURS = ['#1d4ed8', '#d97706', '#16a34a', '#b91c1c', '#7c3aed', '#0891b2', '#be185d', '#4d7c0f'];
const RANGES = [7, 14, 30, 90];
const label = (s: Series) => (s.project_id ? `${s.account_name} / ${s.project_name ?? s.project_id.slice(0, 8)}` : s.account_name);
const fmt = (n: number) => (n === 0 ? '0' : n < 10 ? n.toFixed(2) : n.toFixed(1));

/** Crusoe gpu-hours per day per project and Genesis instance-hours per day per account, as charts and tables. */
export function UsagePage({ params }: { params: URLSearchParams }) {
  const days = Number(params.get('days') ?? 14);
  const [usage, setUsage] = useState<Daily | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () => {
    get<{ to: string }>('/usage/daily').then(
      ({ to }) => {
        const from = new Date(Date.parse(`${to}T00:00:00Z`) - (days - 1) * 86_400_000).toISOString().slice(0, 10);
        return get<Daily>(`/usage/daily${query({ from, to })}`).then(setUsage);
      },
      setError,
    );
  };
  useEffect(load, [days]);
  const refresh = useThrottled(load, 2000);
  useLive((e) => {
    if (e.type === 'transitions' || e.type === 'clock') refresh();
  });

  return (
    <section aria-labelledby="usage-title">
      <div className="page-head">
        <h1 id="usage-title">Usage</h1>
        <label className="inline-select">
          Range
          <select
            aria-label="Range"
            value={days}
            onChange={(e) => {
              replaceParams('usage', { days: e.target.value });
              dispatchEvent(new HashChangeEvent('hashchange'));
            }}
          >
            {RANGES.map((d) => (
              <option key={d} value={d}>
                last {d} days
              </option>
            ))}
          </select>
        </label>
        {usage && (
          <span className="muted">
            {usage.from} to {usage.to} (UTC days, on Hangar's clock)
          </span>
        )}
      </div>
      <ErrorNote error={error} />
      {!usage ? (
        !error && <p aria-busy="true">Loading…</p>
      ) : (
        <div className="usage-layout">
          <UsageChart title="Crusoe: gpu-hours per project" id="crusoe" days={usage.days} part={usage.crusoe} note="From the metering ledger (the one Crusoe's usage API reports from)." />
          <UsageChart
            title="Genesis: instance-hours per account"
            id="genesis"
            days={usage.days}
            part={usage.genesis}
            note="From the audit log: an instance counts from becoming active to its next transition elsewhere (stop, delete), or to now. Instances no longer in the store show as “deleted instances”."
          />
        </div>
      )}
    </section>
  );
}

function UsageChart({ title, id, days, part, note }: { title: string; id: string; days: string[]; part: Daily['crusoe']; note: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || part.series.length === 0) return;
    const xs = days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
    const bars = uPlot.paths.bars!({ size: [0.7, 64], gap: 1 });
    // Stacked: series k is drawn up to the sum of itself and those after it, the tallest first,
    // so each shows as its own band; the legend reads the series' own values.
    const stacked = part.series.map((_, k) => days.map((_, d) => part.series.slice(k).reduce((sum, s) => sum + s.values[d]!, 0)));
    const plot = new uPlot(
      {
        width: el.clientWidth,
        height: 260,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        scales: { x: { time: true, range: (_u, min, max) => [min - 43_200, max + 43_200] } },
        axes: [{}, { label: part.metric, size: 60 }],
        series: [
          { label: 'day' },
          ...part.series.map((s, i) => ({
            label: label(s),
            stroke: COLOURS[i % COLOURS.length],
            fill: `${COLOURS[i % COLOURS.length]}cc`,
            paths: bars,
            points: { show: false },
            value: (_u: uPlot, v: number | null, _si: number, idx: number | null) => (v === null || idx === null ? '—' : fmt(s.values[idx]!)),
          })),
        ],
      },
      [xs, ...stacked],
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height: 260 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [days, part]);
  return (
    <article aria-labelledby={`${id}-usage-title`} className="usage-card">
      <h2 id={`${id}-usage-title`}>{title}</h2>
      <p className="muted small-note">{note}</p>
      {part.series.length === 0 ? (
        <Empty>No {part.metric} in this range.</Empty>
      ) : (
        <>
          <div ref={box} className="chart" data-testid={`${id}-chart`} role="img" aria-label={`${title}, per day; the table below has the numbers`} />
          <div className="scroll-x">
            <table className="striped usage-table" data-testid={`${id}-usage`}>
              <thead>
                <tr>
                  <th>{id === 'crusoe' ? 'Account / project' : 'Account'}</th>
                  {days.map((d) => (
                    <th key={d} className="num">
                      {d.slice(5)}
                    </th>
                  ))}
                  <th className="num">Total</th>
                </tr>
              </thead>
              <tbody>
                {part.series.map((s, i) => (
                  <tr key={`${s.account_id}/${s.project_id}`}>
                    <th scope="row">
                      <span className="swatch" style={{ background: COLOURS[i % COLOURS.length] }} aria-hidden="true" /> {label(s)}
                    </th>
                    {s.values.map((v, j) => (
                      <td key={j} className="num">
                        {fmt(v)}
                      </td>
                    ))}
                    <td className="num" data-testid="total">
                      <strong>{fmt(s.total)}</strong>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </article>
  );
}
