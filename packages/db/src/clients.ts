import { CLIENT_FIELDS, type TClientCreate } from '@selfie/contracts';
import { type Connection, Schema, type Types } from 'mongoose';
import { findOwned, findPage, modelOn, type Page, type PageRequest, toObjectId } from './models.js';

export interface ClientDoc extends TClientCreate {
  _id: Types.ObjectId;
  accountId: Types.ObjectId;
  createdAt: Date;
  updatedAt: Date;
}

// Nested details are stored as given (already validated by the API contract).
const clientSchema = new Schema<ClientDoc>(
  {
    accountId: { type: Schema.Types.ObjectId, required: true },
    type: { type: String, enum: ['person', 'company'], required: true },
    email: { type: String, required: true },
    mobile: String,
    telephone: String,
    externalId: String,
    joinedDate: String,
    personDetails: Schema.Types.Mixed,
    companyDetails: Schema.Types.Mixed,
    metadata: Schema.Types.Mixed,
  },
  { timestamps: true },
);
clientSchema.index({ accountId: 1, createdAt: -1, _id: -1 });

export interface ClientListFilter extends PageRequest {
  type?: 'person' | 'company';
  email?: string;
}

/** Every read and write is scoped by account: another account's id behaves exactly like a missing one. */
export class ClientRepository {
  readonly model;

  constructor(connection: Connection) {
    this.model = modelOn(connection, 'Client', clientSchema);
  }

  async init(): Promise<void> {
    await this.model.init();
  }

  async create(accountId: string, input: TClientCreate): Promise<ClientDoc> {
    const doc = await this.model.create({ ...input, accountId: toObjectId(accountId) });
    return doc.toObject();
  }

  async findForAccount(accountId: string, id: string): Promise<ClientDoc | null> {
    return findOwned<ClientDoc>(this.model, accountId, id);
  }

  async exists(accountId: string, id: string): Promise<boolean> {
    return (await this.model.exists({ _id: toObjectId(id), accountId: toObjectId(accountId) })) !== null;
  }

  /** Replaces the client's fields with `next` (a full, validated client); fields absent from `next` are removed. */
  async replace(accountId: string, id: string, next: TClientCreate): Promise<ClientDoc | null> {
    const unset: Record<string, 1> = {};
    for (const field of CLIENT_FIELDS) {
      if ((next as Record<string, unknown>)[field] === undefined) unset[field] = 1;
    }
    const filter = { _id: toObjectId(id), accountId: toObjectId(accountId) };
    return this.model
      .findOneAndUpdate(filter, { $set: next, ...(Object.keys(unset).length ? { $unset: unset } : {}) }, { new: true })
      .lean<ClientDoc>();
  }

  async delete(accountId: string, id: string): Promise<boolean> {
    const result = await this.model.deleteOne({ _id: toObjectId(id), accountId: toObjectId(accountId) });
    return result.deletedCount === 1;
  }

  async list(accountId: string, filter: ClientListFilter): Promise<Page<ClientDoc>> {
    const query: Record<string, unknown> = { accountId: toObjectId(accountId) };
    if (filter.type) query.type = filter.type;
    if (filter.email !== undefined) query.email = filter.email;
    return findPage<ClientDoc>(this.model, query, filter);
  }
}
