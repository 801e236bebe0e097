import type { TEvent, TEventPayload } from '@selfie/contracts';
import { type Connection, Schema, Types } from 'mongoose';
import { modelOn, toObjectId } from './models.js';

export interface EventDoc {
  _id: Types.ObjectId;
  accountId: Types.ObjectId;
  type: string;
  resourceType: string;
  payload: TEventPayload;
  /** The client the event is about (from the payload), so erasing a client or a photo finds its events. */
  clientId?: Types.ObjectId;
  /**
   * Outbox: the webhooks the event is to be delivered to, chosen when it is stored and written in the same insert.
   * `pending` stays true until their delivery jobs are in Redis; the dispatcher's relay queues what is still
   * pending, so an event stored while Redis was down is delivered once it is back.
   */
  webhookIds?: Types.ObjectId[];
  pending?: boolean;
  createdAt: Date;
}

const eventSchema = new Schema<EventDoc>(
  {
    accountId: { type: Schema.Types.ObjectId, required: true },
    type: { type: String, required: true },
    resourceType: { type: String, required: true },
    payload: { type: Schema.Types.Mixed, required: true },
    clientId: { type: Schema.Types.ObjectId },
    webhookIds: { type: [Schema.Types.ObjectId], default: undefined },
    pending: { type: Boolean },
  },
  { timestamps: { createdAt: true, updatedAt: false }, minimize: false },
);
eventSchema.index({ accountId: 1, createdAt: -1, _id: -1 });
// The outbox relay's query: events whose deliveries are not in Redis yet, oldest first.
eventSchema.index({ pending: 1, createdAt: 1 });
// Erasure: the events about a client (and, filtered on payload.id, about one of its photos).
eventSchema.index({ accountId: 1, clientId: 1 });

const OBJECT_ID = /^[0-9a-f]{24}$/;

/** The outbox fields and the subject's client of a new event. */
function derivedFields(payload: TEventPayload, webhookIds: readonly (string | Types.ObjectId)[] | undefined) {
  const ids = (webhookIds ?? []).map((id) => toObjectId(id));
  return {
    ...(payload.clientId && OBJECT_ID.test(payload.clientId) ? { clientId: toObjectId(payload.clientId) } : {}),
    webhookIds: ids,
    pending: ids.length > 0,
  };
}

/** The wire envelope; the id is the document's, so every retry of a delivery carries the same one. */
export function toEventEnvelope(doc: EventDoc): TEvent {
  return {
    id: doc._id.toHexString(),
    type: doc.type,
    resourceType: doc.resourceType,
    payload: doc.payload,
    createdAt: doc.createdAt.toISOString(),
  };
}

export class EventRepository {
  readonly model;

  constructor(connection: Connection) {
    this.model = modelOn(connection, 'Event', eventSchema);
  }

  async init(): Promise<void> {
    await this.model.init();
  }

  async create(input: {
    accountId: string;
    type: string;
    resourceType: string;
    payload: TEventPayload;
    /** Webhooks to deliver it to (the outbox): stored in the same insert as the event. */
    webhookIds?: readonly (string | Types.ObjectId)[];
  }): Promise<EventDoc> {
    const doc = await this.model.create({
      _id: new Types.ObjectId(),
      accountId: toObjectId(input.accountId),
      type: input.type,
      resourceType: input.resourceType,
      payload: input.payload,
      ...derivedFields(input.payload, input.webhookIds),
    });
    return doc.toObject();
  }

  /**
   * Inserts an event with a caller-chosen (stable) id, or returns the one already stored under that id: publishing
   * again after a crash finds the same event instead of adding a second one.
   */
  async createOnce(input: Omit<EventDoc, 'createdAt' | 'clientId' | 'pending'>): Promise<EventDoc> {
    try {
      return (await this.model.create({ ...input, ...derivedFields(input.payload, input.webhookIds) })).toObject();
    } catch (err) {
      if ((err as { code?: number } | null)?.code !== 11000) throw err;
      const existing = await this.model.findById(input._id).lean<EventDoc>();
      if (!existing) throw new Error(`event ${input._id.toHexString()} vanished after a duplicate-key insert`);
      return existing;
    }
  }

  async findById(id: string): Promise<EventDoc | null> {
    if (!OBJECT_ID.test(id)) return null;
    return this.model.findById(toObjectId(id)).lean<EventDoc>();
  }

  /** Outbox: the delivery jobs of the event are in Redis (idempotent). */
  async markHandedOver(id: string | Types.ObjectId): Promise<void> {
    await this.model.updateOne({ _id: toObjectId(id), pending: true }, { $set: { pending: false } });
  }

  /** Outbox: events stored before `before` whose deliveries have not been handed to Redis, oldest first. */
  async findPending(before: Date, limit: number): Promise<EventDoc[]> {
    return this.model
      .find({ pending: true, createdAt: { $lt: before } })
      .sort({ createdAt: 1 })
      .limit(limit)
      .lean<EventDoc[]>();
  }

  /** Events about any of the given photos of one client. */
  async findAboutPhotos(accountId: string, clientId: string, photoIds: readonly string[]): Promise<EventDoc[]> {
    return this.model
      .find({ accountId: toObjectId(accountId), clientId: toObjectId(clientId), 'payload.id': { $in: photoIds } })
      .lean<EventDoc[]>();
  }

  /** Up to `limit` events about a client or any of its photos, except those of `exceptTypes`. */
  async findForClient(
    accountId: string,
    clientId: string,
    limit: number,
    exceptTypes: readonly string[] = [],
  ): Promise<EventDoc[]> {
    return this.model
      .find({
        accountId: toObjectId(accountId),
        clientId: toObjectId(clientId),
        ...(exceptTypes.length > 0 ? { type: { $nin: [...exceptTypes] } } : {}),
      })
      .limit(limit)
      .lean<EventDoc[]>();
  }

  /** Up to `limit` events of an account stored before `before` (retention; the list index serves it). */
  async findOlderThan(accountId: string, before: Date, limit: number): Promise<EventDoc[]> {
    return this.model
      .find({ accountId: toObjectId(accountId), createdAt: { $lt: before } })
      .sort({ createdAt: -1, _id: -1 })
      .limit(limit)
      .lean<EventDoc[]>();
  }

  async deleteByIds(ids: readonly (string | Types.ObjectId)[]): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await this.model.deleteMany({ _id: { $in: ids.map((id) => toObjectId(id)) } });
    return result.deletedCount;
  }
}
