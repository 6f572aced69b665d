import { statesBut, type Machine } from '../../../kernel/lifecycle/machine.js';
import { badRequest } from '../errors.js';
import type { VmRow } from '../tables.js';
import { OPERATION_KIND } from './context.js';

/**
 * VM states, with the `STATE_` names today's clients compare against. Crusoe reports its
 * hypervisor's (libvirt-style) states: the Terraform provider waits for STATE_RUNNING, the
 * Packer plugin for STATE_SHUTOFF after a stop, the Kubernetes autoscaler maps DEFINING to
 * "creating" and SHUTDOWN to "going away", and dstack looks for STATE_DELETING.
 *
 *   create:  STATE_DEFINING → STATE_RUNNING
 *   stop:    STATE_RUNNING → STATE_SHUTDOWN → STATE_SHUTOFF
 *   start:   STATE_SHUTOFF → STATE_RUNNING (the operation is in progress meanwhile)
 *   reset:   STATE_RUNNING stays STATE_RUNNING (a hard reboot)
 *   delete:  any → STATE_DELETING → gone
 */
export const VmState = {
  Defining: 'STATE_DEFINING',
  Running: 'STATE_RUNNING',
  Shutdown: 'STATE_SHUTDOWN',
  Shutoff: 'STATE_SHUTOFF',
  Deleting: 'STATE_DELETING',
} as const;

const STATES: readonly string[] = Object.values(VmState);
const KNOWN = new Set<string>(STATES);
/** Any state but deleting: what a VM free of operations may be asked for. */
const LIVE = statesBut(STATES, VmState.Deleting);

/**
 * The VM's machine. Each action is an operation (its transition, `vm.<action>`, is the
 * operation's: the engine times the operation, and the VM moves as it completes, in
 * model/vms.ts). One operation at a time per VM; a failed one rolls the VM back.
 */
export const VM_MACHINE = {
  kind: 'crusoe.vm',
  table: 'crusoe_vms',
  statusColumn: 'state',
  accountColumn: 'account_id',
  updatedAtColumn: 'updated_at',
  carrier: OPERATION_KIND,
  states: STATES,
  actions: {
    create: { from: [], via: VmState.Defining, to: VmState.Running, transition: 'vm.create', after: { fast: 3_000, realistic: 60_000 } },
    bulk: { from: [], via: VmState.Defining, to: VmState.Running, transition: 'vm.bulk', after: { fast: 3_000, realistic: 90_000 } },
    start: { from: [VmState.Shutoff], to: VmState.Running, transition: 'vm.start', after: { fast: 3_000, realistic: 45_000 } },
    stop: { from: [VmState.Running], via: VmState.Shutdown, to: VmState.Shutoff, transition: 'vm.stop', after: { fast: 2_000, realistic: 20_000 } },
    reset: { from: [VmState.Running], to: VmState.Running, transition: 'vm.reset', after: { fast: 2_000, realistic: 30_000 } },
    delete: { from: LIVE, via: VmState.Deleting, to: null, transition: 'vm.delete', after: { fast: 2_000, realistic: 15_000 } },
    attach: { from: LIVE, transition: 'vm.attach', after: { fast: 1_000, realistic: 10_000 } },
    detach: { from: LIVE, transition: 'vm.detach', after: { fast: 1_000, realistic: 10_000 } },
    update: { from: LIVE, transition: 'vm.update', after: { fast: 1_000, realistic: 10_000 } },
  },
} as const satisfies Machine<VmRow>;

/** Other names clients use for the same states (the seed's bare names are handled apart). */
const ALIASES: Record<string, string> = {
  STATE_STOPPED: VmState.Shutoff,
  STATE_STOPPING: VmState.Shutdown,
  STATE_CREATING: VmState.Defining,
  STATE_PROVISIONING: VmState.Defining,
};

/**
 * A state as a filter names it: with or without the STATE_ prefix, any case, or an alias
 * (`STOPPED` finds STATE_SHUTOFF). Unknown names are a 400 naming the field.
 */
export function normalizeState(name: string, field = 'states'): string {
  const upper = name.trim().toUpperCase();
  const prefixed = upper.startsWith('STATE_') ? upper : `STATE_${upper}`;
  const state = ALIASES[prefixed] ?? prefixed;
  if (!KNOWN.has(state)) {
    throw badRequest(`"${field}": unknown VM state "${name}" (known: ${[...KNOWN].join(', ')}, with or without the STATE_ prefix)`);
  }
  return state;
}
