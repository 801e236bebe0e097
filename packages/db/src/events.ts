import type { TEvent, TEventPayload } from '@selfie/contracts';
import { type Connection, Schema, Types } from 'mongoose';
import { modelOn, toObjectId } from './models.js';

export interface EventDoc {
  _id: Types.ObjectId;
  accountId: Types.ObjectId;
  type: string;
  resourceType: string;
  payload: TEventPayload;
  createdAt: Date;
}

const eventSchema = new Schema<EventDoc>(
  {
    accountId: { type: Schema.Types.ObjectId, required: true },
    type: { type: String, required: true },
    resourceType: { type: String, required: true },
    payload: { type: Schema.Types.Mixed, required: true },
  },
  { timestamps: { createdAt: true, updatedAt: false }, minimize: false },
);
eventSchema.index({ accountId: 1, createdAt: -1, _id: -1 });

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
  }): Promise<EventDoc> {
    const doc = await this.model.create({
      _id: new Types.ObjectId(),
      accountId: toObjectId(input.accountId),
      type: input.type,
      resourceType: input.resourceType,
      payload: input.payload,
    });
    return doc.toObject();
  }

  /**
   * Inserts an event with a caller-chosen (stable) id, or returns the one already stored under that id: publishing
   * again after a crash finds the same event instead of adding a second one.
   */
  async createOnce(input: Omit<EventDoc, 'createdAt'>): Promise<EventDoc> {
    try {
      return (await this.model.create(input)).toObject();
    } catch (err) {
      if ((err as { code?: number } | null)?.code !== 11000) throw err;
      const existing = await this.model.findById(input._id).lean<EventDoc>();
      if (!existing) throw new Error(`event ${input._id.toHexString()} vanished after a duplicate-key insert`);
      return existing;
    }
  }

  async findById(id: string): Promise<EventDoc | null> {
    if (!/^[0-9a-f]{24}$/.test(id)) return null;
    return this.model.findById(toObjectId(id)).lean<EventDoc>();
  }
}
