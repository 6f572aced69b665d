import { afterEach, describe, expect, it, vi } from 'vitest';
import { hangarPerSuite } from '../helpers/admin.js';
import { publicKey } from '../helpers/hangar.js';
import { createKey, GPU_TYPE, REGION } from '../helpers/genesis.js';
import { newCrusoeAccount } from '../helpers/crusoe.js';
import { awaitOp, Families } from '../crusoe/support.js';

const LOCATION = 'us-east1-a';
const BURST = 6;
const each = <T>(make: (i: number) => T): T[] => Array.from({ length: BURST }, (_, i) => make(i));

/**
 * Creates arrive in bursts (a Terraform apply makes ten at a time): on SQLite those that arrive
 * together share one commit (kernel/db/group-commit.ts, lifecycle.groupedTransaction). Every
 * create a provider sends in bursts goes through it once, and every one of a burst is answered
 * and stored as if it had run alone. On PostgreSQL the instance and VM creates that contend for
 * the same rows (account, type, place) run at once in one transaction (see GroupCommit); the
 * others each in a transaction of its own.
 */
describe('creates in bursts, through the group commit', () => {
  const { h } = hangarPerSuite();
  afterEach(() => vi.restoreAllMocks());

  /** Sends BURST creates at once; each answered `status`, each through the group commit once. */
  async function burst(send: (i: number) => Promise<{ status: number; text: string; body: any }>, status: number): Promise<any[]> {
    const grouped = vi.spyOn(h.hangar.kernel.grouped, 'run');
    const answers = await Promise.all(each(send));
    for (const answer of answers) expect(answer.status, answer.text).toBe(status);
    expect(grouped).toHaveBeenCalledTimes(BURST);
    grouped.mockRestore();
    return answers.map((a) => a.body);
  }

  it('Genesis: instances, volumes, security groups, floating IPs, filesystems and snapshots from URLs', async () => {
    const { genesis } = await h.newAccount('genesis-burst');
    const key = await createKey(genesis);
    // (an account's first instance starts its count, which a create does in turn, on its own:
    // see togetherOrInTurn; the bursts below find the count there)
    const first = await genesis.post('/instances', { name: 'first', hostname: 'first', type: GPU_TYPE, region: REGION, image: 'ubuntu-22.04', ssh_keys: [key.id] });
    expect(first.status, first.text).toBe(201);
    const made = {
      instances: await burst((i) => genesis.post('/instances', { name: `i${i}`, hostname: `i${i}`, type: GPU_TYPE, region: REGION, image: 'ubuntu-22.04', ssh_keys: [key.id] }), 201),
      volumes: await burst((i) => genesis.post('/volumes', { name: `v${i}`, size: 10, region: REGION }), 201),
      security_groups: await burst((i) => genesis.post('/security-groups', { name: `g${i}`, region: REGION, rules: [] }), 201),
      floating_ips: await burst((i) => genesis.post('/floating-ips', { name: `f${i}`, region: REGION }), 201),
      filesystems: await burst((i) => genesis.post('/filesystems', { name: `fs${i}`, size: 10, region: REGION }), 201),
      snapshots: await burst((i) => genesis.post('/snapshots', { name: `s${i}`, size: 40, url: `https://images.example.com/disk-${i}.raw`, os_type: 'linux', region: REGION }), 201),
    };
    const singular = { instances: 'instance', volumes: 'volume', security_groups: 'security_group', floating_ips: 'floating_ip', filesystems: 'filesystem', snapshots: 'snapshot' } as const;
    for (const [list, bodies] of Object.entries(made) as [keyof typeof singular, any[]][]) {
      const ids = bodies.map((b) => b[singular[list]].id);
      expect(new Set(ids).size, list).toBe(BURST);
      const listed = (await genesis.get(`/${list.replace('_', '-')}?per_page=100`)).body[list].map((r: any) => r.id);
      for (const id of ids) expect(listed, list).toContain(id);
    }
    // Each floating IP holds an address of its own.
    expect(new Set(made.floating_ips.map((b) => b.floating_ip.ip_address)).size).toBe(BURST);
  });

  it('Crusoe: VMs, disks, snapshots, VPC networks and subnets, firewall rules and load balancers', async () => {
    const { client: c } = await newCrusoeAccount(h, 'crusoe-burst');
    const P = `/projects/${c.projectId}`;
    const N = `${P}/networking`;
    /** A burst of creates answered with operations, each one its own, all succeeding; their results. */
    const operations = async (family: string, send: (i: number) => Promise<{ status: number; text: string; body: any }>) => {
      const ops = (await burst(send, 200)).map((b) => b.operation);
      expect(new Set(ops.map((op) => op.operation_id)).size, family).toBe(BURST);
      const done = [];
      for (const op of ops) done.push(await awaitOp(h, c, family, op));
      for (const op of done) expect(op.state, JSON.stringify(op)).toBe('SUCCEEDED');
      return done.map((op) => op.result);
    };

    // (the organization's first VM starts its counts, apart: see the Genesis case)
    const first = await c.post(`${P}/compute/vms/instances`, { name: 'vm-first', type: 'c1a.2x', location: LOCATION, ssh_public_key: publicKey() });
    expect(first.status, first.text).toBe(200);
    await awaitOp(h, c, Families.vms, first.body.operation);
    const vms = await operations(Families.vms, (i) => c.post(`${P}/compute/vms/instances`, { name: `vm${i}`, type: 'c1a.2x', location: LOCATION, ssh_public_key: publicKey() }));
    const disks = await operations(Families.disks, (i) => c.post(`${P}/storage/disks`, { name: `d${i}`, size: '10GiB', location: LOCATION }));
    await operations(Families.snapshots, (i) => c.post(`${P}/storage/snapshots`, { disk_id: disks[i].id, name: `s${i}` }));
    const networks = (await burst((i) => c.post(`${N}/vpc-networks`, { name: `n${i}`, cidr: `10.${60 + i}.0.0/16` }), 200)).map((b) => b.network);
    expect(new Set(networks.map((n) => n.id)).size).toBe(BURST);
    await burst((i) => c.post(`${N}/vpc-subnets`, { name: `sub${i}`, cidr: `10.60.${i}.0/24`, location: LOCATION, vpc_network_id: networks[0].id }), 200);
    await operations(Families.firewallRules, (i) =>
      c.post(`${N}/vpc-firewall-rules`, { name: `r${i}`, vpc_network_id: networks[0].id, action: 'allow', direction: 'ingress', protocols: ['tcp'], sources: [{ cidr: '0.0.0.0/0' }], destinations: [{ cidr: `10.60.${i}.0/24` }] }),
    );
    await operations(Families.loadBalancers, (i) =>
      c.post(`${N}/internal-load-balancers`, { name: `lb${i}`, location: LOCATION, algorithm: 'random', protocols: ['tcp'], destinations: [{ resource_id: vms[i].id }], network_interfaces: [{}] }),
    );

    const names = async (path: string) => (await c.get(path)).body.items.map((r: any) => r.name);
    expect((await names(`${P}/compute/vms/instances`)).sort()).toEqual(['vm-first', ...each((i) => `vm${i}`)].sort());
    expect(await names(`${P}/storage/snapshots`)).toEqual(expect.arrayContaining(each((i) => `s${i}`)));
    expect(await names(`${N}/vpc-subnets`)).toEqual(expect.arrayContaining(each((i) => `sub${i}`)));
    expect(await names(`${N}/internal-load-balancers`)).toEqual(expect.arrayContaining(each((i) => `lb${i}`)));
  });
});
