import { spawn, spawnSync } from 'node:child_process';
import { chmod, lchown, lstat, readdir, readlink, writeFile } from 'node:fs/promises';
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Instances' uids and gids 0..size-1 are the host's base..base+size-1: root inside an instance
 * is an unprivileged uid outside (it holds capabilities only over its own namespaces and
 * files). One range serves every instance: namespaces keep instances apart (none sees another's
 * files or processes), and a volume's files keep their owners when the volume moves from one of
 * an account's instances to another.
 */
export interface IdMap {
  base: number;
  size: number;
}

/** The host range instances' ids map to (well above the ranges /etc/subuid hands to the first users). */
export const INSTANCE_IDS: IdMap = { base: 1_000_000, size: 65_536 };

/** Whether this host lets Hangar make user namespaces (a kernel may forbid them: user.max_user_namespaces = 0, say). */
export function userNamespacesWork(unshare: string): boolean {
  const tried = spawnSync(unshare, ['--user', '--', 'true'], { stdio: 'ignore', timeout: 10_000 });
  return tried.status === 0;
}

/**
 * A user namespace with the map in place, held by a process of its own until `release`: a
 * process entering it (nsenter -U) becomes its root, an unprivileged uid on the host.
 */
export async function makeUserNamespace(unshare: string, map: IdMap): Promise<{ path: string; release(): void }> {
  // The holder waits on its stdin: closing it (or Hangar going away) ends it.
  const holder = spawn(unshare, ['--user', '--', '/bin/sh', '-c', 'read _'], { stdio: ['pipe', 'ignore', 'ignore'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
  const release = () => {
    holder.stdin!.destroy();
    holder.kill('SIGKILL');
  };
  try {
    const pid = holder.pid;
    if (pid === undefined) throw new Error('unshare did not start');
    const own = readlinkSync('/proc/self/ns/user');
    // unshare has made the namespace once the holder's differs from Hangar's.
    for (;;) {
      if (holder.exitCode !== null || holder.signalCode !== null) throw new Error('unshare --user ended before its namespace was made');
      const ns = await readlink(`/proc/${pid}/ns/user`).catch(() => own);
      if (ns !== own) break;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const line = `0 ${map.base} ${map.size}\n`;
    await writeFile(`/proc/${pid}/uid_map`, line);
    await writeFile(`/proc/${pid}/gid_map`, line);
    return { path: `/proc/${pid}/ns/user`, release };
  } catch (error) {
    release();
    throw error;
  }
}

/**
 * Moves the owners of every file under `root` (not crossing the mount points in `skip`) from
 * the range starting at `from` to the one starting at `to`: a tree made by Hangar (as host
 * root) becomes the instance root's, and a tree of an older Hangar (instances' ids unmapped)
 * moves into the range. Owners outside the range are left as they are.
 */
export async function shiftOwners(root: string, from: number, to: number, size: number, skip: ReadonlySet<string> = new Set()): Promise<void> {
  if (from === to) return;
  const move = (id: number) => (id >= from && id < from + size ? id - from + to : id);
  const visit = async (path: string): Promise<void> => {
    const stat = await lstat(path);
    if (stat.isDirectory()) {
      for (const entry of await readdir(path)) {
        const child = join(path, entry);
        if (!skip.has(child)) await visit(child);
      }
    }
    // (a directory after its entries: the root's owner says the whole tree has moved)
    const uid = move(stat.uid);
    const gid = move(stat.gid);
    if (uid !== stat.uid || gid !== stat.gid) {
      await lchown(path, uid, gid);
      // (a change of owner clears the set-id bits of a file: they are the instance's to keep)
      if (stat.isFile() && (stat.mode & 0o6000) !== 0) await chmod(path, stat.mode & 0o7777);
    }
  };
  await visit(root);
}
