import { STAGES } from '@selfie/contracts';
import { jobId, type QueueKey } from '@selfie/queue';
import type { PipelineContext } from './context.js';
import { failPhoto } from './finalize.js';
import { addFacesJob } from './flow.js';

/** States in which a job will still run without anyone's help. */
const LIVE_STATES = new Set(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children']);
const PHOTO_QUEUES: QueueKey[] = [...STAGES, 'finalize'];

export interface SweepResult {
  examined: number;
  requeued: string[];
  failed: string[];
}

/**
 * Is any job of the photo still going to run? A `finalize` parent waiting for children counts only while one of
 * its children is live (a child removed behind its back would otherwise strand it).
 */
async function hasLiveJob(ctx: PipelineContext, photoId: string): Promise<boolean> {
  const states = await Promise.all(
    PHOTO_QUEUES.map(async (key) => {
      const job = await ctx.queue(key).getJob(jobId(photoId, key));
      return [key, job ? await job.getState() : 'missing'] as const;
    }),
  );
  return states.some(([key, state]) => LIVE_STATES.has(state) && !(key === 'finalize' && state === 'waiting-children'));
}

async function removePhotoJobs(ctx: PipelineContext, photoId: string): Promise<void> {
  // Parent first (with its children), then anything left; removing a missing job is a no-op.
  await ctx.queue('finalize').remove(jobId(photoId, 'finalize'), { removeChildren: true });
  for (const key of STAGES) await ctx.queue(key).remove(jobId(photoId, key));
}

/**
 * Photos still `processing` after SWEEPER_STALE_AFTER_MS with no live job were lost somewhere (a job removed, Redis
 * data lost, a crash between two writes). Start them again from the faces stage, or fail them after
 * SWEEPER_MAX_REQUEUES attempts so that no photo stays `processing` forever.
 */
export async function sweepOnce(ctx: PipelineContext, limit = 100): Promise<SweepResult> {
  const { config, logger } = ctx;
  const stale = await ctx.photos.findStale(new Date(Date.now() - config.SWEEPER_STALE_AFTER_MS), limit);
  const result: SweepResult = { examined: stale.length, requeued: [], failed: [] };
  for (const photo of stale) {
    const photoId = photo._id.toHexString();
    const accountId = photo.accountId.toHexString();
    if (await hasLiveJob(ctx, photoId)) continue;
    if ((photo.requeues ?? 0) >= config.SWEEPER_MAX_REQUEUES) {
      await failPhoto(ctx, { photoId, accountId });
      result.failed.push(photoId);
      logger.warn({ photoId, requeues: photo.requeues }, 'stalled photo failed after too many re-enqueues');
      continue;
    }
    await removePhotoJobs(ctx, photoId);
    // Counted first: also bumps updatedAt, so the photo is not stale again on the next sweep.
    await ctx.photos.incrementRequeues(photoId);
    await addFacesJob(ctx, {
      photoId,
      accountId,
      objectKey: photo.objectKey,
      performLivenessCheck: photo.performLivenessCheck,
    });
    result.requeued.push(photoId);
    logger.warn({ photoId, requeues: (photo.requeues ?? 0) + 1 }, 'stalled photo re-enqueued');
  }
  return result;
}
