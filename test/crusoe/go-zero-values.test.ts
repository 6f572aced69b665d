import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKey, startHangar, type TestHangar } from '../helpers/hangar.js';
import { crusoeClient, expectCrusoeError, goTimestamp, type CrusoeClient } from '../helpers/crusoe.js';
import { awaitOp, Families, succeeds } from './support.js';

const LOCATION = 'us-east1-a';
const KEY = publicKey();

type Definition = { type?: string; properties?: Record<string, Definition>; items?: Definition; $ref?: string; required?: string[] };
const shapes = JSON.parse(readFileSync(new URL('../../spec/crusoe-v1alpha5.shapes.json', import.meta.url), 'utf8')) as {
  definitions: Record<string, Definition>;
  paths: Record<string, Record<string, { parameters?: { in: string; schema?: { $ref?: string } }[] }>>;
};
/** Every request body model of the spec's operations. */
const bodyModels = new Set(
  Object.values(shapes.paths).flatMap((item) =>
    Object.values(item).flatMap((op) => (op.parameters ?? []).filter((p) => p.in === 'body' && p.schema?.$ref).map((p) => p.schema!.$ref!.split('/').pop()!)),
  ),
);
const filled = new Set<string>();

/**
 * A request body as a Go client built from the spec's models sends it when only `set` was
 * filled in: every other field of the struct at its Go zero value ("" for strings, 0 for
 * numbers, false for booleans, null for slices, maps and struct pointers).
 */
function goZeroFilled(definition: string, set: Record<string, unknown>): Record<string, unknown> {
  const def = shapes.definitions[definition];
  if (!def?.properties) throw new Error(`no definition ${definition}`);
  filled.add(definition);
  const body: Record<string, unknown> = {};
  for (const [key, property] of Object.entries(def.properties)) body[key] = goZero(property);
  return { ...body, ...set };
}

function goZero(property: Definition): unknown {
  if (property.$ref) {
    const target = shapes.definitions[property.$ref.split('/').pop()!];
    // A named string enum is a Go string type; a model is a struct pointer.
    return target?.type === 'string' ? '' : null;
  }
  switch (property.type) {
    case 'string':
      return '';
    case 'integer':
    case 'number':
      return 0;
    case 'boolean':
      return false;
    default:
      return null;
  }
}

describe('Crusoe: Go clients’ zero values and nulls in request bodies', () => {
  let h: TestHangar;
  let c: CrusoeClient;
  let P: string;
  beforeAll(async () => {
    h = await startHangar();
    c = crusoeClient(h);
    P = c.projectId;
  });
  afterAll(() => h.close());

  it('takes the NIC client-go sends for a VM with only a subnet, and the Terraform provider’s ips', async () => {
    const subnet = (await c.get(`/projects/${P}/networking/vpc-subnets`)).body.items.find((s: any) => s.location === LOCATION);
    const goNic = JSON.parse(
      `[{"external_dns_name":"","id":"","interface_type":"","ips":null,"mac_address":"","name":"","network":"","subnet":"${subnet.id}"}]`,
    );
    const vm = await succeeds(h, c, Families.vms, c.post(`/projects/${P}/compute/vms/instances`, { name: 'go-nic', type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY, network_interfaces: goNic }));
    expect(vm.network_interfaces[0].subnet).toBe(subnet.id);
    expect(vm.network_interfaces[0].ips[0].private_ipv4.address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    const tfIps = JSON.parse('[{"private_ipv4":null,"public_ipv4":{"address":"","id":"","type":"static"}}]');
    const tf = await succeeds(
      h,
      c,
      Families.vms,
      c.post(`/projects/${P}/compute/vms/instances`, { name: 'tf-ips', type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY, network_interfaces: [{ subnet: subnet.id, ips: tfIps }] }),
    );
    expect(tf.network_interfaces[0].ips[0].public_ipv4.type).toBe('static');
    expect(tf.network_interfaces[0].ips[0].public_ipv4.address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });

  it('still refuses null and "" where the spec requires a value', async () => {
    const vms = `/projects/${P}/compute/vms/instances`;
    expectCrusoeError(await c.post(vms, { name: null, type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY }), 400, 'bad_request', '"name"');
    expectCrusoeError(await c.post(vms, { name: '', type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY }), 400, 'bad_request', '"name"');
    expectCrusoeError(await c.post(`/projects/${P}/networking/vpc-networks`, { name: 'n', cidr: null }), 400, 'bad_request', '"cidr"');
    expectCrusoeError(await c.post('/users/tokens', { alias: '', expires_at: null }), 400, 'bad_request', '"expires_at"');
  });

  it('accepts every request body of the spec’s models filled with Go zero values', async () => {
    const N = `/projects/${P}/networking`;
    const net = (await c.post(`${N}/vpc-networks`, goZeroFilled('VPCNetworkPostRequest', { name: 'zero', cidr: '10.90.0.0/16' }))).body.network;
    expect(net?.id).toBeTruthy();
    const subnetRes = await c.post(`${N}/vpc-subnets`, goZeroFilled('VPCSubnetPostRequest', { name: 'zero-east', cidr: '10.90.1.0/24', location: LOCATION, vpc_network_id: net.id }));
    expect(subnetRes.status, subnetRes.text).toBe(200);
    const subnet = subnetRes.body.subnet;

    type Send = () => Promise<{ status: number; text: string; body: any }>;
    const steps: { name: string; send: Send; family?: string }[] = [];
    const step = (name: string, send: Send, family?: string) => steps.push({ name, send, family });
    const ok = async (name: string, send: () => Promise<{ status: number; text: string; body: any }>) => {
      const res = await send();
      expect(res.status, `${name}: ${res.text}`).toBe(200);
      return res.body;
    };

    const vmOp = await ok('create VM', () =>
      c.post(`/projects/${P}/compute/vms/instances`, goZeroFilled('InstancesPostRequestV1Alpha5', { name: 'zero-vm', type: 'c1a.2x', location: LOCATION, ssh_public_key: KEY })),
    );
    const vm = await succeeds(h, c, Families.vms, Promise.resolve({ status: 200, text: '', body: vmOp }));
    const disk = await succeeds(
      h,
      c,
      Families.disks,
      c.post(`/projects/${P}/storage/disks`, goZeroFilled('DisksPostRequestV1Alpha5', { name: 'zero-disk', size: '10GiB', location: LOCATION })),
    );
    expect(disk.size).toBeTruthy();
    const template = await ok('create template', () =>
      c.post(`/projects/${P}/compute/instance-templates`, goZeroFilled('InstanceTemplatePostRequestV1Alpha5', { template_name: 'zero-t', type: 'c1a.2x', ssh_public_key: KEY })),
    );
    const group = await ok('create group', () =>
      c.post(`/projects/${P}/compute/instance-groups`, goZeroFilled('InstanceGroupPostRequest', { name: 'zero-g', template_id: template.id, desired_count: 0 })),
    );
    const ib = (await c.get(`${N}/ib-networks`)).body.items[0];

    step('patch group', () => c.patch(`/projects/${P}/compute/instance-groups/${group.id}`, goZeroFilled('InstanceGroupPatchRequest', { name: 'zero-g2' })));
    step('bulk create', () =>
      c.post(`/projects/${P}/compute/vms/bulk-instances`, goZeroFilled('BulkInstancePostRequestV1Alpha5', { name_prefix: 'zb', count: 1, instance_template_id: template.id, locations: [{ location: LOCATION }] })),
      Families.vms,
    );
    step('patch VM', () => c.patch(`/projects/${P}/compute/vms/instances/${vm.id}`, goZeroFilled('InstancesPatchRequestV1Alpha5', { action: 'UPDATE', maintenance_policy: 'manual' })), Families.vms);
    step('attach disk', () =>
      c.post(`/projects/${P}/compute/vms/instances/${vm.id}/attach-disks`, goZeroFilled('InstancesAttachDiskPostRequestV1Alpha5', { attach_disks: [{ disk_id: disk.id, mode: 'read-write', attachment_type: 'data' }] })),
      Families.vms,
    );
    step('detach disk', () => c.post(`/projects/${P}/compute/vms/instances/${vm.id}/detach-disks`, goZeroFilled('InstancesDetachDiskPostRequest', { detach_disks: [disk.id] })), Families.vms);
    step('grow disk', () => c.patch(`/projects/${P}/storage/disks/${disk.id}`, goZeroFilled('DisksPatchRequest', { size: '20GiB' })), Families.disks);
    let ruleId = '';
    let lbId = '';
    step('ib partition', () => c.post(`${N}/ib-partitions`, goZeroFilled('IBPartitionsPostRequestV1Alpha5', { name: 'zero-ib', ib_network_id: ib.id })));
    step('patch network', () => c.patch(`${N}/vpc-networks/${net.id}`, goZeroFilled('VPCNetworkPatchRequest', { name: 'zero-2' })), Families.networks);
    step('patch subnet', () => c.patch(`${N}/vpc-subnets/${subnet.id}`, goZeroFilled('VPCSubnetPatchRequest', { name: 'zero-east-2' })), Families.subnets);
    step('firewall rule', async () => {
      const res = await c.post(
        `${N}/vpc-firewall-rules`,
        goZeroFilled('VPCFirewallRulesPostRequestV1Alpha5', {
          name: 'zero-fw',
          vpc_network_id: net.id,
          action: 'allow',
          direction: 'ingress',
          protocols: ['tcp'],
          sources: [{ cidr: '0.0.0.0/0' }],
          destinations: [{ cidr: '10.90.1.0/24' }],
          destination_ports: ['22'],
        }),
      );
      ruleId = res.body.operation?.metadata?.id;
      return res;
    }, Families.firewallRules);
    step('patch firewall rule', () => c.patch(`${N}/vpc-firewall-rules/${ruleId}`, goZeroFilled('VPCFirewallRulesPatchRequest', { name: 'zero-fw-2' })), Families.firewallRules);
    step('load balancer', async () => {
      const res = await c.post(
        `${N}/internal-load-balancers`,
        goZeroFilled('LoadBalancersPostRequest', {
          name: 'zero-lb',
          location: LOCATION,
          algorithm: 'random',
          protocols: ['tcp'],
          destinations: [{ cidr: '10.90.1.0/24' }],
          network_interfaces: [{ network: net.id, subnet: subnet.id }],
        }),
      );
      lbId = res.body.operation?.metadata?.id;
      return res;
    }, Families.loadBalancers);
    step('patch load balancer', () => c.patch(`${N}/internal-load-balancers/${lbId}`, goZeroFilled('LoadBalancersPatchRequestV1Alpha5', { name: 'zero-lb-2' })), Families.loadBalancers);
    step('project rename', () => c.put('/organizations/projects', goZeroFilled('ProjectsPutRequest', { name: 'renamed-by-go' }), { query: { project_id: P } }));
    step('project create', () => c.post('/organizations/projects', goZeroFilled('ProjectsPostRequest', { name: 'go-made', organization_id: c.credentials.organization_id })));
    step('ssh key', () => c.post('/users/ssh-keys', goZeroFilled('CreateSSHKeyRequest', { name: 'go-key', public_key: publicKey() })));
    step('token', () => c.post('/users/tokens', goZeroFilled('CreateTokenRequest', { expires_at: goTimestamp(h.clock.now() + 86_400_000) })));
    step('organization', () =>
      c.put('/organizations/entities', goZeroFilled('EntitiesPutPostRequest', { organization_name: 'Go Org' }), { query: { org_id: c.credentials.organization_id! } }),
    );
    step('identity', () => c.put('/users/identities', goZeroFilled('IdentityPutRequest', { name: 'Go Person' })));
    step('snapshot', () => c.post(`/projects/${P}/storage/snapshots`, goZeroFilled('DiskSnapshotPostRequestV1Alpha5', { disk_id: disk.id, name: 'zero-snap' })), Families.snapshots);

    for (const { name, send, family } of steps) {
      const res = await send();
      expect(res.status, `${name}: ${res.text}`).toBe(200);
      // The operation finishes before the next step touches the same resources.
      if (family && res.body?.operation) expect((await awaitOp(h, c, family, res.body.operation)).state, name).toBe('SUCCEEDED');
    }
    // Every request model of the spec was sent.
    expect([...bodyModels].filter((m) => !filled.has(m)).sort()).toEqual([]);
  });
});
