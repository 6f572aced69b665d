import { afterAll, describe, expect, it } from 'vitest';
import { adminOf } from '../helpers/admin.js';
import { createInstance, CPU_TYPE } from '../helpers/genesis.js';
import { startHangar, type TestHangar } from '../helpers/hangar.js';
import { postgresSchema, postgresUrl } from '../helpers/process.js';

// Two replicas on one PostgreSQL: the console's event stream on one shows the transitions the
// other applies, read from the audit log (not from the engine of the process it runs in).
describe.runIf(postgresUrl && process.env.HANGAR_TEST_ENGINE === 'postgres')('the console feed across replicas', () => {
  let db: Awaited<ReturnType<typeof postgresSchema>>;
  const replicas: TestHangar[] = [];
  afterAll(async () => {
    for (const r of replicas) await r.close().catch(() => undefined);
    await db?.drop();
  });

  it("streams a transition applied by another replica's engine", async () => {
    db = await postgresSchema(postgresUrl!);
    const env = { HANGAR_DATABASE_URL: db.url, HANGAR_SECRET_KEY: 'console-feed-sealing-key', HANGAR_DEMO_GENESIS_TOKEN: 'console-feed-token-0123456789abcdef' };
    const watching = await startHangar({ env });
    replicas.push(watching);
    const working = await startHangar({ env });
    replicas.push(working);
    // The watching replica applies nothing itself: whatever its stream shows came from the store.
    await watching.hangar.kernel.lifecycle.stop();

    const controller = new AbortController();
    const res = await fetch(`${adminOf(watching).baseUrl}/events`, { signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    // the first event (the clock) says the stream is following
    while (!text.includes('\n\n')) text += decoder.decode((await reader.read()).value, { stream: true });

    const instance = await createInstance(working.genesis, { name: 'elsewhere', hostname: 'elsewhere', type: CPU_TYPE });
    await working.advance(10_000);
    expect((await working.genesis.get(`/instances/${instance.id}`)).body.instance.status).toBe('active');

    let boot: any;
    while (boot === undefined) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      for (const block of text.split('\n\n')) {
        if (!block.startsWith('event: transitions')) continue;
        const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]!);
        boot ??= data.items.find((t: any) => t.resource_id === instance.id);
      }
    }
    controller.abort();
    expect(boot).toMatchObject({ kind: 'genesis.instance', transition: 'boot', from: 'creating', to: 'active' });
  });

  it('on a seeded store (ids not time-ordered) says that transitions were applied, by the log growing', async () => {
    const seeded = await postgresSchema(postgresUrl!);
    try {
      const env = { HANGAR_DATABASE_URL: seeded.url, HANGAR_SECRET_KEY: 'console-feed-sealing-key', HANGAR_DEMO_GENESIS_TOKEN: 'console-feed-token-0123456789abcdef' };
      const watching = await startHangar({ env: { ...env, HANGAR_ID_SEED: 'watching' } });
      replicas.push(watching);
      const working = await startHangar({ env: { ...env, HANGAR_ID_SEED: 'working' } });
      replicas.push(working);
      await watching.hangar.kernel.lifecycle.stop();
      const controller = new AbortController();
      const res = await fetch(`${adminOf(watching).baseUrl}/events`, { signal: controller.signal });
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      while (!text.includes('\n\n')) text += decoder.decode((await reader.read()).value, { stream: true });

      await createInstance(working.genesis, { name: 'seeded', hostname: 'seeded', type: CPU_TYPE });
      await working.advance(10_000);
      let told: any;
      while (told === undefined) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        const block = text.split('\n\n').find((b) => b.startsWith('event: transitions'));
        if (block) told = JSON.parse(/^data: (.*)$/m.exec(block)![1]!);
      }
      controller.abort();
      expect(told).toEqual({ items: [], more: expect.any(Number) });
      expect(told.more).toBeGreaterThanOrEqual(1);
    } finally {
      for (const r of replicas.splice(0)) await r.close().catch(() => undefined);
      await seeded.drop();
    }
  });
});
