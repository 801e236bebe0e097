import type { PipelineContext } from '@selfie/pipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, fixture, fixtures, type Receiver, upload, waitFor } from './helpers.js';
import { startTestStack, type TestStack } from './support.js';

// 200 uploads in a burst through the all-in-one process: every photo completes, none lost or duplicated.
// CPU-bound on a 2-core machine: small photos (30-60 KB, the faces stage analyses them at their own size) and the
// four stages in one process sharing one engine; liveness stays on.
const PHOTOS = 200;
const PARALLEL_UPLOADS = 8;

let stack: TestStack;
let ctx: PipelineContext;
let api: Api;
let receiver: Receiver;
let clientId: string;

beforeAll(async () => {
  stack = await startTestStack('test-burst', { RATE_LIMIT_PER_SECOND: 10_000, UPLOAD_MIN_BYTES: 1024 });
  ({ ctx, api, receiver, clientId } = stack);
});

afterAll(async () => {
  await stack?.stop();
});

describe('burst', () => {
  it(`brings ${PHOTOS} photos uploaded at once to complete, none lost or duplicated`, {
    timeout: 300_000,
  }, async () => {
    const photos = [
      ...fixtures('unmasked').map((_, i) => fixture('unmasked', i)),
      fixture('single', 0),
      fixture('single', 1),
    ].filter((b) => b.length <= 64 * 1024);
    expect(photos.length).toBeGreaterThan(0);

    const started = Date.now();
    const ids: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLEL_UPLOADS }, async () => {
        while (next < PHOTOS) {
          const i = next++;
          const res = await upload(api, clientId, photos[i % photos.length] as Buffer);
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          ids.push(res.body.id);
        }
      }),
    );
    const uploadedMs = Date.now() - started;
    expect(new Set(ids).size).toBe(PHOTOS);

    const filter = { clientId: (await ctx.photos.findById(ids[0] as string))?.clientId };
    await waitFor(
      'every photo to end',
      async () => (await ctx.photos.model.countDocuments({ ...filter, status: 'processing' })) === 0,
      240_000,
      1000,
    );
    const doneMs = Date.now() - started;

    // Counted in MongoDB and in S3: exactly one record and one object per upload, all complete.
    expect(await ctx.photos.model.countDocuments(filter)).toBe(PHOTOS);
    expect(await ctx.photos.model.countDocuments({ ...filter, status: 'complete' })).toBe(PHOTOS);
    const accountId = (await ctx.photos.findById(ids[0] as string))?.accountId.toHexString();
    const objects = await ctx.store.list(`${accountId}/`);
    expect(objects.sort()).toEqual(ids.map((id) => `${accountId}/${id}`).sort());
    const incomplete = await ctx.photos.model.countDocuments({
      ...filter,
      $or: [
        { 'inspections.facesAnalysis': { $exists: false } },
        { 'inspections.facialObstructions': { $exists: false } },
        { 'inspections.facialOrientation': { $exists: false } },
        { 'inspections.livenessCheck': { $exists: false } },
        { 'inspections.outcome': { $exists: false } },
      ],
    });
    expect(incomplete).toBe(0);
    expect(await ctx.events.model.countDocuments({ type: 'livePhoto.completed' })).toBe(PHOTOS);
    await waitFor('every event delivered', () => new Set(receiver.requests.map((r) => r.body)).size >= PHOTOS, 60_000);
    const delivered = new Set(
      receiver.requests.map((r) => (JSON.parse(r.body) as { payload: { id: string } }).payload.id),
    );
    expect(delivered).toEqual(new Set(ids));
    console.info(`burst: ${PHOTOS} uploads in ${uploadedMs} ms, all complete after ${doneMs} ms`);
  });
});
