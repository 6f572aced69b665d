// The sandbox fabric's costs: time from `active` to the first successful SSH, memory per idle
// instance, and 100 running instances on this machine. Needs root, bubblewrap and OpenSSH.
//
//   node --import tsx bench/sandbox.ts [--instances 100] [--quick]
//
// Hangar runs in this process (SQLite in memory, `instant` timings); SSH is the stock client.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createHangar } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { RESULTS, fmt, log, median, percentile } from './lib/common.js';

const { values } = parseArgs({ options: { instances: { type: 'string' }, quick: { type: 'boolean', default: false } } });
const count = Number(values.instances ?? (values.quick ? 5 : 100));
const dir = mkdtempSync(join(tmpdir(), 'hangar-bench-sandbox-'));
const token = 'benchsandbox000000000000000000001';
const keyFile = join(dir, 'id_ed25519');
spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
const sshOptions = ['-i', keyFile, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=60'];

function ssh(target: string, command: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('ssh', [...sshOptions, target, command], { stdio: 'ignore' });
    child.on('close', (code) => resolve(code ?? -1));
  });
}

/** PSS of every process in the pid namespace of `pid` (the sandbox), plus the outer bubblewrap, in KiB. */
function sandboxPssKiB(outer: number, inner: number): number {
  const ns = readlinkSync(`/proc/${inner}/ns/pid`);
  let total = pss(outer);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/pid`) === ns) total += pss(Number(entry));
    } catch {
      // gone
    }
  }
  return total;
}
function pss(pid: number): number {
  try {
    const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}
function memAvailableMiB(): number {
  return Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) / 1024;
}
function duKiB(path: string): number {
  return Number(spawnSync('du', ['-sk', path], { encoding: 'utf8' }).stdout.split('\t')[0]);
}

const config = loadConfig({
  HANGAR_DATABASE_URL: 'sqlite::memory:',
  HANGAR_TIMINGS: 'instant',
  HANGAR_RATE_LIMIT: '0',
  HANGAR_LOG_LEVEL: 'error',
  HANGAR_DEMO_GENESIS_TOKEN: token,
  HANGAR_FABRIC: 'sandbox',
  HANGAR_SANDBOX_DIR: join(dir, 'files'),
  HANGAR_SANDBOX_PUBLIC_CIDR: '127.150.0.0/16',
  PORT: '0',
});
const hangar = await createHangar(config);
const base = `${await hangar.listen()}/compute/v1`;
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (res.status === 204 ? null : await res.json()) as any };
};
const fabric = hangar.fabric as import('../src/fabric/sandbox.js').SandboxFabric;
const result: Record<string, unknown> = { machine: { cpus: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30) }, instances: count };
try {
  const key = await call('POST', '/ssh-keys', { name: 'bench', value: readFileSync(`${keyFile}.pub`, 'utf8').trim() });
  const create = async (i: number) => {
    const res = await call('POST', '/instances', { name: `b${i}`, hostname: `bench-${i}`, type: 'vcpu-2_memory-4g', image: 'ubuntu-22.04', region: 'NORD-NO-KRS-1', ssh_keys: [key.body.id] });
    if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.instance.id as string;
  };
  const waitActive = async (id: string) => {
    for (;;) {
      const res = await call('GET', `/instances/${id}`);
      if (res.body.instance.status === 'active') return res.body.instance.public_ip as string;
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  // 1. From active to the first successful SSH, one instance at a time (first boots: files made, host key generated).
  const firstSsh: number[] = [];
  const warmSsh: number[] = [];
  for (let i = 0; i < (values.quick ? 2 : 5); i++) {
    const id = await create(1000 + i);
    const ip = await waitActive(id);
    const t0 = performance.now();
    while ((await ssh(`ubuntu@${ip}`, 'true')) !== 0) await new Promise((r) => setTimeout(r, 10));
    firstSsh.push(performance.now() - t0);
    const w = performance.now();
    await ssh(`ubuntu@${ip}`, 'true');
    warmSsh.push(performance.now() - w);
    await call('DELETE', `/instances/${id}`);
  }
  await fabric.settled();
  result.activeToSshMs = { runs: firstSsh.map((v) => Math.round(v)), median: Math.round(median(firstSsh)) };
  result.warmSshMs = { runs: warmSsh.map((v) => Math.round(v)), median: Math.round(median(warmSsh)) };
  log(`active → first SSH: ${firstSsh.map((v) => Math.round(v)).join(', ')} ms; an SSH command on a booted instance: ${warmSsh.map((v) => Math.round(v)).join(', ')} ms`);

  // 2 and 3. `count` instances running at once.
  const before = memAvailableMiB();
  const t0 = performance.now();
  const ids = await Promise.all(Array.from({ length: count }, (_, i) => create(i)));
  const ips = await Promise.all(ids.map(waitActive));
  await fabric.settled();
  const upMs = performance.now() - t0;
  const perInstance = ids.map((id) => {
    const env = fabric.environment(id)!;
    const sandbox = (env as any).sandbox as { process: { pid: number }; pid: number };
    return sandboxPssKiB(sandbox.process.pid, sandbox.pid);
  });
  const disk = duKiB(join(dir, 'files', 'instances')) / count;
  const after = memAvailableMiB();
  // Every instance answers SSH, eight connections at a time.
  const sshMs: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < ips.length) {
        const ip = ips[next++]!;
        const s = performance.now();
        const code = await ssh(`ubuntu@${ip}`, 'hostname');
        if (code !== 0) throw new Error(`ssh to ${ip} failed (${code})`);
        sshMs.push(performance.now() - s);
      }
    }),
  );
  sshMs.sort((a, b) => a - b);
  result.running = {
    bootAllMs: Math.round(upMs),
    pssPerIdleInstanceKiB: Math.round(median(perInstance)),
    memAvailableDropMiB: Math.round(before - after),
    diskPerInstanceKiB: Math.round(disk),
    sshRoundTripMs: { p50: Math.round(percentile(sshMs, 50)), p99: Math.round(percentile(sshMs, 99)), max: Math.round(sshMs[sshMs.length - 1]!) },
  };
  log(`${count} instances up in ${fmt.ms(upMs)}; ${JSON.stringify(result.running)}`);
  const t1 = performance.now();
  await Promise.all(ids.map((id) => call('DELETE', `/instances/${id}`)));
  await hangar.kernel.lifecycle.runDue();
  await fabric.settled();
  result.destroyAllMs = Math.round(performance.now() - t1);
} finally {
  await hangar.close();
  rmSync(dir, { recursive: true, force: true });
}
mkdirSync(RESULTS, { recursive: true });
const file = join(RESULTS, `sandbox-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(result, null, 2));
console.log(JSON.stringify(result, null, 2));
log(`written to ${file}`);
