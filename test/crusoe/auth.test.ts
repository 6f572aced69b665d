import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHangar, T0, type TestHangar } from '../helpers/hangar.js';
import { crusoeClient, expectCrusoeError, goTimestamp, newCrusoeAccount, signCrusoe, type CrusoeClient } from '../helpers/crusoe.js';
import { publicKey } from '../helpers/hangar.js';
import { Families, succeeds } from './support.js';

describe('Crusoe request signing: every rejection is a 401 with the Crusoe error body', () => {
  let h: TestHangar;
  let c: CrusoeClient;
  beforeAll(async () => {
    h = await startHangar();
    c = crusoeClient(h);
  });
  afterAll(() => h.close());

  it('accepts a request signed as the Go client signs it, and a third-party client timestamp form', async () => {
    expect((await c.get('/users/identities')).status).toBe(200);
    const dstackStyle = goTimestamp(h.clock.now()).replace('Z', '+00:00');
    expect((await c.get('/locations', { timestamp: dstackStyle })).status).toBe(200);
  });

  it('canonicalizes the query: unsorted, repeated and escaped parameters verify', async () => {
    const res = await c.get('/capacities', { rawQuery: 'product_name=a100.1x%2Ca100.2x&location=us-east1-a&b=x+y&b=%2A~&flag' });
    expect(res.status, res.text).toBe(200);
    expect(res.body.items.map((i: any) => i.type).sort()).toEqual(['a100.1x', 'a100.2x']);
    const repeated = await c.get('/capacities', { rawQuery: 'location=us-east1-a&product_name=h100-80gb-sxm-ib.8x&product_name=a100.2x' });
    expect(repeated.status, repeated.text).toBe(200);
    expect(repeated.body.items.map((i: any) => i.type).sort()).toEqual(['a100.2x', 'h100-80gb-sxm-ib.8x']);
    // Signed over a differently ordered query than the canonical one: the signature must not verify.
    const wrong = await c.get('/capacities', { rawQuery: 'b=1&a=2', signAs: { rawQuery: '' } });
    expectCrusoeError(wrong, 401, 'bad_credential', 'signature does not match');
  });

  it('accepts the query signed as dstack signs it (sorted, values not re-encoded), and nothing looser', async () => {
    // dstack's CrusoeClient: "&".join(f"{k}={v}" for k, v in sorted(params.items())) is signed;
    // requests sends the same params form-encoded (the comma as %2C) in the dict's order.
    const timestamp = goTimestamp(h.clock.now()).replace('Z', '+00:00');
    const dstack = (signedQuery: string) => {
      const message = `/v1alpha5/capacities\n${signedQuery}\nGET\n${timestamp}\n`;
      const signature = createHmac('sha256', Buffer.from(c.credentials.secret_key, 'base64url')).update(message).digest('base64url');
      return `Bearer 1.0:${c.credentials.access_key}:${signature}`;
    };
    const rawQuery = 'product_name=a100.1x%2Ca100.2x&location=us-east1-a';
    const asDstack = await c.get('/capacities', { rawQuery, timestamp, authorization: dstack('location=us-east1-a&product_name=a100.1x,a100.2x') });
    expect(asDstack.status, asDstack.text).toBe(200);
    expect(asDstack.body.items.map((i: any) => i.type).sort()).toEqual(['a100.1x', 'a100.2x']);
    // The same request signed by the Go client (canonical form re-encoded) works too.
    expect((await c.get('/capacities', { rawQuery, timestamp })).status).toBe(200);
    // Looser forms are refused: unsorted, a value changed, a pair left out, encoded and decoded mixed.
    for (const signed of [
      'product_name=a100.1x,a100.2x&location=us-east1-a',
      'location=us-east1-a&product_name=a100.1x,a100.3x',
      'product_name=a100.1x,a100.2x',
      'location=us-east1-a&product_name=a100.1x%2ca100.2x',
    ]) {
      expectCrusoeError(await c.get('/capacities', { rawQuery, timestamp, authorization: dstack(signed) }), 401, 'bad_credential', 'signature does not match');
    }
  });

  it('rejects missing and malformed headers', async () => {
    expectCrusoeError(await c.get('/users/identities', { authorization: null }), 401, 'bad_credential', 'missing Authorization header');
    expectCrusoeError(await c.get('/users/identities', { authorization: 'Basic dXNlcjpwYXNz' }), 401, 'bad_credential', 'malformed Authorization header');
    expectCrusoeError(await c.get('/users/identities', { authorization: `Bearer 1.0:${c.credentials.access_key}` }), 401, 'bad_credential', 'malformed');
    expectCrusoeError(
      await c.get('/users/identities', { authorization: `Bearer 2.0:${c.credentials.access_key}:${'A'.repeat(43)}` }),
      401,
      'bad_credential',
      'unsupported signature version "2.0"',
    );
    expectCrusoeError(await c.get('/users/identities', { authorization: `Bearer 1.0:${c.credentials.access_key}:tooshort` }), 401, 'bad_credential', 'signature must be 43');
    expectCrusoeError(await c.get('/users/identities', { omitTimestamp: true }), 401, 'bad_credential', 'missing X-Crusoe-Timestamp');
    expectCrusoeError(await c.get('/users/identities', { timestamp: 'Tue, 05 Jan 2026 10:00:00 GMT' }), 401, 'bad_credential', 'malformed X-Crusoe-Timestamp');
  });

  it('rejects an unknown key and a wrong signature', async () => {
    const stranger = c.as({ access_key: 'AAAAAAAAAAAAAAAAAAAAAA', secret_key: c.credentials.secret_key });
    const unknown = await stranger.get('/users/identities');
    expectCrusoeError(unknown, 401, 'bad_credential', 'access key "AAAAAAAAAAAAAAAAAAAAAA" is unknown, deleted or expired');
    const forged = c.as({ ...c.credentials, secret_key: 'HrbZ3VTUb2YNAq53Md1EsA' });
    expectCrusoeError(await forged.get('/users/identities'), 401, 'bad_credential', 'the signature does not match');
    expectCrusoeError(await c.get('/users/identities', { signAs: { method: 'POST' } }), 401, 'bad_credential', 'signature does not match');
    expectCrusoeError(await c.get('/users/identities', { signAs: { path: '/users/tokens' } }), 401, 'bad_credential', 'signature does not match');
    expectCrusoeError(await c.get('/capacities', { query: { location: 'us-east1-a' }, signAs: { rawQuery: 'location=eu-iceland1-a' } }), 401, 'bad_credential', 'signature does not match');
  });

  it('rejects timestamps outside a five-minute window, so a captured request cannot be replayed later', async () => {
    const now = h.clock.now();
    expect((await c.get('/locations', { timestamp: goTimestamp(now - 4 * 60_000) })).status).toBe(200);
    expect((await c.get('/locations', { timestamp: goTimestamp(now + 4 * 60_000) })).status).toBe(200);
    expectCrusoeError(await c.get('/locations', { timestamp: goTimestamp(now - 6 * 60_000) }), 401, 'bad_credential', 'outside the allowed window of 5 minutes');
    expectCrusoeError(await c.get('/locations', { timestamp: goTimestamp(now + 6 * 60_000) }), 401, 'bad_credential', 'outside the allowed window');

    // The same signed request, replayed byte for byte once the clock has moved on.
    const timestamp = goTimestamp(now);
    const authorization = `Bearer 1.0:${c.credentials.access_key}:${signCrusoe({ secret: c.credentials.secret_key, method: 'GET', path: '/v1alpha5/users/ssh-keys', rawQuery: '', timestamp })}`;
    expect((await c.get('/users/ssh-keys', { timestamp, authorization })).status).toBe(200);
    await h.advance(6 * 60_000);
    expectCrusoeError(await c.get('/users/ssh-keys', { timestamp, authorization }), 401, 'bad_credential', 'outside the allowed window');
  });

  it('stops accepting a token the moment it expires or is deleted', async () => {
    const t = h.clock.now();
    const made = await c.post('/users/tokens', { alias: 'short', expires_at: goTimestamp(t + 3_600_000) });
    expect(made.status, made.text).toBe(200);
    const short = c.as({ access_key: made.body.token.access_key, secret_key: made.body.token.secret_key });
    expect((await short.get('/users/identities')).status).toBe(200);
    await h.advance(3_600_000);
    expectCrusoeError(await short.get('/users/identities'), 401, 'bad_credential', 'unknown, deleted or expired');
    // Expired tokens are still listed (with their expiry), never with a secret.
    const listed = (await c.get('/users/tokens')).body.items.find((i: any) => i.access_key === made.body.token.access_key);
    expect(listed).toMatchObject({ alias: 'short', expires_at: goTimestamp(t + 3_600_000) });
    expect(listed).not.toHaveProperty('secret_key');

    const other = await c.post('/users/tokens', { expires_at: goTimestamp(h.clock.now() + 86_400_000) });
    const doomed = c.as({ access_key: other.body.token.access_key, secret_key: other.body.token.secret_key });
    expect((await doomed.get('/users/identities')).status).toBe(200);
    expect((await c.delete('/users/tokens', { query: { access_key: other.body.token.access_key } })).status).toBe(200);
    expectCrusoeError(await doomed.get('/users/identities'), 401, 'bad_credential', 'unknown, deleted or expired');
    expect((await c.get('/users/tokens')).body.items.map((i: any) => i.access_key)).not.toContain(other.body.token.access_key);
    // A token deleted twice is not found (a token is the caller's own: another's is "not found" too).
    expectCrusoeError(await c.delete('/users/tokens', { query: { access_key: other.body.token.access_key } }), 404, 'not_found', 'token');
  });

  it('refuses tokens that expire in the past or at no valid time', async () => {
    expectCrusoeError(await c.post('/users/tokens', { expires_at: goTimestamp(T0 - 1_000) }), 400, 'bad_request', '"expires_at" must be in the future');
    expectCrusoeError(await c.post('/users/tokens', { expires_at: 'next week' }), 400, 'bad_request', '"expires_at" must be an RFC 3339 time');
    expectCrusoeError(await c.post('/users/tokens', { alias: 'x' }), 400, 'bad_request', '"expires_at" is required');
  });

  // (GET VM and the list of VMs read the key, the project and what they answer in one statement
  // on PostgreSQL, and verify the request before they use what they read: see caller.ts)
  it('answers GET VM and the list of VMs as every route: a bad signature 401 first, then a project not the caller\'s 403, then a VM not in it 404', async () => {
    const vms = `/projects/${c.projectId}/${Families.vms}`;
    const vm = await succeeds(h, c, Families.vms, c.post(vms, { name: 'read-by-key', type: 'c1a.2x', location: 'us-east1-a', ssh_public_key: publicKey() }));
    const path = `${vms}/${vm.id}`;
    const read = await c.get(path);
    expect(read.status, read.text).toBe(200);
    expect(read.body).toMatchObject({ id: vm.id, project_id: c.projectId, state: 'STATE_RUNNING' });

    const b = await newCrusoeAccount(h, 'vm-reader');
    const forged = c.as({ ...c.credentials, secret_key: 'HrbZ3VTUb2YNAq53Md1EsA' });
    const stranger = c.as({ access_key: 'AAAAAAAAAAAAAAAAAAAAAA', secret_key: c.credentials.secret_key });
    // An empty project lists no VMs, read with the key as a full one is.
    const theirList = `/projects/${b.client.projectId}/${Families.vms}`;
    expect((await b.client.get(theirList)).body).toEqual({ items: [], next_page_token: '', prev_page_token: '' });
    expect((await c.get(vms, { query: { limit: '1' } })).body.items.map((v: { id: string }) => v.id)).toEqual([vm.id]);
    const elsewhere = [path, vms, `${theirList}/${vm.id}`, theirList, `/projects/${randomUUID()}/${Families.vms}/${randomUUID()}`, `/projects/${randomUUID()}/${Families.vms}`];
    for (const target of elsewhere) {
      expectCrusoeError(await c.get(target, { authorization: null }), 401, 'bad_credential', 'missing Authorization header');
      expectCrusoeError(await c.get(target, { authorization: 'Basic dXNlcjpwYXNz' }), 401, 'bad_credential', 'malformed Authorization header');
      expectCrusoeError(await stranger.get(target), 401, 'bad_credential', 'is unknown, deleted or expired');
      expectCrusoeError(await forged.get(target), 401, 'bad_credential', 'the signature does not match');
      expectCrusoeError(await c.get(target, { signAs: { path: `${vms}/${randomUUID()}` } }), 401, 'bad_credential', 'the signature does not match');
      expectCrusoeError(await c.get(target, { timestamp: goTimestamp(h.clock.now() - 6 * 60_000) }), 401, 'bad_credential', 'outside the allowed window');
    }
    // Signed right: another's project, or none, is 403; a VM the project does not hold is 404.
    expectCrusoeError(await b.client.get(path), 403, 'unauthorized', `project "${c.projectId}" does not exist or you are not a member of it`);
    expectCrusoeError(await b.client.get(vms), 403, 'unauthorized', `project "${c.projectId}" does not exist or you are not a member of it`);
    expectCrusoeError(await b.client.get(vms, { query: { names: 'read-by-key' } }), 403, 'unauthorized', `project "${c.projectId}"`);
    const nowhere = randomUUID();
    expectCrusoeError(await c.get(`/projects/${nowhere}/${Families.vms}/${vm.id}`), 403, 'unauthorized', `project "${nowhere}"`);
    const missing = randomUUID();
    expectCrusoeError(await c.get(`${vms}/${missing}`), 404, 'not_found', missing);
    const theirs = await succeeds(h, b.client, Families.vms, b.client.post(`/projects/${b.client.projectId}/${Families.vms}`, { name: 'theirs', type: 'c1a.2x', location: 'us-east1-a', ssh_public_key: publicKey() }), 1_000, b.client.projectId);
    // (read by its own project twice first: on SQLite its JSON is then kept by id, see kernel/db/row-texts.ts)
    for (let read = 0; read < 2; read++) expect((await b.client.get(`/projects/${b.client.projectId}/${Families.vms}/${theirs.id}`)).body.name).toBe('theirs');
    expectCrusoeError(await c.get(`${vms}/${theirs.id}`), 404, 'not_found', theirs.id);

    // An operation, read as VMs and lists are: its project checked with the key, 403 for one that is not there.
    const creating = await c.post(vms, { name: 'op-read', type: 'c1a.2x', location: 'us-east1-a', ssh_public_key: publicKey() });
    expect(creating.status, creating.text).toBe(200);
    const opId = creating.body.operation.operation_id as string;
    const opPath = `${vms}/operations/${opId}`;
    expect((await c.get(opPath)).body).toMatchObject({ operation_id: opId, state: 'IN_PROGRESS' });
    await h.advance(60_000);
    const unread = async () => ((await c.get(`${vms}/operations`)).body.items as { operation_id: string }[]).map((o) => o.operation_id);
    expect(await unread()).toContain(opId);
    expect((await c.get(opPath)).body).toMatchObject({ operation_id: opId, state: 'SUCCEEDED', result: { id: creating.body.operation.metadata.id } });
    expect(await unread()).not.toContain(opId); // (read once finished: no longer listed)
    for (const target of [opPath, `${theirList}/operations/${opId}`]) {
      expectCrusoeError(await forged.get(target), 401, 'bad_credential', 'the signature does not match');
      expectCrusoeError(await c.get(target, { authorization: null }), 401, 'bad_credential', 'missing Authorization header');
    }
    expectCrusoeError(await b.client.get(opPath), 403, 'unauthorized', `project "${c.projectId}" does not exist or you are not a member of it`);
    const unknownOp = randomUUID();
    expectCrusoeError(await c.get(`${vms}/operations/${unknownOp}`), 403, 'unauthorized', `operation "${unknownOp}" does not exist, is not yours, or has expired`);
    expectCrusoeError(await c.get(`/projects/${c.projectId}/${Families.disks}/operations/${opId}`), 403, 'unauthorized', `operation "${opId}"`);
    expectCrusoeError(await b.client.get(`${theirList}/operations/${opId}`), 403, 'unauthorized', `operation "${opId}"`);
    await h.advance(25 * 3_600_000);
    expectCrusoeError(await c.get(opPath), 403, 'unauthorized', `operation "${opId}" does not exist, is not yours, or has expired`);

    // A key deleted is refused at once, on this route as on the others.
    const made = await c.post('/users/tokens', { alias: 'reader', expires_at: goTimestamp(h.clock.now() + 86_400_000) });
    const reader = c.as({ access_key: made.body.token.access_key, secret_key: made.body.token.secret_key });
    expect((await reader.get(path)).status).toBe(200);
    expect((await reader.get(vms)).status).toBe(200);
    expect((await c.delete('/users/tokens', { query: { access_key: made.body.token.access_key } })).status).toBe(200);
    expectCrusoeError(await reader.get(path), 401, 'bad_credential', 'is unknown, deleted or expired');
    expectCrusoeError(await reader.get(vms), 401, 'bad_credential', 'is unknown, deleted or expired');
    // A bad query is 400 for a caller signed right, and 401 first for anyone else.
    expectCrusoeError(await c.get(vms, { query: { limit: 'many' } }), 400, 'bad_request', '"limit" must be a positive integer');
    expectCrusoeError(await forged.get(vms, { query: { limit: 'many' } }), 401, 'bad_credential', 'the signature does not match');
  });

  it("never lets one tenant's key speak for another, and serves the OpenAPI document without a signature", async () => {
    const b = await newCrusoeAccount(h, 'other');
    const mine = await b.client.get('/users/identities');
    expect(mine.body.identity.name).toBe('other');
    expect((await c.get('/users/identities')).body.identity.name).toBe('demo');
    // B cannot delete A's token: to B it does not exist.
    expectCrusoeError(await b.client.delete('/users/tokens', { query: { access_key: c.credentials.access_key } }), 404, 'not_found');
    expect((await c.get('/users/identities')).status).toBe(200);

    const doc = await fetch(`${h.url}/v1alpha5/openapi.json`);
    expect(doc.status).toBe(200);
    const openapi = (await doc.json()) as any;
    expect(openapi.openapi).toBe('3.1.0');
    expect(Object.keys(openapi.paths)).toContain('/projects/{project_id}/compute/vms/instances/{vm_id}');
    expect(openapi.paths['/projects/{project_id}/compute/vms/instances'].post.operationId).toBe('createInstance');
  });
});
