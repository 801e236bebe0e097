import { ReasonCode, type TFinalizeJob, type TVerdict } from '@selfie/contracts';
import { assembleInspections } from '@selfie/db';
import { processMetrics } from '@selfie/metrics';
import type { Job } from '@selfie/queue';
import type { PipelineContext } from './context.js';
import { decideFinal, expectedStages } from './outcome.js';
import { publishPhotoEvent } from './publish.js';

export interface FinalizeSummary {
  status: 'complete' | 'failed' | 'deleted';
  outcome?: TVerdict;
  failedStages?: string[];
  /** True for the run that changed the status (a re-run finds the photo already final). */
  transitioned?: boolean;
}

/** Stage failures BullMQ recorded for children with ignoreDependencyOnFailure (key → failure reason). */
async function ignoredFailures(job: Job | undefined): Promise<Record<string, string>> {
  if (!job) return {};
  return job.getIgnoredChildrenFailures();
}

/** The photo's `inspections` object, assembled from the per-stage results (the authoritative copies). */
async function collectInspections(
  ctx: PipelineContext,
  photoId: string,
  performLivenessCheck: boolean,
): Promise<Record<string, unknown>> {
  return assembleInspections(await ctx.state.stageResults(photoId), new Set(expectedStages(performLivenessCheck)));
}

/**
 * Ends a photo: complete with an outcome when every expected stage stored its inspection, failed (STAGE_FAILED)
 * otherwise. Safe to run any number of times: the status only moves from `processing`, and the event is published
 * with a stable id and at most once per photo and type.
 */
export async function finalizePhoto(
  ctx: PipelineContext,
  payload: TFinalizeJob,
  job?: Job,
  forcedFailure?: string,
): Promise<FinalizeSummary> {
  const { photoId } = payload;
  const photo = await ctx.photos.findById(photoId);
  if (!photo) {
    // Deleted while processing: nothing to report, but do not leave its working state behind.
    await ctx.state.remove(photoId);
    return { status: 'deleted' };
  }
  let transitioned = false;
  let failedStages: string[] | undefined;
  if (photo.status === 'processing') {
    const failures = await ignoredFailures(job);
    const inspections = await collectInspections(ctx, photoId, photo.performLivenessCheck);
    const decision = forcedFailure
      ? { status: 'failed' as const, reason: forcedFailure, failedStages: [] }
      : decideFinal(inspections, photo.performLivenessCheck);
    if (decision.status === 'complete') {
      transitioned = await ctx.state.completePhoto(photoId, { ...inspections, outcome: decision.outcome });
    } else {
      failedStages = decision.failedStages;
      if (!forcedFailure) {
        ctx.logger.warn({ photoId, failedStages, childFailures: failures }, 'photo failed: a stage failed for good');
      }
      transitioned = await ctx.state.failPhoto(photoId, decision.reason, inspections);
    }
  }
  const final = await ctx.photos.findById(photoId);
  if (!final) return { status: 'deleted' };
  if (final.status === 'processing') throw new Error(`photo ${photoId} is still processing after finalize`);
  await publishPhotoEvent(ctx, final, final.status === 'complete' ? 'livePhoto.completed' : 'livePhoto.failed');
  await ctx.state.clearWorkingData(photoId);
  const outcome = final.inspections?.outcome as TVerdict | undefined;
  if (transitioned) processMetrics().recordFinalized(final.status, outcome);
  return {
    status: final.status,
    ...(outcome ? { outcome } : {}),
    ...(failedStages ? { failedStages } : {}),
    transitioned,
  };
}

/** For the sweeper: a photo that cannot be finished is failed the same way. */
export function failPhoto(ctx: PipelineContext, payload: TFinalizeJob): Promise<FinalizeSummary> {
  return finalizePhoto(ctx, payload, undefined, ReasonCode.STAGE_FAILED);
}
