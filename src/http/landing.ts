import type { CloudModule } from './cloud.js';

/** The page at `/`: where each API lives and where its OpenAPI document is. */
export function landingPage(clouds: readonly CloudModule[]): string {
  const rows = clouds
    .map(
      (c) =>
        `<tr><td>${c.title ?? c.name}</td><td><code>${c.prefix}</code></td><td><a href="${c.prefix}/openapi.json">JSON</a> · <a href="${c.prefix}/openapi.yaml">YAML</a></td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hangar</title>
<style>body{font:15px/1.5 system-ui,sans-serif;margin:3rem auto;max-width:46rem;padding:0 1rem}td{padding:.25rem 1rem .25rem 0}</style></head>
<body><h1>Hangar</h1><p>A GPU cloud control plane that speaks real cloud APIs.</p>
<p><a href="/console/"><strong>Console</strong></a>: the fleet of every cloud, live, with the clock and faults one click away</p>
<p><a href="/docs">API reference</a> (every API below, browsable)</p>
<table><tr><th align="left">API</th><th align="left">base path</th><th align="left">OpenAPI</th></tr>
${rows}
<tr><td>Hangar admin API (emulator controls)</td><td><code>/admin/v1</code></td><td><a href="/admin/v1/openapi.json">JSON</a> · <a href="/admin/v1/openapi.yaml">YAML</a></td></tr>
</table>
<p>Health: <a href="/healthz">/healthz</a> · Readiness: <a href="/readyz">/readyz</a> · Metrics: <a href="/metrics">/metrics</a></p>
</body></html>`;
}
