import { ReasonCode } from '@selfie/contracts';
import { Types } from '@selfie/db';
import { processMetrics } from '@selfie/metrics';
import type { PipelineContext } from './context.js';
import { publishPhotoEvent } from './publish.js';

/** Object keys the gateway writes: `<accountId>/<photoId>`. Anything else in the bucket is not ours to delete. */
const OBJECT_KEY = /^[0-9a-f]{24}\/([0-9a-f]{24})$/;
const PARALLEL = 8;

export interface OrphanSweepResult {
  /** Bucket keys listed in this run. */
  objectsListed: number;
  /** Keys deleted: older than the grace period, with no photo record. */
  objectsDeleted: string[];
  /** Keys left alone because they do not look like the gateway's. */
  foreignKeys: number;
  /** Photo records looked at in this run. */
  recordsChecked: number;
  /** Photos failed (IMAGE_MISSING): processing or complete, not redacted, and their bytes are gone. */
  recordsFailed: string[];
}

/** Where each walk stopped, so the next run carries on (lost with Redis: the walk then starts again). */
function cursorKeys(ctx: PipelineContext) {
  return {
    objects: `${ctx.config.REDIS_PREFIX}:orphan-sweep:objects-after`,
    records: `${ctx.config.REDIS_PREFIX}:orphan-sweep:records-after`,
  };
}

async function inBatches<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += PARALLEL) await Promise.all(items.slice(i, i + PARALLEL).map(fn));
}

/**
 * One run of the orphan sweep, bounded by `batch` bucket keys and `batch` photo records (ORPHAN_SWEEP_BATCH). Both
 * walks resume where the previous run stopped and start over once they reach the end.
 *
 * - Bytes without a record (a gateway killed between its S3 put and its insert, a delete cut short): objects older
 *   than `graceMs` (ORPHAN_GRACE_MS, so an upload in flight is never taken for one) are deleted.
 * - Records without bytes (lost or deleted by hand): photos processing or complete, not redacted and older than
 *   `graceMs`, are failed with IMAGE_MISSING and a `livePhoto.failed` event, since their result can no longer be
 *   checked against the photo nor downloaded.
 */
export async function sweepOrphans(
  ctx: PipelineContext,
  options: { batch?: number; graceMs?: number } = {},
): Promise<OrphanSweepResult> {
  const batch = options.batch ?? ctx.config.ORPHAN_SWEEP_BATCH;
  const cutoff = Date.now() - (options.graceMs ?? ctx.config.ORPHAN_GRACE_MS);
  const keys = cursorKeys(ctx);
  const result: OrphanSweepResult = {
    objectsListed: 0,
    objectsDeleted: [],
    foreignKeys: 0,
    recordsChecked: 0,
    recordsFailed: [],
  };

  // Bytes without a record.
  const startAfter = (await ctx.redis.get(keys.objects)) || undefined;
  const page = await ctx.store.listPage({ startAfter, limit: batch });
  result.objectsListed = page.items.length;
  const old = page.items.filter((item) => item.lastModified.getTime() < cutoff);
  const ours = old.filter((item) => OBJECT_KEY.test(item.key));
  result.foreignKeys = old.length - ours.length;
  const photoIds = ours.map((item) => OBJECT_KEY.exec(item.key)?.[1] as string);
  const recorded = new Set((await ctx.photos.findByIds(photoIds)).map((photo) => photo.objectKey));
  await inBatches(
    ours.filter((item) => !recorded.has(item.key)),
    async (item) => {
      await ctx.store.remove(item.key);
      result.objectsDeleted.push(item.key);
    },
  );
  const lastKey = page.items[page.items.length - 1]?.key;
  if (page.done || !lastKey) await ctx.redis.del(keys.objects);
  else await ctx.redis.set(keys.objects, lastKey);

  // Records without bytes.
  const after = await ctx.redis.get(keys.records);
  const records = await ctx.photos.pageAfter(
    after && Types.ObjectId.isValid(after) ? new Types.ObjectId(after) : undefined,
    batch,
  );
  result.recordsChecked = records.length;
  const suspects = records.filter(
    (photo) =>
      !photo.redacted &&
      (photo.status === 'processing' || photo.status === 'complete') &&
      photo.createdAt.getTime() < cutoff,
  );
  await inBatches(suspects, async (photo) => {
    if (await ctx.store.exists(photo.objectKey)) return;
    const photoId = photo._id.toHexString();
    const failed = await ctx.state.failMissingImage(photoId, ReasonCode.IMAGE_MISSING);
    if (!failed) return;
    result.recordsFailed.push(photoId);
    ctx.logger.warn(
      { photoId, objectKey: photo.objectKey, was: photo.status },
      'photo failed: its stored image is missing (IMAGE_MISSING)',
    );
    await publishPhotoEvent(ctx, failed, 'livePhoto.failed');
  });
  const lastId = records[records.length - 1]?._id;
  if (records.length < batch || !lastId) await ctx.redis.del(keys.records);
  else await ctx.redis.set(keys.records, lastId.toHexString());

  processMetrics().recordOrphans('object_deleted', result.objectsDeleted.length);
  processMetrics().recordOrphans('record_failed', result.recordsFailed.length);
  if (result.objectsDeleted.length + result.recordsFailed.length > 0) {
    ctx.logger.info(
      { objectsDeleted: result.objectsDeleted.length, recordsFailed: result.recordsFailed.length },
      'orphan sweep resolved orphans',
    );
  }
  return result;
}
