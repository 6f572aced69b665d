import { describe, expect, it } from 'vitest';
import { hangarPerSuite } from '../helpers/admin.js';
import { publicKey } from '../helpers/hangar.js';
import { expectCrusoeError, newCrusoeAccount } from '../helpers/crusoe.js';
import { awaitOp, Families } from './support.js';

const LOCATION = 'us-east1-a';
const KEY = publicKey();

/**
 * VM creates that arrive together share one commit on SQLite (kernel/db/group-commit.ts, as
 * Genesis's instance creates do). Each must be answered as if it ran alone: a refused one
 * leaves nothing behind, and every accepted one is stored with its operation. (Whether a group
 * forms over HTTP depends on the event loop; test/kernel/group-commit.test.ts makes one form.)
 */
describe('Crusoe: VM creates sent together', () => {
  const { h, admin } = hangarPerSuite();

  it('takes as many as the VM count allows and refuses the rest with nothing taken', async () => {
    const { accountId, client: c } = await newCrusoeAccount(h, 'bursty');
    expect((await admin.put(`/accounts/${accountId}/quotas`, { 'crusoe.vms': 4 })).status).toBe(200);
    const vms = `/projects/${c.projectId}/compute/vms/instances`;
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    const answers = await Promise.all(names.map((name) => c.post(vms, { name, type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY })));

    const accepted = answers.filter((a) => a.status === 200);
    expect(accepted).toHaveLength(4);
    for (const refused of answers.filter((a) => a.status !== 200)) expectCrusoeError(refused, 403, 'quota_exceeded', 'this organization may have at most 4 VMs');
    const done = await Promise.all(accepted.map((a) => awaitOp(h, c, Families.vms, a.body.operation)));
    expect(done.map((op) => op.state)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    const made = done.map((op) => op.result.name).sort();
    expect((await c.get(vms)).body.items.map((vm: any) => vm.name).sort()).toEqual(made);
    const quotas = (await admin.get(`/accounts/${accountId}/quotas`)).body.quotas;
    expect(quotas['crusoe.vms'].used).toBe(4);
    expect(quotas['crusoe.family.c1a'].used).toBe(4 * 2);
    // Each accepted VM has its own OS disk; the refused left none.
    expect((await c.get(`/projects/${c.projectId}/storage/disks`)).body.items).toHaveLength(4);
  });

  it('lets one of two creates of the same name through and answers the other 409', async () => {
    const { client: c } = await newCrusoeAccount(h, 'twins');
    const vms = `/projects/${c.projectId}/compute/vms/instances`;
    const answers = await Promise.all([0, 1].map(() => c.post(vms, { name: 'twin', type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY })));
    const won = answers.find((a) => a.status === 200)!;
    expect(won, JSON.stringify(answers.map((a) => a.text))).toBeDefined();
    // (side by side on PostgreSQL, the name's unique index is what refuses the second)
    expectCrusoeError(answers.find((a) => a !== won)!, 409, 'conflict', /^a (VM named "twin"|resource with that name or id) already exists/);
    expect((await awaitOp(h, c, Families.vms, won.body.operation)).state).toBe('SUCCEEDED');
    expect((await c.get(vms)).body.items.map((vm: any) => vm.name)).toEqual(['twin']);
  });
});
