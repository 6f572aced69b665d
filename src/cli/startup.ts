import { redactUrl, type Config } from '../config.js';

/**
 * Why Hangar could not start, in one line that names the setting at fault and what to do
 * about it: what `hangar serve` prints instead of a stack trace (exit code 2).
 */
export function startupProblem(error: unknown, config: Config): string {
  const causes = chain(error);
  const code = (name: string) => causes.find((e) => e.code === name);
  const anyCode = (...names: string[]) => causes.find((e) => e.code !== undefined && names.includes(e.code));
  const store = redactUrl(config.databaseUrl);

  if (code('EADDRINUSE') || code('EACCES')?.syscall === 'listen' || code('EADDRNOTAVAIL')) {
    const busy = code('EADDRINUSE') !== undefined;
    return busy
      ? `PORT: ${config.host}:${config.port} is already in use; stop what listens there or choose another port (PORT=8081, or PORT=0 for any free one)`
      : `HOST/PORT: cannot listen on ${config.host}:${config.port} (${(code('EACCES') ?? code('EADDRNOTAVAIL'))!.code}); choose an address of this machine and a port above 1023`;
  }
  const message = firstMessage(causes);
  for (const [variable, path] of [
    ['HANGAR_GENESIS_CATALOG', config.catalogs.genesis],
    ['HANGAR_CRUSOE_CATALOG', config.catalogs.crusoe],
  ] as const) {
    if (path !== null && message.includes(path)) return `${variable}: ${message}; fix the file or unset ${variable} to use the built-in catalog`;
  }
  if (config.databaseUrl.startsWith('postgres')) {
    const where = postgresWhere(config.databaseUrl);
    const unreachable = anyCode('ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET');
    if (unreachable) {
      return `HANGAR_DATABASE_URL: cannot reach PostgreSQL at ${where.host} (${unreachable.code}); start it, or point HANGAR_DATABASE_URL at a running server (now ${store})`;
    }
    if (code('3D000')) {
      return `HANGAR_DATABASE_URL: database "${where.database}" does not exist on ${where.host}; create it (createdb -h ${where.hostname} ${where.database}) or name an existing one`;
    }
    if (anyCode('28P01', '28000')) {
      return `HANGAR_DATABASE_URL: PostgreSQL at ${where.host} refused user "${where.user}" (${firstMessage(causes)}); fix the user or password in the URL`;
    }
    if (code('42501')) {
      return `HANGAR_DATABASE_URL: user "${where.user}" may not create Hangar's tables in "${where.database}" (${firstMessage(causes)}); grant it CREATE on the database or schema`;
    }
  }
  if (config.databaseUrl.startsWith('sqlite:')) {
    const cannotOpen = anyCode('SQLITE_CANTOPEN', 'ENOENT', 'ENOTDIR', 'EEXIST', 'EACCES', 'EROFS', 'SQLITE_READONLY', 'SQLITE_NOTADB');
    if (cannotOpen) {
      return `HANGAR_DATABASE_URL: cannot use the SQLite store ${store} (${cannotOpen.message}); point it at a file in a writable folder, or use sqlite::memory:`;
    }
  }
  // Errors raised knowing the setting at fault already start with its name.
  if (/^(HANGAR_[A-Z_]+|HOST|PORT)\b/.test(message)) return message;
  return `cannot start: ${message} (HANGAR_LOG_LEVEL=debug prints the stack)`;
}

interface Cause {
  code?: string;
  syscall?: string;
  message: string;
}

/** The error and what it wraps (`cause`, and each of an AggregateError's `errors`). */
function chain(error: unknown, depth = 0): Cause[] {
  if (error === null || typeof error !== 'object' || depth > 8) return [];
  const e = error as { code?: unknown; syscall?: string; message?: unknown; cause?: unknown; errors?: unknown };
  const self: Cause = { code: typeof e.code === 'string' ? e.code : undefined, syscall: e.syscall, message: typeof e.message === 'string' ? e.message : String(error) };
  const inner = [e.cause, ...(Array.isArray(e.errors) ? e.errors : [])].flatMap((c) => chain(c, depth + 1));
  return [self, ...inner];
}

function firstMessage(causes: Cause[]): string {
  // The innermost message names the real trouble; a wrapper ("migration kernel/? failed: …") only repeats it.
  const messages = causes.map((c) => c.message.split('\n')[0]!.trim()).filter((m) => m !== '');
  return redactUrl(messages[0] ?? 'unknown error');
}

function postgresWhere(url: string): { host: string; hostname: string; database: string; user: string } {
  try {
    const parsed = new URL(url);
    const hostname = parsed.hostname || 'localhost';
    return {
      host: `${hostname}:${parsed.port || '5432'}`,
      hostname,
      database: decodeURIComponent(parsed.pathname.slice(1)) || decodeURIComponent(parsed.username) || 'postgres',
      user: decodeURIComponent(parsed.username) || 'postgres',
    };
  } catch {
    return { host: '?', hostname: '?', database: '?', user: '?' };
  }
}
