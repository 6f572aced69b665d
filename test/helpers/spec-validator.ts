import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';

/**
 * Validates response bodies against a provider's reference specification (the stripped copy
 * under spec/). One helper for both clouds: it reads OpenAPI 3 (`components`) and Swagger 2
 * (`definitions`) documents alike.
 */
export class SpecValidator {
  private readonly ajv: Ajv;
  private readonly routes: { method: string; template: string; pattern: RegExp; params: number }[] = [];
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly doc: any;

  constructor(file: URL | string, private readonly basePath: string) {
    this.doc = openApi30ToJsonSchema(JSON.parse(readFileSync(file, 'utf8')));
    this.ajv = new Ajv({ strict: false, allErrors: true });
    (formats as unknown as (ajv: Ajv) => Ajv)(this.ajv);
    // Swagger 2 integer formats that ajv-formats does not know (Crusoe's spec uses uint32).
    this.ajv.addFormat('uint32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff });
    this.ajv.addFormat('uint64', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= 0 });
    this.ajv.addSchema(this.doc, 'spec');
    for (const [template, item] of Object.entries<Record<string, unknown>>(this.doc.paths)) {
      const pattern = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`);
      for (const method of Object.keys(item)) {
        if (method === 'parameters') continue;
        this.routes.push({ method: method.toUpperCase(), template, pattern, params: (template.match(/\{/g) ?? []).length });
      }
    }
    // Literal segments win over parameters (e.g. /instances/operations over /instances/{id}).
    this.routes.sort((a, b) => a.params - b.params);
  }

  /** The operation's template for a request, or undefined when the spec has no such route. */
  operation(method: string, path: string): string | undefined {
    const relative = path.split('?')[0]!.slice(this.basePath.length) || '/';
    return this.routes.find((r) => r.method === method.toUpperCase() && r.pattern.test(relative))?.template;
  }

  /** Problems with a response, or [] when it matches what the spec promises for that status. */
  check(method: string, path: string, status: number, body: unknown): string[] {
    const template = this.operation(method, path);
    if (!template) return [`the spec has no operation ${method} ${path}`];
    const responses = this.doc.paths[template][method.toLowerCase()].responses as Record<string, any>;
    const key = responses[String(status)] ? String(status) : 'default';
    const response = responses[key];
    if (!response) return [`the spec lists no ${status} response for ${method} ${template}`];
    const pointer = this.schemaPointer(template, method.toLowerCase(), key, response);
    if (pointer === null) {
      // An operation that produces something other than JSON (a CSV export) has a body the
      // spec gives no JSON schema for: any text answers it.
      const produces = (this.doc.paths[template][method.toLowerCase()].produces ?? this.doc.produces ?? []) as string[];
      if (status < 300 && produces.length > 0 && !produces.some((p) => p.includes('json'))) return typeof body === 'string' ? [] : [`${method} ${template} ${status} should be ${produces.join(' or ')} text`];
      return body === undefined || body === '' ? [] : [`${method} ${template} ${status} should have no body`];
    }
    let validate = this.compiled.get(pointer);
    if (!validate) {
      validate = this.ajv.getSchema(pointer);
      if (!validate) throw new Error(`cannot resolve ${pointer}`);
      this.compiled.set(pointer, validate);
    }
    if (validate(body)) return [];
    return (validate.errors ?? []).map((e) => `${method} ${template} ${status}: ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
  }

  /** Whether the spec lists this status (or a default) for the operation. */
  lists(method: string, path: string, status: number): boolean {
    const template = this.operation(method, path);
    if (!template) return false;
    const responses = this.doc.paths[template][method.toLowerCase()].responses as Record<string, unknown>;
    return responses[String(status)] !== undefined || responses.default !== undefined;
  }

  /** Problems with a body checked against one of the spec's shared responses (e.g. an error shape). */
  checkShared(name: string, body: unknown): string[] {
    const shared = this.doc.responses?.[name] ?? this.doc.components?.responses?.[name];
    if (!shared) return [`the spec has no shared response ${name}`];
    const prefix = this.doc.responses?.[name] ? `spec#/responses/${escape(name)}` : `spec#/components/responses/${escape(name)}`;
    const pointer = this.bodyPointer(prefix, shared);
    if (pointer === null) return [`the shared response ${name} has no body`];
    let validate = this.compiled.get(pointer);
    if (!validate) {
      validate = this.ajv.getSchema(pointer);
      if (!validate) throw new Error(`cannot resolve ${pointer}`);
      this.compiled.set(pointer, validate);
    }
    if (validate(body)) return [];
    return (validate.errors ?? []).map((e) => `${name}: ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
  }

  private schemaPointer(template: string, method: string, status: string, response: any): string | null {
    const base = `spec#/paths/${escape(template)}/${method}/responses/${status}`;
    if (response.$ref) {
      const name = String(response.$ref).split('/').pop()!;
      const shared = this.doc.responses?.[name] ?? this.doc.components?.responses?.[name];
      const prefix = this.doc.responses?.[name] ? `spec#/responses/${escape(name)}` : `spec#/components/responses/${escape(name)}`;
      return this.bodyPointer(prefix, shared);
    }
    return this.bodyPointer(base, response);
  }

  private bodyPointer(prefix: string, response: any): string | null {
    if (response?.schema) return `${prefix}/schema`; // Swagger 2
    if (response?.content?.['application/json']?.schema) return `${prefix}/content/application~1json/schema`;
    return null;
  }
}

function escape(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * OpenAPI 3.0's `nullable: true` (and Swagger 2's `x-nullable: true`, its go-swagger
 * spelling) becomes JSON Schema's type list, which Ajv understands.
 */
function openApi30ToJsonSchema(node: any): any {
  if (Array.isArray(node)) return node.map(openApi30ToJsonSchema);
  if (node === null || typeof node !== 'object') return node;
  const out: any = {};
  for (const [key, value] of Object.entries(node)) out[key] = openApi30ToJsonSchema(value);
  if (out['x-nullable'] === true) {
    delete out['x-nullable'];
    out.nullable = true;
  }
  if (out.nullable === true) {
    delete out.nullable;
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
    if (out.$ref) return { anyOf: [{ $ref: out.$ref }, { type: 'null' }] };
    if (out.oneOf || out.anyOf || out.allOf) return { anyOf: [out, { type: 'null' }] };
  }
  return out;
}
