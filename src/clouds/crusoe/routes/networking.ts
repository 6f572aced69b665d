import type { App } from '../../../http/types.js';
import type { CrusoeModel } from '../model/index.js';
import { Family } from '../model/operations.js';
import { renderFirewallRule, renderLoadBalancer, renderNetwork, renderOperation, renderSubnet } from '../render.js';
import {
  AsyncOperation,
  CreateFirewallRuleBody,
  CreateLoadBalancerBody,
  CreateNetworkBody,
  CreateSubnetBody,
  FirewallRule,
  FirewallRuleList,
  LoadBalancer,
  LoadBalancerList,
  PatchFirewallRuleBody,
  PatchLoadBalancerBody,
  PatchNetworkBody,
  PatchSubnetBody,
  ProjectIdParam,
  ProjectParam,
  VpcNetwork,
  VpcNetworkEnvelope,
  VpcNetworkList,
  VpcSubnet,
  VpcSubnetEnvelope,
  VpcSubnetList,
} from '../wire.js';
import { operationRoutes } from './operations.js';

const project = '/projects/:project_id/networking';
const operation = (row: Parameters<typeof renderOperation>[0]) => ({ operation: renderOperation(row) });

/** VPC networks, subnets, firewall rules and load balancers. */
export function networkingRoutes(app: App, m: CrusoeModel): void {
  networkRoutes(app, m);
  subnetRoutes(app, m);
  firewallRoutes(app, m);
  // The seed's load balancers live at /networking/internal-load-balancers today and lived at
  // /networking/load-balancers in the seed's time: one resource, served at both.
  loadBalancerRoutes(app, m, `${project}/internal-load-balancers`, '');
  loadBalancerRoutes(app, m, `${project}/load-balancers`, 'SeedEra');
}

function networkRoutes(app: App, m: CrusoeModel): void {
  const base = `${project}/vpc-networks`;
  const tags = ['VPC Networks'];
  const params = ProjectIdParam('vpc_network_id');
  operationRoutes(app, m, { base, family: Family.networks, tags, listId: 'listNetworkingVPCNetworksOperations', getId: 'getNetworkingVPCNetworksOperation' });

  app.get(
    base,
    { schema: { params: ProjectParam, response: { 200: VpcNetworkList } }, config: { doc: { operationId: 'listVPCNetworks', summary: 'List VPC networks', tags } } },
    async (req) => ({ items: (await m.networks.list(req.params.project_id)).map(renderNetwork) }),
  );
  app.post(
    base,
    { schema: { params: ProjectParam, body: CreateNetworkBody, response: { 200: VpcNetworkEnvelope } }, config: { doc: { operationId: 'createVPCNetwork', summary: 'Create a VPC network', tags } } },
    async (req) => ({ network: renderNetwork(await m.networks.create(req.accountId, req.params.project_id, req.body)) }),
  );
  app.get(
    `${base}/:vpc_network_id`,
    { schema: { params, response: { 200: VpcNetwork } }, config: { doc: { operationId: 'getVPCNetwork', summary: 'Get a VPC network', tags } } },
    async (req) => renderNetwork(await m.networks.get(req.params.project_id, req.params.vpc_network_id)),
  );
  app.delete(
    `${base}/:vpc_network_id`,
    { schema: { params, response: { 200: AsyncOperation } }, config: { doc: { operationId: 'deleteVPCNetwork', summary: 'Delete a VPC network', tags } } },
    async (req) => operation(await m.networks.delete(req.params.project_id, req.params.vpc_network_id)),
  );
  app.patch(
    `${base}/:vpc_network_id`,
    { schema: { params, body: PatchNetworkBody, response: { 200: AsyncOperation } }, config: { doc: { operationId: 'patchVPCNetwork', summary: 'Update a VPC network', tags } } },
    async (req) => operation(await m.networks.update(req.params.project_id, req.params.vpc_network_id, req.body)),
  );
}

function subnetRoutes(app: App, m: CrusoeModel): void {
  const base = `${project}/vpc-subnets`;
  const tags = ['VPC Subnets'];
  const params = ProjectIdParam('vpc_subnet_id');
  operationRoutes(app, m, { base, family: Family.subnets, tags, listId: 'listNetworkingVPCSubnetsOperations', getId: 'getNetworkingVPCSubnetsOperation' });

  app.get(
    base,
    { schema: { params: ProjectParam, response: { 200: VpcSubnetList } }, config: { doc: { operationId: 'listVPCSubnets', summary: 'List VPC subnets', tags } } },
    async (req) => ({ items: (await m.networks.listSubnets(req.params.project_id)).map(renderSubnet) }),
  );
  app.post(
    base,
    { schema: { params: ProjectParam, body: CreateSubnetBody, response: { 200: VpcSubnetEnvelope } }, config: { doc: { operationId: 'createVPCSubnet', summary: 'Create a VPC subnet', tags } } },
    async (req) => ({ subnet: renderSubnet(await m.networks.createSubnet(req.accountId, req.params.project_id, req.body)) }),
  );
  app.get(
    `${base}/:vpc_subnet_id`,
    { schema: { params, response: { 200: VpcSubnet } }, config: { doc: { operationId: 'getVPCSubnet', summary: 'Get a VPC subnet', tags } } },
    async (req) => renderSubnet(await m.networks.getSubnet(req.params.project_id, req.params.vpc_subnet_id)),
  );
  app.delete(
    `${base}/:vpc_subnet_id`,
    { schema: { params, response: { 200: AsyncOperation } }, config: { doc: { operationId: 'deleteVPCSubnet', summary: 'Delete a VPC subnet', tags } } },
    async (req) => operation(await m.networks.deleteSubnet(req.params.project_id, req.params.vpc_subnet_id)),
  );
  app.patch(
    `${base}/:vpc_subnet_id`,
    { schema: { params, body: PatchSubnetBody, response: { 200: AsyncOperation } }, config: { doc: { operationId: 'patchVPCSubnet', summary: 'Update a VPC subnet', tags } } },
    async (req) => operation(await m.networks.updateSubnet(req.params.project_id, req.params.vpc_subnet_id, req.body)),
  );
}

function firewallRoutes(app: App, m: CrusoeModel): void {
  const base = `${project}/vpc-firewall-rules`;
  const tags = ['VPC Firewall Rules'];
  const params = ProjectIdParam('vpc_firewall_rule_id');
  operationRoutes(app, m, {
    base,
    family: Family.firewallRules,
    tags,
    listId: 'listNetworkingVPCFirewallRulesOperations',
    getId: 'getNetworkingVPCFirewallRulesOperation',
  });

  app.get(
    base,
    { schema: { params: ProjectParam, response: { 200: FirewallRuleList } }, config: { doc: { operationId: 'listVPCFirewallRules', summary: 'List firewall rules', tags } } },
    async (req) => ({ items: (await m.firewallRules.list(req.params.project_id)).map(renderFirewallRule) }),
  );
  app.post(
    base,
    { schema: { params: ProjectParam, body: CreateFirewallRuleBody, response: { 200: AsyncOperation } }, config: { doc: { operationId: 'createVPCFirewallRule', summary: 'Create a firewall rule', tags } } },
    async (req) => operation(await m.firewallRules.create(req.accountId, req.params.project_id, req.body)),
  );
  app.get(
    `${base}/:vpc_firewall_rule_id`,
    { schema: { params, response: { 200: FirewallRule } }, config: { doc: { operationId: 'getVPCFirewallRule', summary: 'Get a firewall rule', tags } } },
    async (req) => renderFirewallRule(await m.firewallRules.get(req.params.project_id, req.params.vpc_firewall_rule_id)),
  );
  app.delete(
    `${base}/:vpc_firewall_rule_id`,
    { schema: { params, response: { 200: AsyncOperation } }, config: { doc: { operationId: 'deleteVPCFirewallRule', summary: 'Delete a firewall rule', tags } } },
    async (req) => operation(await m.firewallRules.delete(req.params.project_id, req.params.vpc_firewall_rule_id)),
  );
  app.patch(
    `${base}/:vpc_firewall_rule_id`,
    { schema: { params, body: PatchFirewallRuleBody, response: { 200: AsyncOperation } }, config: { doc: { operationId: 'patchVPCFirewallRule', summary: 'Update a firewall rule', tags } } },
    async (req) => operation(await m.firewallRules.update(req.params.project_id, req.params.vpc_firewall_rule_id, req.body)),
  );
}

function loadBalancerRoutes(app: App, m: CrusoeModel, base: string, suffix: string): void {
  const tags = ['Load Balancers'];
  const params = ProjectIdParam('load_balancer_id');
  const id = (name: string) => `${name}${suffix}`;
  const era = suffix === '' ? '' : ' (at the seed-era path)';
  operationRoutes(app, m, {
    base,
    family: Family.loadBalancers,
    tags,
    listId: id('listNetworkingLoadBalancersOperations'),
    getId: id('getNetworkingLoadBalancersOperation'),
  });

  app.get(
    base,
    { schema: { params: ProjectParam, response: { 200: LoadBalancerList } }, config: { doc: { operationId: id('listLoadBalancers'), summary: `List load balancers${era}`, tags } } },
    async (req) => ({ items: (await m.loadBalancers.list(req.params.project_id)).map(renderLoadBalancer) }),
  );
  app.post(
    base,
    { schema: { params: ProjectParam, body: CreateLoadBalancerBody, response: { 200: AsyncOperation } }, config: { doc: { operationId: id('createLoadBalancer'), summary: `Create a load balancer${era}`, tags } } },
    async (req) => operation(await m.loadBalancers.create({ id: req.params.project_id, account_id: req.accountId }, req.body)),
  );
  app.get(
    `${base}/:load_balancer_id`,
    { schema: { params, response: { 200: LoadBalancer } }, config: { doc: { operationId: id('getLoadBalancer'), summary: `Get a load balancer${era}`, tags } } },
    async (req) => renderLoadBalancer(await m.loadBalancers.get(req.params.project_id, req.params.load_balancer_id)),
  );
  app.delete(
    `${base}/:load_balancer_id`,
    { schema: { params, response: { 200: AsyncOperation } }, config: { doc: { operationId: id('deleteLoadBalancer'), summary: `Delete a load balancer${era}`, tags } } },
    async (req) => operation(await m.loadBalancers.delete(req.params.project_id, req.params.load_balancer_id)),
  );
  app.patch(
    `${base}/:load_balancer_id`,
    { schema: { params, body: PatchLoadBalancerBody, response: { 200: AsyncOperation } }, config: { doc: { operationId: id('patchLoadBalancer'), summary: `Update a load balancer${era}`, tags } } },
    async (req) => operation(await m.loadBalancers.update(req.params.project_id, req.params.load_balancer_id, req.body)),
  );
}
