import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { BOOT_MS, GPU_TYPE, createKey, createInstance } from '../helpers/genesis.js';
import { SshClient, sandboxEnv, sandboxUnavailable } from '../helpers/ssh.js';

/**
 * HANGAR_GPU_DEVICES on a host without GPUs: two harmless character devices stand in for
 * /dev/nvidia0 and /dev/nvidia1. What is tested is the handing over: a two-GPU instance gets
 * both boards (and no stand-in nvidia-smi), a second one finds none free and boots with the
 * stand-in, and the boards come back when the first stops.
 */
const BOARDS = ['/dev/hwrng', '/dev/vsock'];
const unavailable = sandboxUnavailable() ?? (BOARDS.every((b) => existsSync(b)) ? null : `${BOARDS.join(', ')} missing`);

describe.skipIf(unavailable !== null)('HANGAR_GPU_DEVICES', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-sandbox-gpus-'));
  let h: TestHangar;
  const client = new SshClient();

  beforeAll(async () => {
    h = await startHangar({ env: { ...sandboxEnv(dir), HANGAR_GPU_DEVICES: BOARDS.join(',') } });
  });
  afterAll(async () => {
    await h?.close();
    client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const probe = `for d in ${BOARDS.join(' ')}; do test -c $d && echo has-$d; done; command -v nvidia-smi || echo no-nvidia-smi`;

  it('hands each board to one running instance at a time', async () => {
    expect(h.hangar.banner().some((line) => line.includes('2 host devices'))).toBe(true);
    const key = await createKey(h.genesis, 'k', client.publicKey);
    const first = await createInstance(h.genesis, { type: GPU_TYPE, hostname: 'first', ssh_keys: [key.id] });
    await h.advance(BOOT_MS);
    await h.hangar.fabric.settled();
    const second = await createInstance(h.genesis, { type: GPU_TYPE, hostname: 'second', ssh_keys: [key.id] });
    await h.advance(BOOT_MS);
    await h.hangar.fabric.settled();
    const ip = async (id: string) => (await h.genesis.get(`/instances/${id}`)).body.instance.public_ip as string;

    expect((await client.ssh(`ubuntu@${await ip(first.id)}`, probe)).stdout).toBe(`has-${BOARDS[0]}\nhas-${BOARDS[1]}\nno-nvidia-smi\n`);
    expect((await client.ssh(`ubuntu@${await ip(second.id)}`, probe)).stdout).toBe('/usr/local/bin/nvidia-smi\n');

    // The first stops: its boards are free, and the second takes them at its next boot (a reset).
    expect((await h.genesis.post(`/instances/${first.id}/actions`, { action: 'stop' })).status).toBe(204);
    await h.advance(2_000);
    await h.hangar.fabric.settled();
    expect((await h.genesis.post(`/instances/${second.id}/actions`, { action: 'reset' })).status).toBe(204);
    await h.advance(2_000);
    await h.hangar.fabric.settled();
    expect((await client.ssh(`ubuntu@${await ip(second.id)}`, probe)).stdout).toBe(`has-${BOARDS[0]}\nhas-${BOARDS[1]}\nno-nvidia-smi\n`);
  });
});
