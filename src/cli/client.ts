/** A small client for the admin API, with errors that tell a person what to do next. */
export class CliError extends Error {}

export class AdminClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string | undefined,
    /** Where the URL came from, for messages (e.g. " (found in …/.hangar/runtime.json)"). */
    private readonly origin = '',
  ) {}

  async call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/admin/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new CliError(`cannot reach Hangar at ${this.baseUrl}${this.origin}: start it with "npx hangar serve", or point --url (or HANGAR_URL) at it`);
    }
    const text = await response.text();
    const parsed = text === '' ? undefined : safeJson(text);
    if (!response.ok) {
      const message = (parsed as { message?: string } | undefined)?.message ?? (text || response.statusText);
      if (response.status === 401) throw new CliError(`${message} (pass --token or set HANGAR_ADMIN_TOKEN)`);
      if (response.status === 403) throw new CliError(`${message} (run the command on the Hangar host, or set HANGAR_ADMIN_TOKEN on the server and pass --token)`);
      throw new CliError(`${method} ${path} failed (${response.status}): ${message}`);
    }
    return parsed as T;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Columns aligned for people; `--json` prints the raw document instead. */
export function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n');
}
