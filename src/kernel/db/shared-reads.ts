import type { QueryResult } from 'kysely';
import type pgModule from 'pg';

/** What a shared connection needs of a node-postgres client: pipelined queries, and its end. */
type ReadingClient = Pick<pgModule.Client, 'query' | 'end' | 'on'>;

/** How many shared connections there are, and how many reads each takes in flight (see SharedReads). */
export interface SharedReadLimits {
  connections: number;
  /** Reads in flight on a connection before the next one takes the reads that follow. */
  spill: number;
  /** Reads in flight on a connection at most: beyond it on every one, a read takes a pooled connection. */
  limit: number;
}

/**
 * Reads made outside a transaction on PostgreSQL (a GET's one statement, a page's), sent on a
 * few connections kept for them and shared by every request at once, pipelined: each read
 * goes out as soon as it is asked for, without waiting for the one before it to be answered.
 *
 * Through the pool, each read takes a connection of its own: under load, ten backends each
 * woken for one statement at a time, and a socket write and a read per statement on both
 * sides. On a shared connection, the reads asked for in one turn of the event loop leave in
 * one socket write (the client corks its socket for the turn: see store.ts), one backend runs
 * them one after another, and their answers come back together. Each read has a transaction
 * of its own, as through the pool (its own Sync: a failed read fails only itself), and sees
 * every write committed before it was asked for.
 *
 * The more reads share a socket write and a backend's wake-up, the less each costs: a read
 * goes to the first connection until it has `spill` in flight, then to the next, and once
 * every one has `spill`, to the one with the fewest. A read waits behind those sent before it
 * on its connection; once every connection has `limit` in flight, it goes to the pool (whose
 * queue bounds what waits: see store.ts, `queueing`).
 */
export class SharedReads {
  private readonly connections: SharedConnection[];
  private readonly spill: number;

  constructor(open: () => Promise<ReadingClient>, { connections, spill, limit }: SharedReadLimits) {
    this.connections = Array.from({ length: connections }, () => new SharedConnection(open, limit));
    this.spill = spill;
  }

  /** Sends a read on a shared connection (see the class); null when all are full (the pool takes it). */
  read(sql: string, parameters: readonly unknown[]): Promise<QueryResult<unknown>> | null {
    let best = this.connections[0]!;
    for (const connection of this.connections) {
      if (connection.inFlight < this.spill) return connection.read(sql, parameters);
      if (connection.inFlight < best.inFlight) best = connection;
    }
    return best.read(sql, parameters);
  }

  /** How many of the shared connections are open now. */
  get open(): number {
    return this.connections.filter((connection) => connection.isOpen).length;
  }

  async close(): Promise<void> {
    await Promise.all(this.connections.map((connection) => connection.close()));
  }
}

/** One shared connection: opened on first use, and again on the next read after it failed. */
class SharedConnection {
  inFlight = 0;
  private client: ReadingClient | null = null;
  private opening: Promise<ReadingClient> | null = null;
  private closed = false;

  constructor(
    private readonly open: () => Promise<ReadingClient>,
    private readonly limit: number,
  ) {}

  get isOpen(): boolean {
    return this.client !== null;
  }

  read(sql: string, parameters: readonly unknown[]): Promise<QueryResult<unknown>> | null {
    if (this.inFlight >= this.limit || this.closed) return null;
    this.inFlight++;
    const client = this.client;
    const sent = client !== null ? this.send(client, sql, parameters) : this.connect().then((opened) => this.send(opened, sql, parameters));
    return sent.finally(() => this.inFlight--);
  }

  private async send(client: ReadingClient, sql: string, parameters: readonly unknown[]): Promise<QueryResult<unknown>> {
    const result = await client.query(sql, parameters as unknown[]);
    return { rows: result.rows };
  }

  private connect(): Promise<ReadingClient> {
    this.opening ??= this.open().then(
      (client) => {
        this.opening = null;
        // (a connection lost fails the reads in flight, each answered as the store unreachable;
        // the next read opens another)
        const lost = () => {
          if (this.client === client) this.client = null;
        };
        client.on('error', lost);
        client.on('end', lost);
        if (this.closed) {
          void client.end().catch(() => undefined);
        } else {
          this.client = client;
        }
        return client;
      },
      (error: unknown) => {
        this.opening = null;
        throw error;
      },
    );
    return this.opening;
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client ?? (await this.opening?.catch(() => null)) ?? null;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}
