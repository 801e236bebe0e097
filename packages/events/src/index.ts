import { eventMatches, type TEvent, type TEventPayload, type TEventType, type TResourceType } from '@selfie/contracts';
import {
  type ClientDoc,
  type Connection,
  EventRepository,
  type LivePhotoDoc,
  toEventEnvelope,
  WebhookRepository,
} from '@selfie/db';
import { type JobPayload, QUEUES, type Queue } from '@selfie/queue';
import { withTrace } from '@selfie/tracing';
import { deliveryJobId } from './erasure.js';

type JobsOptions = NonNullable<Parameters<Queue['add']>[2]>;

export interface PublishInput {
  accountId: string;
  type: TEventType;
  resourceType: TResourceType;
  payload: TEventPayload;
}

export interface PublishResult {
  event: TEvent;
  /** Ids of the webhooks the event is to be delivered to (stored with it: the outbox). */
  webhookIds: string[];
  /** Whether their delivery jobs reached Redis now; when not, the dispatcher's outbox relay queues them later. */
  queued: boolean;
}

export interface EventPublisher {
  /**
   * Stores the event together with its pending deliveries (one per enabled webhook of the account that subscribes
   * to it) in one insert, then enqueues their jobs and marks them handed over. Throws only when the insert fails
   * (callers that already committed their write log the error); a Redis failure after it leaves the deliveries
   * pending for the outbox relay (`queued: false`).
   */
  publish(input: PublishInput): Promise<PublishResult>;
}

export interface EventPublisherOptions {
  connection: Connection;
  /** `createQueue('webhooks', ...)`. */
  queue: Queue<JobPayload<'webhooks'>>;
  /** Overrides of the catalogue's retry options (e.g. WEBHOOK_MAX_ATTEMPTS / WEBHOOK_BACKOFF_MS). */
  jobOptions?: JobsOptions;
  /** Longest the publisher waits for Redis to take the delivery jobs before leaving them to the relay. */
  queueTimeoutMs?: number;
}

/** Rejects after `ms` (the operation itself may still land later: the relay's re-add is then a no-op). */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis did not take the delivery jobs within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function createEventPublisher(options: EventPublisherOptions): EventPublisher {
  const events = new EventRepository(options.connection);
  const webhooks = new WebhookRepository(options.connection);
  return {
    async publish(input) {
      const targets = (await webhooks.listEnabled(input.accountId)).filter((w) => eventMatches(w.events, input.type));
      // The outbox: the event and the deliveries it owes are one document, so neither exists without the other.
      const doc = await events.create({ ...input, webhookIds: targets.map((w) => w._id) });
      const event = toEventEnvelope(doc);
      let queued = true;
      if (targets.length > 0) {
        const added = options.queue.addBulk(
          targets.map((w) => {
            const webhookId = w._id.toHexString();
            return {
              name: QUEUES.webhooks.job,
              // Deliveries join the trace of the request or job that published the event.
              data: withTrace({ eventId: event.id, webhookId, accountId: input.accountId }),
              opts: { ...options.jobOptions, jobId: deliveryJobId(event.id, webhookId) },
            };
          }),
        );
        try {
          await within(added, options.queueTimeoutMs ?? 5000);
          await events.markHandedOver(doc._id);
        } catch {
          added.catch(() => {});
          queued = false;
        }
      }
      return { event, webhookIds: targets.map((w) => w._id.toHexString()), queued };
    },
  };
}

/** Compact payload of a live photo event: ids, status and outcome only. */
export function livePhotoEventPayload(photo: LivePhotoDoc): TEventPayload {
  const payload: TEventPayload = {
    id: photo._id.toHexString(),
    clientId: photo.clientId.toHexString(),
    status: photo.status,
    createdAt: photo.createdAt.toISOString(),
    updatedAt: photo.updatedAt.toISOString(),
  };
  const outcome = photo.inspections?.outcome;
  if (outcome === 'clear' || outcome === 'attention' || outcome === 'not_processed') payload.outcome = outcome;
  return payload;
}

/** Compact payload of a client event (no personal data). */
export function clientEventPayload(client: ClientDoc, at: Date = client.updatedAt): TEventPayload {
  return {
    id: client._id.toHexString(),
    clientId: client._id.toHexString(),
    createdAt: client.createdAt.toISOString(),
    updatedAt: at.toISOString(),
  };
}

export {
  addCounts,
  createEraser,
  DELETION_EVENT_TYPES,
  deliveryJobId,
  type Eraser,
  type ErasureCounts,
  type ErasureDeps,
  zeroCounts,
} from './erasure.js';
