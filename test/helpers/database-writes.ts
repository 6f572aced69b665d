import net from 'node:net';

/**
 * Counts this process's socket writes to the test PostgreSQL server (HANGAR_TEST_POSTGRES_URL's
 * port): one per round trip, however many statements it carries. `stop` puts the sockets back.
 */
export function countDatabaseWrites(): { count: number; stop(): void } {
  const port = Number(new URL(process.env.HANGAR_TEST_POSTGRES_URL ?? 'postgres://x:5432').port || 5432);
  const original = { write: net.Socket.prototype._write, writev: net.Socket.prototype._writev };
  const counter = {
    count: 0,
    stop() {
      net.Socket.prototype._write = original.write;
      net.Socket.prototype._writev = original.writev;
    },
  };
  const counted = (write: (...args: any[]) => unknown) =>
    function (this: net.Socket, ...args: any[]) {
      if (this.remotePort === port) counter.count++;
      return write.apply(this, args);
    };
  net.Socket.prototype._write = counted(original.write);
  net.Socket.prototype._writev = counted(original.writev!);
  return counter;
}
