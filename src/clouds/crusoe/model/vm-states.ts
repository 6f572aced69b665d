import { badRequest } from '../errors.js';

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

const KNOWN = new Set<string>(Object.values(VmState));

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
