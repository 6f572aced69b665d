import type { Command } from 'commander';
import { table } from '../client.js';
import { toInt, type Cli } from '../context.js';

/** `hangar journal`: the most recent API requests. */
export function journalCommand(program: Command, cli: Cli): void {
  const { client, print } = cli;
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
}
