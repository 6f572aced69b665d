import type { Redis } from 'ioredis';

/**
 * A Redis connection for the HTTP layer (rate-limit counters, so that replicas behind one load
 * balancer share one allowance). Short timeouts and no queued retries: a slow or absent Redis
 * must not stall API requests; the client reconnects on its own.
 */
export async function connectRedis(url: string): Promise<Redis> {
  // (loaded only when a Redis is configured: most runs have none, and start-up counts)
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { connectTimeout: 1000, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  return client;
}

export async function closeRedis(client: Redis | null): Promise<void> {
  if (!client) return;
  await client.quit().catch(() => client.disconnect());
}
