import { Option, type Command } from 'commander';
import { CliError, table } from '../client.js';
import { toInt, type Cli } from '../context.js';

/** `hangar lifecycle`: show, set, advance. */
export function lifecycleCommands(program: Command, cli: Cli): void {
  const { client, print } = cli;
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
}
