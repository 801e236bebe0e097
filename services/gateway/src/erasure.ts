import type { PhotoKeys } from '@selfie/db';
import { createEraser, type ErasureCounts } from '@selfie/events';
import type { GatewayContext } from './context.js';
import { guard } from './guard.js';

/**
 * Erasure as the API's deletes run it: through the guarded repositories and store (a Mongo or S3 failure answers
 * 503), on the gateway's queues, whose fail-fast Redis connection makes a Redis outage a 503 too. The whole call is
 * bounded generously: it is several round trips, not one.
 */
export function gatewayEraser(ctx: GatewayContext) {
  const eraser = createEraser({
    photos: ctx.repos.livePhotos,
    events: ctx.repos.events,
    deliveries: ctx.repos.deliveries,
    webhooks: ctx.repos.webhooks,
    store: ctx.store,
    faceEmbeddings: ctx.repos.faceEmbeddings,
    queues: ctx.queues,
  });
  const budgetMs = Math.max(10_000, 5 * ctx.config.BACKING_TIMEOUT_MS);
  return {
    erasePhotos: (photos: readonly PhotoKeys[]): Promise<ErasureCounts> =>
      guard('redis', budgetMs, () => eraser.erasePhotos(photos)),
    eraseClientEvents: (accountId: string, clientId: string): Promise<ErasureCounts> =>
      guard('redis', budgetMs, () => eraser.eraseClientEvents(accountId, clientId)),
  };
}
