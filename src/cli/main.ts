import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { AdminClient, CliError, table } from './client.js';
import { findRuntimeFile, removeRuntimeFile, writeRuntimeFile } from './runtime-file.js';

const DEFAULT_URL = 'http://127.0.0.1:8080';

/**
 * The `hangar` command. `hangar serve` is what `npm start` runs; every other command talks
 * to a running Hangar through its admin API.
 */
export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name('hangar')
    .description('A GPU cloud control plane that speaks the Genesis Cloud and Crusoe Cloud APIs')
    .addOption(new Option('--url <url>', `the running Hangar (default: the one started from this directory, else ${DEFAULT_URL})`).env('HANGAR_URL'))
    .addOption(new Option('--token <token>', 'admin token, if the server has HANGAR_ADMIN_TOKEN set').env('HANGAR_ADMIN_TOKEN'))
    .option('--json', 'print JSON for scripts instead of tables')
    .showHelpAfterError();

  const client = () => {
    const options = program.opts<{ url?: string; token?: string }>();
    const found = options.url === undefined ? findRuntimeFile(process.cwd()) : null;
    const url = options.url ?? found?.url ?? DEFAULT_URL;
    const origin = options.url !== undefined ? '' : found ? ` (found in ${found.path})` : ' (the default: no Hangar was started from this directory)';
    return new AdminClient(url.replace(/\/+$/, ''), options.token, origin);
  };
  const json = () => program.opts<{ json?: boolean }>().json === true;
  const print = (value: unknown, human: () => string) => console.log(json() ? JSON.stringify(value, null, 2) : human());

  program
    .command('serve', { isDefault: true })
    .description('start Hangar (HOST, PORT, HANGAR_DATABASE_URL, HANGAR_TIMINGS, … from the environment)')
    .option('--host <host>', 'address to listen on (default: $HOST or 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default: $PORT or 8080)')
    .action(async (options: { host?: string; port?: string }) => {
      await serve({ ...process.env, ...(options.host ? { HOST: options.host } : {}), ...(options.port ? { PORT: options.port } : {}) });
    });

  const accounts = program.command('accounts').description('create, list and delete accounts');
  accounts
    .command('create <name>')
    .description('create an account; prints its credentials for every cloud')
    .action(async (name: string) => {
      const account = await client().call('POST', '/accounts', { name });
      print(account, () => {
        const lines = [`account ${account.id} (${account.name})`];
        for (const [cloud, creds] of Object.entries(account)) {
          if (creds && typeof creds === 'object') for (const [k, v] of Object.entries(creds)) lines.push(`  ${cloud}.${k}  ${v}`);
        }
        return lines.join('\n');
      });
    });
  accounts
    .command('list')
    .description('list accounts')
    .action(async () => {
      const { accounts: list } = await client().call('GET', '/accounts');
      print(list, () => table(list.map((a: any) => ({ ...a, credentials: a.credentials.length })), ['id', 'name', 'standing', 'created_at', 'credentials']));
    });
  accounts
    .command('standing <id> [standing]')
    .description('show or set what the operator says of an account: active, suspended, banned, disabled, unverified or payment_method_required')
    .action(async (id: string, standing: string | undefined) => {
      const path = `/accounts/${encodeURIComponent(id)}/standing`;
      const view = standing === undefined ? await client().call('GET', path) : await client().call('PUT', path, { standing });
      print(view, () => `account ${view.account_id}: ${view.standing}`);
    });
  accounts
    .command('delete <id>')
    .description('delete an account and everything it owns')
    .action(async (id: string) => {
      await client().call('DELETE', `/accounts/${encodeURIComponent(id)}`);
      print({ deleted: id }, () => `deleted account ${id}`);
    });

  program
    .command('demo')
    .description("the demo account's credentials and how to call each cloud with them")
    .option('--env', 'print them as the variables the clouds\' clients and Terraform providers read (eval "$(hangar demo --env)")')
    .action(async (options: { env?: boolean }) => {
      const demo = await client().call('GET', '/demo');
      if (options.env) console.log(demoEnv(demo).join('\n'));
      else print(demo, () => demoLines(demo).join('\n'));
    });

  program
    .command('reset')
    .description('empty the store: catalog and demo account only (its credentials stay valid); optionally seed ids for reproducible runs')
    .option('--seed <seed>', 'make generated ids reproducible from this seed')
    .option('--frozen-at <iso>', 'start with the clock frozen at this instant')
    .option('--renew-demo-credentials', 'give the demo account new credentials instead of keeping the printed ones')
    .action(async (options: { seed?: string; frozenAt?: string; renewDemoCredentials?: boolean }) => {
      const demo = options.renewDemoCredentials ? 'renew' : undefined;
      await client().call('POST', '/reset', { seed: options.seed, frozen_at: options.frozenAt, demo_credentials: demo });
      print({ reset: true, seed: options.seed ?? null }, () => `store reset${options.seed ? ` (seed ${options.seed})` : ''}`);
    });

  const clock = program.command('clock').description('read, freeze, resume or advance the clock (the global one, or an --account\'s own)');
  const showClock = (c: any) =>
    print(c, () => `${c.now}${c.frozen ? '  (frozen)' : ''}${c.follows_global === false ? '  (own clock)' : ''}${c.applied !== undefined ? `  ${c.applied} transitions applied` : ''}`);
  /** The global clock's path, or the account's with --account. */
  const clockPath = (options: { account?: string }, action = '') => `${options.account ? `/accounts/${encodeURIComponent(options.account)}` : ''}/clock${action}`;
  const ACCOUNT = ['--account <id>', "an account's own clock (a test worker's): it moves that account's resources only"] as const;
  clock
    .command('show')
    .description('the current time as Hangar sees it')
    .option(...ACCOUNT)
    .action(async (options: { account?: string }) => showClock(await client().call('GET', clockPath(options))));
  clock
    .command('freeze')
    .description('stop the clock (now, or at a later --at instant)')
    .option('--at <iso>', 'freeze at this instant')
    .option(...ACCOUNT)
    .action(async (options: { at?: string; account?: string }) => showClock(await client().call('POST', clockPath(options, '/freeze'), options.at ? { at: options.at } : {})));
  clock
    .command('resume')
    .description('let the clock run again')
    .option(...ACCOUNT)
    .action(async (options: { account?: string }) => showClock(await client().call('POST', clockPath(options, '/resume'))));
  clock
    .command('advance <duration>')
    .description('move the clock forward, e.g. 90s, 5m, 1h; due transitions complete before it returns')
    .option(...ACCOUNT)
    .action(async (by: string, options: { account?: string }) => showClock(await client().call('POST', clockPath(options, '/advance'), { by })));
  clock
    .command('release <account>')
    .description("let an account's clock follow the global clock again (an account ahead keeps its lead)")
    .action(async (account: string) => showClock(await client().call('POST', clockPath({ account }, '/release'))));

  const faults = program.command('faults').description('stage failures in the clouds\' own error format');
  faults
    .command('add')
    .description('add a fault rule')
    .option('--cloud <cloud>', 'genesis or crusoe')
    .option('--method <method>', 'HTTP method')
    .option('--path <pattern>', 'request path; * matches one segment, ** the rest')
    .option('--account <id>', 'only this account')
    .option('--count <n>', 'fire for the next n matching calls', toInt)
    .option('--probability <p>', 'fire for this fraction of matching calls (0..1)', Number)
    .option('--status <status>', 'fail with this HTTP status', toInt)
    .option('--code <code>', 'the cloud error code to send')
    .option('--message <message>', 'the error message')
    .option('--latency <ms>', 'add this much latency in milliseconds', toInt)
    .option('--kind <kind>', 'lifecycle fault: the resource kind, e.g. genesis.instance')
    .option('--transition <name>', 'lifecycle fault: the transition, e.g. boot')
    .action(async (o: Record<string, unknown>) => {
      const { latency, ...rest } = o;
      const body = Object.fromEntries(Object.entries({ ...rest, latency_ms: latency }).filter(([, v]) => v !== undefined));
      const rule = await client().call('POST', '/faults', body);
      print(rule, () => `added fault ${rule.id}`);
    });
  faults
    .command('list')
    .description('list fault rules and how often each fired')
    .action(async () => {
      const { faults: list } = await client().call('GET', '/faults');
      print(list, () => table(list, ['id', 'cloud', 'method', 'path', 'kind', 'transition', 'status', 'code', 'count', 'fired']));
    });
  faults
    .command('remove <id>')
    .description('remove one fault rule')
    .action(async (id: string) => {
      await client().call('DELETE', `/faults/${encodeURIComponent(id)}`);
      print({ removed: id }, () => `removed fault ${id}`);
    });
  faults
    .command('clear')
    .description('remove every fault rule')
    .action(async () => {
      await client().call('DELETE', '/faults');
      print({ cleared: true }, () => 'faults cleared');
    });

  const state = program.command('state').description('export or import the whole store (or one account)');
  state
    .command('export')
    .description('write the store as one JSON document to stdout')
    .option('--account <id>', 'only this account')
    .action(async (options: { account?: string }) => {
      const doc = await client().call('GET', `/state${options.account ? `?account=${encodeURIComponent(options.account)}` : ''}`);
      process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
    });
  state
    .command('import <file>')
    .description('load a document written by "state export"')
    .action(async (file: string) => {
      let doc: unknown;
      try {
        doc = JSON.parse(readFileSync(file, 'utf8'));
      } catch (error) {
        throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
      }
      await client().call('PUT', '/state', doc);
      print({ imported: file }, () => `imported ${file}`);
    });

  program
    .command('journal')
    .description('the most recent API requests, newest first')
    .option('--limit <n>', 'how many', toInt, 20)
    .action(async (options: { limit: number }) => {
      const { requests } = await client().call('GET', `/journal?limit=${options.limit}`);
      print(requests, () =>
        table(
          requests.map((r: any) => ({ ...r, ignored_fields: r.ignored_fields.join(',') || '-' })),
          ['at', 'cloud', 'method', 'path', 'status', 'latency_ms', 'account', 'ignored_fields'],
        ),
      );
    });

  const lifecycle = program.command('lifecycle').description('how resources move between states');
  lifecycle
    .command('show')
    .description('kinds, transitions, durations and modes')
    .action(async () => {
      const view = await client().call('GET', '/lifecycle');
      print(view, () =>
        table(
          view.kinds.flatMap((k: any) => k.transitions.map((t: any) => ({ kind: k.kind, mode: k.mode.mode, transition: t.name, from: t.from.join('|'), to: t.to ?? '(gone)', ms: t.ms }))),
          ['kind', 'mode', 'transition', 'from', 'to', 'ms'],
        ),
      );
    });
  lifecycle
    .command('set <kind>')
    .description('change how a kind progresses')
    .addOption(new Option('--mode <mode>', 'time, reads or manual').choices(['time', 'reads', 'manual']))
    .option('--reads <n>', 'with --mode reads: reads before the resource moves on', toInt)
    .option('--duration <transition=duration...>', 'override a transition\'s duration, e.g. boot=10s')
    .action(async (kind: string, o: { mode?: string; reads?: number; duration?: string[] }) => {
      const durations = Object.fromEntries((o.duration ?? []).map((d) => {
        const [name, value] = d.split('=');
        if (!name || value === undefined) throw new CliError(`--duration takes transition=duration, e.g. boot=10s (got "${d}")`);
        return [name, value === 'default' ? null : value];
      }));
      const view = await client().call('PUT', `/lifecycle/${encodeURIComponent(kind)}`, { mode: o.mode, reads: o.reads, durations });
      print(view, () => `${view.kind}: ${view.mode.mode}`);
    });
  lifecycle
    .command('advance')
    .description('apply held transitions now')
    .option('--kind <kind>', 'only this kind')
    .option('--resource <id>', 'only this resource')
    .action(async (o: { kind?: string; resource?: string }) => {
      const result = await client().call('POST', '/lifecycle/advance', { kind: o.kind, resource_id: o.resource });
      print(result, () => `${result.applied} transitions applied`);
    });

  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CliError) {
      console.error(`hangar: ${error.message}`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}

function toInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new CliError(`expected a whole number, got "${value}"`);
  return n;
}

/** `hangar demo` for people: each cloud's URL and credentials, as the banner prints them. */
function demoLines(demo: Record<string, any>): string[] {
  const lines = [`demo account ${demo.account_id}`];
  for (const [cloud, values] of Object.entries(demo)) {
    if (values === null || typeof values !== 'object') continue;
    lines.push(`${cloud}`);
    for (const [key, value] of Object.entries(values as Record<string, unknown>)) lines.push(`  ${key.padEnd(16)}${String(value)}`);
  }
  if (demo.credentials_known === false) {
    lines.push('(some credentials are not known to this server: they were printed when the store was created; `hangar reset --renew-demo-credentials` issues new ones)');
  }
  return lines;
}

/**
 * The demo credentials as shell exports, named as the clients read them: the Genesis Terraform
 * provider (GENESISCLOUD_ENDPOINT, GENESISCLOUD_TOKEN) and Crusoe's CLI, Terraform provider and
 * Go tools (CRUSOE_API_ENDPOINT, CRUSOE_ACCESS_KEY_ID, CRUSOE_SECRET_KEY, CRUSOE_DEFAULT_PROJECT).
 */
function demoEnv(demo: Record<string, any>): string[] {
  const quote = (value: unknown) => `'${String(value ?? '').replace(/'/g, `'\\''`)}'`;
  const vars: Record<string, unknown> = {
    HANGAR_URL: demo.genesis?.url?.replace(/\/compute\/v1$/, ''),
    GENESISCLOUD_ENDPOINT: demo.genesis?.url,
    GENESISCLOUD_TOKEN: demo.genesis?.token,
    CRUSOE_API_ENDPOINT: demo.crusoe?.url,
    CRUSOE_ACCESS_KEY_ID: demo.crusoe?.access_key,
    CRUSOE_SECRET_KEY: demo.crusoe?.secret_key,
    CRUSOE_DEFAULT_PROJECT: demo.crusoe?.project_id,
  };
  return Object.entries(vars)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `export ${name}=${quote(value)}`);
}

async function serve(env: NodeJS.ProcessEnv): Promise<void> {
  // Loaded here, not at the top: the other commands only talk HTTP and start much faster without the server.
  const { createHangar } = await import('../app.js');
  const { ConfigError, loadConfig } = await import('../config.js');
  const { startupProblem } = await import('./startup.js');
  let config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) cannotStart(error.message);
    throw error;
  }
  let hangar;
  try {
    hangar = await createHangar(config);
  } catch (error) {
    cannotStart(startupProblem(error, config), error, config.logLevel);
  }
  try {
    await hangar.listen();
  } catch (error) {
    await hangar.close().catch(() => undefined);
    cannotStart(startupProblem(error, config), error, config.logLevel);
  }
  let runtimeFile: string | null = null;
  try {
    runtimeFile = writeRuntimeFile(process.cwd(), {
      url: hangar.url,
      pid: process.pid,
      started_at: new Date().toISOString(),
      admin_token_required: config.adminToken !== null,
    });
  } catch (error) {
    // A read-only working directory (a container's): the CLI then needs --url or HANGAR_URL.
    hangar.app.log.debug({ err: error }, 'cannot write .hangar/runtime.json');
  }
  console.log(['', ...hangar.banner(), ''].join('\n'));

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    if (runtimeFile) removeRuntimeFile(runtimeFile);
    hangar.app.log.info({ signal }, 'shutting down');
    hangar.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('exit', () => runtimeFile && removeRuntimeFile(runtimeFile));
}

/** A start-up failure: one line naming the setting and what to do (the stack at debug level), exit code 2. */
function cannotStart(line: string, error?: unknown, level?: string): never {
  console.error(`hangar: ${line}`);
  if (error !== undefined && (level === 'debug' || level === 'trace')) console.error(error);
  process.exit(2);
}
