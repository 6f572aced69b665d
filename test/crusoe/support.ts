import { expect } from 'vitest';
import type { TestHangar } from '../helpers/hangar.js';
import type { CrusoeClient } from '../helpers/crusoe.js';

/** The polling families, as path segments under /projects/{project_id}/. */
export const Families = {
  vms: 'compute/vms/instances',
  disks: 'storage/disks',
  snapshots: 'storage/snapshots',
  networks: 'networking/vpc-networks',
  subnets: 'networking/vpc-subnets',
  firewallRules: 'networking/vpc-firewall-rules',
  loadBalancers: 'networking/internal-load-balancers',
  loadBalancersSeedEra: 'networking/load-balancers',
} as const;

/**
 * Polls an operation in its family, moving the clock as a client's wait loop lets time pass
 * (`stepMs` 0 under the instant profile: the transition is due already), until it is done.
 */
export async function awaitOp(h: TestHangar, c: CrusoeClient, family: string, operation: { operation_id: string }, stepMs = 1_000, projectId = c.projectId): Promise<any> {
  for (let i = 0; i < 600; i++) {
    const res = await c.get(`/projects/${projectId}/${family}/operations/${operation.operation_id}`);
    expect(res.status, res.text).toBe(200);
    if (res.body.state !== 'IN_PROGRESS') return res.body;
    await h.advance(stepMs);
  }
  throw new Error(`operation ${operation.operation_id} never finished`);
}

/** Sends an asynchronous request, expects 200 and an operation, and waits for it to succeed. */
export async function succeeds(
  h: TestHangar,
  c: CrusoeClient,
  family: string,
  request: Promise<{ status: number; text: string; body: any }>,
  stepMs = 1_000,
  projectId = c.projectId,
): Promise<any> {
  const res = await request;
  expect(res.status, res.text).toBe(200);
  expect(res.body.operation.state, res.text).toBe('IN_PROGRESS');
  const done = await awaitOp(h, c, family, res.body.operation, stepMs, projectId);
  expect(done.state, JSON.stringify(done)).toBe('SUCCEEDED');
  return done.result;
}

/** An IPv4 address inside a CIDR. */
export function inCidr(address: string, cidr: string): boolean {
  const toNumber = (a: string) => a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const [base, prefix] = cidr.split('/');
  const size = 2 ** (32 - Number(prefix));
  const start = toNumber(base!);
  const value = toNumber(address);
  return value >= start && value < start + size;
}
