import { AccountRepository } from '@selfie/db';
import { createEraser, createEventPublisher, type Eraser, type ErasureCounts, zeroCounts } from '@selfie/events';
import { processMetrics } from '@selfie/metrics';
import { jobOptions, QUEUES, type QueueKey } from '@selfie/queue';
import type { PipelineContext } from './context.js';

const DAY_MS = 24 * 3600_000;

/** An eraser on a pipeline context: its repositories, its bucket and every queue of the catalogue. */
export function pipelineEraser(ctx: PipelineContext): Eraser {
  return createEraser({
    photos: ctx.photos,
    events: ctx.events,
    deliveries: ctx.deliveries,
    webhooks: ctx.webhooks,
    store: ctx.store,
    faceEmbeddings: ctx.faceEmbeddings,
    queues: (Object.keys(QUEUES) as QueueKey[]).map((key) => ctx.queue(key)),
  });
}

export interface RetentionResult extends ErasureCounts {
  /** Accounts with a retention period (RETENTION_DAYS or their own). */
  accounts: number;
}

/**
 * One retention pass. For every account with a period (its own `retentionDays`, else RETENTION_DAYS; 0 or neither:
 * kept until deleted) it erases, in batches of `batchSize` and at most `maxBatches` of each kind per account and run:
 * - photos uploaded before the cutoff and no longer processing, with everything derived from them (bytes, record
 *   with its stage results, events about them, their delivery records and jobs), each announced by a
 *   `livePhoto.deleted` event as a deletion through the API is;
 * - events of any kind stored before the cutoff, with their delivery records and jobs (deletion notices included,
 *   once they are that old).
 * What is left for later runs is taken up by them; counts go to the log and to `selfie_retention_erased_total`.
 */
export async function retentionOnce(
  ctx: PipelineContext,
  options: { batchSize?: number; maxBatches?: number } = {},
): Promise<RetentionResult> {
  const batchSize = options.batchSize ?? 50;
  const maxBatches = options.maxBatches ?? 20;
  const now = Date.now();
  const result: RetentionResult = { accounts: 0, ...zeroCounts() };
  const add = (counts: ErasureCounts) => {
    for (const key of Object.keys(counts) as (keyof ErasureCounts)[]) result[key] += counts[key];
  };
  const policies = await new AccountRepository(ctx.mongo).retentionPolicies();
  const eraser = pipelineEraser(ctx);
  const publisher = createEventPublisher({
    connection: ctx.mongo,
    queue: ctx.queue('webhooks'),
    jobOptions: jobOptions('webhooks', ctx.config),
  });

  for (const account of policies) {
    const days = account.retentionDays ?? ctx.config.RETENTION_DAYS;
    if (!days) continue;
    result.accounts += 1;
    const accountId = account._id.toHexString();
    const cutoff = new Date(now - days * DAY_MS);

    for (let n = 0; n < maxBatches; n++) {
      const photos = await ctx.photos.findExpired(accountId, cutoff, batchSize);
      if (photos.length === 0) break;
      add(await eraser.erasePhotos(photos));
      const at = new Date().toISOString();
      for (const photo of photos) {
        await publisher.publish({
          accountId,
          type: 'livePhoto.deleted',
          resourceType: 'livePhoto',
          payload: {
            id: photo._id.toHexString(),
            clientId: photo.clientId.toHexString(),
            status: photo.status,
            createdAt: photo.createdAt.toISOString(),
            updatedAt: at,
          },
        });
      }
    }

    for (let n = 0; n < maxBatches; n++) {
      const events = await ctx.events.findOlderThan(accountId, cutoff, batchSize);
      if (events.length === 0) break;
      add(await eraser.eraseEvents(events));
    }
  }

  processMetrics().recordRetention({
    photos: result.photos,
    objects: result.objects,
    events: result.events,
    deliveries: result.deliveries,
  });
  if (result.photos + result.events + result.deliveries > 0) {
    ctx.logger.info(result, 'retention erased expired photos and events');
  }
  return result;
}
