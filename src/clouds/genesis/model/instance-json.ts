import { sql, type RawBuilder } from 'kysely';
import type { Engine } from '../../../kernel/db/store.js';
import type { InstanceLinkRow } from '../tables.js';
import { Instance, type InstanceWire } from '../wire.js';

/**
 * An instance's wire JSON built by the database, for a page of the list: the store turns each
 * row into its answer's text, so a page of 50 reaches the server as 50 strings, not some 1,100
 * values to make into objects, render and serialise again. It must be, byte for byte, what GET
 * one instance sends (renderInstance through the route's serialiser: keys in the schema's order,
 * no spaces, JSON.stringify's escapes), which test/genesis/list-as-text.test.ts holds it to.
 */

/** What a key of the wire shape is made from, in the wire shape's order. */
type Field =
  | { column: string } // a column as it is (a string, a number, or null)
  | { flag: string } // a 0/1 column as true/false
  | { time: string } // epoch milliseconds as an ISO 8601 instant, as Date.toISOString writes it
  | { idName: [id: string, name: string] } // two columns as {"id":…,"name":…}
  | { links: InstanceLinkRow['kind'] } // the instance's links of a kind, in order, as [{"id":…,"name":…}]
  | { firstLink: InstanceLinkRow['kind'] }; // the first such link, or null

const FIELDS: Record<keyof InstanceWire, Field> = {
  id: { column: 'id' },
  name: { column: 'name' },
  hostname: { column: 'hostname' },
  dns_name: { column: 'dns_name' },
  reservation_id: { column: 'reservation_id' },
  type: { column: 'type' },
  os_type: { column: 'os_type' },
  public_ip: { column: 'public_ip' },
  public_ip_type: { column: 'public_ip_type' },
  private_ip: { column: 'private_ip' },
  status: { column: 'status' },
  ssh_keys: { links: 'ssh_key' },
  image: { idName: ['image_id', 'image_name'] },
  floating_ip: { firstLink: 'floating_ip' },
  security_groups: { links: 'security_group' },
  volumes: { links: 'volume' },
  region: { column: 'region' },
  disk_size: { column: 'disk_size' },
  placement_option: { column: 'placement_option' },
  is_protected: { flag: 'is_protected' },
  created_at: { time: 'created_at' },
  updated_at: { time: 'updated_at' },
};

// The serialiser writes keys in the schema's order: so must the database.
const ORDER = Object.keys(Instance.properties);
if (ORDER.join() !== Object.keys(FIELDS).join()) throw new Error(`instance-json: FIELDS must list ${ORDER.join(', ')} in that order`);

/** The wire JSON of each row of `table` (an instances table or a subquery aliased as one), as text. */
export function instanceJson(engine: Engine, table: string): RawBuilder<string> {
  const column = (name: string) => sql.ref(`${table}.${name}`);
  const links = (kind: string) => sql`from genesis_instance_links l where l.instance_id = ${column('id')} and l.kind = ${sql.lit(kind)}`;
  if (engine === 'sqlite') {
    const idName = (id: unknown, name: unknown) => sql`json_object('id', ${id}, 'name', ${name})`;
    const part = (field: Field) => {
      if ('column' in field) return column(field.column);
      if ('flag' in field) return sql`json(iif(${column(field.flag)}, 'true', 'false'))`;
      if ('time' in field) return sql`strftime('%Y-%m-%dT%H:%M:%fZ', ${column(field.time)} / 1000.0, 'unixepoch')`;
      if ('idName' in field) return idName(column(field.idName[0]), column(field.idName[1]));
      const link = idName(sql.ref('l.target_id'), sql.ref('l.target_name'));
      if ('links' in field) return sql`(select json_group_array(${link} order by l.position) ${links(field.links)})`;
      // (json(): a value through a subquery with ORDER BY and LIMIT loses its JSON subtype)
      return sql`json((select ${link} ${links(field.firstLink)} order by l.position limit 1))`;
    };
    const pairs = ORDER.map((key) => sql`${sql.lit(key)}, ${part(FIELDS[key as keyof InstanceWire])}`);
    return sql<string>`json_object(${sql.join(pairs)})`;
  }
  // PostgreSQL: row_to_json writes a row's columns compactly, in order, and embeds json columns
  // as they are (json_build_object and json_agg would put spaces between items). The links are
  // read once per instance, each key's gathered by its own FILTER.
  const idName = (id: unknown, name: unknown) => sql`'{"id":' || to_json(${id})::text || ',"name":' || to_json(${name})::text || '}'`;
  const link = idName(sql.ref('l.target_id'), sql.ref('l.target_name'));
  const gather = ORDER.flatMap((key) => {
    const field = FIELDS[key as keyof InstanceWire];
    if ('links' in field) return [sql`string_agg(${link}, ',' order by l.position) filter (where l.kind = ${sql.lit(field.links)}) as ${sql.id(key)}`];
    if ('firstLink' in field) return [sql`(array_agg(${link} order by l.position) filter (where l.kind = ${sql.lit(field.firstLink)}))[1] as ${sql.id(key)}`];
    return [];
  });
  const gathered = sql`(select ${sql.join(gather)} from genesis_instance_links l where l.instance_id = ${column('id')}) k`;
  const part = (key: string, field: Field) => {
    if ('column' in field) return column(field.column);
    if ('flag' in field) return sql`${column(field.flag)} <> 0`;
    if ('time' in field) return sql`to_char(timestamp 'epoch' + ${column(field.time)} * interval '1 millisecond', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
    if ('idName' in field) return sql`(${idName(column(field.idName[0]), column(field.idName[1]))})::json`;
    if ('links' in field) return sql`('[' || coalesce(${sql.ref(`k.${key}`)}, '') || ']')::json`;
    return sql`coalesce(${sql.ref(`k.${key}`)}, 'null')::json`;
  };
  const columns = ORDER.map((key) => sql`${part(key, FIELDS[key as keyof InstanceWire])} as ${sql.id(key)}`);
  return sql<string>`(select row_to_json(w)::text from (select ${sql.join(columns)} from ${gathered}) w)`;
}
