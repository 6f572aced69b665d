import { closeSync, openSync, readSync } from 'node:fs';
import type { Database } from 'better-sqlite3';

/** Counts commits to a SQLite file seen since the watcher was made; see `commitWatcher`. */
export interface CommitWatcher {
  /** A number that differs from the one it gave before whenever any connection has committed in between. */
  generation(): number;
  close(): void;
}

/**
 * Watches a WAL-mode SQLite file for commits by any connection, this process's or another's,
 * by reading the header of its WAL index (the `-shm` file every connection maps).
 *
 * Every commit rewrites that header (its change counter, last frame and checksums; see "The
 * WAL-Index Header" in SQLite's WAL file format notes), and the header is written before the
 * commit returns, so a read after a commit was acknowledged sees it. That read is one
 * `pread` of 48 bytes, against `pragma data_version`'s statement and two file-lock calls: a
 * polled GET answered from memory asks this once, so the check is a visible share of such an
 * answer's cost (BENCHMARKS.md).
 *
 * A header read while a writer is halfway through rewriting it counts as a change (so does
 * anything the watcher cannot read): an answer is then computed again, never replayed stale.
 * Where the `-shm` file cannot be opened, `pragma data_version` tells the same thing slower.
 */
export function commitWatcher(connection: Database, file: string): CommitWatcher {
  const dataVersion = connection.prepare('pragma data_version').pluck();
  dataVersion.get(); // (a connection opens the WAL index, and makes the file, at its first read)
  let fd: number;
  try {
    fd = openSync(`${file}-shm`, 'r');
  } catch {
    return { generation: () => dataVersion.get() as number, close: () => undefined };
  }
  const seen = Buffer.alloc(HEADER_BYTES);
  const read = Buffer.alloc(HEADER_BYTES);
  let generation = 0;
  return {
    generation() {
      let complete = false;
      try {
        complete = readSync(fd, read, 0, HEADER_BYTES, 0) === HEADER_BYTES;
      } catch {
        // (below: unknown counts as changed)
      }
      if (!complete) return ++generation;
      if (!read.equals(seen)) {
        read.copy(seen);
        generation++;
      }
      return generation;
    },
    close: () => closeSync(fd),
  };
}

/** The first copy of the WAL-index header, the one readers use. */
const HEADER_BYTES = 48;
