import { AUTH, GENESIS, cpuMs, hangarEnv, load, scratch, settle, sqliteStore, startHangar } from './lib/common.js';
import { prepare } from './suites/throughput.js';
const cache = process.argv[2] ?? '0';
const store = sqliteStore(scratch('floor'), `floor-${process.pid}.db`);
const server = await startHangar('hangar', hangarEnv(store, { HANGAR_READ_CACHE: cache }));
async function measure(name: string, path: string) {
    await load({ url: server.url, paths: [path], connections: 16, duration: 1, headers: AUTH });
    const c0 = cpuMs(server.pid);
    const r = await load({ url: server.url, paths: [path], connections: 16, duration: 4, headers: AUTH });
    const c1 = cpuMs(server.pid);
    console.log(name, r.requests, ((c1 - c0) * 1000 / r.requests).toFixed(1), 'µs/req', r.non2xx, 'non2xx');
}
try {
  await measure('healthz-empty', '/healthz');
  const c0 = cpuMs(server.pid); await new Promise((r) => setTimeout(r, 3000)); console.log('idle empty ms/s', (cpuMs(server.pid) - c0) / 3);
  const paths = await prepare(server);
  await settle(server);
  const c1 = cpuMs(server.pid); await new Promise((r) => setTimeout(r, 3000)); console.log('idle prepared ms/s', (cpuMs(server.pid) - c1) / 3);
  const routes: Record<string, string> = { healthz: '/healthz', get: paths.get_instance, missing: `${GENESIS}/instances/00000000-0000-0000-0000-000000000000` };
  for (const [name, path] of Object.entries(routes)) await measure(name, path);
} finally { await server.stop(); await store.drop(); }
