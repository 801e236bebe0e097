import type { TWebhookCreate, TWebhookUpdate } from '@selfie/contracts';
import { type Connection, Schema, type Types } from 'mongoose';
import { randomAlphanumeric } from './accounts.js';
import { findOwned, findPage, modelOn, type Page, type PageRequest, toObjectId } from './models.js';

export interface WebhookDoc {
  _id: Types.ObjectId;
  accountId: Types.ObjectId;
  url: string;
  enabled: boolean;
  events: string[];
  description?: string;
  /** HMAC key for `ComplyCube-Signature`; kept in clear because signing needs it, returned only on create. */
  secret: string;
  createdAt: Date;
  updatedAt: Date;
}

const webhookSchema = new Schema<WebhookDoc>(
  {
    accountId: { type: Schema.Types.ObjectId, required: true },
    url: { type: String, required: true },
    enabled: { type: Boolean, default: true },
    events: { type: [String], required: true },
    description: String,
    secret: { type: String, required: true },
  },
  { timestamps: true },
);
webhookSchema.index({ accountId: 1, createdAt: -1, _id: -1 });

export interface WebhookListFilter extends PageRequest {
  enabled?: boolean;
  url?: string;
  events?: string;
}

export class WebhookRepository {
  readonly model;

  constructor(connection: Connection) {
    this.model = modelOn(connection, 'Webhook', webhookSchema);
  }

  async init(): Promise<void> {
    await this.model.init();
  }

  async countForAccount(accountId: string): Promise<number> {
    return this.model.countDocuments({ accountId: toObjectId(accountId) });
  }

  async create(accountId: string, input: TWebhookCreate): Promise<WebhookDoc> {
    const doc = await this.model.create({
      ...input,
      enabled: input.enabled ?? true,
      accountId: toObjectId(accountId),
      secret: randomAlphanumeric(32),
    });
    return doc.toObject();
  }

  async findForAccount(accountId: string, id: string): Promise<WebhookDoc | null> {
    return findOwned<WebhookDoc>(this.model, accountId, id);
  }

  /** For the dispatcher: the webhook (with its secret) whatever its account. */
  async findById(id: string): Promise<WebhookDoc | null> {
    return this.model.findById(toObjectId(id)).lean<WebhookDoc>();
  }

  async update(accountId: string, id: string, patch: TWebhookUpdate): Promise<WebhookDoc | null> {
    const filter = { _id: toObjectId(id), accountId: toObjectId(accountId) };
    const set = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    return this.model.findOneAndUpdate(filter, { $set: set }, { new: true }).lean<WebhookDoc>();
  }

  /** For the dispatcher: after the last failed attempt the webhook is switched off. */
  async disable(id: string): Promise<void> {
    await this.model.updateOne({ _id: toObjectId(id) }, { $set: { enabled: false } });
  }

  async delete(accountId: string, id: string): Promise<boolean> {
    const result = await this.model.deleteOne({ _id: toObjectId(id), accountId: toObjectId(accountId) });
    return result.deletedCount === 1;
  }

  async list(accountId: string, filter: WebhookListFilter): Promise<Page<WebhookDoc>> {
    const query: Record<string, unknown> = { accountId: toObjectId(accountId) };
    if (filter.enabled !== undefined) query.enabled = filter.enabled;
    if (filter.url !== undefined) query.url = filter.url;
    if (filter.events !== undefined) query.events = filter.events;
    return findPage<WebhookDoc>(this.model, query, filter);
  }

  /** Enabled webhooks of an account (the publisher filters them by event pattern). */
  async listEnabled(accountId: string): Promise<WebhookDoc[]> {
    return this.model.find({ accountId: toObjectId(accountId), enabled: true }).lean<WebhookDoc[]>();
  }
}
