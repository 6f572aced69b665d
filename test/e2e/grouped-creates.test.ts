import { afterEach, describe, expect, it, vi } from 'vitest';
import { hangarPerSuite } from '../helpers/admin.js';
import { REGION } from '../helpers/genesis.js';
import { newCrusoeAccount } from '../helpers/crusoe.js';

const LOCATION = 'us-east1-a';
const BURST = 6;

/**
 * Creates arrive in bursts (a Terraform apply makes ten at a time): on SQLite those that arrive
 * together share one commit (kernel/db/group-commit.ts, lifecycle.groupedTransaction). Each
 * create below goes through it once, and every one of a burst is answered and stored as if it
 * had run alone. On PostgreSQL the same path runs each in a transaction of its own.
 */
describe('creates in bursts, through the group commit', () => {
  const { h } = hangarPerSuite();
  afterEach(() => vi.restoreAllMocks());

  /** Sends BURST creates at once; each answered `status`, each through the group commit once. */
  async function burst(send: (i: number) => Promise<{ status: number; text: string; body: any }>, status: number): Promise<any[]> {
    const grouped = vi.spyOn(h.hangar.kernel.grouped, 'run');
    const answers = await Promise.all(Array.from({ length: BURST }, (_, i) => send(i)));
    for (const answer of answers) expect(answer.status, answer.text).toBe(status);
    expect(grouped).toHaveBeenCalledTimes(BURST);
    grouped.mockRestore();
    return answers.map((a) => a.body);
  }

  it('Genesis: volumes, security groups, floating IPs and filesystems', async () => {
    const { genesis } = await h.newAccount('genesis-burst');
    const made = {
      volumes: await burst((i) => genesis.post('/volumes', { name: `v${i}`, size: 10, region: REGION }), 201),
      security_groups: await burst((i) => genesis.post('/security-groups', { name: `g${i}`, region: REGION, rules: [] }), 201),
      floating_ips: await burst((i) => genesis.post('/floating-ips', { name: `f${i}`, region: REGION }), 201),
      filesystems: await burst((i) => genesis.post('/filesystems', { name: `fs${i}`, size: 10, region: REGION }), 201),
    };
    const singular = { volumes: 'volume', security_groups: 'security_group', floating_ips: 'floating_ip', filesystems: 'filesystem' } as const;
    for (const [list, bodies] of Object.entries(made) as [keyof typeof singular, any[]][]) {
      const ids = bodies.map((b) => b[singular[list]].id);
      expect(new Set(ids).size, list).toBe(BURST);
      const listed = (await genesis.get(`/${list.replace('_', '-')}?per_page=100`)).body[list].map((r: any) => r.id);
      for (const id of ids) expect(listed, list).toContain(id);
    }
    // Each floating IP holds an address of its own.
    expect(new Set(made.floating_ips.map((b) => b.floating_ip.ip_address)).size).toBe(BURST);
  });

  it('Crusoe: disks and VPC networks', async () => {
    const { client: c } = await newCrusoeAccount(h, 'crusoe-burst');
    const P = `/projects/${c.projectId}`;
    const disks = await burst((i) => c.post(`${P}/storage/disks`, { name: `d${i}`, size: '10GiB', location: LOCATION }), 200);
    expect(new Set(disks.map((d) => d.operation.operation_id)).size).toBe(BURST);
    const networks = await burst((i) => c.post(`${P}/networking/vpc-networks`, { name: `n${i}`, cidr: `10.${60 + i}.0.0/16` }), 200);
    expect(new Set(networks.map((n) => n.network.id)).size).toBe(BURST);
    expect((await c.get(`${P}/storage/disks`)).body.items.map((d: any) => d.name).sort()).toEqual(Array.from({ length: BURST }, (_, i) => `d${i}`));
    const listed = (await c.get(`${P}/networking/vpc-networks`)).body.items.map((n: any) => n.name);
    for (let i = 0; i < BURST; i++) expect(listed).toContain(`n${i}`);
  });
});
