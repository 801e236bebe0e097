import { randomInt } from 'node:crypto';
import { type TWebhookCreate, type TWebhookUpdate, WEBHOOKS_PER_ACCOUNT } from '@selfie/contracts';
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
  /**
   * The place the webhook holds among its account's WEBHOOKS_PER_ACCOUNT. `{accountId, slot}` is unique, so
   * concurrent creates cannot exceed the cap: two that pick the same free slot collide and one tries another.
   */
  slot?: number;
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
    slot: { type: Number },
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

  /**
   * Indexes, after giving webhooks stored before slots existed one each (in creation order, after the slots in
   * use; an account that was already over the cap keeps its extras in slots past it). The unique slot index is built
   * here rather than from the schema, since it could not be built before that.
   */
  async init(): Promise<void> {
    await this.model.init();
    const legacy = await this.model
      .find({ slot: { $exists: false } }, { _id: 1, accountId: 1, createdAt: 1 })
      .sort({ createdAt: 1, _id: 1 })
      .lean<Pick<WebhookDoc, '_id' | 'accountId'>[]>();
    const byAccount = new Map<string, Pick<WebhookDoc, '_id' | 'accountId'>[]>();
    for (const hook of legacy) {
      const key = hook.accountId.toHexString();
      byAccount.set(key, [...(byAccount.get(key) ?? []), hook]);
    }
    for (const [accountId, hooks] of byAccount) {
      const used = new Set((await this.slotsOf(accountId)).filter((s): s is number => s !== undefined));
      let next = 0;
      for (const hook of hooks) {
        while (used.has(next)) next++;
        used.add(next);
        await this.model.updateOne({ _id: hook._id, slot: { $exists: false } }, { $set: { slot: next } });
      }
    }
    await this.model.collection.createIndex({ accountId: 1, slot: 1 }, { unique: true, name: 'accountId_1_slot_1' });
  }

  private async slotsOf(accountId: string): Promise<(number | undefined)[]> {
    const docs = await this.model.find({ accountId: toObjectId(accountId) }, { slot: 1 }).lean<{ slot?: number }[]>();
    return docs.map((d) => d.slot);
  }

  async countForAccount(accountId: string): Promise<number> {
    return this.model.countDocuments({ accountId: toObjectId(accountId) });
  }

  /**
   * Creates the webhook in a free slot, or returns null when the account already has `limit`. A slot taken by a
   * concurrent create in between is a duplicate key: read again and pick another (a random free one, so racing
   * creates rarely collide twice).
   */
  async createWithinLimit(
    accountId: string,
    input: TWebhookCreate,
    limit: number = WEBHOOKS_PER_ACCOUNT,
  ): Promise<WebhookDoc | null> {
    for (let attempt = 0; attempt < 3 * limit; attempt++) {
      const slots = await this.slotsOf(accountId);
      if (slots.length >= limit) return null;
      const used = new Set(slots);
      const free: number[] = [];
      for (let slot = 0; slot < limit; slot++) if (!used.has(slot)) free.push(slot);
      const slot = free[randomInt(free.length)];
      if (slot === undefined) return null;
      try {
        const doc = await this.model.create({
          ...input,
          enabled: input.enabled ?? true,
          accountId: toObjectId(accountId),
          secret: randomAlphanumeric(32),
          slot,
        });
        return doc.toObject();
      } catch (err) {
        if ((err as { code?: number } | null)?.code !== 11000) throw err;
      }
    }
    throw new Error(`no free webhook slot for account ${accountId} after repeated conflicts`);
  }

  /** Like `createWithinLimit`, throwing when the account is at the cap. */
  async create(accountId: string, input: TWebhookCreate): Promise<WebhookDoc> {
    const doc = await this.createWithinLimit(accountId, input);
    if (!doc) throw new Error(`account ${accountId} already has ${WEBHOOKS_PER_ACCOUNT} webhooks`);
    return doc;
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

  /** Ids of every webhook of an account, enabled or not (erasure of events stored before the outbox). */
  async idsForAccount(accountId: string): Promise<Types.ObjectId[]> {
    const docs = await this.model
      .find({ accountId: toObjectId(accountId) }, { _id: 1 })
      .lean<{ _id: Types.ObjectId }[]>();
    return docs.map((d) => d._id);
  }

  /** Enabled webhooks of an account (the publisher filters them by event pattern). */
  async listEnabled(accountId: string): Promise<WebhookDoc[]> {
    return this.model.find({ accountId: toObjectId(accountId), enabled: true }).lean<WebhookDoc[]>();
  }
}
