import { describe, expect, it } from 'vitest';
import { hangarPerSuite } from '../helpers/admin.js';
import { expectCrusoeError, newCrusoeAccount, publicKey, type CrusoeClient } from '../helpers/crusoe.js';
import type { ApiResponse } from '../helpers/http-client.js';
import { awaitOp, Families, succeeds } from './support.js';

// A disk's attachment is written as its attach operation completes: until then the operation
// holds the disk, so two VMs asking for one disk at once never both get it (one 200, the other
// the 409 of a busy disk, never a 500), and the hold ends however the operation ends.

const LOCATION = 'us-east1-a';

describe('Crusoe: one disk asked for by two VMs at once', () => {
  const { h, admin } = hangarPerSuite();

  /** A tenant with two running VMs and the paths of its project. */
  async function tenant(name: string) {
    const { accountId, client } = await newCrusoeAccount(h, name);
    const P = `/projects/${client.projectId}`;
    const vms = `${P}/${Families.vms}`;
    const disks = `${P}/${Families.disks}`;
    const vm = (vmName: string, body: Record<string, unknown> = {}) =>
      succeeds(h, client, Families.vms, client.post(vms, { name: vmName, type: 'c1a.2x', location: LOCATION, ssh_public_key: publicKey(), ...body }));
    const disk = (diskName: string, body: Record<string, unknown> = {}) => succeeds(h, client, Families.disks, client.post(disks, { name: diskName, size: '10GiB', location: LOCATION, ...body }));
    const attach = (vmId: string, diskId: string) => client.post(`${vms}/${vmId}/attach-disks`, { attach_disks: [{ disk_id: diskId, mode: 'read-write', attachment_type: 'data' }] });
    const attachedTo = async (diskId: string) => ((await client.get(`${disks}/${diskId}`)).body.attached_to as { vm_id: string }[]).map((a) => a.vm_id).sort();
    return { accountId, client, vms, disks, vm, disk, attach, attachedTo };
  }

  /** Exactly one answer is 200 with an operation; the others are the Crusoe 409 of a busy or taken disk. */
  function oneWins(answers: ApiResponse[], diskId: string): ApiResponse {
    expect(answers.filter((a) => a.status === 200), JSON.stringify(answers.map((a) => [a.status, a.body]))).toHaveLength(1);
    for (const lost of answers.filter((a) => a.status !== 200)) expectCrusoeError(lost, 409, 'conflict', `disk "${diskId}"`);
    return answers.find((a) => a.status === 200)!;
  }

  const done = (client: CrusoeClient, answer: ApiResponse) => awaitOp(h, client, Families.vms, answer.body.operation);

  it('attaches a persistent disk to one of two VMs asking at once; the other hears the disk is busy, and the disk is free once attached', async () => {
    const t = await tenant('attach-race');
    const [a, b] = [await t.vm('race-a'), await t.vm('race-b')];
    const ssd = await t.disk('raced-ssd');

    const answers = await Promise.all([t.attach(a.id, ssd.id), t.attach(b.id, ssd.id)]);
    const won = oneWins(answers, ssd.id);
    const winner = won === answers[0] ? a : b;
    const loser = winner === a ? b : a;
    expectCrusoeError(answers.find((x) => x !== won)!, 409, 'conflict', `disk "${ssd.id}" has an operation in progress (${won.body.operation.operation_id})`);
    // While the attach runs the disk is held, as any disk with an operation in progress.
    expectCrusoeError(await t.client.delete(`${t.disks}/${ssd.id}`), 409, 'conflict', `has an operation in progress (${won.body.operation.operation_id})`);
    expectCrusoeError(await t.client.patch(`${t.disks}/${ssd.id}`, { size: '20GiB' }), 409, 'conflict', 'has an operation in progress');
    expectCrusoeError(await t.client.post(t.vms, { name: 'race-c', type: 'c1a.2x', location: LOCATION, ssh_public_key: publicKey(), disks: [{ disk_id: ssd.id, mode: 'read-write', attachment_type: 'data' }] }), 409, 'conflict', 'has an operation in progress');

    expect((await done(t.client, won)).state).toBe('SUCCEEDED');
    expect(await t.attachedTo(ssd.id)).toEqual([winner.id]);
    expect((await t.client.get(`${t.vms}/${loser.id}`)).body.disks.map((d: any) => d.attachment_type)).toEqual(['os']);
    // Attached, the disk is taken (not busy), and free for its own operations.
    expectCrusoeError(await t.attach(loser.id, ssd.id), 409, 'conflict', `disk "${ssd.id}" is attached to VM "${winner.id}": detach it first`);
    expect((await succeeds(h, t.client, Families.disks, t.client.patch(`${t.disks}/${ssd.id}`, { size: '20GiB' }))).size).toBe('20GiB');
    // Detached, it attaches to the other VM.
    await succeeds(h, t.client, Families.vms, t.client.post(`${t.vms}/${winner.id}/detach-disks`, { detach_disks: [ssd.id] }));
    await succeeds(h, t.client, Families.vms, t.attach(loser.id, ssd.id));
    expect(await t.attachedTo(ssd.id)).toEqual([loser.id]);
    // Its VM deleted, the disk is detached and free: it goes.
    await succeeds(h, t.client, Families.vms, t.client.delete(`${t.vms}/${loser.id}`));
    expect(await t.attachedTo(ssd.id)).toEqual([]);
    await succeeds(h, t.client, Families.disks, t.client.delete(`${t.disks}/${ssd.id}`));
  });

  it('gives a persistent disk named by VMs created at once, and by an attach beside them, to one VM only', async () => {
    const t = await tenant('create-race');
    const ssd = await t.disk('created-for');
    const other = await t.vm('race-other');
    const withDisk = (name: string) =>
      t.client.post(t.vms, { name, type: 'c1a.2x', location: LOCATION, ssh_public_key: publicKey(), disks: [{ disk_id: ssd.id, mode: 'read-write', attachment_type: 'data' }] });

    const answers = await Promise.all([withDisk('race-1'), withDisk('race-2'), t.attach(other.id, ssd.id), withDisk('race-3')]);
    const won = oneWins(answers, ssd.id);
    // (whichever won, its operation's result is the VM that has the disk)
    const holder = (await done(t.client, won)).result;
    expect(await t.attachedTo(ssd.id)).toEqual([holder.id]);
    // The VMs that lost were never made.
    expect(((await t.client.get(t.vms)).body.items as { name: string }[]).map((v) => v.name).sort()).toEqual([...new Set([holder.name, 'race-other'])].sort());
    expect((await succeeds(h, t.client, Families.disks, t.client.patch(`${t.disks}/${ssd.id}`, { size: '20GiB' }))).size).toBe('20GiB');
  });

  // A shared volume is made to be attached to many VMs: two attaching it at once both get it
  // (each VM still holds its own operation), as a cluster's VMs mount one shared volume together.
  it('attaches a shared volume to two VMs asking at once', async () => {
    const t = await tenant('shared-race');
    const [a, b] = [await t.vm('shared-a'), await t.vm('shared-b')];
    const shared = await t.disk('raced-shared', { type: 'shared-volume', size: '1TiB' });

    const answers = await Promise.all([t.attach(a.id, shared.id), t.attach(b.id, shared.id)]);
    expect(answers.map((x) => x.status), JSON.stringify(answers.map((x) => x.body))).toEqual([200, 200]);
    for (const answer of answers) expect((await done(t.client, answer)).state).toBe('SUCCEEDED');
    expect(await t.attachedTo(shared.id)).toEqual([a.id, b.id].sort());
  });

  it('frees the disk of an attach that fails (an injected fault rolls it back)', async () => {
    const t = await tenant('attach-fault');
    const [a, b] = [await t.vm('fault-a'), await t.vm('fault-b')];
    const ssd = await t.disk('faulted-ssd');
    const rule = await admin.post('/faults', { kind: 'crusoe.vm', transition: 'attach', account: t.accountId, count: 1 });
    expect(rule.status, rule.text).toBe(201);
    try {
      const doomed = await t.attach(a.id, ssd.id);
      expect(doomed.status, doomed.text).toBe(200);
      expectCrusoeError(await t.attach(b.id, ssd.id), 409, 'conflict', `disk "${ssd.id}" has an operation in progress (${doomed.body.operation.operation_id})`);
      const failed = await done(t.client, doomed);
      expect(failed.state, JSON.stringify(failed)).toBe('FAILED');
    } finally {
      expect((await admin.delete('/faults')).status).toBe(204);
    }
    // Nothing was attached and nothing stays busy: the disk grows, and attaches to the other VM.
    expect(await t.attachedTo(ssd.id)).toEqual([]);
    expect((await succeeds(h, t.client, Families.disks, t.client.patch(`${t.disks}/${ssd.id}`, { size: '20GiB' }))).size).toBe('20GiB');
    await succeeds(h, t.client, Families.vms, t.attach(b.id, ssd.id));
    expect(await t.attachedTo(ssd.id)).toEqual([b.id]);
  });
});
