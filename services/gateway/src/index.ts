import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TConfig } from '@selfie/config';
import { type AccountDoc, AccountRepository, type Connection, connectMongo, createRepositories } from '@selfie/db';
import { createEventPublisher } from '@selfie/events';
import type { Logger } from '@selfie/logger';
import { processMetrics } from '@selfie/metrics';
import { createObjectStore, type ObjectStore } from '@selfie/object-store';
import { closeQueues, createQueue, createRedisClient, QUEUES, type Queue, type QueueKey } from '@selfie/queue';
import type { ServiceHandle } from '@selfie/runtime';
import { initTracing } from '@selfie/tracing';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import { createApp } from './app.js';
import type { GatewayContext } from './context.js';
import { guarded } from './guard.js';

export { createApp, jsonLimitBytes } from './app.js';
export type { GatewayContext } from './context.js';
export { buildOpenApi } from './openapi.js';

/** Shared adapters (all-in-one process); what is passed in is not closed by `stop()`. */
export interface GatewayDeps {
  connection?: Connection;
  redis?: Redis;
  store?: ObjectStore;
}

export interface GatewayHandle extends ServiceHandle {
  url: string;
  app: Express;
  context: GatewayContext;
}

/** The account owning `key`, created when missing (for LOCAL_API_KEY and the local run command). */
export async function ensureAccountWithKey(connection: Connection, key: string, name = 'local'): Promise<AccountDoc> {
  const accounts = new AccountRepository(connection);
  await accounts.init();
  return accounts.ensureWithKey(key, name);
}

export async function startGateway(config: TConfig, logger: Logger, deps: GatewayDeps = {}): Promise<GatewayHandle> {
  initTracing(config, logger);
  const ms = config.BACKING_TIMEOUT_MS;
  const connection =
    deps.connection ?? (await connectMongo(config.MONGODB_URI, { timeoutMs: ms, operationTimeoutMs: ms }));
  const redis = deps.redis ?? createRedisClient(config.REDIS_URL, 'producer');
  const rawStore =
    deps.store ??
    createObjectStore({
      endpoint: config.S3_ENDPOINT,
      region: config.S3_REGION,
      accessKey: config.S3_ACCESS_KEY,
      secretKey: config.S3_SECRET_KEY,
      bucket: config.S3_BUCKET,
    });
  const queueCtx = { connection: redis, prefix: config.REDIS_PREFIX };
  // Retry options come from config (e.g. the webhook back-off schedule), as for the pipeline's producers.
  const faces = createQueue('faces', queueCtx, config);
  const webhookQueue = createQueue('webhooks', queueCtx, config);
  // Every queue, for the dashboard and the queue-depth metrics.
  const queues: Queue[] = (Object.keys(QUEUES) as QueueKey[]).map((key) =>
    key === 'faces'
      ? (faces as Queue)
      : key === 'webhooks'
        ? (webhookQueue as Queue)
        : createQueue(key, queueCtx, config),
  );
  processMetrics().watchQueues(queues);

  const closeOwned = async () => {
    for (const q of queues) processMetrics().unwatchQueue(q.name);
    await closeQueues(queues);
    // quit, not disconnect: replies still pending (e.g. a queue's start-up version check) settle instead of
    // failing with 'Connection is closed' on a connection whose queue has already stopped listening.
    if (!deps.redis) await redis.quit().catch(() => redis.disconnect());
    if (!deps.connection) await connection.close().catch(() => {});
  };

  let server: Server;
  let context: GatewayContext;
  let app: Express;
  const pending = new Set<Promise<unknown>>();
  try {
    const rawRepos = createRepositories(connection);
    await rawRepos.init();
    await rawStore.ensureBucket();
    if (config.LOCAL_API_KEY) {
      await rawRepos.accounts.ensureWithKey(config.LOCAL_API_KEY);
      logger.info('local API key account ensured');
    }
    const publisher = createEventPublisher({
      connection,
      queue: webhookQueue,
      jobOptions: {
        attempts: config.WEBHOOK_MAX_ATTEMPTS,
        backoff: { type: 'exponential', delay: config.WEBHOOK_BACKOFF_MS },
      },
    });
    context = {
      config,
      logger,
      connection,
      redis,
      repos: {
        accounts: guarded(rawRepos.accounts, 'mongo', ms),
        clients: guarded(rawRepos.clients, 'mongo', ms),
        livePhotos: guarded(rawRepos.livePhotos, 'mongo', ms),
        webhooks: guarded(rawRepos.webhooks, 'mongo', ms),
        deliveries: guarded(rawRepos.deliveries, 'mongo', ms),
        events: guarded(rawRepos.events, 'mongo', ms),
        pipeline: guarded(rawRepos.pipeline, 'mongo', ms),
        faceEmbeddings: guarded(rawRepos.faceEmbeddings, 'mongo', ms),
      },
      store: guarded(rawStore, 's3', ms),
      faces,
      queues,
      publisher,
      emit(event) {
        const p = publisher
          .publish(event)
          .catch((err: unknown) =>
            logger.error({ err, event: event.type, id: event.payload.id }, 'event publish failed'),
          )
          .finally(() => pending.delete(p));
        pending.add(p);
      },
    };
    app = createApp(context);
    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(config.PORT, config.HOST, (err?: Error) => (err ? reject(err) : resolve(s)));
    });
  } catch (err) {
    await closeOwned();
    throw err;
  }

  // Keep-alive sockets longer than typical load balancer idle timeouts.
  server.keepAliveTimeout = 65_000;
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info({ url }, 'gateway listening');

  let stopped: Promise<void> | undefined;
  return {
    url,
    app,
    context,
    stop() {
      stopped ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        // In-flight requests get a grace period, then their sockets are cut.
        const force = setTimeout(() => server.closeAllConnections(), Math.min(10_000, config.SHUTDOWN_TIMEOUT_MS / 2));
        await closed;
        clearTimeout(force);
        await Promise.allSettled([...pending]);
        await closeOwned();
      })();
      return stopped;
    },
  };
}
