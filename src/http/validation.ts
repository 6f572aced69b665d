import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';
import type { FastifyInstance, FastifySchema } from 'fastify';
import fastJsonStringify from 'fast-json-stringify';

/**
 * Request validation. Bodies are JSON and are checked as sent: no type coercion, so
 * `"disk_size": "128"` is an error as it would be on the real cloud. Query strings and path
 * parameters arrive as text and are coerced to the declared types.
 */
export function installValidators(app: FastifyInstance): void {
  const strict = new Ajv({ allErrors: false, coerceTypes: false, useDefaults: true, removeAdditional: false, strict: false });
  const lenient = new Ajv({ allErrors: false, coerceTypes: 'array', useDefaults: true, removeAdditional: false, strict: false });
  const addFormats = formats as unknown as (ajv: Ajv) => Ajv;
  addFormats(strict);
  addFormats(lenient);
  // Compiled on first use, not at start-up: compiling every route's schemas is most of what
  // start-up costs, and most routes are never called in a given run.
  app.setValidatorCompiler(({ schema, httpPart, url }) => {
    const ajv = httpPart === 'body' ? strict : lenient;
    // (the admin API's numbers are counts and milliseconds of its own: only kept exact)
    const limit = url.startsWith('/admin/') ? Number.MAX_SAFE_INTEGER : NUMBER_LIMIT;
    let compiled: ValidateFunction | undefined;
    const validate = (data: unknown, context?: Parameters<ValidateFunction>[1]): boolean => {
      compiled ??= ajv.compile(bounded(schema, limit));
      const valid = compiled(data, context) as boolean;
      validate.errors = compiled.errors;
      return valid;
    };
    validate.errors = null as ValidateFunction['errors'];
    // What Fastify looks for to hand an Ajv function the request as the value's parent (so a
    // root value can be coerced in place), as it does for the compiled function itself.
    validate.schemaEnv = true;
    return validate;
  });
  // Response serializers likewise: the same fast-json-stringify Fastify would use, built when a
  // route first answers with that status.
  app.setSerializerCompiler(({ schema }) => {
    let serialize: ((data: unknown) => string) | undefined;
    return function serializeResponse(data: unknown) {
      return (serialize ??= fastJsonStringify(schema as object))(data);
    };
  });
}

/**
 * The largest number any request field may carry where its schema sets no bound of its own:
 * a 32-bit integer, as the store's integer columns hold (PostgreSQL refuses more, SQLite would
 * keep `1e+308`). No field of either API allows more; fields with a smaller range say so.
 */
export const NUMBER_LIMIT = 2_147_483_647;

/**
 * A copy of a request schema in which every number (and integer) without bounds of its own is
 * bounded to ±limit (NUMBER_LIMIT on the clouds' routes), so `"size": 1e308` or `?page=99999999999999999999` is refused by
 * validation with a message naming the field, instead of reaching the store.
 */
export function bounded(schema: unknown, limit = NUMBER_LIMIT): object {
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (node === null || typeof node !== 'object') return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) out[key] = key === 'enum' || key === 'const' || key === 'default' || key === 'examples' ? value : visit(value);
    const types = ([] as unknown[]).concat(out.type ?? []);
    if (types.includes('integer') || types.includes('number')) {
      if (out.maximum === undefined && out.exclusiveMaximum === undefined) out.maximum = limit;
      if (out.minimum === undefined && out.exclusiveMinimum === undefined) out.minimum = -limit - 1;
    }
    return out;
  };
  return visit(schema) as object;
}

/** Where a validation failure happened and what was wrong, in words a client can act on. */
export interface ValidationProblem {
  field: string;
  missing: boolean;
  message: string;
}

export function describeValidation(errors: ErrorObject[] | undefined, part: string | undefined): ValidationProblem {
  const error = errors?.[0];
  if (!error) return { field: part ?? 'request', missing: false, message: `invalid ${part ?? 'request'}` };
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (error.keyword === 'required') {
    const name = [...path, String(error.params.missingProperty)].join('.');
    return { field: name, missing: true, message: `"${name}" is required` };
  }
  const name = path.length > 0 ? path.join('.') : part === 'body' ? 'body' : part ?? 'request';
  if (name === 'body' && error.keyword === 'type') {
    return { field: name, missing: true, message: 'the request body must be a JSON object' };
  }
  const detail =
    error.keyword === 'enum'
      ? `must be one of: ${(error.params.allowedValues as unknown[]).join(', ')}`
      : error.keyword === 'type'
        ? `must be ${describeType(error.params.type)}`
        : error.message ?? 'is invalid';
  return { field: name, missing: false, message: `"${name}" ${detail}` };
}

function describeType(type: unknown): string {
  const types = Array.isArray(type) ? type : [type];
  return types.map((t) => (t === 'integer' ? 'an integer' : t === 'array' ? 'an array' : t === 'object' ? 'an object' : `a ${t}`)).join(' or ');
}

export type { FastifySchema };
