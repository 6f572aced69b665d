import type { Command } from 'commander';
import type { Cli } from '../context.js';

/** `hangar reset`: the store emptied back to the catalog and the demo account. */
export function resetCommand(program: Command, cli: Cli): void {
  const { client, print } = cli;
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
}
