import type { Config } from '../config.js';
import type { Kernel, Logger } from '../kernel/kernel.js';

/**
 * The fabric: what a running instance is besides its row. The default, `simulated`, is nothing
 * at all (rows move through their states and that is all, as fast as before). The `sandbox`
 * fabric (HANGAR_FABRIC=sandbox, see sandbox.ts) gives every running instance a real isolated
 * Linux environment reachable by SSH at its public address. Either is driven by the lifecycle
 * engine's applied transitions, never by the clouds' models.
 */
export interface Fabric {
  readonly kind: 'simulated' | 'sandbox';
  /** The port instances answer SSH on at their public address. */
  readonly sshPort: number;
  /** Brings the environments of running resources up (after a restart) and follows lifecycle events from now on. */
  start(): Promise<void>;
  /** Lines for the start-up banner. */
  banner(): string[];
  /** Resolves once every lifecycle event received so far has been acted on. */
  settled(): Promise<void>;
  /** Checks every environment against the store again (after a reset of the store, say). */
  resync(): Promise<void>;
  /** Ends every environment's processes (they come back at the next start) and closes listeners. */
  close(): Promise<void>;
}

export const simulatedFabric: Fabric = {
  kind: 'simulated',
  sshPort: 22,
  start: async () => undefined,
  banner: () => ['Fabric              simulated (instances are rows; HANGAR_FABRIC=sandbox makes them machines you can SSH into)'],
  settled: async () => undefined,
  resync: async () => undefined,
  close: async () => undefined,
};

/** The configured fabric. The sandbox's code is loaded only when it is chosen. */
export async function createFabric(config: Config, kernel: Kernel, log: Logger): Promise<Fabric> {
  if (config.fabric.kind === 'simulated') return simulatedFabric;
  const { SandboxFabric } = await import('./sandbox.js');
  return SandboxFabric.create(config, kernel, log);
}
