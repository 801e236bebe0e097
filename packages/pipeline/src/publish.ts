import { createHash } from 'node:crypto';
import { eventMatches, type TEventType } from '@selfie/contracts';
import { type LivePhotoDoc, Types, toEventEnvelope } from '@selfie/db';
import { deliveryJobId, livePhotoEventPayload } from '@selfie/events';
import { jobOptions, QUEUES } from '@selfie/queue';
import { withTrace } from '@selfie/tracing';
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
 * Stores the event (once) with the deliveries it owes (the outbox), then enqueues one delivery per subscribed webhook
 * (once each) and marks them handed over. `photo` is the final record, whose `published` list says whether an
 * earlier run got this far already. An event found already stored keeps the webhooks it was stored with.
 */
export async function publishPhotoEvent(
  ctx: PipelineContext,
  photo: LivePhotoDoc,
  type: Extract<TEventType, 'livePhoto.completed' | 'livePhoto.failed'>,
): Promise<{ eventId: string; webhookIds: string[] } | null> {
  const photoId = photo._id.toHexString();
  if (photo.published?.includes(type)) return null;
  const accountId = photo.accountId.toHexString();
  const targets = (await ctx.webhooks.listEnabled(accountId)).filter((w) => eventMatches(w.events, type));
  const doc = await ctx.events.createOnce({
    _id: new Types.ObjectId(stableEventId(photoId, type)),
    accountId: photo.accountId,
    type,
    resourceType: 'livePhoto',
    payload: livePhotoEventPayload(photo),
    webhookIds: targets.map((w) => w._id),
  });
  const event = toEventEnvelope(doc);
  // An event stored before the outbox existed has no webhook list of its own: today's subscribers get it.
  const webhookIds = (doc.webhookIds ?? targets.map((w) => w._id)).map((id) => id.toHexString());
  if (doc.pending !== false && webhookIds.length > 0) {
    await ctx.queue('webhooks').addBulk(
      webhookIds.map((webhookId) => ({
        name: QUEUES.webhooks.job,
        // The delivery attempts join the trace of the work that published the event (the finalize span).
        data: withTrace({ eventId: event.id, webhookId, accountId }),
        opts: { ...jobOptions('webhooks', ctx.config), jobId: deliveryJobId(event.id, webhookId) },
      })),
    );
    await ctx.events.markHandedOver(doc._id);
  }
  await ctx.state.markPublished(photoId, type);
  return { eventId: event.id, webhookIds };
}
