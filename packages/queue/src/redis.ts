import { Redis, type RedisOptions } from 'ioredis';

/**
 * Two kinds of connection: producers fail fast (no offline queue, one retry) so an HTTP request can answer 503
 * while Redis is down; workers wait forever (`maxRetriesPerRequest: null`, as BullMQ requires for blocking calls).
 */
export function createRedisClient(url: string, role: 'producer' | 'worker', extra: RedisOptions = {}): Redis {
  const common: RedisOptions = {
    lazyConnect: false,
    retryStrategy: (times) => Math.min(200 * times, 2000),
    ...extra,
  };
  const roleOptions: RedisOptions =
    role === 'producer'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 }
      : { enableOfflineQueue: true, maxRetriesPerRequest: null };
  const client = new Redis(url, { ...common, ...roleOptions });
  // ioredis emits 'error' on every failed reconnect; without a listener Node would crash the process.
  client.on('error', () => {});
  return client;
}
