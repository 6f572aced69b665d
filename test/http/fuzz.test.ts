import { Agent, request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrusoeClient, crusoeSpecValidator, goCanonicalQuery, goTimestamp, signCrusoe } from '../helpers/crusoe.js';
import { createInstance, createKey, REGION } from '../helpers/genesis.js';
import { GENESIS, genesisSpecValidator, publicKey } from '../helpers/hangar.js';
import { HttpClient } from '../helpers/http-client.js';
import { postgresSchema, postgresUrl, spawnHangar, type HangarProcess } from '../helpers/process.js';
import type { SpecValidator } from '../helpers/spec-validator.js';

/**
 * Generated bad input (fast-check): requests built from each API's own OpenAPI document, with
 * path ids, query parameters, bodies, headers and encodings drawn from valid values, near
 * misses and garbage; Crusoe requests mostly signed properly so they reach the validators.
 * Every answer must be below 500 (a Genesis 503 "out of stock" excepted), every 4xx in the
 * error body of the API called, every 2xx what the reference spec promises.
 *
 * The seed is printed; HANGAR_FUZZ_SEED=<seed> replays a run, HANGAR_FUZZ_RUNS sets its size.
 * Hangar runs as a process of its own (on the engine the suite runs on), so that it and the
 * generator each have a core, over keep-alive connections.
 */
const SEED = process.env.HANGAR_FUZZ_SEED ? Number(process.env.HANGAR_FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const RUNS = Number(process.env.HANGAR_FUZZ_RUNS ?? 10_000);
const CONCURRENCY = 16;

interface Operation {
  cloud: 'genesis' | 'crusoe';
  prefix: string;
  method: string;
  template: string;
  query: string[];
  body: Schema | null;
}
type Schema = Record<string, any>;
interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  cloud: 'genesis' | 'crusoe';
}

describe('generated bad input against both APIs', () => {
  let server: HangarProcess;
  let store: Awaited<ReturnType<typeof postgresSchema>> | null = null;
  let operations: Operation[];
  let known: { ids: string[]; strings: string[] };
  const token = 'fuzz-genesis-token';
  const crusoe: Record<string, string> = { access_key: 'fuzz-access-key', secret_key: Buffer.alloc(24, 7).toString('base64url') };
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

  beforeAll(async () => {
    store = process.env.HANGAR_TEST_ENGINE === 'postgres' && postgresUrl ? await postgresSchema(postgresUrl) : null;
    server = await spawnHangar({
      HANGAR_DATABASE_URL: store?.url ?? 'sqlite::memory:',
      HANGAR_SECRET_KEY: 'hangar-test-sealing-key',
      HANGAR_TIMINGS: 'instant',
      HANGAR_DEMO_GENESIS_TOKEN: token,
      HANGAR_DEMO_CRUSOE_ACCESS_KEY: crusoe.access_key!,
      HANGAR_DEMO_CRUSOE_SECRET_KEY: crusoe.secret_key!,
    }, { timeoutMs: 90_000 });
    const genesis = new HttpClient(server.url + GENESIS, { authorization: `Bearer ${token}` }, genesisSpecValidator());
    const key = await createKey(genesis);
    const instance = await createInstance(genesis, { ssh_keys: [key.id] });
    const volume = (await genesis.post('/volumes', { name: 'v', size: 10, region: REGION })).body.volume;
    const c = new CrusoeClient(server.url, crusoe as never, () => Date.now());
    const project = (await c.get('/organizations/projects')).body.items[0];
    crusoe.project_id = project.id;
    crusoe.organization_id = project.organization_id;
    const made = await c.post(`/projects/${project.id}/compute/vms/instances`, { name: 'vm', type: 'c1a.2x', location: 'us-east1-a', ssh_public_key: publicKey() });
    expect(made.status, made.text).toBe(200);
    const vm = (await c.get(`/projects/${project.id}/compute/vms/instances`)).body.items[0];
    known = {
      ids: [key.id, instance.id, volume?.id, vm?.id, project.id, project.organization_id, made.body.operation.operation_id].filter(Boolean),
      strings: [REGION, 'vcpu-2_memory-4g', 'ubuntu-22.04', 'us-east1-a', 'c1a.2x', 'persistent-ssd', '10GiB', 'START', 'STOP', 'start', 'stop', 'ssd', publicKey()],
    };
    operations = [...(await operationsOf(server.url, 'genesis', '/compute/v1')), ...(await operationsOf(server.url, 'crusoe', '/v1alpha5'))];
    console.log(`fuzz seed: ${SEED} (replay with HANGAR_FUZZ_SEED=${SEED}), ${RUNS} requests over ${operations.length} operations`);
  }, 120_000);
  afterAll(async () => {
    agent.destroy();
    await server?.stop();
    await store?.drop();
  });

  it(`answers ${RUNS} generated requests without a 5xx, in each API's error body`, async () => {
    const started = performance.now();
    const requests = fc.sample(requestArbitrary(operations, known, { token, crusoe, now: () => Date.now() }), { seed: SEED, numRuns: RUNS });
    const validators = { genesis: genesisSpecValidator(), crusoe: crusoeSpecValidator() };
    const problems: string[] = [];
    const tally = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      while (next < requests.length && problems.length < 10) {
        const sent = requests[next++]!;
        const answer = await send(server.url, agent, sent);
        const kind = `${sent.cloud} ${answer.status}`;
        tally.set(kind, (tally.get(kind) ?? 0) + 1);
        const problem = judge(sent, answer, validators[sent.cloud]);
        if (problem) problems.push(`${problem}\n  request: ${JSON.stringify(sent).slice(0, 1500)}\n  answer: ${answer.status} ${answer.text.slice(0, 500)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    console.log(`fuzz: ${next} requests in ${((performance.now() - started) / 1000).toFixed(1)} s (seed ${SEED}): ${[...tally].sort().map(([k, n]) => `${k}: ${n}`).join(', ')}`);
    expect(problems, `seed ${SEED}: replay with HANGAR_FUZZ_SEED=${SEED}`).toEqual([]);
    expect(next).toBe(RUNS);
  }, 600_000);
});

/** Every operation of an API's OpenAPI document, with its query parameters and body schema. */
async function operationsOf(base: string, cloud: 'genesis' | 'crusoe', prefix: string): Promise<Operation[]> {
  const doc = (await (await fetch(`${base}${prefix}/openapi.json`)).json()) as { paths: Record<string, Record<string, any>> };
  const out: Operation[] = [];
  for (const [template, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      if (method === 'parameters') continue;
      // Deleting the caller's project would turn the rest of the run into 403s (it is tested elsewhere).
      if (method === 'delete' && /\/projects\/\{project_id\}$/.test(template)) continue;
      const query = (op.parameters ?? []).filter((p: any) => p.in === 'query').map((p: any) => p.name as string);
      out.push({ cloud, prefix, method: method.toUpperCase(), template, query, body: op.requestBody?.content?.['application/json']?.schema ?? null });
    }
  }
  return out;
}

const NASTY_STRINGS = ['', ' ', 'a\u0000b', '\u0000', '..', '../..', '%', 'ü\u00e9\u4e2d', '\ud83d\ude80', '<script>', "'; drop table accounts; --", 'x'.repeat(300), '-1', '1e999', 'null', '{}', '\u202e'];
const NASTY_NUMBERS = [0, -1, 1.5, 2 ** 31, 2 ** 31 - 1, -(2 ** 31) - 1, 2 ** 53 + 2, 1e308, -1e308, 5e-324];
/** Path segments sent as written: bad encodings, NUL, dot segments, over-long. */
const RAW_SEGMENTS = ['%ff%fe', '%00', '%2e%2e', '..', '%', '%zz', 'a'.repeat(150), '%E2%9C%93', '%20', 'a%2fb', ''];

/** Values each API accepts for fields of these names: requests that carry them get past the checks to the rules behind. */
const FIELD_HINTS: Record<string, unknown[]> = {
  type: ['vcpu-2_memory-4g', 'c1a.2x', 'persistent-ssd', 'ssd', 'hdd'],
  image: ['ubuntu-22.04', '7b1644e2-d97d-4725-a927-0028bc60bc28'],
  region: [REGION],
  location: ['us-east1-a'],
  size: ['10GiB', 10, 50],
  disk_size: [80, 100],
  name: ['fuzz', 'fuzz-2'],
  hostname: ['fuzz'],
  template_name: ['fuzz'],
  ssh_public_key: [],
  value: [],
  action: ['start', 'stop', 'reset', 'START', 'STOP'],
  cidr: ['10.30.0.0/16', '10.30.1.0/24'],
};

/** A value for a field: one the API accepts for a field of that name, or one its schema allows. */
function fieldValue(name: string, schema: Schema | undefined, known: { ids: string[]; strings: string[] }, depth: number): fc.Arbitrary<unknown> {
  const hints = FIELD_HINTS[name];
  if (hints === undefined) return valueFor(schema, known, depth);
  const values = hints.length > 0 ? hints : [publicKey()];
  return fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...values) }, { weight: 1, arbitrary: valueFor(schema, known, depth) });
}

/** A value for a schema: mostly one it allows (to get past validation), often a near miss, sometimes anything. */
function valueFor(schema: Schema | undefined, known: { ids: string[]; strings: string[] }, depth = 0): fc.Arbitrary<unknown> {
  const garbage = fc.oneof(fc.constantFrom<unknown>(...NASTY_STRINGS, ...NASTY_NUMBERS, null, true, [], {}), fc.jsonValue({ maxDepth: 2 }));
  if (!schema || depth > 4) return garbage;
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s: Schema) => valueFor(s, known, depth + 1)), garbage);
  if (schema.enum) return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...schema.enum) }, { weight: 1, arbitrary: garbage });
  const types = ([] as string[]).concat(schema.type ?? []);
  const choices: fc.Arbitrary<unknown>[] = [];
  if (types.includes('string')) choices.push(fc.constantFrom(...known.ids, ...known.strings), fc.string({ maxLength: 12 }), fc.uuid());
  if (types.includes('integer') || types.includes('number')) {
    choices.push(fc.integer({ min: schema.minimum ?? 0, max: Math.min(schema.maximum ?? 2_000, 2_000) }), fc.constantFrom(...NASTY_NUMBERS));
  }
  if (types.includes('boolean')) choices.push(fc.boolean());
  if (types.includes('null')) choices.push(fc.constant(null));
  if (types.includes('array')) choices.push(fc.array(valueFor(schema.items, known, depth + 1), { maxLength: 3 }));
  if (types.includes('object') || schema.properties) choices.push(objectFor(schema, known, depth));
  if (choices.length === 0) return garbage;
  return fc.oneof({ weight: 6, arbitrary: fc.oneof(...choices) }, { weight: 1, arbitrary: garbage });
}

function objectFor(schema: Schema, known: { ids: string[]; strings: string[] }, depth: number): fc.Arbitrary<unknown> {
  const properties: Record<string, Schema> = schema.properties ?? {};
  const names = Object.keys(properties);
  const record = fc.record(Object.fromEntries(names.map((name) => [name, fieldValue(name, properties[name], known, depth + 1)])), {
    requiredKeys: [],
  });
  // Usually the required fields are there (a request that gets past "x is required" reaches the rest).
  const required: string[] = schema.required ?? [];
  const complete = fc
    .tuple(record, fc.record(Object.fromEntries(required.map((name) => [name, fieldValue(name, properties[name], known, depth + 1)]))))
    .map(([some, needed]) => ({ ...some, ...needed }));
  const extra = fc.dictionary(fc.constantFrom('extra', '__proto__', 'constructor', 'x\u0000', ''), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 });
  return fc.oneof({ weight: 3, arbitrary: complete }, { weight: 1, arbitrary: record }, { weight: 1, arbitrary: fc.tuple(complete, extra).map(([a, b]) => ({ ...a, ...b })) });
}

const encodeSegment = (value: string) => encodeURIComponent(value);

function requestArbitrary(
  operations: Operation[],
  known: { ids: string[]; strings: string[] },
  auth: { token: string; crusoe: Record<string, string>; now: () => number },
): fc.Arbitrary<Sent> {
  const segment = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...known.ids).map(encodeSegment) },
    { weight: 2, arbitrary: fc.uuid().map(encodeSegment) },
    { weight: 2, arbitrary: fc.constantFrom(...NASTY_STRINGS).map(encodeSegment) },
    { weight: 2, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
    { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map(encodeSegment) },
  );
  const queryValue = fc.oneof(
    fc.constantFrom(...known.ids, ...known.strings).map(encodeSegment),
    fc.integer({ min: -5, max: 200 }).map(String),
    fc.constantFrom('99999999999999999999', '1e400', '-0', '1.5', 'NaN', 'true', '', '%ff', '%00', '%', 'a%2Cb', '2147483648'),
    fc.string({ maxLength: 10 }).map(encodeSegment),
  );
  const operation = fc.constantFrom(...operations);
  return fc
    .record({
      op: operation,
      method: fc.oneof({ weight: 12, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS') }),
      segments: fc.array(segment, { minLength: 4, maxLength: 4 }),
      query: fc.array(fc.tuple(fc.oneof(fc.constant(null), fc.constantFrom('page', 'per_page', 'limit', 'x', '%ff', 'sort', 'next_token')), queryValue), { maxLength: 3 }),
      body: fc.option(fc.constant(true), { freq: 5 }),
      rawBody: fc.constantFrom('{"name":', '[1,2', 'not json', '', 'null', '[]', '1e999', '{"a":1e999}', '"\\u0000"', '{"name":"\\ud800"}'),
      bodyChoice: fc.nat(9),
      value: fc.constant(null),
      contentType: fc.constantFrom('application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', null, 'application/x-www-form-urlencoded'),
      authChoice: fc.nat(19),
      seed: fc.nat(),
    })
    .chain((r) => {
      const bodyValue = r.op.body ? valueFor(r.op.body, known) : fc.jsonValue({ maxDepth: 2 });
      return fc.tuple(fc.constant(r), bodyValue);
    })
    .map(([r, bodyValue]) => {
      const { op } = r;
      let i = 0;
      // (a project-scoped Crusoe path mostly names the caller's project: others are refused before any validation)
      const path =
        op.prefix +
        op.template.replace(/\{([^}]+)\}/g, (_, name: string) => (name === 'project_id' && r.authChoice < 17 ? auth.crusoe.project_id! : r.segments[i++ % r.segments.length]!));
      const query = r.query.map(([name, value], n) => `${name ?? op.query[n % Math.max(1, op.query.length)] ?? 'q'}=${value}`).join('&');
      const method = r.method ?? op.method;
      const headers: Record<string, string> = {};
      let body: string | undefined;
      if (op.body ? r.bodyChoice < 8 : r.bodyChoice === 0) body = r.bodyChoice === 7 ? r.rawBody : JSON.stringify(bodyValue);
      if (body !== undefined && r.contentType !== null) headers['content-type'] = r.contentType;
      authorize(headers, op.cloud, method, path, query, r.authChoice, auth);
      return { method, path: query === '' ? path : `${path}?${query}`, headers, body, cloud: op.cloud };
    });
}

/** Credentials as clients send them (most of the time), or missing, wrong, garbled. */
function authorize(headers: Record<string, string>, cloud: 'genesis' | 'crusoe', method: string, path: string, query: string, choice: number, auth: { token: string; crusoe: Record<string, string>; now: () => number }): void {
  if (cloud === 'genesis') {
    if (choice < 16) headers.authorization = `Bearer ${auth.token}`;
    else if (choice === 16) headers['x-auth-token'] = auth.token;
    else if (choice === 17) headers.authorization = 'Bearer not-a-token';
    else if (choice === 18) headers.authorization = 'Basic Zm9vOmJhcg==';
    return;
  }
  const timestamp = goTimestamp(auth.now());
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // (an undecodable path is signed as written: the server refuses it either way)
  }
  let canonical = '';
  try {
    canonical = goCanonicalQuery(query);
  } catch {
    canonical = query;
  }
  void canonical;
  const signature = signCrusoe({ secret: auth.crusoe.secret_key!, method, path: decoded, rawQuery: query, timestamp });
  if (choice < 17) {
    headers.authorization = `Bearer 1.0:${auth.crusoe.access_key}:${signature}`;
    headers['x-crusoe-timestamp'] = timestamp;
  } else if (choice === 17) {
    headers.authorization = `Bearer 1.0:${auth.crusoe.access_key}:${signature.slice(1)}x`;
    headers['x-crusoe-timestamp'] = timestamp;
  } else if (choice === 18) {
    headers.authorization = `Bearer 1.0:${auth.crusoe.access_key}:${signature}`;
    headers['x-crusoe-timestamp'] = 'yesterday';
  }
}

function send(base: string, agent: Agent, sent: Sent): Promise<{ status: number; text: string; contentType: string }> {
  const url = new URL(base);
  return new Promise((resolve) => {
    const headers = { ...sent.headers, ...(sent.body !== undefined ? { 'content-length': String(Buffer.byteLength(sent.body)) } : {}) };
    const req = httpRequest({ host: url.hostname, port: url.port, path: sent.path, method: sent.method, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, text, contentType: String(res.headers['content-type'] ?? '') }));
    });
    req.on('error', (error) => resolve({ status: 0, text: `request failed: ${error.message}`, contentType: '' }));
    if (sent.body !== undefined) req.write(sent.body);
    req.end();
  });
}

/** What is wrong with an answer, or null. */
function judge(sent: Sent, answer: { status: number; text: string; contentType: string }, validator: SpecValidator): string | null {
  const { status, text } = answer;
  if (status === 0) return text;
  let body: any;
  try {
    body = text === '' ? undefined : answer.contentType.includes('json') ? JSON.parse(text) : text;
  } catch {
    return `a body that is not JSON (${answer.contentType})`;
  }
  if (status >= 500) {
    if (sent.cloud === 'genesis' && status === 503 && body?.code === '02036') return null; // out of stock: the cloud's own answer
    return `a ${status}`;
  }
  const path = sent.path.split('?')[0]!;
  if (status >= 400) {
    if (sent.cloud === 'genesis') {
      const ok = isObject(body) && sameKeys(body, ['code', 'message']) && /^\d{5}$/.test(body.code) && typeof body.message === 'string' && body.message !== '';
      return ok ? null : 'a 4xx not in the Genesis error body';
    }
    const plain = isObject(body) && sameKeys(body, ['code', 'error_id', 'message', 'reason']) && body.code === String(status);
    const rpc = isObject(body) && sameKeys(body, ['code', 'details', 'error_id', 'message', 'reason']) && typeof body.code === 'number';
    return (plain || rpc) && typeof body.message === 'string' && body.message !== '' ? null : 'a 4xx not in the Crusoe error body';
  }
  if (!validator.operation(sent.method, path)) return null; // (the OpenAPI documents and the like)
  const problems = validator.check(sent.method, path, status, body);
  return problems.length === 0 ? null : `a ${status} that does not match the reference spec: ${problems.join('; ')}`;
}

const isObject = (value: unknown): value is Record<string, any> => typeof value === 'object' && value !== null && !Array.isArray(value);
const sameKeys = (value: Record<string, unknown>, keys: string[]) => JSON.stringify(Object.keys(value).sort()) === JSON.stringify(keys);
