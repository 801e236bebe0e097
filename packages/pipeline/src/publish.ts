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

function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: number } | null)?.code === 11000;
}

/** Stores the event (once) and enqueues one delivery per subscribed webhook (once each). */
export async function publishPhotoEvent(
  ctx: PipelineContext,
  photo: LivePhotoDoc,
  type: Extract<TEventType, 'livePhoto.completed' | 'livePhoto.failed'>,
): Promise<{ eventId: string; webhookIds: string[] } | null> {
  const photoId = photo._id.toHexString();
  if (await ctx.state.wasPublished(photoId, type)) return null;
  const eventId = stableEventId(photoId, type);
  let doc = await ctx.events.findById(eventId);
  if (!doc) {
    try {
      await ctx.events.model.create({
        _id: new Types.ObjectId(eventId),
        accountId: photo.accountId,
        type,
        resourceType: 'livePhoto',
        payload: livePhotoEventPayload(photo),
      });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    doc = await ctx.events.findById(eventId);
    if (!doc) throw new Error(`event ${eventId} vanished after insert`);
  }
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
