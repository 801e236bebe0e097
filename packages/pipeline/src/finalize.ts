import { ReasonCode, type TFinalizeJob, type TVerdict } from '@selfie/contracts';
import { assembleInspections, type LivePhotoDoc } from '@selfie/db';
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
  // Deleted while processing: its record went with everything derived from it, so nothing is left to do.
  let final = await ctx.photos.findById(photoId);
  if (!final) return { status: 'deleted' };
  let transitioned = false;
  let failedStages: string[] | undefined;
  if (final.status === 'processing') {
    const repeatFace = final.performRepeatFace === true;
    const inspections = assembleInspections(
      final.stages,
      new Set(expectedStages(final.performLivenessCheck, repeatFace)),
    );
    const decision = forcedFailure
      ? { status: 'failed' as const, reason: forcedFailure, failedStages: [] }
      : decideFinal(inspections, final.performLivenessCheck, repeatFace);
    let finished: LivePhotoDoc | null;
    if (decision.status === 'complete') {
      finished = await ctx.state.finish(photoId, {
        status: 'complete',
        inspections: { ...inspections, outcome: decision.outcome },
      });
    } else {
      failedStages = decision.failedStages;
      if (!forcedFailure) {
        const childFailures = await ignoredFailures(job);
        ctx.logger.warn({ photoId, failedStages, childFailures }, 'photo failed: a stage failed for good');
      }
      finished = await ctx.state.finish(photoId, { status: 'failed', failureReason: decision.reason, inspections });
    }
    transitioned = finished !== null;
    // null: another run finished it in between (or it was deleted); read what it left.
    final = finished ?? (await ctx.photos.findById(photoId));
    if (!final) return { status: 'deleted' };
  }
  if (final.status === 'processing') throw new Error(`photo ${photoId} is still processing after finalize`);
  await publishPhotoEvent(ctx, final, final.status === 'complete' ? 'livePhoto.completed' : 'livePhoto.failed');
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
