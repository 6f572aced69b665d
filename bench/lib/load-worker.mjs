#!/usr/bin/env node
// The load generator, in a process of its own: autocannon with a fixed number of connections
// for a fixed time, reporting requests per second and latency percentiles as one JSON line.
// Latencies are recorded per response here (autocannon's own histogram keeps whole
// milliseconds, too coarse for a 1 ms route), with the instant each response arrived so the
// lifecycle bench can cut out the window it cares about.
//
//   node bench/lib/load-worker.mjs '<json options>'
//   {url, connections, duration (s), method?, paths: [..], headers?, body?, timeline?,
//    crusoe?: {accessKey, secret}, uniqueNames?}
// With crusoe, every request is signed as it is sent (Crusoe's HMAC, a fresh timestamp), so
// the signing and its verification are part of what is measured; with uniqueNames, the body's
// "name" is made unique per request (Crusoe refuses two VMs of one name in a project).
import autocannon from 'autocannon';
import { crusoeHeaders } from './crusoe-sign.mjs';

const options = JSON.parse(process.argv[2] ?? '{}');
const paths = options.paths;
let next = 0;
const latencies = [];
const arrivals = [];
const statuses = {};
const started = Date.now();

const ids = [];
const ID = /"id":"([0-9a-f-]{36})"/;
const instance = autocannon({
  url: options.url,
  connections: options.connections,
  duration: options.duration,
  pipelining: 1,
  timeout: options.timeout ?? 10,
  headers: options.headers ?? {},
  // With collectIds, the first "id" of every 2xx body is kept (the created resource's).
  ...(options.collectIds
    ? {
        setupClient(client) {
          client.on('body', (body) => {
            const match = ID.exec(body.toString('latin1'));
            if (match) ids.push(match[1]);
          });
        },
      }
    : {}),
  requests: [
    {
      method: options.method ?? 'GET',
      path: paths[0],
      ...(options.body !== undefined ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) } : {}),
      // Rotating through paths, signing or renaming re-encodes every request: only when needed.
      ...(paths.length > 1 || options.crusoe || options.uniqueNames
        ? {
            setupRequest(request) {
              const n = next++;
              request.path = paths[n % paths.length];
              if (options.uniqueNames) request.body = JSON.stringify({ ...options.body, name: `${options.body.name}-${process.pid}-${n}` });
              if (options.crusoe) request.headers = { ...options.headers, ...crusoeHeaders(options.crusoe, request.method ?? 'GET', request.path) };
              return request;
            },
          }
        : {}),
    },
  ],
});

instance.on('response', (_client, statusCode, _bytes, responseTime) => {
  latencies.push(responseTime);
  if (options.timeline) arrivals.push(Date.now() - started);
  statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
});

instance.on('done', (result) => {
  const sorted = Float64Array.from(latencies).sort();
  const pct = (p) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
  const out = {
    started,
    duration: result.duration,
    requests: result.requests.total,
    rps: result.requests.total / result.duration,
    latency: { p50: pct(50), p90: pct(90), p99: pct(99), max: sorted.length ? sorted[sorted.length - 1] : null, mean: mean(latencies) },
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    ...(options.collectIds ? { ids } : {}),
    ...(options.timeline ? { timeline: arrivals.map((t, i) => [t, Math.round(latencies[i] * 1000) / 1000]) } : {}),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
});

function mean(values) {
  if (values.length === 0) return null;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

// Stopped early (the lifecycle bench stops the load once the transitions are applied).
process.on('SIGTERM', () => instance.stop());
