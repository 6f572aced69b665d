import type { Command } from 'commander';
import { removeRuntimeFile, writeRuntimeFile } from '../runtime-file.js';

/** `hangar serve` (the default command): Hangar itself, what `npm start` runs. */
export function serveCommand(program: Command): void {
  program
    .command('serve', { isDefault: true })
    .description('start Hangar (HOST, PORT, HANGAR_DATABASE_URL, HANGAR_TIMINGS, … from the environment)')
    .option('--host <host>', 'address to listen on (default: $HOST or 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default: $PORT or 8080)')
    .action(async (options: { host?: string; port?: string }) => {
      await serve({ ...process.env, ...(options.host ? { HOST: options.host } : {}), ...(options.port ? { PORT: options.port } : {}) });
    });
}

async function serve(env: NodeJS.ProcessEnv): Promise<void> {
  // Loaded here, not at the top: the other commands only talk HTTP and start much faster without the server.
  const { createHangar } = await import('../../app.js');
  const { ConfigError, loadConfig } = await import('../../config.js');
  const { startupProblem } = await import('../startup.js');
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
