import { ZFinalizeJob, ZStageJob, ZSweepJob, ZWebhookJob } from '@selfie/contracts';
import type { JobsOptions } from 'bullmq';
import type { z } from 'zod';

/** Name of the custom back-off strategy webhook jobs use; workers of the `webhooks` queue must register it. */
export const WEBHOOK_BACKOFF_TYPE = 'complycube';

interface QueueSpec<S extends z.ZodType> {
  /** Queue name in Redis (no ':' — BullMQ uses it as a separator). */
  name: string;
  /** The one job name this queue carries. */
  job: string;
  payload: S;
  /** Defaults for every job added to the queue; attempts/backoff may be overridden from config. */
  options: JobsOptions;
}

function spec<S extends z.ZodType>(s: QueueSpec<S>): QueueSpec<S> {
  return s;
}

const stageOptions: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 2000, jitter: 0.5 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** Every queue and job in the product, with its payload schema and retry options. */
export const QUEUES = {
  faces: spec({ name: 'stage-faces', job: 'inspect-faces', payload: ZStageJob, options: stageOptions }),
  obstruction: spec({
    name: 'stage-obstruction',
    job: 'inspect-obstruction',
    payload: ZStageJob,
    options: stageOptions,
  }),
  orientation: spec({
    name: 'stage-orientation',
    job: 'inspect-orientation',
    payload: ZStageJob,
    options: stageOptions,
  }),
  liveness: spec({ name: 'stage-liveness', job: 'inspect-liveness', payload: ZStageJob, options: stageOptions }),
  quality: spec({ name: 'stage-quality', job: 'inspect-quality', payload: ZStageJob, options: stageOptions }),
  repeatFace: spec({
    name: 'stage-repeat-face',
    job: 'inspect-repeat-face',
    payload: ZStageJob,
    options: stageOptions,
  }),
  finalize: spec({ name: 'finalize', job: 'finalize', payload: ZFinalizeJob, options: stageOptions }),
  webhooks: spec({
    name: 'webhooks',
    job: 'deliver',
    payload: ZWebhookJob,
    options: {
      attempts: 10,
      // Custom strategy (see webhookBackoffDelay); only the webhook dispatcher consumes this queue and defines it.
      backoff: { type: WEBHOOK_BACKOFF_TYPE, delay: 60_000 },
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: { age: 30 * 24 * 3600 },
    },
  }),
  sweeper: spec({
    name: 'sweeper',
    job: 'sweep',
    payload: ZSweepJob,
    options: { attempts: 1, removeOnComplete: true, removeOnFail: { count: 100 } },
  }),
} as const;

export type QueueKey = keyof typeof QUEUES;
export type JobPayload<K extends QueueKey> = z.infer<(typeof QUEUES)[K]['payload']>;

/** Deterministic job ids (`<photoId>-<stage>`): re-adding the same work is a no-op, never a duplicate. */
export function jobId(photoId: string, key: QueueKey): string {
  return `${photoId}-${key}`;
}

/** The retry knobs of the configuration (structural, so this package needs no dependency on @selfie/config). */
export interface RetryConfig {
  STAGE_ATTEMPTS: number;
  STAGE_BACKOFF_MS: number;
  WEBHOOK_MAX_ATTEMPTS: number;
  WEBHOOK_BACKOFF_MS: number;
}

/** A queue's job options with attempts and back-off taken from configuration instead of the catalogue defaults. */
export function jobOptions(key: QueueKey, retry?: RetryConfig): JobsOptions {
  const base = QUEUES[key].options;
  if (!retry) return base;
  if (key === 'webhooks') {
    return {
      ...base,
      attempts: retry.WEBHOOK_MAX_ATTEMPTS,
      backoff: { type: WEBHOOK_BACKOFF_TYPE, delay: retry.WEBHOOK_BACKOFF_MS },
    };
  }
  if (key === 'sweeper') return base;
  return {
    ...base,
    attempts: retry.STAGE_ATTEMPTS,
    backoff: { type: 'exponential', delay: retry.STAGE_BACKOFF_MS, jitter: 0.5 },
  };
}

/**
 * Delay before webhook retry number `attemptsMade` (1 = first retry). ComplyCube documents 60 s, 120 s, 480 s "and so
 * forth": x1, x2, x8 of the base, then doubling, capped at one day so ten attempts span about 17 hours.
 */
export function webhookBackoffDelay(attemptsMade: number, baseMs: number): number {
  const n = Math.max(1, attemptsMade);
  const factor = n < 3 ? 2 ** (n - 1) : 2 ** n;
  return Math.min(factor * baseMs, 24 * 3600_000);
}
