import { Command, Option } from 'commander';
import { AdminClient, CliError } from './client.js';
import type { Cli } from './context.js';
import { findRuntimeFile } from './runtime-file.js';
import { accountCommands } from './commands/accounts.js';
import { clockCommands } from './commands/clock.js';
import { demoCommand } from './commands/demo.js';
import { faultCommands } from './commands/faults.js';
import { journalCommand } from './commands/journal.js';
import { lifecycleCommands } from './commands/lifecycle.js';
import { resetCommand } from './commands/reset.js';
import { serveCommand } from './commands/serve.js';
import { stateCommands } from './commands/state.js';

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

  const cli: Cli = { client, print };

  // (in the order `hangar --help` lists them)
  serveCommand(program);
  accountCommands(program, cli);
  demoCommand(program, cli);
  resetCommand(program, cli);
  clockCommands(program, cli);
  faultCommands(program, cli);
  stateCommands(program, cli);
  journalCommand(program, cli);
  lifecycleCommands(program, cli);

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
