import type { FastifyInstance, RouteOptions } from 'fastify';
import type yamlModule from 'yaml';
import { lazy } from '../kernel/lazy.js';

const yaml = lazy<typeof yamlModule>('yaml');

/**
 * Builds the OpenAPI 3.1 document of what an API's routes actually accept and return, from
 * the same schemas Fastify validates and serializes with, so the document cannot drift from
 * the server. (@fastify/swagger does the schema part too; see README "API reference" for why
 * Hangar keeps its own: three documents from one server, each with its own errors.)
 */
export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
  serverUrl: string;
  securitySchemes: Record<string, unknown>;
  security: Record<string, string[]>[];
  /** The body of this API's errors (components.schemas.Error). */
  errorSchema: unknown;
  /** Other error bodies some routes answer with, by component name (see `errorSchemaOf`). */
  otherErrorSchemas?: Record<string, unknown>;
  /** The component name of a route's error body, when it is not `Error`. */
  errorSchemaOf?(config: Record<string, unknown>): string | undefined;
  /** The error statuses an operation can answer, with what each means in this API. */
  errors(operation: OperationShape): Record<number, string>;
}

/** What the error statuses of an operation are worked out from. */
export interface OperationShape {
  method: string;
  /** The path as documented, e.g. /instances/{instance_id}. */
  path: string;
  /** It takes a body or query parameters: input that can be refused. */
  takesInput: boolean;
  public: boolean;
  doc: RouteDoc;
}

export interface RouteDoc {
  operationId?: string;
  summary?: string;
  tags?: string[];
  /** Routes that answer without credentials (such as the document itself). */
  public?: boolean;
  hide?: boolean;
  /** Answers 204 with no body. */
  noContent?: boolean;
  /** Answers 200 with an empty body. */
  emptyOk?: boolean;
  /** Answers 200 with a body of this media type that has no JSON schema (e.g. text/csv). */
  produces?: string;
  /** Error statuses this route answers beyond those its API's `errors` works out, with what they mean. */
  errors?: Record<number, string>;
}

/** What each error status means, unless an API says more precisely. */
export const ERROR_MEANINGS = {
  400: 'Bad request: a field is missing, malformed or out of range (the message names it)',
  401: 'Unauthorized: the credentials are missing or not valid',
  403: 'Forbidden',
  404: 'Not found: no such resource for this account',
  409: 'Conflict: the resource is in use, or its name is taken',
  413: 'The request body is too large',
  429: 'Too many requests: the rate limit was reached; retry after a second',
  500: 'Internal error',
  503: 'Service unavailable: the store cannot be reached right now; retry shortly',
} as const;

export class OpenApiCollector {
  private readonly routes: RouteOptions[] = [];
  private cached: { json: string; yaml: string } | null = null;

  constructor(
    private readonly prefix: string,
    private readonly info: OpenApiInfo,
  ) {}

  add(route: RouteOptions): void {
    this.routes.push(route);
    this.cached = null;
  }

  /** Collects every route registered under the prefix in `app` (call before registering them). */
  collect(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      if (route.url.startsWith(this.prefix)) this.add(route);
    });
  }

  /** Serves the document at `<prefix>/openapi.json` and `<prefix>/openapi.yaml`, without credentials. */
  serve(app: FastifyInstance): void {
    for (const format of ['json', 'yaml'] as const) {
      app.get(`/openapi.${format}`, { config: { doc: { public: true, hide: true } } }, async (_request, reply) => {
        const doc = this.document();
        return reply.type(format === 'json' ? 'application/json; charset=utf-8' : 'application/yaml; charset=utf-8').send(doc[format]);
      });
    }
  }

  document(): { json: string; yaml: string } {
    if (this.cached) return this.cached;
    const doc = this.build();
    this.cached = { json: JSON.stringify(doc, null, 2), yaml: yaml().stringify(doc, { aliasDuplicateObjects: false }) };
    return this.cached;
  }

  private build(): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const route of this.routes) {
      const config = (route.config ?? {}) as { doc?: RouteDoc } & Record<string, unknown>;
      const doc = config.doc ?? {};
      if (doc.hide) continue;
      const methods = (Array.isArray(route.method) ? route.method : [route.method]).map((m) => m.toLowerCase());
      if (methods.includes('head') && methods.length === 1) continue;
      const path = route.url.slice(this.prefix.length).replace(/:([A-Za-z0-9_]+)/g, '{$1}') || '/';
      const schema = (route.schema ?? {}) as Record<string, any>;
      const parameters = [...toParameters(schema.params, 'path'), ...toParameters(schema.querystring, 'query')];
      for (const method of methods) {
        if (method === 'head') continue;
        // (Path parameters name a resource: a wrong one is a 404, counted by the path itself.)
        const takesInput = schema.body !== undefined || schema.querystring !== undefined;
        const shape: OperationShape = { method: method.toUpperCase(), path, takesInput, public: doc.public === true, doc };
        const operation: Record<string, unknown> = {
          ...(doc.operationId ? { operationId: doc.operationId } : {}),
          ...(doc.summary ? { summary: doc.summary } : {}),
          ...(doc.tags ? { tags: doc.tags } : {}),
          ...(parameters.length ? { parameters } : {}),
          ...(schema.body ? { requestBody: { required: true, content: { 'application/json': { schema: clean(schema.body) } } } } : {}),
          responses: { ...successes(schema, doc), ...this.failures(shape, config) },
          ...(doc.public ? { security: [] } : {}),
        };
        (paths[path] ??= {})[method] = operation;
      }
    }
    return {
      openapi: '3.1.0',
      info: {
        title: this.info.title,
        version: this.info.version,
        ...(this.info.description ? { description: this.info.description } : {}),
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: this.info.serverUrl }],
      security: this.info.security,
      paths,
      components: {
        securitySchemes: this.info.securitySchemes,
        schemas: { Error: clean(this.info.errorSchema), ...mapValues(this.info.otherErrorSchemas ?? {}, clean) },
      },
    };
  }

  /** One response per error status the operation can answer, each with the API's error body. */
  private failures(shape: OperationShape, config: Record<string, unknown>): Record<string, unknown> {
    const body = { $ref: `#/components/schemas/${this.info.errorSchemaOf?.(config) ?? 'Error'}` };
    const statuses = { ...this.info.errors(shape), ...shape.doc.errors };
    const responses: Record<string, unknown> = {};
    for (const status of Object.keys(statuses).map(Number).sort((a, b) => a - b)) {
      responses[String(status)] = { description: statuses[status]!, content: { 'application/json': { schema: body } } };
    }
    return responses;
  }
}

/** The success responses a route documents: its response schemas, or the empty answers it declares. */
function successes(schema: Record<string, any>, doc: RouteDoc): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  if (doc.noContent) responses['204'] = { description: 'No content' };
  if (doc.emptyOk) responses['200'] = { description: 'Done (the answer has no body)' };
  if (doc.produces) responses['200'] = { description: 'Success', content: { [doc.produces]: { schema: { type: 'string' } } } };
  for (const [status, body] of Object.entries((schema.response ?? {}) as Record<string, any>)) {
    responses[status] =
      status === '204' || body === null ? { description: 'No content' } : { description: 'Success', content: { 'application/json': { schema: clean(body) } } };
  }
  // A route without a response schema (the admin API's) answers a JSON object all the same.
  if (Object.keys(responses).length === 0) responses['200'] = { description: 'Success', content: { 'application/json': { schema: { type: 'object' } } } };
  return responses;
}

function toParameters(schema: any, where: 'path' | 'query'): unknown[] {
  if (!schema || typeof schema !== 'object' || !schema.properties) return [];
  const required = new Set<string>(schema.required ?? []);
  return Object.entries(schema.properties as Record<string, unknown>).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    schema: clean(s),
  }));
}

function mapValues<T, U>(record: Record<string, T>, fn: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, fn(value)]));
}

/** A plain-JSON copy of a schema: TypeBox's symbol keys and `$id`s are dropped. */
function clean(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema, (key, value) => (key === '$id' ? undefined : value)));
}
