import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitWatcher, type CommitWatcher } from '../../src/kernel/db/wal-index.js';

// The read cache replays an answer only while no connection has committed since it was
// computed: the watcher must see every commit, and must not see reads as commits.
describe('commit watcher (WAL index header)', () => {
  let dir: string;
  let file: string;
  let own: Database.Database;
  let other: Database.Database;
  let watcher: CommitWatcher;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hangar-wal-'));
    file = join(dir, 'store.db');
    own = new Database(file);
    own.pragma('journal_mode = WAL');
    own.exec('create table things (id integer primary key, n integer)');
    other = new Database(file);
    watcher = commitWatcher(own, file);
  });
  afterEach(() => {
    watcher.close();
    other.close();
    own.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('moves on every commit by another connection, and only then', () => {
    const start = watcher.generation();
    expect(watcher.generation()).toBe(start);
    other.prepare('select count(*) from things').get();
    own.prepare('select count(*) from things').get();
    expect(watcher.generation()).toBe(start);

    other.prepare('insert into things (n) values (1)').run();
    const afterOne = watcher.generation();
    expect(afterOne).not.toBe(start);
    expect(watcher.generation()).toBe(afterOne);

    // Two commits between looks, an update that leaves the row count alone among them.
    other.prepare('update things set n = 2').run();
    other.prepare('update things set n = 3').run();
    expect(watcher.generation()).not.toBe(afterOne);
  });

  it('moves on commits of its own connection and after the log is checkpointed and restarted', () => {
    const start = watcher.generation();
    own.prepare('insert into things (n) values (1)').run();
    const afterOwn = watcher.generation();
    expect(afterOwn).not.toBe(start);

    other.pragma('wal_checkpoint(TRUNCATE)');
    const afterCheckpoint = watcher.generation();
    other.prepare('insert into things (n) values (2)').run(); // (the first commit into a restarted log)
    expect(watcher.generation()).not.toBe(afterCheckpoint);
  });

  it('a transaction rolled back is no commit', () => {
    const start = watcher.generation();
    other.exec('begin immediate');
    other.prepare('insert into things (n) values (1)').run();
    other.exec('rollback');
    expect(watcher.generation()).toBe(start);
  });
});
