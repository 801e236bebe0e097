import type { TConfig } from '@selfie/config';
import type { TWebhookJob } from '@selfie/contracts';
import { toEventEnvelope } from '@selfie/db';
import type { Logger } from '@selfie/logger';
import { processMetrics } from '@selfie/metrics';
import { createWorker, type Job, UnrecoverableError, type Worker, webhookBackoffDelay } from '@selfie/queue';
import type { ServiceHandle } from '@selfie/runtime';
import { setSpanAttributes, tracingEnabled } from '@selfie/tracing';
import { createPipelineContext, type PipelineContext } from '../context.js';
import { startOutboxRelay } from '../outbox.js';
import { postWebhook, signBody } from './deliver.js';

export const SIGNATURE_HEADER = 'ComplyCube-Signature';

export interface DeliverySummary {
  delivered?: boolean;
  statusCode?: number;
  dropped?: string;
}

function dropped(reason: string): DeliverySummary {
  setSpanAttributes({ 'selfie.dropped': reason });
  return { dropped: reason };
}

/** The host of a webhook URL for span attributes (never the path or query, which may hold a token). */
function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/** One attempt of one event to one webhook; throws on failure so BullMQ retries with the webhook back-off. */
export async function deliverEvent(ctx: PipelineContext, payload: TWebhookJob, job: Job): Promise<DeliverySummary> {
  const { config, logger } = ctx;
  setSpanAttributes({ 'selfie.event_id': payload.eventId, 'selfie.webhook_id': payload.webhookId });
  const webhook = await ctx.webhooks.findById(payload.webhookId);
  // Deleted or switched off since the event was published: nothing to deliver, and nothing to retry.
  if (!webhook || webhook.accountId.toHexString() !== payload.accountId) return dropped('webhook_deleted');
  if (!webhook.enabled) return dropped('webhook_disabled');
  const event = await ctx.events.findById(payload.eventId);
  if (!event) return dropped('event_deleted');

  // The exact bytes sent are the bytes signed; compact, as JSON.stringify writes them.
  const body = JSON.stringify(toEventEnvelope(event));
  const attempt = job.attemptsMade + 1;
  const result = await postWebhook(webhook.url, body, {
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
    headers: { [SIGNATURE_HEADER]: signBody(webhook.secret, body) },
  });
  if (tracingEnabled()) {
    setSpanAttributes({
      'selfie.event_type': event.type,
      'http.request.method': 'POST',
      'server.address': hostOf(webhook.url),
      'http.response.status_code': result.statusCode,
      'selfie.delivered': result.ok,
      'selfie.latency_ms': result.latencyMs,
      // Low-cardinality, as the convention asks; the message is on the exception the failed attempt records.
      'error.type': result.ok ? undefined : result.statusCode !== undefined ? String(result.statusCode) : 'no_response',
    });
  }
  await ctx.deliveries.record({
    webhookId: payload.webhookId,
    eventId: payload.eventId,
    attempt,
    latencyMs: result.latencyMs,
    ...(result.statusCode !== undefined ? { statusCode: result.statusCode } : {}),
    ...(result.error !== undefined ? { error: result.error } : {}),
  });
  const maxAttempts = Math.min(job.opts.attempts ?? config.WEBHOOK_MAX_ATTEMPTS, config.WEBHOOK_MAX_ATTEMPTS);
  processMetrics().recordWebhookDelivery(
    result.ok ? 'delivered' : attempt >= maxAttempts ? 'disabled' : 'failed',
    result.statusCode,
    result.latencyMs / 1000,
  );
  if (result.ok) return { delivered: true, statusCode: result.statusCode };

  if (attempt >= maxAttempts) {
    await ctx.webhooks.disable(payload.webhookId);
    logger.warn(
      { webhookId: payload.webhookId, eventId: payload.eventId, attempts: attempt },
      'webhook disabled after its last failed delivery',
    );
    throw new UnrecoverableError(`delivery failed ${attempt} times (${result.error}); webhook disabled`);
  }
  throw new Error(`delivery attempt ${attempt} failed: ${result.error}`);
}

/** The webhook dispatcher service: consumes `webhooks`. */
export async function startWebhookDispatcher(
  config: TConfig,
  logger: Logger,
): Promise<ServiceHandle & { worker: Worker }> {
  const ctx = await createPipelineContext(config, logger);
  const worker = createWorker('webhooks', ctx.queueCtx, (payload, job) => deliverEvent(ctx, payload, job), {
    traceAs: 'webhook-dispatcher',
    concurrency: config.WEBHOOK_CONCURRENCY,
    // The POST itself is bounded by WEBHOOK_TIMEOUT_MS; keep the lock well above it.
    lockDuration: Math.max(30_000, config.WEBHOOK_TIMEOUT_MS * 2),
    stalledInterval: config.STAGE_STALLED_INTERVAL_MS,
    settings: {
      // Delivery jobs use the catalogue's custom type; the base delay comes from configuration.
      backoffStrategy: (attemptsMade: number) => webhookBackoffDelay(attemptsMade, config.WEBHOOK_BACKOFF_MS),
    },
  });
  worker.on('failed', (job, err) =>
    logger.info({ jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, 'webhook delivery failed'),
  );
  worker.on('error', (err) => logger.error({ err }, 'webhook worker error'));
  await worker.waitUntilReady();
  // Deliveries of events stored while Redis could not take their jobs (the outbox).
  const relay = startOutboxRelay(ctx, config.OUTBOX_RELAY_INTERVAL_MS);
  return {
    worker,
    async stop() {
      await relay.stop();
      await worker.close();
      await ctx.close();
    },
  };
}
