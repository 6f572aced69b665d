import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError } from '../client.js';
import type { Cli } from '../context.js';

/** `hangar state`: export and import the store (or one account). */
export function stateCommands(program: Command, cli: Cli): void {
  const { client, print } = cli;
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
}
