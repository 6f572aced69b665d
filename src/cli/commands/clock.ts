import type { Command } from 'commander';
import type { Cli } from '../context.js';

/** `hangar clock`: show, freeze, resume, advance. */
export function clockCommands(program: Command, cli: Cli): void {
  const { client, print } = cli;
  const clock = program.command('clock').description('read, freeze, resume or advance the clock');
  const showClock = (c: any) => print(c, () => `${c.now}${c.frozen ? '  (frozen)' : ''}${c.applied !== undefined ? `  ${c.applied} transitions applied` : ''}`);
  clock.command('show').description('the current time as Hangar sees it').action(async () => showClock(await client().call('GET', '/clock')));
  clock
    .command('freeze')
    .description('stop the clock (now, or at a later --at instant)')
    .option('--at <iso>', 'freeze at this instant')
    .action(async (options: { at?: string }) => showClock(await client().call('POST', '/clock/freeze', options.at ? { at: options.at } : {})));
  clock.command('resume').description('let the clock run again').action(async () => showClock(await client().call('POST', '/clock/resume')));
  clock
    .command('advance <duration>')
    .description('move the clock forward, e.g. 90s, 5m, 1h; due transitions complete before it returns')
    .action(async (by: string) => showClock(await client().call('POST', '/clock/advance', { by })));
}
