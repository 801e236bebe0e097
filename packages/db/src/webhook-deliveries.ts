import { type Connection, Schema, type Types } from 'mongoose';
import { findPage, modelOn, type Page, type PageRequest, toObjectId } from './models.js';

/** One delivery attempt of one event to one webhook. */
export interface WebhookDeliveryDoc {
  _id: Types.ObjectId;
  webhookId: Types.ObjectId;
  eventId: string;
  attempt: number;
  statusCode?: number;
  latencyMs: number;
  error?: string;
  createdAt: Date;
}

const deliverySchema = new Schema<WebhookDeliveryDoc>(
  {
    webhookId: { type: Schema.Types.ObjectId, required: true },
    eventId: { type: String, required: true },
    attempt: { type: Number, required: true },
    statusCode: Number,
    latencyMs: { type: Number, required: true },
    error: String,
  },
  { timestamps: { createdAt: true, updatedAt: false } },
);
deliverySchema.index({ webhookId: 1, createdAt: -1, _id: -1 });
// Erasure: the attempts of the events being deleted.
deliverySchema.index({ eventId: 1 });

export interface DeliveryAttempt {
  webhookId: string;
  eventId: string;
  attempt: number;
  statusCode?: number;
  latencyMs: number;
  error?: string;
}

export class WebhookDeliveryRepository {
  readonly model;

  constructor(connection: Connection) {
    this.model = modelOn(connection, 'WebhookDelivery', deliverySchema);
  }

  async init(): Promise<void> {
    await this.model.init();
  }

  /** Written by the dispatcher after every attempt, successful or not. */
  async record(attempt: DeliveryAttempt): Promise<WebhookDeliveryDoc> {
    const doc = await this.model.create({
      webhookId: toObjectId(attempt.webhookId),
      eventId: attempt.eventId,
      attempt: attempt.attempt,
      statusCode: attempt.statusCode,
      latencyMs: attempt.latencyMs,
      error: attempt.error,
    });
    return doc.toObject();
  }

  /** Callers check that the webhook belongs to the account first. */
  async listForWebhook(webhookId: string, page: PageRequest): Promise<Page<WebhookDeliveryDoc>> {
    return findPage<WebhookDeliveryDoc>(this.model, { webhookId: toObjectId(webhookId) }, page);
  }

  /** Every attempt of the given events (erasure); the number deleted. */
  async deleteForEvents(eventIds: readonly string[]): Promise<number> {
    if (eventIds.length === 0) return 0;
    const result = await this.model.deleteMany({ eventId: { $in: [...eventIds] } });
    return result.deletedCount;
  }

  async deleteForWebhook(webhookId: string): Promise<void> {
    await this.model.deleteMany({ webhookId: toObjectId(webhookId) });
  }
}
