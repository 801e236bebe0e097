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

type JobsOptions = NonNullable<Parameters<Queue['add']>[2]>;

export interface PublishInput {
  accountId: string;
  type: TEventType;
  resourceType: TResourceType;
  payload: TEventPayload;
}

export interface PublishResult {
  event: TEvent;
  /** Ids of the webhooks a delivery job was enqueued for. */
  webhookIds: string[];
}

export interface EventPublisher {
  /**
   * Stores the event, then enqueues one delivery job per enabled webhook of the account that subscribes to it.
   * Throws when Mongo or Redis fails; callers that already committed their write log the error instead.
   */
  publish(input: PublishInput): Promise<PublishResult>;
}

export interface EventPublisherOptions {
  connection: Connection;
  /** `createQueue('webhooks', ...)`. */
  queue: Queue<JobPayload<'webhooks'>>;
  /** Overrides of the catalogue's retry options (e.g. WEBHOOK_MAX_ATTEMPTS / WEBHOOK_BACKOFF_MS). */
  jobOptions?: JobsOptions;
}

/** Delivery job id: one job per (event, webhook), so publishing twice never delivers twice. */
export function deliveryJobId(eventId: string, webhookId: string): string {
  return `${eventId}-${webhookId}`;
}

export function createEventPublisher(options: EventPublisherOptions): EventPublisher {
  const events = new EventRepository(options.connection);
  const webhooks = new WebhookRepository(options.connection);
  return {
    async publish(input) {
      const doc = await events.create(input);
      const event = toEventEnvelope(doc);
      const targets = (await webhooks.listEnabled(input.accountId)).filter((w) => eventMatches(w.events, input.type));
      if (targets.length > 0) {
        await options.queue.addBulk(
          targets.map((w) => {
            const webhookId = w._id.toHexString();
            return {
              name: QUEUES.webhooks.job,
              data: { eventId: event.id, webhookId, accountId: input.accountId },
              opts: { ...options.jobOptions, jobId: deliveryJobId(event.id, webhookId) },
            };
          }),
        );
      }
      return { event, webhookIds: targets.map((w) => w._id.toHexString()) };
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
