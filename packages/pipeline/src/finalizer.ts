import type { TConfig } from '@selfie/config';
import type { Logger } from '@selfie/logger';
import { createWorker, QUEUES, type Worker } from '@selfie/queue';
import type { ServiceHandle } from '@selfie/runtime';
import { setSpanAttributes } from '@selfie/tracing';
import { createPipelineContext } from './context.js';
import { finalizePhoto } from './finalize.js';
import { sweepOrphans } from './orphans.js';
import { retentionOnce } from './retention.js';
import { workerLockOptions } from './stage-worker.js';
import { sweepOnce } from './sweeper.js';

export interface FinalizerHandle extends ServiceHandle {
  finalizeWorker: Worker;
  sweeperWorker: Worker;
}

/** Scheduler id of the repeatable sweep (one per deployment, whatever the number of finalizers). */
export const SWEEP_SCHEDULER_ID = 'stuck-work-sweeper';
/** Schedulers of the orphan sweep and of retention, on the same queue and interval (see SWEEP_TASKS). */
export const ORPHAN_SCHEDULER_ID = 'orphan-sweeper';
export const RETENTION_SCHEDULER_ID = 'retention';

/** The finalizer service: `finalize` jobs, plus the periodic sweeps (stuck work, orphans, retention) as repeatable jobs. */
export async function startFinalizer(config: TConfig, logger: Logger): Promise<FinalizerHandle> {
  const ctx = await createPipelineContext(config, logger);

  const finalizeWorker = createWorker(
    'finalize',
    ctx.queueCtx,
    async (payload, job) => {
      const summary = await finalizePhoto(ctx, payload, job);
      setSpanAttributes({
        'selfie.status': summary.status,
        'selfie.outcome': summary.outcome,
        'selfie.failed_stages': summary.failedStages,
        'selfie.transitioned': summary.transitioned,
      });
      return summary;
    },
    { concurrency: config.FINALIZER_CONCURRENCY, ...workerLockOptions(config), traceAs: 'finalizer' },
  );
  finalizeWorker.on('failed', (job, err) => logger.warn({ jobId: job?.id, err: err.message }, 'finalize job failed'));
  finalizeWorker.on('error', (err) => logger.error({ err }, 'finalize worker error'));

  const sweeperWorker = createWorker(
    'sweeper',
    ctx.queueCtx,
    async (payload) => {
      if (payload.task === 'orphans') {
        const orphans = await sweepOrphans(ctx);
        return { objectsDeleted: orphans.objectsDeleted.length, recordsFailed: orphans.recordsFailed.length };
      }
      if (payload.task === 'retention') return retentionOnce(ctx);
      const result = await sweepOnce(ctx);
      if (result.requeued.length + result.failed.length > 0) logger.info(result, 'sweep done');
      return { examined: result.examined, requeued: result.requeued.length, failed: result.failed.length };
    },
    // Housekeeping, not a photo's work: no trace of its own every interval.
    { concurrency: 1, traceAs: false },
  );
  sweeperWorker.on('error', (err) => logger.error({ err }, 'sweeper worker error'));
  sweeperWorker.on('failed', (job, err) =>
    logger.warn({ task: job?.data.task ?? 'stuck', err: err.message }, 'sweep failed; the next one retries'),
  );
  // Upsert: every finalizer instance declares the same scheduler; Redis keeps one, so one sweep per interval.
  await ctx
    .queue('sweeper')
    .upsertJobScheduler(
      SWEEP_SCHEDULER_ID,
      { every: config.SWEEPER_INTERVAL_MS },
      { name: QUEUES.sweeper.job, data: {}, opts: QUEUES.sweeper.options },
    );
  for (const [id, task] of [
    [ORPHAN_SCHEDULER_ID, 'orphans'],
    [RETENTION_SCHEDULER_ID, 'retention'],
  ] as const) {
    await ctx
      .queue('sweeper')
      .upsertJobScheduler(
        id,
        { every: config.SWEEPER_INTERVAL_MS },
        { name: QUEUES.sweeper.job, data: { task }, opts: QUEUES.sweeper.options },
      );
  }
  await Promise.all([finalizeWorker.waitUntilReady(), sweeperWorker.waitUntilReady()]);

  return {
    finalizeWorker,
    sweeperWorker,
    async stop() {
      await Promise.all([finalizeWorker.close(), sweeperWorker.close()]);
      await ctx.close();
    },
  };
}
