import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * `.hangar/runtime.json` in the directory `hangar serve` was started from: where it listens,
 * so that `hangar <command>` run from that directory (or below it) finds the server without
 * --url. Removed when the server stops; one left by a killed server names a process that is
 * gone, and is ignored.
 */
export interface RuntimeInfo {
  url: string;
  pid: number;
  started_at: string;
  /** Whether the admin API wants HANGAR_ADMIN_TOKEN (the token itself is never written). */
  admin_token_required: boolean;
}

const FILE = join('.hangar', 'runtime.json');

export function writeRuntimeFile(dir: string, info: RuntimeInfo): string {
  const path = resolve(dir, FILE);
  mkdirSync(dirname(path), { recursive: true });
  // Written whole, then renamed: a CLI reading at the same moment never sees half a file.
  const partial = `${path}.${process.pid}`;
  writeFileSync(partial, JSON.stringify(info, null, 2) + '\n');
  renameSync(partial, path);
  return path;
}

/** Removes the file if it still names this process (another server may have started since). */
export function removeRuntimeFile(path: string, pid = process.pid): void {
  try {
    if ((JSON.parse(readFileSync(path, 'utf8')) as RuntimeInfo).pid === pid) rmSync(path, { force: true });
  } catch {
    // already gone, or not ours to remove
  }
}

/** The live server recorded in `dir` or the nearest directory above it that has one. */
export function findRuntimeFile(dir: string): (RuntimeInfo & { path: string }) | null {
  for (let current = resolve(dir); ; current = dirname(current)) {
    const path = join(current, FILE);
    const info = read(path);
    if (info && alive(info.pid)) return { ...info, path };
    if (dirname(current) === current) return null;
  }
}

function read(path: string): RuntimeInfo | null {
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as RuntimeInfo;
    return typeof info.url === 'string' && Number.isInteger(info.pid) ? info : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
