import { describe, expect, it } from 'vitest';
import { hangarPerSuite } from '../helpers/admin.js';
import { awaitOperation, newCrusoeAccount, publicKey } from '../helpers/crusoe.js';

// Clients retry, and scripts fire the same call twice: changes of one VM sent at once take
// turns, one is applied and the others hear the VM is busy, never a 5xx. (The deadlock the
// generated bad-input suite found on PostgreSQL, fixed by locking the VM's row first, needs
// an interleaving this test does not force: HANGAR_FUZZ_SEED=1238767219 replays it.)
describe('Crusoe: changes of one VM at once', () => {
  const { h } = hangarPerSuite();

  it('applies one of many changes of a VM sent together (DELETEs and STOPs); the others hear it is busy', async () => {
    const { client } = await newCrusoeAccount(h, 'double-delete');
    const vms = `/projects/${client.projectId}/compute/vms/instances`;
    const made = await client.post(vms, { name: 'twice', type: 'c1a.2x', location: 'us-east1-a', ssh_public_key: publicKey() });
    expect(made.status, made.text).toBe(200);
    const vm = (await awaitOperation(h, client, client.projectId, made.body.operation)).result;
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? client.delete(`${vms}/${vm.id}`) : client.patch(`${vms}/${vm.id}`, { action: 'STOP' }))),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 200), JSON.stringify(answers.map((a) => a.body))).toHaveLength(1);
    expect(statuses.filter((s) => s !== 200).every((s) => s === 409)).toBe(true);
    await awaitOperation(h, client, client.projectId, answers.find((a) => a.status === 200)!.body.operation);
  });
});
