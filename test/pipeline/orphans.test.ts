import type { TConfig } from '@selfie/config';
import { type LivePhotoDoc, Types } from '@selfie/db';
import { createLogger } from '@selfie/logger';
import { processMetrics } from '@selfie/metrics';
import { dropBuckets } from '@selfie/object-store';
import {
  createPipelineContext,
  ORPHAN_SCHEDULER_ID,
  type PipelineContext,
  RETENTION_SCHEDULER_ID,
  SWEEP_SCHEDULER_ID,
  startFinalizer,
  sweepOrphans,
} from '@selfie/pipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../support/env.js';
import { fixture, sleep, waitFor } from './helpers.js';
import { disposeTestContext, seedPhoto } from './support.js';

// The orphan sweep, with both kinds of orphan made by hand: bytes whose record never got written (a gateway killed
// between its S3 put and its insert) and records whose bytes are gone.

const GRACE_MS = 1500;
let config: TConfig;
let ctx: PipelineContext;
const bytes = fixture('single', 0, 34 * 1024);

beforeAll(async () => {
  config = testConfig({ ORPHAN_GRACE_MS: GRACE_MS, ORPHAN_SWEEP_BATCH: 2 });
  ctx = await createPipelineContext(config, createLogger({ service: 'test-orphans', level: config.LOG_LEVEL }));
  await Promise.all([ctx.events.init(), ctx.webhooks.init()]);
  await ctx.store.ensureBucket();
});
afterAll(async () => disposeTestContext(ctx));

async function finishAs(photo: LivePhotoDoc, status: 'complete' | 'failed'): Promise<void> {
  await ctx.state.finish(photo._id.toHexString(), { status, inspections: { outcome: 'clear', facesAnalysis: {} } });
}

describe('orphan sweep', { timeout: 60_000 }, () => {
  it('deletes old bytes without a record and fails processing or complete records whose bytes are gone', async () => {
    const accountId = new Types.ObjectId().toHexString();
    const orphanKey = `${accountId}/${new Types.ObjectId().toHexString()}`;
    await ctx.store.put(orphanKey, bytes, 'image/jpeg');
    await ctx.store.put('notes/not-a-photo.txt', Buffer.from('left alone'), 'text/plain');
    const healthy = await seedPhoto(ctx, bytes, { accountId, enqueue: false });
    await finishAs(healthy, 'complete');
    const lostComplete = await seedPhoto(ctx, bytes, { accountId, enqueue: false });
    await finishAs(lostComplete, 'complete');
    await ctx.store.remove(lostComplete.objectKey);
    const lostProcessing = await seedPhoto(ctx, bytes, { accountId, enqueue: false });
    await ctx.state.saveStageResults(lostProcessing._id.toHexString(), [
      { stage: 'faces', inspection: { result: 'clear', breakdown: {}, reasons: [] }, ms: 5 },
    ]);
    await ctx.store.remove(lostProcessing.objectKey);
    const redacted = await seedPhoto(ctx, bytes, { accountId, enqueue: false });
    await finishAs(redacted, 'complete');
    await ctx.store.remove(redacted.objectKey);
    await ctx.photos.markRedacted(accountId, redacted._id.toHexString());
    const alreadyFailed = await seedPhoto(ctx, bytes, { accountId, enqueue: false });
    await finishAs(alreadyFailed, 'failed');
    await ctx.store.remove(alreadyFailed.objectKey);

    await sleep(GRACE_MS + 200);
    // Younger than the grace period: an upload in flight as far as the sweep can tell.
    const youngKey = `${accountId}/${new Types.ObjectId().toHexString()}`;
    await ctx.store.put(youngKey, bytes, 'image/jpeg');
    const youngRecord = await seedPhoto(ctx, bytes, { accountId, enqueue: false });
    await ctx.store.remove(youngRecord.objectKey);

    // Batches of 2 (ORPHAN_SWEEP_BATCH): the walks are paged, each run carrying on where the last one stopped.
    const deleted = new Set<string>();
    const failed = new Set<string>();
    let listed = 0;
    for (let run = 0; run < 6; run++) {
      const result = await sweepOrphans(ctx);
      expect(result.objectsListed).toBeLessThanOrEqual(2);
      expect(result.recordsChecked).toBeLessThanOrEqual(2);
      listed += result.objectsListed;
      for (const key of result.objectsDeleted) deleted.add(key);
      for (const id of result.recordsFailed) failed.add(id);
    }
    expect(listed).toBeGreaterThanOrEqual(4);

    expect([...deleted]).toEqual([orphanKey]);
    expect(await ctx.store.exists(orphanKey)).toBe(false);
    expect(await ctx.store.exists(youngKey)).toBe(true);
    expect(await ctx.store.exists('notes/not-a-photo.txt')).toBe(true);
    expect(await ctx.store.exists(healthy.objectKey)).toBe(true);

    expect([...failed].sort()).toEqual([lostComplete._id.toHexString(), lostProcessing._id.toHexString()].sort());
    const read = (p: LivePhotoDoc) => ctx.photos.findById(p._id.toHexString());
    expect(await read(lostComplete)).toMatchObject({ status: 'failed', failureReason: 'IMAGE_MISSING' });
    expect((await read(lostComplete))?.inspections).toMatchObject({ outcome: 'clear' });
    const processing = await read(lostProcessing);
    expect(processing).toMatchObject({ status: 'failed', failureReason: 'IMAGE_MISSING' });
    expect(processing?.stages).toBeUndefined();
    expect(processing?.inspections).toHaveProperty('facesAnalysis');
    expect(await read(healthy)).toMatchObject({ status: 'complete' });
    expect(await read(redacted)).toMatchObject({ status: 'complete', redacted: true });
    expect((await read(alreadyFailed))?.failureReason).toBeUndefined();
    expect(await read(youngRecord)).toMatchObject({ status: 'processing' });

    // Each failed photo announces it, once.
    const events = await ctx.events.model.find({ type: 'livePhoto.failed' }).lean();
    expect(events.map((e) => e.payload.id).sort()).toEqual([...failed].sort());
    for (const e of events) expect(e.payload.status).toBe('failed');

    // Sweeping on changes nothing more.
    for (let run = 0; run < 4; run++) {
      const again = await sweepOrphans(ctx);
      expect(again.objectsDeleted).toEqual([]);
      expect(again.recordsFailed).toEqual([]);
    }
    expect(await ctx.events.model.countDocuments({ type: 'livePhoto.failed' })).toBe(2);
    const metrics = await processMetrics().registry.getSingleMetricAsString('selfie_orphans_resolved_total');
    expect(metrics).toMatch(/kind="object_deleted"[^\n]* 1\b/);
    expect(metrics).toMatch(/kind="record_failed"[^\n]* 2\b/);
  });

  it('runs on the finalizer schedule, next to the stuck-work sweep and retention', async () => {
    const scheduled: TConfig = { ...config, SWEEPER_INTERVAL_MS: 300, ORPHAN_SWEEP_BATCH: 1000 };
    const finalizer = await startFinalizer(scheduled, ctx.logger);
    try {
      const ids = (await ctx.queue('sweeper').getJobSchedulers()).map((s) => s.key).sort();
      expect(ids).toEqual([ORPHAN_SCHEDULER_ID, RETENTION_SCHEDULER_ID, SWEEP_SCHEDULER_ID].sort());
      const key = `${new Types.ObjectId().toHexString()}/${new Types.ObjectId().toHexString()}`;
      await ctx.store.put(key, bytes, 'image/jpeg');
      await waitFor(
        'the scheduled sweep to delete the orphan',
        async () => !(await ctx.store.exists(key)),
        20_000,
        200,
      );
    } finally {
      await finalizer.stop();
    }
  });

  it('test buckets go at the end: dropBuckets empties and removes them', async () => {
    const name = `${config.S3_BUCKET}x`;
    const { S3_ENDPOINT: endpoint, S3_REGION: region, S3_ACCESS_KEY: accessKey, S3_SECRET_KEY: secretKey } = config;
    const { createObjectStore } = await import('@selfie/object-store');
    const store = createObjectStore({ endpoint, region, accessKey, secretKey, bucket: name });
    await store.ensureBucket();
    await store.put('a/b', Buffer.from('x'), 'text/plain');
    expect(await dropBuckets({ endpoint, region, accessKey, secretKey }, (n) => n === name)).toEqual([name]);
    expect(await dropBuckets({ endpoint, region, accessKey, secretKey }, (n) => n === name)).toEqual([]);
  });
});
