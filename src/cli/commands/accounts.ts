import type { Command } from 'commander';
import { table } from '../client.js';
import type { Cli } from '../context.js';

/** `hangar accounts`: create, list, standing, delete. */
export function accountCommands(program: Command, cli: Cli): void {
  const { client, print } = cli;
  const accounts = program.command('accounts').description('create, list and delete accounts');
  accounts
    .command('create <name>')
    .description('create an account; prints its credentials for every cloud')
    .action(async (name: string) => {
      const account = await client().call('POST', '/accounts', { name });
      print(account, () => {
        const lines = [`account ${account.id} (${account.name})`];
        for (const [cloud, creds] of Object.entries(account)) {
          if (creds && typeof creds === 'object') for (const [k, v] of Object.entries(creds)) lines.push(`  ${cloud}.${k}  ${v}`);
        }
        return lines.join('\n');
      });
    });
  accounts
    .command('list')
    .description('list accounts')
    .action(async () => {
      const { accounts: list } = await client().call('GET', '/accounts');
      print(list, () => table(list.map((a: any) => ({ ...a, credentials: a.credentials.length })), ['id', 'name', 'standing', 'created_at', 'credentials']));
    });
  accounts
    .command('standing <id> [standing]')
    .description('show or set what the operator says of an account: active, suspended, banned, disabled, unverified or payment_method_required')
    .action(async (id: string, standing: string | undefined) => {
      const path = `/accounts/${encodeURIComponent(id)}/standing`;
      const view = standing === undefined ? await client().call('GET', path) : await client().call('PUT', path, { standing });
      print(view, () => `account ${view.account_id}: ${view.standing}`);
    });
  accounts
    .command('delete <id>')
    .description('delete an account and everything it owns')
    .action(async (id: string) => {
      await client().call('DELETE', `/accounts/${encodeURIComponent(id)}`);
      print({ deleted: id }, () => `deleted account ${id}`);
    });
}
