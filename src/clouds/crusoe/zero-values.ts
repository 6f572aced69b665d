/**
 * Go clients send every field of a request struct: the official Go client
 * (crusoecloud/client-go) and the Terraform provider built on it serialise the fields they did
 * not set as their Go zero values (`null` for slices, maps and pointers, `""` for strings, `0`
 * for numbers) unless the field is tagged `omitempty`, and most are not. The real service
 * reads those as "not given", so Hangar does too, once for every Crusoe request body, before
 * validation:
 *
 * - `null` on an optional field is absent (unless its schema allows null itself);
 * - `""` on an optional string field is absent (ids, names, enums: the Go zero value is never
 *   a meaningful choice there);
 * - `0` on an optional number field whose schema refuses 0 (a minimum above it, an enum
 *   without it) is absent.
 *
 * A required field keeps its `null` or `""`, and validation refuses it as before, naming the
 * field. Keys the schema does not describe are left as they are.
 */
export function dropGoZeroValues(schema: unknown, value: unknown): void {
  if (!isSchema(schema) || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    const items = arrayItems(schema);
    if (items) for (const element of value) dropGoZeroValues(items, element);
    return;
  }
  const object = objectSchema(schema);
  if (!object) return;
  const required = new Set(Array.isArray(object.required) ? (object.required as string[]) : []);
  const properties = (object.properties ?? {}) as Record<string, unknown>;
  const record = value as Record<string, unknown>;
  for (const [key, field] of Object.entries(record)) {
    const property = properties[key];
    if (!isSchema(property)) continue;
    if (!required.has(key) && isGoZeroMeaningAbsent(property, field)) {
      delete record[key];
      continue;
    }
    dropGoZeroValues(property, field);
  }
}

type Schema = Record<string, unknown>;

function isSchema(node: unknown): node is Schema {
  return node !== null && typeof node === 'object' && !Array.isArray(node);
}

/** The schema's branches: itself, or each of its anyOf/oneOf alternatives. */
function branches(schema: Schema): Schema[] {
  const alternatives = (schema.anyOf ?? schema.oneOf) as unknown;
  return Array.isArray(alternatives) ? alternatives.filter(isSchema) : [schema];
}

const typesOf = (schema: Schema): string[] => branches(schema).flatMap((b) => ([] as unknown[]).concat(b.type ?? []).map(String));

function objectSchema(schema: Schema): Schema | undefined {
  return branches(schema).find((b) => b.type === 'object' || isSchema(b.properties));
}

function arrayItems(schema: Schema): Schema | undefined {
  const array = branches(schema).find((b) => b.type === 'array');
  return array && isSchema(array.items) ? array.items : undefined;
}

function isGoZeroMeaningAbsent(property: Schema, field: unknown): boolean {
  const types = typesOf(property);
  if (field === null) return !types.includes('null');
  if (field === '') return types.includes('string');
  if (field === 0) {
    const numeric = branches(property).filter((b) => b.type === 'integer' || b.type === 'number');
    return numeric.length > 0 && types.every((t) => t === 'integer' || t === 'number') && numeric.every((b) => refusesZero(b));
  }
  return false;
}

function refusesZero(schema: Schema): boolean {
  if (Array.isArray(schema.enum)) return !schema.enum.includes(0);
  if (typeof schema.minimum === 'number' && schema.minimum > 0) return true;
  if (typeof schema.exclusiveMinimum === 'number' && schema.exclusiveMinimum >= 0) return true;
  return false;
}
