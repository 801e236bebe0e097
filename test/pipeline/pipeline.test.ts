import { EventVerifier } from '@complycube/api';
import type { TConfig } from '@selfie/config';
import { STAGE_FIELD, ZStageInspection } from '@selfie/contracts';
import { Types } from '@selfie/db';
import { createLogger } from '@selfie/logger';
import {
  createPipelineContext,
  finalizePhoto,
  type PipelineContext,
  SIGNATURE_HEADER,
  stableEventId,
  sweepOnce,
} from '@selfie/pipeline';
import { jobId } from '@selfie/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../support/env.js';
import { fixture, type Receiver, sleep, startReceiver, waitFor } from './helpers.js';
import { disposeTestContext, type PipelineHandle, seedPhoto, startPipeline, waitForFinal } from './support.js';

// The stage pipeline on its own (jobs enqueued as the gateway does), with the real face engine and services.
let config: TConfig;
let ctx: PipelineContext;
let pipeline: PipelineHandle;
let receiver: Receiver;
let secret: string;
const accountId = new Types.ObjectId().toHexString();

beforeAll(async () => {
  config = testConfig({
    STAGE_ATTEMPTS: 2,
    STAGE_BACKOFF_MS: 100,
    STAGE_LOCK_DURATION_MS: 5000,
    STAGE_STALLED_INTERVAL_MS: 2000,
    SWEEPER_STALE_AFTER_MS: 1000,
    SWEEPER_MAX_REQUEUES: 1,
    WEBHOOK_ALLOW_PRIVATE: true,
    WEBHOOK_BACKOFF_MS: 200,
  });
  const logger = createLogger({ service: 'test-pipeline', level: config.LOG_LEVEL });
  ctx = await createPipelineContext(config, logger);
  await ctx.store.ensureBucket();
  await Promise.all([ctx.photos.init(), ctx.events.init(), ctx.webhooks.init(), ctx.deliveries.init()]);
  receiver = await startReceiver();
  secret = (await ctx.webhooks.create(accountId, { url: receiver.url, events: ['livePhoto.*'] })).secret;
  pipeline = await startPipeline(config, logger);
});

afterAll(async () => {
  await pipeline?.stop();
  await receiver?.close();
  await disposeTestContext(ctx);
});

const single = () => fixture('single');

describe('stage pipeline', () => {
  it('inspects a one-face photo in every stage, completes it and publishes one signed event', async () => {
    const photo = await seedPhoto(ctx, single(), { accountId });
    const photoId = photo._id.toHexString();
    const done = await waitForFinal(ctx, photoId);
    expect(done.status).toBe('complete');
    for (const field of Object.values(STAGE_FIELD)) {
      if (field === STAGE_FIELD.repeatFace) continue; // opt-in, off for this photo
      expect(ZStageInspection.safeParse(done.inspections[field]).success, field).toBe(true);
    }
    expect(['clear', 'attention']).toContain(done.inspections.outcome);
    expect(done.inspections.timings).toMatchObject({ facesAnalysis: expect.any(Number) });
    expect(done.inspections.models).toMatchObject({ engine: expect.any(String) });
    // Working data is dropped right after the final status and event, so give that last step a moment.
    await expect.poll(() => ctx.state.getFace(photoId), { timeout: 5000 }).toBeNull();

    // The faces job ran detection once and handed the face on; the children did not detect again.
    const faces = await ctx.queue('faces').getJob(jobId(photoId, 'faces'));
    expect(faces?.returnvalue).toMatchObject({ stage: 'faces', faceCount: 1 });
    const finalize = await ctx.queue('finalize').getJob(jobId(photoId, 'finalize'));
    const children = Object.values((await finalize?.getChildrenValues()) ?? {}) as { stage: string }[];
    expect(children.map((c) => c.stage).sort()).toEqual(['liveness', 'obstruction', 'orientation', 'quality']);

    const eventId = stableEventId(photoId, 'livePhoto.completed');
    const request = await waitFor('webhook delivery', () => receiver.requests.find((r) => r.body.includes(photoId)));
    const event = new EventVerifier(secret).constructEvent(
      request.body,
      request.headers[SIGNATURE_HEADER.toLowerCase()] as string,
    );
    expect(event).toMatchObject({
      id: eventId,
      type: 'livePhoto.completed',
      payload: { id: photoId, status: 'complete' },
    });

    // Finalize again (a retried or duplicated job): no second transition, no second event or delivery.
    const again = await finalizePhoto(ctx, { photoId, accountId });
    expect(again).toMatchObject({ status: 'complete', transitioned: false });
    await sleep(500);
    expect(receiver.requests.filter((r) => r.body.includes(photoId))).toHaveLength(1);
    expect(await ctx.events.model.countDocuments({ 'payload.id': photoId })).toBe(1);
  });

  it('runs no liveness stage when performLivenessCheck is false', async () => {
    const photo = await seedPhoto(ctx, single(), { accountId, performLivenessCheck: false });
    const photoId = photo._id.toHexString();
    const done = await waitForFinal(ctx, photoId);
    expect(done.status).toBe('complete');
    expect(done.inspections.livenessCheck).toBeUndefined();
    expect(done.inspections.facialOrientation).toBeDefined();
    expect(await ctx.queue('liveness').getJob(jobId(photoId, 'liveness'))).toBeUndefined();
  });

  it('answers not_processed (NO_SINGLE_FACE) for later stages when there is no single face', async () => {
    const photo = await seedPhoto(ctx, fixture('noface'), { accountId });
    const photoId = photo._id.toHexString();
    const done = await waitForFinal(ctx, photoId);
    expect(done.status).toBe('complete');
    const facesAnalysis = done.inspections.facesAnalysis as { result: string; breakdown: { faceCount: number } };
    expect(facesAnalysis.breakdown.faceCount).not.toBe(1);
    for (const field of ['facialObstructions', 'facialOrientation', 'livenessCheck']) {
      expect(done.inspections[field]).toEqual({ result: 'not_processed', breakdown: {}, reasons: ['NO_SINGLE_FACE'] });
    }
    expect(done.inspections.outcome).toBe(facesAnalysis.result === 'attention' ? 'attention' : 'not_processed');
    expect(await ctx.queue('obstruction').getJob(jobId(photoId, 'obstruction'))).toBeUndefined();
  });

  it('fails an undecodable image at once, with a clear reason', async () => {
    const photo = await seedPhoto(ctx, Buffer.from('definitely not a JPEG '.repeat(2000)), { accountId });
    const photoId = photo._id.toHexString();
    const done = await waitForFinal(ctx, photoId);
    expect(done).toMatchObject({ status: 'failed', failureReason: 'STAGE_FAILED' });
    const faces = await ctx.queue('faces').getJob(jobId(photoId, 'faces'));
    expect(faces?.failedReason).toMatch(/undecodable image/);
    expect(faces?.attemptsMade).toBe(1);
    await waitFor('failed event', () => receiver.requests.find((r) => r.body.includes(photoId)));
    expect(JSON.parse(receiver.requests.find((r) => r.body.includes(photoId))?.body ?? '{}').type).toBe(
      'livePhoto.failed',
    );
  });

  it('ends a photo whose stage fails for good as failed, never stuck in processing', async () => {
    await pipeline.stopStage('obstruction');
    const photo = await seedPhoto(ctx, single(), { accountId });
    const photoId = photo._id.toHexString();
    const obstruction = await waitFor('obstruction job', () =>
      ctx.queue('obstruction').getJob(jobId(photoId, 'obstruction')),
    );
    // Break the stage once the orientation stage has used the stored face: it disappears, so every obstruction
    // attempt throws.
    await waitFor('orientation result', async () => (await ctx.photos.findById(photoId))?.stages?.orientation);
    await ctx.photos.model.updateOne({ _id: new Types.ObjectId(photoId) }, { $unset: { 'work.face': 1 } });
    await pipeline.startStage('obstruction');
    const done = await waitForFinal(ctx, photoId);
    expect(done).toMatchObject({ status: 'failed', failureReason: 'STAGE_FAILED' });
    expect(done.inspections.facialOrientation).toBeDefined();
    expect(done.inspections.facialObstructions).toBeUndefined();
    const failed = await ctx.queue('obstruction').getJob(obstruction.id as string);
    expect(await failed?.getState()).toBe('failed');
    expect(failed?.attemptsMade).toBe(config.STAGE_ATTEMPTS);
    const finalize = await ctx.queue('finalize').getJob(jobId(photoId, 'finalize'));
    expect(Object.keys((await finalize?.getIgnoredChildrenFailures()) ?? {})).toHaveLength(1);
  });

  it('sweeps stuck photos: re-enqueues them, and fails them after SWEEPER_MAX_REQUEUES', async () => {
    // Lost work: a record and its bytes, but no job (e.g. Redis data lost).
    const lost = await seedPhoto(ctx, single(), { accountId, enqueue: false });
    const lostId = lost._id.toHexString();
    await sleep(config.SWEEPER_STALE_AFTER_MS + 100);
    const first = await sweepOnce(ctx);
    expect(first.requeued).toContain(lostId);
    const done = await waitForFinal(ctx, lostId);
    expect(done).toMatchObject({ status: 'complete', requeues: 1 });

    // Still stuck after the allowed re-enqueues: failed, not requeued again.
    const stuck = await seedPhoto(ctx, single(), { accountId, enqueue: false });
    const stuckId = stuck._id.toHexString();
    await ctx.photos.incrementRequeues(stuckId);
    await sleep(config.SWEEPER_STALE_AFTER_MS + 100);
    const second = await sweepOnce(ctx);
    expect(second.failed).toContain(stuckId);
    expect(await ctx.photos.findById(stuckId)).toMatchObject({ status: 'failed', failureReason: 'STAGE_FAILED' });

    // A photo whose job is merely waiting is left alone.
    await pipeline.stopStage('faces');
    const waiting = await seedPhoto(ctx, single(), { accountId });
    const waitingId = waiting._id.toHexString();
    await sleep(config.SWEEPER_STALE_AFTER_MS + 100);
    const third = await sweepOnce(ctx);
    expect(third.requeued).not.toContain(waitingId);
    expect(third.failed).not.toContain(waitingId);
    await pipeline.startStage('faces');
    expect((await waitForFinal(ctx, waitingId)).status).toBe('complete');
  });
});
