import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { findCgroups, type CgroupHost } from './cgroups.js';
import { INSTANCE_IDS, userNamespacesWork, type IdMap } from './idmap.js';

/** What the sandbox fabric needs from the host, and what it found. */
export interface HostInfo {
  /** Programs by name: bwrap, nsenter, setpriv, ssh-keygen (from PATH) and sshd, sftp-server (fixed paths). */
  tools: Record<string, string>;
  /** The port instances' SSH listens on, and why when it is not 22. */
  sshPort: number;
  notes: string[];
  /** Where instances' memory and process limits are applied (cgroup v2, or v1's memory and pids hierarchies); null: nowhere, they run without. */
  cgroups: CgroupHost | null;
  /** Instances' ids as the host sees them (a user namespace each); null: this host cannot make user namespaces, root inside is host root with capabilities bounded. */
  idmap: IdMap | null;
}

export class HostUnfit extends Error {}

/** Capabilities the processes of an instance may hold at most (root inside is not root outside). */
export const INSTANCE_CAPS = ['chown', 'dac_override', 'fowner', 'fsetid', 'kill', 'setgid', 'setuid', 'net_bind_service', 'sys_chroot', 'audit_write'];

function which(name: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter).concat(['/usr/sbin', '/sbin', '/usr/bin'])) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // next
    }
  }
  return null;
}

function effectiveCaps(): bigint {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapEff:'));
  return line ? BigInt(`0x${line.slice(7).trim()}`) : 0n;
}

const CAP_NET_BIND_SERVICE = 10n;

/** The port instances' SSH listens on: the one asked for, else 22, else (22 cannot be bound) 2222, saying so. */
export function sshPortFor(requested: number | null, canBindLow: boolean): { port: number; note: string | null } {
  if (requested !== null) return { port: requested, note: null };
  if (canBindLow) return { port: 22, note: null };
  return { port: 2222, note: 'port 22 cannot be bound here (no CAP_NET_BIND_SERVICE): instances listen for SSH on port 2222 of their public address (HANGAR_SANDBOX_SSH_PORT), and Crusoe\'s ssh_destination says so' };
}
const CAP_SYS_ADMIN = 21n;

/**
 * Checks the host can run sandboxes: Linux, root with CAP_SYS_ADMIN (the SSH server of each
 * connection enters the instance's namespaces), bubblewrap and OpenSSH installed. Throws
 * HostUnfit saying what is missing and how to get it.
 */
export function inspectHost(requestedPort: number | null): HostInfo {
  if (process.platform !== 'linux') throw new HostUnfit(`the sandbox fabric runs on Linux only (this is ${process.platform})`);
  const missing: string[] = [];
  const tools: Record<string, string> = {};
  for (const [name, pkg] of [['bwrap', 'bubblewrap'], ['nsenter', 'util-linux'], ['setpriv', 'util-linux'], ['unshare', 'util-linux'], ['ssh-keygen', 'openssh-client']] as const) {
    const path = which(name);
    if (path === null) missing.push(`${name} (Debian package ${pkg})`);
    else tools[name] = path;
  }
  for (const [name, path, pkg] of [['sshd', '/usr/sbin/sshd', 'openssh-server'], ['sftp-server', '/usr/lib/openssh/sftp-server', 'openssh-sftp-server']] as const) {
    if (existsSync(path)) tools[name] = path;
    else missing.push(`${path} (Debian package ${pkg})`);
  }
  if (missing.length > 0) throw new HostUnfit(`the sandbox fabric needs ${missing.join(', ')}: apt-get install bubblewrap openssh-server openssh-sftp-server openssh-client`);
  const caps = effectiveCaps();
  if (process.getuid?.() !== 0 || (caps & (1n << CAP_SYS_ADMIN)) === 0n) {
    throw new HostUnfit(
      'the sandbox fabric needs to run as root with CAP_SYS_ADMIN (each SSH connection enters its instance\'s namespaces); ' +
        'run Hangar as root, or keep HANGAR_FABRIC=simulated',
    );
  }
  const notes: string[] = [];
  const { port: sshPort, note } = sshPortFor(requestedPort, (caps & (1n << CAP_NET_BIND_SERVICE)) !== 0n);
  if (note !== null) notes.push(note);
  const cgroups = findCgroups();
  if (cgroups === null) notes.push('no writable cgroup hierarchy with the memory and pids controllers here (v2, or v1\'s memory and pids): instances run without memory and process limits');
  let idmap: IdMap | null = null;
  if (userNamespacesWork(tools.unshare!)) idmap = INSTANCE_IDS;
  else notes.push('this host does not let Hangar make user namespaces: root inside an instance is root on the host, with its capabilities bounded');
  return { tools, sshPort, notes, cgroups, idmap };
}
