import type { TConfig } from '@selfie/config';
import {
  type Connection,
  connectMongo,
  EventRepository,
  FaceEmbeddingIndex,
  FaceEmbeddingRepository,
  LivePhotoRepository,
  PipelineRepository,
  WebhookDeliveryRepository,
  WebhookRepository,
} from '@selfie/db';
import type { Logger } from '@selfie/logger';
import { createObjectStore, type ObjectStore } from '@selfie/object-store';
import {
  closeQueues,
  createQueue,
  createRedisClient,
  FlowProducer,
  type JobPayload,
  type Queue,
  type QueueContext,
  type QueueKey,
} from '@selfie/queue';
import { initTracing } from '@selfie/tracing';
import type { Redis } from 'ioredis';

/** The adapters one pipeline service needs: Mongo repositories, S3, and BullMQ queues on one Redis connection. */
export interface PipelineContext {
  config: TConfig;
  logger: Logger;
  mongo: Connection;
  photos: LivePhotoRepository;
  state: PipelineRepository;
  events: EventRepository;
  webhooks: WebhookRepository;
  deliveries: WebhookDeliveryRepository;
  /** Face embeddings of the repeatFace stage (written by it, erased with their photos). */
  faceEmbeddings: FaceEmbeddingRepository;
  /** The repeatFace stage's search: the embeddings of the accounts it searched, kept in memory (see FaceEmbeddingIndex). */
  faceEmbeddingIndex: FaceEmbeddingIndex;
  store: ObjectStore;
  redis: Redis;
  queueCtx: QueueContext;
  /** One Queue per key, created on first use, with retry options from the configuration. */
  queue<K extends QueueKey>(key: K): Queue<JobPayload<K>>;
  flow: FlowProducer;
  close(): Promise<void>;
}

export async function createPipelineContext(config: TConfig, logger: Logger): Promise<PipelineContext> {
  // Every pipeline service builds its context first: tracing is on from here when OTEL_EXPORTER_OTLP_ENDPOINT is set.
  initTracing(config, logger);
  const mongo = await connectMongo(config.MONGODB_URI, { timeoutMs: config.BACKING_TIMEOUT_MS });
  const photos = new LivePhotoRepository(mongo);
  const state = new PipelineRepository(mongo);
  const events = new EventRepository(mongo);
  const webhooks = new WebhookRepository(mongo);
  const deliveries = new WebhookDeliveryRepository(mongo);
  const faceEmbeddings = new FaceEmbeddingRepository(mongo);
  await state.init();
  await faceEmbeddings.init();

  // Workers and the jobs they add wait out a Redis outage (offline queue) instead of failing the job.
  const redis = createRedisClient(config.REDIS_URL, 'worker');
  const queueCtx: QueueContext = { connection: redis, prefix: config.REDIS_PREFIX };
  const queues = new Map<QueueKey, Queue>();
  const flow = new FlowProducer({ connection: redis, prefix: config.REDIS_PREFIX });
  flow.on('error', (err) => logger.warn({ err }, 'flow producer error'));

  const store = createObjectStore({
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    accessKey: config.S3_ACCESS_KEY,
    secretKey: config.S3_SECRET_KEY,
    bucket: config.S3_BUCKET,
  });

  return {
    config,
    logger,
    mongo,
    photos,
    state,
    events,
    webhooks,
    deliveries,
    faceEmbeddings,
    faceEmbeddingIndex: new FaceEmbeddingIndex(faceEmbeddings),
    store,
    redis,
    queueCtx,
    queue<K extends QueueKey>(key: K): Queue<JobPayload<K>> {
      let q = queues.get(key);
      if (!q) {
        q = createQueue(key, queueCtx, config) as unknown as Queue;
        q.on('error', (err) => logger.warn({ err, queue: key }, 'queue error'));
        queues.set(key, q);
      }
      return q as unknown as Queue<JobPayload<K>>;
    },
    flow,
    async close() {
      await closeQueues([...queues.values(), flow]);
      await redis.quit().catch(() => redis.disconnect());
      await mongo.close().catch(() => {});
    },
  };
}
