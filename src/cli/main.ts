import { Command } from 'commander';
import { createHangar } from '../app.js';
import { ConfigError, loadConfig } from '../config.js';

/** The `hangar` command. `hangar serve` is what `npm start` runs. */
export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program.name('hangar').description('A GPU cloud control plane that speaks the Genesis Cloud and Crusoe Cloud APIs');

  program
    .command('serve', { isDefault: true })
    .description('start Hangar (HOST, PORT, HANGAR_DATABASE_URL, HANGAR_TIMINGS, … from the environment)')
    .option('--host <host>', 'address to listen on (default: $HOST or 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default: $PORT or 8080)')
    .action(async (options: { host?: string; port?: string }) => {
      await serve({ ...process.env, ...(options.host ? { HOST: options.host } : {}), ...(options.port ? { PORT: options.port } : {}) });
    });

  await program.parseAsync(argv);
}

async function serve(env: NodeJS.ProcessEnv): Promise<void> {
  let config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`hangar: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const hangar = await createHangar(config);
  try {
    await hangar.listen();
  } catch (error) {
    console.error(`hangar: cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`);
    await hangar.close();
    process.exit(1);
  }
  console.log(['', ...hangar.banner(), ''].join('\n'));

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
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
}
