import { startHangar } from '../test/helpers/hangar.ts';
import http from 'node:http';
const h = await startHangar();
const token = String(h.hangar.demo.credentials.genesis?.token);
function raw(path: string, method = 'GET', body?: string, headers: Record<string,string> = {}) {
  return new Promise<{status:number, body:string}>((resolve, reject) => {
    const u = new URL(h.url);
    const req = http.request({ host: u.hostname, port: u.port, path, method, headers: { authorization: `Bearer ${token}`, ...(body ? {'content-type':'application/json'} : {}), ...headers } }, (res) => {
      let b = ''; res.on('data', (c) => b += c); res.on('end', () => resolve({ status: res.statusCode!, body: b }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}
for (const [p, m, b] of [
  ['/compute/v1/instances?page=99999999999999999999'],['/compute/v1/instances?page=2147483647&per_page=100'],['/compute/v1/instances?page=-0'],['/compute/v1/snapshots', 'POST', JSON.stringify({ name: 's', size: 1e308, url: 'http://x/y.qcow2', region: 'ARC-IS-HAF-1' })],
  ['/compute/v1/instances?per_page=99999999999999999999'],
  ['/compute/v1/instances/%ff%fe'],
  ['/compute/v1/instances/' + 'a'.repeat(150)],
  ['/v1alpha5/projects/' + 'a'.repeat(150) + '/compute/vms/instances'],
  ['/v1alpha5/projects/%ff/compute/vms/instances'],
  ['/compute/v1/%2e%2e'],
  ['/compute/v1/../admin/v1/clock'],
  ['/compute/v1/instances/a%00b'],
  ['/compute/v1/ssh-keys', 'POST', JSON.stringify({ name: 'a\u0000b', value: 'x' })],
  ['/compute/v1/volumes', 'POST', JSON.stringify({ name: 'v', size: 1e308, region: 'ARC-IS-HAF-1', type: 'hdd' })],
  ['/%ff'],
  ['/nothing'],
] as [string, string?, string?][]) {
  const r = await raw(p, m ?? 'GET', b);
  console.log(m ?? 'GET', p.slice(0, 80), r.status, r.body.slice(0, 200));
}
await h.close();
