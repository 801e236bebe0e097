import { inSpan, type TraceCarrier, tracingEnabled } from '@selfie/tracing';
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

export interface WorkerTraceOptions {
  /**
   * The component whose service name the job spans carry (see @selfie/tracing); `worker-<key>` by default, so every
   * stage's worker is named after its stage. `false`: no span (housekeeping jobs such as the sweeper).
   */
  traceAs?: string | false;
}

/**
 * A worker whose processor receives payloads already validated against the catalogue's schema. With tracing on,
 * each job runs in a consumer span (one per attempt) that continues the trace context carried in the job's `trace`
 * field; an error thrown by the handler is recorded on it.
 */
export function createWorker<K extends QueueKey, R>(
  key: K,
  ctx: QueueContext,
  handler: (payload: JobPayload<K>, job: Job<JobPayload<K>>) => Promise<R>,
  options: Partial<WorkerOptions> & WorkerTraceOptions = {},
): Worker<JobPayload<K>, R> {
  const q = QUEUES[key];
  const { traceAs = `worker-${key}`, ...workerOptions } = options;
  const processor: Processor<JobPayload<K>, R> = async (job) => {
    if (job.name !== q.job) throw new Error(`queue ${q.name} has no handler for job '${job.name}'`);
    const payload = q.payload.parse(job.data) as JobPayload<K>;
    if (traceAs === false || !tracingEnabled()) return handler(payload, job);
    const fields = payload as { trace?: TraceCarrier; photoId?: string; accountId?: string };
    return inSpan(
      traceAs,
      q.job,
      {
        kind: 'consumer',
        parent: fields.trace ?? 'root',
        attributes: {
          'messaging.system': 'bullmq',
          'messaging.operation.type': 'process',
          'messaging.destination.name': q.name,
          'messaging.message.id': job.id,
          'selfie.attempt': job.attemptsMade + 1,
          'selfie.photo_id': fields.photoId,
          'selfie.account_id': fields.accountId,
        },
      },
      () => handler(payload, job),
    );
  };
  return new Worker<JobPayload<K>, R>(q.name, processor, {
    connection: ctx.connection,
    prefix: ctx.prefix,
    concurrency: 1,
    ...workerOptions,
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
