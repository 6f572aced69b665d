import type { Command } from 'commander';
import type { Cli } from '../context.js';

/** `hangar clock`: show, freeze, resume, advance (the global clock, or an --account's own), release. */
export function clockCommands(program: Command, cli: Cli): void {
  const { client, print } = cli;
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
}
