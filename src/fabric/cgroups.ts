import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { mkdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Limits } from './environment.js';

/**
 * Where instances' control groups are made: cgroup v2 (one hierarchy with the memory and pids
 * controllers) or, where the host has only cgroup v1, its memory and pids hierarchies. Each
 * instance gets a group `hangar-sandbox/<id>` (per hierarchy on v1) holding its sandbox and its
 * SSH sessions, limited to its type's memory and a number of processes.
 */
export interface CgroupHost {
  version: 1 | 2;
  /** The directories the instances' groups are made in: one on v2; memory's and pids' on v1. */
  parents: string[];
}

const GROUP = 'hangar-sandbox';

/** The writable hierarchies with the memory and pids controllers, if the host has them. */
export function findCgroups(root = '/sys/fs/cgroup'): CgroupHost | null {
  try {
    const controllers = readFileSync(join(root, 'cgroup.controllers'), 'utf8').split(/\s+/);
    accessSync(root, constants.W_OK);
    if (controllers.includes('memory') && controllers.includes('pids')) return { version: 2, parents: [join(root, GROUP)] };
  } catch {
    // no cgroup v2 at the root: look for v1
  }
  const parents: string[] = [];
  for (const controller of ['memory', 'pids']) {
    const mount = v1Mount(controller);
    const own = ownV1Group(controller);
    if (mount === null || own === null) return null;
    const dir = join(mount, own);
    try {
      accessSync(dir, constants.W_OK);
    } catch {
      return null;
    }
    parents.push(join(dir, GROUP));
  }
  return { version: 1, parents };
}

/** Where the cgroup v1 hierarchy of `controller` is mounted. */
function v1Mount(controller: string): string | null {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const [type, , options] = after.split(' ');
    if (type === 'cgroup' && options?.split(',').includes(controller)) return before.split(' ')[4] ?? null;
  }
  return null;
}

/** Hangar's own group in the v1 hierarchy of `controller` (instances' groups go beneath it). */
function ownV1Group(controller: string): string | null {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, names, path] = line.split(':');
    if (names?.split(',').includes(controller) && path !== undefined) return path;
  }
  return null;
}

/** One instance's groups. */
export class InstanceCgroup {
  constructor(
    private readonly host: CgroupHost,
    private readonly id: string,
  ) {}

  private get dirs(): string[] {
    return this.host.parents.map((parent) => join(parent, this.id));
  }

  /** Makes the groups with the limits; the files a process writes its pid to, to enter them. */
  async create(limits: Limits): Promise<string[]> {
    for (const parent of this.host.parents) {
      const fresh = !existsSync(parent);
      await mkdir(parent, { recursive: true });
      if (this.host.version === 2 && fresh) {
        // The controllers reach the instances' groups through the root's and ours.
        await writeFile(join(parent, '..', 'cgroup.subtree_control'), '+memory +pids');
        await writeFile(join(parent, 'cgroup.subtree_control'), '+memory +pids');
      }
    }
    const dirs = this.dirs;
    for (const dir of dirs) await mkdir(dir, { recursive: true });
    if (this.host.version === 2) {
      await writeFile(join(dirs[0]!, 'memory.max'), String(limits.memoryBytes));
      await writeFile(join(dirs[0]!, 'pids.max'), String(limits.pids));
    } else {
      await writeFile(join(dirs[0]!, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      await writeFile(join(dirs[1]!, 'pids.max'), String(limits.pids));
    }
    return dirs.map((dir) => join(dir, 'cgroup.procs'));
  }

  /** Removes the groups (once their processes have ended; a group still busy is left for the next boot). */
  async remove(): Promise<void> {
    for (const dir of this.dirs) await rmdir(dir).catch(() => undefined);
  }
}

/**
 * `command` run inside the groups whose `cgroup.procs` files are `procs`: a shell writes its
 * own pid into each, then becomes the command, so every process it starts is counted.
 */
export function inCgroups(procs: string[], command: string, args: string[]): [string, string[]] {
  if (procs.length === 0) return [command, args];
  return ['/bin/sh', ['-c', 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"', 'sh', ...procs, '--', command, ...args]];
}
