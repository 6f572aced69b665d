import type { Executor } from '../../../kernel/db/store.js';
import { notFound } from '../errors.js';
import type { GenesisTables } from '../tables.js';

/**
 * Reads one of an account's rows by id. Another account's row is indistinguishable from a
 * missing one: both are "not found", never "forbidden".
 */
export async function findOwned<T extends keyof GenesisTables>(
  trx: Executor,
  table: T,
  accountId: string,
  id: string,
): Promise<GenesisTables[T] | undefined> {
  return (await trx.selectFrom(table).selectAll().where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst()) as
    | GenesisTables[T]
    | undefined;
}

export async function getOwned<T extends keyof GenesisTables>(
  trx: Executor,
  table: T,
  accountId: string,
  id: string,
  code: string,
  what: string,
): Promise<GenesisTables[T]> {
  const row = await findOwned(trx, table, accountId, id);
  if (!row) throw notFound(code, what, id);
  return row;
}

/** Keeps the names shown on instances in step when a linked resource is renamed. */
export async function renameLinks(trx: Executor, kind: string, targetId: string, name: string): Promise<void> {
  await trx.updateTable('genesis_instance_links').set({ target_name: name }).where('target_id', '=', targetId).where('kind', '=', kind).execute();
}

/** The instances a resource is linked to, by resource id. */
export async function linkedInstances(
  trx: Executor,
  kind: string,
  targetIds: readonly string[],
): Promise<Map<string, { id: string; name: string }[]>> {
  const byTarget = new Map<string, { id: string; name: string }[]>();
  if (targetIds.length === 0) return byTarget;
  const rows = await trx
    .selectFrom('genesis_instance_links as l')
    .innerJoin('genesis_instances as i', 'i.id', 'l.instance_id')
    .select(['l.target_id as target_id', 'i.id as id', 'i.name as name'])
    .where('l.kind', '=', kind)
    .where('l.target_id', 'in', [...targetIds])
    .orderBy('i.seq')
    .execute();
  for (const r of rows as { target_id: string; id: string; name: string }[]) {
    const list = byTarget.get(r.target_id);
    if (list) list.push({ id: r.id, name: r.name });
    else byTarget.set(r.target_id, [{ id: r.id, name: r.name }]);
  }
  return byTarget;
}
