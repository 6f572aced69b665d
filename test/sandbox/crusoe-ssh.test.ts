import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { awaitOperation, crusoeClient, type CrusoeClient } from '../helpers/crusoe.js';
import { awaitOp, Families } from '../crusoe/support.js';
import { SshClient, eventually, sandboxEnv, sandboxUnavailable } from '../helpers/ssh.js';

const unavailable = sandboxUnavailable();

/**
 * A Crusoe VM under the sandbox fabric: reachable at `ssh_destination` as root with its
 * `ssh_public_key`; its startup script runs at every boot, its shutdown script on STOP.
 */
describe.skipIf(unavailable !== null)('Crusoe VMs you can SSH into', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hangar-sandbox-crusoe-'));
  let h: TestHangar;
  let c: CrusoeClient;
  // Not 22, as where port 22 cannot be bound: ssh_destination names the port SSH really answers on.
  const sshPort = String(randomInt(20_000, 30_000));
  const client = new SshClient(Number(sshPort));

  beforeAll(async () => {
    h = await startHangar({ env: { ...sandboxEnv(dir), HANGAR_SANDBOX_SSH_PORT: sshPort } });
    c = crusoeClient(h);
  });
  afterAll(async () => {
    await h?.close();
    client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers at ssh_destination; startup script every boot, shutdown script on STOP', async () => {
    const vms = `/projects/${c.projectId}/compute/vms/instances`;
    const create = await c.post(vms, {
      name: 'a40-box',
      type: 'a40.2x',
      location: 'us-northcentral1-a',
      image: 'ubuntu22.04:latest',
      ssh_public_key: client.publicKey,
      startup_script: '#!/bin/bash\necho "boot of $(hostname)"\n',
      shutdown_script: '#!/bin/bash\necho "shutdown of $(hostname)"\n',
    });
    expect(create.status, create.text).toBe(200);
    const vmId = create.body.operation.metadata.id;
    expect((await awaitOperation(h, c, c.projectId, create.body.operation)).state).toBe('SUCCEEDED');
    await h.hangar.fabric.settled();
    const vm = (await c.get(`${vms}/${vmId}`)).body;
    const [host, port] = String(vm.ssh_destination).split(':');
    expect(host).toMatch(/^127\./);
    expect(port).toBe(sshPort);
    expect(host).toBe(vm.network_interfaces[0].ips[0].public_ipv4.address);

    const first = await eventually(
      () => client.ssh(`root@${host}`, 'hostname; nvidia-smi --query-gpu=name,memory.total --format=csv,noheader; cat /var/log/startup-script.log'),
      (r) => r.code === 0 && r.stdout.includes('boot of'),
    );
    expect(first.stdout).toBe('a40-box\nNVIDIA A40, 46068 MiB\nNVIDIA A40, 46068 MiB\nboot of a40-box\n');

    const stop = await c.patch(`${vms}/${vmId}`, { action: 'STOP' });
    expect(stop.status, stop.text).toBe(200);
    expect((await awaitOperation(h, c, c.projectId, stop.body.operation)).state).toBe('SUCCEEDED');
    await h.hangar.fabric.settled();
    expect((await client.ssh(`root@${host}`, 'true')).code).toBe(255);

    const start = await c.patch(`${vms}/${vmId}`, { action: 'START' });
    expect((await awaitOperation(h, c, c.projectId, start.body.operation)).state).toBe('SUCCEEDED');
    await h.hangar.fabric.settled();
    const again = (await c.get(`${vms}/${vmId}`)).body;
    const [host2, port2] = String(again.ssh_destination).split(':');
    expect(port2).toBe(sshPort);
    const log = await eventually(
      () => client.ssh(`root@${host2}`, 'cat /var/log/startup-script.log'),
      (r) => r.code === 0 && r.stdout.split('boot of').length === 3,
    );
    expect(log.stdout).toBe('boot of a40-box\nshutdown of a40-box\nboot of a40-box\n');

    // A data disk attached to the running VM appears at /mnt/disks/<name>.
    const disk = await c.post(`/projects/${c.projectId}/storage/disks`, { name: 'scratch', size: '10GiB', location: 'us-northcentral1-a' });
    expect(disk.status, disk.text).toBe(200);
    expect((await awaitOp(h, c, Families.disks, disk.body.operation)).state).toBe('SUCCEEDED');
    const attach = await c.post(`${vms}/${vmId}/attach-disks`, { attach_disks: [{ disk_id: disk.body.operation.metadata.id, mode: 'read-write', attachment_type: 'data' }] });
    expect((await awaitOperation(h, c, c.projectId, attach.body.operation)).state).toBe('SUCCEEDED');
    await h.hangar.fabric.settled();
    expect((await client.ssh(`root@${host2}`, 'touch /mnt/disks/scratch/x && ls /mnt/disks')).stdout).toBe('scratch\n');

    const remove = await c.delete(`${vms}/${vmId}`);
    expect(remove.status, remove.text).toBe(200);
    await awaitOperation(h, c, c.projectId, remove.body.operation);
    await h.hangar.fabric.settled();
    expect((await client.ssh(`root@${host2}`, 'true')).code).toBe(255);
  });
});
