import type { TConfig } from '@selfie/config';
import type { Logger } from '@selfie/logger';
import { createWorker, QUEUES, type Worker } from '@selfie/queue';
import type { ServiceHandle } from '@selfie/runtime';
import { createPipelineContext } from './context.js';
import { finalizePhoto } from './finalize.js';
import { workerLockOptions } from './stage-worker.js';
import { sweepOnce } from './sweeper.js';

export interface FinalizerHandle extends ServiceHandle {
  finalizeWorker: Worker;
  sweeperWorker: Worker;
}

/** Scheduler id of the repeatable sweep (one per deployment, whatever the number of finalizers). */
export const SWEEP_SCHEDULER_ID = 'stuck-work-sweeper';

/** The finalizer service: `finalize` jobs, plus the stuck-work sweeper as a repeatable job. */
export async function startFinalizer(config: TConfig, logger: Logger): Promise<FinalizerHandle> {
  const ctx = await createPipelineContext(config, logger);

  const finalizeWorker = createWorker('finalize', ctx.queueCtx, (payload, job) => finalizePhoto(ctx, payload, job), {
    concurrency: config.FINALIZER_CONCURRENCY,
    ...workerLockOptions(config),
  });
  finalizeWorker.on('failed', (job, err) => logger.warn({ jobId: job?.id, err: err.message }, 'finalize job failed'));
  finalizeWorker.on('error', (err) => logger.error({ err }, 'finalize worker error'));

  const sweeperWorker = createWorker(
    'sweeper',
    ctx.queueCtx,
    async () => {
      const result = await sweepOnce(ctx);
      if (result.requeued.length + result.failed.length > 0) logger.info(result, 'sweep done');
      return { examined: result.examined, requeued: result.requeued.length, failed: result.failed.length };
    },
    { concurrency: 1 },
  );
  sweeperWorker.on('error', (err) => logger.error({ err }, 'sweeper worker error'));
  // Upsert: every finalizer instance declares the same scheduler; Redis keeps one, so one sweep per interval.
  await ctx
    .queue('sweeper')
    .upsertJobScheduler(
      SWEEP_SCHEDULER_ID,
      { every: config.SWEEPER_INTERVAL_MS },
      { name: QUEUES.sweeper.job, data: {}, opts: QUEUES.sweeper.options },
    );
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
