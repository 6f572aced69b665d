import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { GpuDevices } from '../../src/fabric/gpus.js';
import { nvidiaModelOf } from '../../src/fabric/crusoe.js';
import crusoeCatalog from '../../src/clouds/crusoe/data/catalog.json' with { type: 'json' };
import { defaultUserOf } from '../../src/fabric/genesis.js';
import { sshPortFor } from '../../src/fabric/host.js';
import { shiftOwners } from '../../src/fabric/idmap.js';
import { inCgroups } from '../../src/fabric/cgroups.js';
import { limitsOf } from '../../src/fabric/environment.js';
import { gpuUuid, nvidiaSmi } from '../../src/fabric/nvidia-smi.js';
import { initScript, userData } from '../../src/fabric/scripts.js';
import { startHangar } from '../helpers/hangar.js';

/** The sandbox fabric's parts that need no privileges: settings, the nvidia-smi stand-in, user data, GPU boards. */
describe('sandbox fabric parts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-fabric-parts-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is off by default, and its settings are checked', () => {
    const config = loadConfig({});
    expect(config.fabric).toEqual({ kind: 'simulated', publicCidr: '127.100.0.0/16', dir: null, sshPort: null, stopTimeoutMs: 30_000, gpuDevices: [] });
    expect(loadConfig({ HANGAR_FABRIC: 'sandbox', HANGAR_GPU_DEVICES: '/dev/nvidia0, /dev/nvidia1' }).fabric.gpuDevices).toEqual(['/dev/nvidia0', '/dev/nvidia1']);
    expect(() => loadConfig({ HANGAR_FABRIC: 'vm' })).toThrow(ConfigError);
    expect(() => loadConfig({ HANGAR_SANDBOX_PUBLIC_CIDR: '10.0.0.0/16' })).toThrow(/loopback/);
    expect(() => loadConfig({ HANGAR_GPU_DEVICES: 'nvidia0' })).toThrow(/device files/);
    expect(() => loadConfig({ HANGAR_GPU_DEVICES: '/dev/nvidia0,/dev/nvidia0' })).toThrow(/twice/);
    expect(() => loadConfig({ HANGAR_SANDBOX_SSH_PORT: '0' })).toThrow(ConfigError);
  });

  it("picks SSH's port: the one asked for, else 22, else 2222 where 22 cannot be bound, saying so", () => {
    expect(sshPortFor(2200, false)).toEqual({ port: 2200, note: null });
    expect(sshPortFor(null, true)).toEqual({ port: 22, note: null });
    const fallback = sshPortFor(null, false);
    expect(fallback.port).toBe(2222);
    expect(fallback.note).toMatch(/CAP_NET_BIND_SERVICE.*2222.*ssh_destination/);
  });

  it.skipIf(process.getuid?.() !== 0)("moves a tree's owners into the instances' range, once, leaving other owners alone", async () => {
    const tree = join(dir, 'owners');
    mkdirSync(join(tree, 'home', 'ubuntu'), { recursive: true });
    writeFileSync(join(tree, 'home', 'ubuntu', 'a'), 'a');
    writeFileSync(join(tree, 'stranger'), 's');
    symlinkSync('a', join(tree, 'home', 'ubuntu', 'link'));
    writeFileSync(join(tree, 'setuid'), '#!/bin/sh\n', { mode: 0o4755 });
    chownSync(join(tree, 'home', 'ubuntu'), 1000, 1000);
    chownSync(join(tree, 'home', 'ubuntu', 'a'), 1000, 1000);
    chownSync(join(tree, 'stranger'), 70_000, 70_000);
    chmodSync(join(tree, 'setuid'), 0o4755);
    await shiftOwners(tree, 0, 1_000_000, 65_536);
    const owner = (path: string) => lstatSync(join(tree, path)).uid;
    expect([owner('.'), owner('home'), owner('home/ubuntu'), owner('home/ubuntu/a'), owner('home/ubuntu/link'), owner('stranger')]).toEqual([1_000_000, 1_000_000, 1_001_000, 1_001_000, 1_000_000, 70_000]);
    expect(lstatSync(join(tree, 'setuid')).mode & 0o7777).toBe(0o4755);
    // Again: nothing moves twice.
    await shiftOwners(tree, 0, 1_000_000, 65_536);
    expect(owner('home/ubuntu/a')).toBe(1_001_000);
  });

  it("limits from the type, and commands started inside control groups", () => {
    expect(limitsOf(8, 48)).toEqual({ memoryBytes: 48 * 1024 ** 3, pids: 8192 });
    expect(limitsOf(2, 4)).toEqual({ memoryBytes: 4 * 1024 ** 3, pids: 4096 });
    expect(inCgroups([], '/usr/bin/bwrap', ['--x'])).toEqual(['/usr/bin/bwrap', ['--x']]);
    const [shell, args] = inCgroups(['/cg/memory/a/cgroup.procs', '/cg/pids/a/cgroup.procs'], '/usr/bin/bwrap', ['--x']);
    expect(shell).toBe('/bin/sh');
    expect(args.slice(3)).toEqual(['/cg/memory/a/cgroup.procs', '/cg/pids/a/cgroup.procs', '--', '/usr/bin/bwrap', '--x']);
  });

  it('the simulated fabric keeps the catalog addresses and says how to switch', async () => {
    const h = await startHangar();
    try {
      expect(h.hangar.fabric.kind).toBe('simulated');
      expect(h.hangar.banner().some((line) => line.includes('HANGAR_FABRIC=sandbox'))).toBe(true);
      const pool = await h.hangar.kernel.db.selectFrom('ip_pools').select('cidr').where('name', '=', 'genesis:NORD-NO-KRS-1:public').executeTakeFirstOrThrow();
      expect(pool.cidr).not.toMatch(/^127\./);
    } finally {
      await h.close();
    }
  });

  it('carves public pools out of the loopback range, one slice each, kept across a restart', async () => {
    const h = await startHangar();
    try {
      const { kernel } = h.hangar;
      const publicPools = async () =>
        (await kernel.db.selectFrom('ip_pools').select(['name', 'cidr']).orderBy('name').execute()).filter((p) => String(p.name).endsWith(':public'));
      kernel.ipam.usePublicRange('127.100.0.0/16');
      await kernel.seed();
      const first = await publicPools();
      expect(first.length).toBeGreaterThan(1);
      for (const pool of first) expect(pool.cidr).toMatch(/^127\.100\.\d+\.0\/22$/);
      expect(new Set(first.map((p) => p.cidr)).size).toBe(first.length);
      await kernel.seed();
      expect(await publicPools()).toEqual(first);
      const address = await kernel.db.transaction().execute((trx) => kernel.ipam.allocate(trx, String(first[0]!.name), 'owner'));
      expect(address).toMatch(/^127\.100\./);
      // Private pools keep their catalog ranges.
      const privatePool = await kernel.db.selectFrom('ip_pools').select('cidr').where('name', '=', 'genesis:NORD-NO-KRS-1:private').executeTakeFirstOrThrow();
      expect(privatePool.cidr).not.toMatch(/^127\./);
    } finally {
      await h.close();
    }
  });

  it('nvidia-smi stand-in: -L, CSV queries with noheader and nounits, -i, the table, bad fields', () => {
    const path = join(dir, 'nvidia-smi');
    writeFileSync(path, nvidiaSmi('inst-1', { model: 'NVIDIA GeForce RTX 3090', count: 2, memoryMiB: 24576 }), { mode: 0o755 });
    const smi = (...args: string[]) => spawnSync('/bin/sh', [path, ...args], { encoding: 'utf8' });
    expect(smi('-L').stdout).toBe(`GPU 0: NVIDIA GeForce RTX 3090 (UUID: ${gpuUuid('inst-1', 0)})\nGPU 1: NVIDIA GeForce RTX 3090 (UUID: ${gpuUuid('inst-1', 1)})\n`);
    expect(gpuUuid('inst-1', 0)).toBe(gpuUuid('inst-1', 0));
    expect(gpuUuid('inst-1', 0)).not.toBe(gpuUuid('inst-2', 0));
    expect(smi('--query-gpu=name,memory.total,index', '--format=csv').stdout).toBe(
      'name, memory.total [MiB], index\nNVIDIA GeForce RTX 3090, 24576 MiB, 0\nNVIDIA GeForce RTX 3090, 24576 MiB, 1\n',
    );
    expect(smi('--query-gpu=memory.total,count', '--format=csv,noheader,nounits', '-i', '1').stdout).toBe('24576, 2\n');
    const bad = smi('--query-gpu=flux', '--format=csv');
    expect(bad.status).toBe(2);
    expect(bad.stdout).toContain('"flux" is not a valid field');
    expect(smi('-i', '5', '-L').status).toBe(6);
    const table = smi();
    expect(table.status).toBe(0);
    expect(table.stdout).toContain('NVIDIA GeForce RTX 3090');
    expect(table.stdout).toContain('24576MiB');
  });

  it('turns user data into boot scripts: a plain script once, #cloud-config as its offline subset', () => {
    expect(userData(null)).toEqual({ firstBoot: null, everyBoot: null });
    expect(userData('echo hi')).toEqual({ firstBoot: 'echo hi', everyBoot: null });
    const converted = userData('#cloud-config\nbootcmd: [echo a]\nruncmd:\n  - [touch, "/tmp/it s"]\nusers: []\n');
    expect(converted.everyBoot).toBe("#!/bin/sh\nsh -c 'echo a'\n");
    expect(converted.firstBoot).toContain("'touch' '/tmp/it s'");
    expect(converted.firstBoot).toContain('skipped (not supported offline): users');
    expect(userData('#cloud-config\n: : bad: [').firstBoot).toContain('not valid YAML');
    // The init runs the shutdown script only where there is one.
    expect(initScript({ firstBoot: null, everyBoot: null, shutdown: 'x' })).toContain('/run/hangar/shutdown');
    expect(initScript({ firstBoot: 'x', everyBoot: null, shutdown: null })).not.toContain('/run/hangar/shutdown');
  });

  it("hands each GPU board to one instance at a time, and none when too few are free", () => {
    const boards = new GpuDevices(['/dev/gpu-a', '/dev/gpu-b', '/dev/gpu-c']);
    expect(boards.take('one', 2)).toEqual(['/dev/gpu-a', '/dev/gpu-b']);
    expect(boards.take('two', 2)).toEqual([]);
    expect(boards.take('three', 1)).toEqual(['/dev/gpu-c']);
    boards.release('one');
    expect(boards.take('two', 2)).toEqual(['/dev/gpu-a', '/dev/gpu-b']);
    expect([...boards.held().values()].sort()).toEqual(['three', 'two', 'two']);
    expect(new GpuDevices([]).take('x', 1)).toEqual([]);
  });

  it("picks the image's default user", () => {
    expect(defaultUserOf('Ubuntu 22.04')).toBe('ubuntu');
    expect(defaultUserOf('Debian 12')).toBe('debian');
    expect(defaultUserOf('Something else')).toBe('ubuntu');
  });

  it("names every NVIDIA board of Crusoe's catalog as nvidia-smi does, and none on AMD's", () => {
    const gpuTypes = new Set<string>();
    JSON.stringify(crusoeCatalog, (key, value) => (key === 'gpu_type' && value ? gpuTypes.add(value) : undefined, value));
    expect(gpuTypes.size).toBeGreaterThan(5);
    for (const gpuType of gpuTypes) {
      const model = nvidiaModelOf(gpuType);
      if (gpuType.startsWith('MI')) expect(model, gpuType).toBeNull();
      // Every NVIDIA type is in the table: a real board name, never the catalog's own spelling.
      else expect(model, gpuType).not.toContain(gpuType);
    }
    expect(nvidiaModelOf('A40-PCIe-48GB')).toBe('NVIDIA A40');
    expect(nvidiaModelOf('H100-SXM-80GB')).toBe('NVIDIA H100 80GB HBM3');
  });
});
