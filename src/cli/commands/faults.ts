import type { Command } from 'commander';
import { table } from '../client.js';
import { toInt, type Cli } from '../context.js';

/** `hangar faults`: add, list, remove, clear. */
export function faultCommands(program: Command, cli: Cli): void {
  const { client, print } = cli;
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
}
