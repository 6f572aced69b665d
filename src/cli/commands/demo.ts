import type { Command } from 'commander';
import type { Cli } from '../context.js';

/** `hangar demo`: the demo account's credentials, for people or as shell exports. */
export function demoCommand(program: Command, cli: Cli): void {
  const { client, print } = cli;
  program
    .command('demo')
    .description("the demo account's credentials and how to call each cloud with them")
    .option('--env', 'print them as the variables the clouds\' clients and Terraform providers read (eval "$(hangar demo --env)")')
    .action(async (options: { env?: boolean }) => {
      const demo = await client().call('GET', '/demo');
      if (options.env) console.log(demoEnv(demo).join('\n'));
      else print(demo, () => demoLines(demo).join('\n'));
    });
}

/** `hangar demo` for people: each cloud's URL and credentials, as the banner prints them. */
function demoLines(demo: Record<string, any>): string[] {
  const lines = [`demo account ${demo.account_id}`];
  for (const [cloud, values] of Object.entries(demo)) {
    if (values === null || typeof values !== 'object') continue;
    lines.push(`${cloud}`);
    for (const [key, value] of Object.entries(values as Record<string, unknown>)) lines.push(`  ${key.padEnd(16)}${String(value)}`);
  }
  if (demo.credentials_known === false) {
    lines.push('(some credentials are not known to this server: they were printed when the store was created; `hangar reset --renew-demo-credentials` issues new ones)');
  }
  return lines;
}

/**
 * The demo credentials as shell exports, named as the clients read them: the Genesis Terraform
 * provider (GENESISCLOUD_ENDPOINT, GENESISCLOUD_TOKEN) and Crusoe's CLI, Terraform provider and
 * Go tools (CRUSOE_API_ENDPOINT, CRUSOE_ACCESS_KEY_ID, CRUSOE_SECRET_KEY, CRUSOE_DEFAULT_PROJECT).
 */
function demoEnv(demo: Record<string, any>): string[] {
  const quote = (value: unknown) => `'${String(value ?? '').replace(/'/g, `'\\''`)}'`;
  const vars: Record<string, unknown> = {
    HANGAR_URL: demo.genesis?.url?.replace(/\/compute\/v1$/, ''),
    GENESISCLOUD_ENDPOINT: demo.genesis?.url,
    GENESISCLOUD_TOKEN: demo.genesis?.token,
    CRUSOE_API_ENDPOINT: demo.crusoe?.url,
    CRUSOE_ACCESS_KEY_ID: demo.crusoe?.access_key,
    CRUSOE_SECRET_KEY: demo.crusoe?.secret_key,
    CRUSOE_DEFAULT_PROJECT: demo.crusoe?.project_id,
  };
  return Object.entries(vars)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `export ${name}=${quote(value)}`);
}
