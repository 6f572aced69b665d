import type { RouteOptions } from 'fastify';
import type yamlModule from 'yaml';
import { lazy } from '../kernel/lazy.js';

const yaml = lazy<typeof yamlModule>('yaml');

/**
 * Builds the OpenAPI 3.1 document of what a cloud's routes actually accept and return, from
 * the same schemas Fastify validates and serializes with, so the document cannot drift from
 * the server.
 */
export interface OpenApiInfo {
  title: string;
  version: string;
  serverUrl: string;
  securitySchemes: Record<string, unknown>;
  security: Record<string, string[]>[];
  errorSchema: unknown;
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
}

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

  document(): { json: string; yaml: string } {
    if (this.cached) return this.cached;
    const doc = this.build();
    this.cached = { json: JSON.stringify(doc, null, 2), yaml: yaml().stringify(doc, { aliasDuplicateObjects: false }) };
    return this.cached;
  }

  private build(): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const route of this.routes) {
      const config = (route.config ?? {}) as { doc?: RouteDoc };
      const doc = config.doc ?? {};
      if (doc.hide) continue;
      const methods = (Array.isArray(route.method) ? route.method : [route.method]).map((m) => m.toLowerCase());
      if (methods.includes('head') && methods.length === 1) continue;
      const path = route.url.slice(this.prefix.length).replace(/:([A-Za-z0-9_]+)/g, '{$1}') || '/';
      const schema = (route.schema ?? {}) as Record<string, any>;
      const parameters = [
        ...toParameters(schema.params, 'path'),
        ...toParameters(schema.querystring, 'query'),
      ];
      const responses: Record<string, unknown> = doc.noContent ? { '204': { description: 'No content' } } : {};
      for (const [status, body] of Object.entries((schema.response ?? {}) as Record<string, any>)) {
        responses[status] =
          status === '204' || body === null
            ? { description: 'No content' }
            : { description: 'Success', content: { 'application/json': { schema: clean(body) } } };
      }
      responses.default = { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
      const operation: Record<string, unknown> = {
        ...(doc.operationId ? { operationId: doc.operationId } : {}),
        ...(doc.summary ? { summary: doc.summary } : {}),
        ...(doc.tags ? { tags: doc.tags } : {}),
        ...(parameters.length ? { parameters } : {}),
        ...(schema.body ? { requestBody: { required: true, content: { 'application/json': { schema: clean(schema.body) } } } } : {}),
        responses,
        ...(doc.public ? { security: [] } : {}),
      };
      for (const method of methods) {
        if (method === 'head') continue;
        (paths[path] ??= {})[method] = operation;
      }
    }
    return {
      openapi: '3.1.0',
      info: { title: this.info.title, version: this.info.version },
      servers: [{ url: this.info.serverUrl }],
      security: this.info.security,
      paths,
      components: { securitySchemes: this.info.securitySchemes, schemas: { Error: clean(this.info.errorSchema) } },
    };
  }
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

/** A plain-JSON copy of a schema: TypeBox's symbol keys and `$id`s are dropped. */
function clean(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema, (key, value) => (key === '$id' ? undefined : value)));
}
