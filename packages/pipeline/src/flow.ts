import type { TStage, TStageJob } from '@selfie/contracts';
import { type FlowJob, jobId, jobOptions, QUEUES } from '@selfie/queue';
import { withTrace } from '@selfie/tracing';
import type { PipelineContext } from './context.js';

/**
 * After faces analysis found exactly one face: a `finalize` parent with one child per dependent stage.
 * Every child has `ignoreDependencyOnFailure`, so a child that fails for good still lets the parent run (BullMQ's
 * default would leave it waiting forever); the finalizer reads those failures and the stored inspections.
 * Deterministic ids make the whole thing a no-op when the faces job runs again (retry, stalled job, sweeper).
 */
export async function addStageFlow(ctx: PipelineContext, payload: TStageJob, stages: TStage[]): Promise<boolean> {
  const finalizeId = jobId(payload.photoId, 'finalize');
  // The flow is added atomically, so an existing parent means its children exist too. Re-adding would re-register
  // children that already failed as pending dependencies of the parent.
  if (await ctx.queue('finalize').getJob(finalizeId)) return false;
  // The stages and finalize continue the trace of the job that adds them (the faces job's span).
  const childData = withTrace(payload, payload.trace);
  const flow: FlowJob = {
    name: QUEUES.finalize.job,
    queueName: QUEUES.finalize.name,
    data: withTrace({ photoId: payload.photoId, accountId: payload.accountId }, payload.trace),
    opts: { ...jobOptions('finalize', ctx.config), jobId: finalizeId },
    children: stages.map((stage) => ({
      name: QUEUES[stage].job,
      queueName: QUEUES[stage].name,
      data: childData,
      opts: { ...jobOptions(stage, ctx.config), jobId: jobId(payload.photoId, stage), ignoreDependencyOnFailure: true },
    })),
  };
  await ctx.flow.add(flow);
  return true;
}

/** Finalize with no children: no single face, or faces analysis failed for good. */
export async function addFinalize(ctx: PipelineContext, photoId: string, accountId: string): Promise<void> {
  await ctx.queue('finalize').add(QUEUES.finalize.job, withTrace({ photoId, accountId }), {
    ...jobOptions('finalize', ctx.config),
    jobId: jobId(photoId, 'finalize'),
  });
}

/** The faces job the gateway enqueues (also used by the sweeper to start a photo again). */
export async function addFacesJob(ctx: PipelineContext, payload: TStageJob): Promise<void> {
  await ctx.queue('faces').add(QUEUES.faces.job, payload, {
    ...jobOptions('faces', ctx.config),
    jobId: jobId(payload.photoId, 'faces'),
  });
}
