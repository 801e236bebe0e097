import { deliveryJobId } from '@selfie/events';
import { processMetrics } from '@selfie/metrics';
import { jobOptions, QUEUES } from '@selfie/queue';
import type { PipelineContext } from './context.js';

export interface RelayResult {
  /** Events whose deliveries were queued and marked handed over. */
  events: number;
  /** Delivery jobs added (a job Redis already had is a no-op, so this may count some twice). */
  deliveries: number;
}

/**
 * The outbox relay: events are stored with the deliveries they owe and `pending` until the publisher has put the
 * delivery jobs in Redis. Whatever is still pending after `minAgeMs` (the publisher failed, or crashed, between its
 * insert and its enqueue) is queued here and marked handed over. Job ids are `<eventId>-<webhookId>`, so queueing
 * what the publisher did queue after all changes nothing: a receiver gets each event once per webhook.
 */
export async function relayOutbox(
  ctx: PipelineContext,
  options: { limit?: number; minAgeMs?: number } = {},
): Promise<RelayResult> {
  const pending = await ctx.events.findPending(new Date(Date.now() - (options.minAgeMs ?? 1000)), options.limit ?? 200);
  const result: RelayResult = { events: 0, deliveries: 0 };
  for (const event of pending) {
    const eventId = event._id.toHexString();
    const accountId = event.accountId.toHexString();
    const webhookIds = (event.webhookIds ?? []).map((id) => id.toHexString());
    if (webhookIds.length > 0) {
      await ctx.queue('webhooks').addBulk(
        webhookIds.map((webhookId) => ({
          name: QUEUES.webhooks.job,
          data: { eventId, webhookId, accountId },
          opts: { ...jobOptions('webhooks', ctx.config), jobId: deliveryJobId(eventId, webhookId) },
        })),
      );
    }
    await ctx.events.markHandedOver(event._id);
    result.events += 1;
    result.deliveries += webhookIds.length;
  }
  if (result.events > 0) {
    processMetrics().recordOutboxRelayed(result.deliveries);
    ctx.logger.info(result, 'outbox relay queued deliveries that had not reached Redis');
  }
  return result;
}

export interface OutboxRelayHandle {
  stop(): Promise<void>;
}

/**
 * Runs the relay every `intervalMs` (and once at start), one run at a time, skipping runs while Redis is not
 * connected (the worker connection would otherwise wait for it, holding the run). Several dispatchers may each run
 * one: their adds are the same no-ops.
 */
export function startOutboxRelay(ctx: PipelineContext, intervalMs: number): OutboxRelayHandle {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = async () => {
    if (ctx.redis.status === 'ready') {
      try {
        await relayOutbox(ctx);
      } catch (err) {
        ctx.logger.warn({ err }, 'outbox relay run failed; the next run retries');
      }
    }
    if (!stopped) timer = setTimeout(run, intervalMs);
  };
  const run = () => {
    running = tick();
  };
  run();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      // A run stuck on a backing service must not hold the shutdown: its work is idempotent and redone later.
      let bound: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((resolve) => {
        bound = setTimeout(resolve, 5000);
      });
      await Promise.race([running, limit]);
      clearTimeout(bound);
    },
  };
}
