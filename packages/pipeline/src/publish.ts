import { createHash } from 'node:crypto';
import { eventMatches, type TEventType } from '@selfie/contracts';
import { type LivePhotoDoc, Types, toEventEnvelope } from '@selfie/db';
import { deliveryJobId, livePhotoEventPayload } from '@selfie/events';
import { jobOptions, QUEUES } from '@selfie/queue';
import type { PipelineContext } from './context.js';

/**
 * A live photo's final event has an id derived from (photo, type): the photo's own timestamp bytes, then a hash.
 * Publishing it again (finalize re-run, crash between status change and publish) finds the same event and the same
 * delivery job ids, so a receiver gets it once, and any retried delivery carries the same id.
 */
export function stableEventId(photoId: string, type: string): string {
  const digest = createHash('sha256').update(`${photoId}:${type}`).digest('hex');
  return `${photoId.slice(0, 8)}${digest.slice(0, 16)}`;
}

/**
 * Stores the event (once) and enqueues one delivery per subscribed webhook (once each). `photo` is the final record,
 * whose `published` list says whether an earlier run got this far already.
 */
export async function publishPhotoEvent(
  ctx: PipelineContext,
  photo: LivePhotoDoc,
  type: Extract<TEventType, 'livePhoto.completed' | 'livePhoto.failed'>,
): Promise<{ eventId: string; webhookIds: string[] } | null> {
  const photoId = photo._id.toHexString();
  if (photo.published?.includes(type)) return null;
  const doc = await ctx.events.createOnce({
    _id: new Types.ObjectId(stableEventId(photoId, type)),
    accountId: photo.accountId,
    type,
    resourceType: 'livePhoto',
    payload: livePhotoEventPayload(photo),
  });
  const event = toEventEnvelope(doc);
  const accountId = photo.accountId.toHexString();
  const targets = (await ctx.webhooks.listEnabled(accountId)).filter((w) => eventMatches(w.events, type));
  if (targets.length > 0) {
    await ctx.queue('webhooks').addBulk(
      targets.map((w) => ({
        name: QUEUES.webhooks.job,
        data: { eventId: event.id, webhookId: w._id.toHexString(), accountId },
        opts: { ...jobOptions('webhooks', ctx.config), jobId: deliveryJobId(event.id, w._id.toHexString()) },
      })),
    );
  }
  await ctx.state.markPublished(photoId, type);
  return { eventId: event.id, webhookIds: targets.map((w) => w._id.toHexString()) };
}
