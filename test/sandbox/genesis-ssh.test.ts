import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { BOOT_MS, GPU_TYPE, createKey, createInstance } from '../helpers/genesis.js';
import { SshClient, eventually, sandboxEnv, sandboxUnavailable } from '../helpers/ssh.js';

const unavailable = sandboxUnavailable();
if (unavailable) console.warn(`sandbox tests skipped: ${unavailable}`);

/**
 * A Genesis instance under the sandbox fabric is a machine: the stock OpenSSH client reaches it
 * at its public address, the startup script has run, nvidia-smi shows the type's GPUs, files
 * survive stop/start, and destroy takes it away.
 */
describe.skipIf(unavailable !== null)('Genesis instances you can SSH into', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-sandbox-test-'));
  let h: TestHangar;
  const client = new SshClient();

  beforeAll(async () => {
    h = await startHangar({ env: sandboxEnv(dir) });
  });
  afterAll(async () => {
    await h?.close();
    client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function settle(ms: number): Promise<void> {
    await h.advance(ms);
    await h.hangar.fabric.settled();
  }

  async function action(id: string, action: string): Promise<void> {
    const res = await h.genesis.post(`/instances/${id}/actions`, { action });
    expect(res.status, res.text).toBe(204);
  }

  it('boots with its hostname, GPUs and startup script; keeps files across stop/start; is gone after destroy', async () => {
    const key = await createKey(h.genesis, 'tester', client.publicKey);
    const created = await createInstance(h.genesis, {
      hostname: 'trainer-1',
      type: GPU_TYPE,
      ssh_keys: [key.id],
      metadata: { startup_script: '#!/bin/bash\necho "startup ran as $(id -un) on $(hostname)"\necho done > /root/marker\n' },
    });
    await settle(BOOT_MS);
    const instance = (await h.genesis.get(`/instances/${created.id}`)).body.instance;
    expect(instance.status).toBe('active');
    expect(instance.public_ip).toMatch(/^127\./);
    const target = `ubuntu@${instance.public_ip}`;

    const first = await eventually(
      () => client.ssh(target, 'hostname; nvidia-smi -L; cat /var/log/startup-script.log'),
      (r) => r.code === 0 && r.stdout.includes('startup ran'),
    );
    const lines = first.stdout.trim().split('\n');
    expect(lines[0]).toBe('trainer-1');
    expect(lines.filter((l) => /^GPU \d: NVIDIA GeForce RTX 3090 \(UUID: GPU-[0-9a-f-]{36}\)$/.test(l))).toHaveLength(2);
    expect(first.stdout).toContain('startup ran as root on trainer-1');

    const csv = await client.ssh(target, 'nvidia-smi --query-gpu=name,memory.total,index --format=csv');
    expect(csv.stdout.trim().split('\n')).toEqual(['name, memory.total [MiB], index', 'NVIDIA GeForce RTX 3090, 24576 MiB, 0', 'NVIDIA GeForce RTX 3090, 24576 MiB, 1']);

    // root too, with the same key; the startup script ran as root.
    expect((await client.ssh(`root@${instance.public_ip}`, 'cat /root/marker; id -u')).stdout).toBe('done\n0\n');

    // scp a file in.
    const local = join(client.dir, 'payload.txt');
    writeFileSync(local, 'hello from the host\n');
    const copied = await client.scp([local, `${target}:payload.txt`]);
    expect(copied.code, copied.stderr).toBe(0);

    // Stop: SSH refuses. Start: the file is there, the host key is the same (strict checking).
    await action(created.id, 'stop');
    await settle(2_000);
    expect((await h.genesis.get(`/instances/${created.id}`)).body.instance.status).toBe('stopped');
    const refused = await client.ssh(target, 'true');
    expect(refused.code).toBe(255);
    await action(created.id, 'start');
    await settle(3_000);
    const after = (await h.genesis.get(`/instances/${created.id}`)).body.instance;
    expect(after.status).toBe('active');
    const back = await client.ssh(`ubuntu@${after.public_ip}`, 'cat payload.txt; grep -c "startup ran" /var/log/startup-script.log');
    expect(back.code, back.stderr).toBe(0);
    // The file survived; the startup script ran once only (after the first boot).
    expect(back.stdout).toBe('hello from the host\n1\n');
    // The host key is the instance's for its life (a dynamic address may have changed: compare keys).
    const known = readFileSync(join(client.dir, 'known_hosts'), 'utf8').trim().split('\n').map((l) => l.split(' ').slice(1).join(' '));
    expect(new Set(known).size).toBe(1);
    // The GPUs' UUIDs are the instance's for its life.
    const again = await client.ssh(`ubuntu@${after.public_ip}`, 'nvidia-smi -L');
    expect(again.stdout.trim().split('\n')).toEqual(lines.slice(1, 3));

    // Destroy: SSH refuses and the instance's files are gone.
    const files = join(dir, 'instances', created.id);
    expect(existsSync(files)).toBe(true);
    expect((await h.genesis.delete(`/instances/${created.id}`)).status).toBe(204);
    await settle(2_000);
    expect((await h.genesis.get(`/instances/${created.id}`)).status).toBe(404);
    expect((await client.ssh(`ubuntu@${after.public_ip}`, 'true')).code).toBe(255);
    expect(existsSync(files)).toBe(false);
  });
});
