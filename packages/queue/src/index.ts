import { type Job, type Processor, Queue, QueueEvents, Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { type JobPayload, jobOptions, QUEUES, type QueueKey, type RetryConfig } from './catalogue.js';

export type { FlowJob, Job, JobsOptions } from 'bullmq';
export { DelayedError, FlowProducer, Queue, UnrecoverableError, WaitingChildrenError, Worker } from 'bullmq';
export {
  type JobPayload,
  jobId,
  jobOptions,
  QUEUES,
  type QueueKey,
  type RetryConfig,
  WEBHOOK_BACKOFF_TYPE,
  webhookBackoffDelay,
} from './catalogue.js';
export { createRedisClient } from './redis.js';

export interface QueueContext {
  connection: Redis;
  prefix: string;
}

/** Pass `retry` (the config) to take attempts/back-off from configuration rather than the catalogue defaults. */
export function createQueue<K extends QueueKey>(key: K, ctx: QueueContext, retry?: RetryConfig): Queue<JobPayload<K>> {
  const q = QUEUES[key];
  return new Queue<JobPayload<K>>(q.name, {
    connection: ctx.connection,
    prefix: ctx.prefix,
    defaultJobOptions: jobOptions(key, retry),
  });
}

/** A worker whose processor receives payloads already validated against the catalogue's schema. */
export function createWorker<K extends QueueKey, R>(
  key: K,
  ctx: QueueContext,
  handler: (payload: JobPayload<K>, job: Job<JobPayload<K>>) => Promise<R>,
  options: Partial<WorkerOptions> = {},
): Worker<JobPayload<K>, R> {
  const q = QUEUES[key];
  const processor: Processor<JobPayload<K>, R> = async (job) => {
    if (job.name !== q.job) throw new Error(`queue ${q.name} has no handler for job '${job.name}'`);
    const payload = q.payload.parse(job.data) as JobPayload<K>;
    return handler(payload, job);
  };
  return new Worker<JobPayload<K>, R>(q.name, processor, {
    connection: ctx.connection,
    prefix: ctx.prefix,
    concurrency: 1,
    ...options,
  });
}

export function createQueueEvents(key: QueueKey, ctx: QueueContext): QueueEvents {
  return new QueueEvents(QUEUES[key].name, { connection: ctx.connection, prefix: ctx.prefix });
}

/**
 * Closes queues that share one connection. Each first finishes its start-up (bounded): BullMQ reports a start-up
 * that fails after close() on a listener-less emitter, which would crash the process when the shared connection
 * goes away right after.
 */
export async function closeQueues(queues: Iterable<{ waitUntilReady(): Promise<unknown>; close(): Promise<void> }>) {
  await Promise.allSettled(
    [...queues].map(async (q) => {
      let timer: NodeJS.Timeout | undefined;
      const bounded = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 2000);
      });
      await Promise.race([q.waitUntilReady().catch(() => {}), bounded]);
      clearTimeout(timer);
      await q.close();
    }),
  );
}
