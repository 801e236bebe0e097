import type { TLivePhotoStatus } from '@selfie/contracts';
import { type Connection, Schema, type Types } from 'mongoose';
import { findOwned, findPage, modelOn, type Page, type PageRequest, toObjectId } from './models.js';

/** One stage's stored result. */
export interface StageResult {
  stage: string;
  inspection: unknown;
  ms: number;
  models?: unknown;
}

export interface LivePhotoDoc {
  _id: Types.ObjectId;
  accountId: Types.ObjectId;
  clientId: Types.ObjectId;
  /** S3 key of the original bytes: `<accountId>/<photoId>`. */
  objectKey: string;
  contentType: 'image/jpeg' | 'image/png';
  size: number;
  sha256: string;
  performLivenessCheck: boolean;
  status: TLivePhotoStatus;
  /** Final: facesAnalysis, facialObstructions, facialOrientation, livenessCheck, outcome, models, timings. */
  inspections: Record<string, unknown>;
  /** While processing: each finished stage's result, by stage (dropped when the photo is final). */
  stages?: Record<string, StageResult>;
  /**
   * While processing: what the faces stage hands the later stages (the detected face and image geometry). Face
   * landmarks are biometric-derived, so they stay in the store rather than in Redis job data, are never returned
   * by the API, and are dropped when the photo is final.
   */
  work?: { face?: unknown };
  /** Event types already published for the photo. */
  published?: string[];
  failureReason?: string;
  redacted: boolean;
  requeues: number;
  createdAt: Date;
  updatedAt: Date;
}

const livePhotoSchema = new Schema<LivePhotoDoc>(
  {
    accountId: { type: Schema.Types.ObjectId, required: true },
    clientId: { type: Schema.Types.ObjectId, required: true },
    objectKey: { type: String, required: true },
    contentType: { type: String, enum: ['image/jpeg', 'image/png'], required: true },
    size: { type: Number, required: true },
    sha256: { type: String, required: true },
    performLivenessCheck: { type: Boolean, required: true },
    status: { type: String, enum: ['processing', 'complete', 'failed'], default: 'processing' },
    inspections: { type: Schema.Types.Mixed, default: () => ({}) },
    stages: { type: Schema.Types.Mixed },
    work: { type: Schema.Types.Mixed },
    published: { type: [String], default: undefined },
    failureReason: String,
    redacted: { type: Boolean, default: false },
    requeues: { type: Number, default: 0 },
  },
  { timestamps: true, minimize: false },
);
// Serves the client's list newest first (the `_id` tie-break included, so no sort in memory) and its count.
livePhotoSchema.index({ accountId: 1, clientId: 1, createdAt: -1, _id: -1 });
// The sweeper's query: processing photos not updated for a while, oldest first.
livePhotoSchema.index({ status: 1, updatedAt: 1 });

/** Never sent to API readers: the face data handed between stages. */
const API_PROJECTION = { work: 0 } as const;

export interface NewLivePhoto {
  _id: Types.ObjectId;
  accountId: string;
  clientId: string;
  objectKey: string;
  contentType: 'image/jpeg' | 'image/png';
  size: number;
  sha256: string;
  performLivenessCheck: boolean;
}

/**
 * Live photo records. API-facing methods are scoped by account; pipeline methods (`setStageInspection`,
 * `complete`, `fail`, `findStale`, ...) address a photo by id alone since workers act on job payloads.
 */
export class LivePhotoRepository {
  readonly model;

  constructor(connection: Connection) {
    this.model = modelOn(connection, 'LivePhoto', livePhotoSchema);
  }

  async init(): Promise<void> {
    await this.model.init();
  }

  async create(input: NewLivePhoto): Promise<LivePhotoDoc> {
    const doc = await this.model.create({
      ...input,
      accountId: toObjectId(input.accountId),
      clientId: toObjectId(input.clientId),
    });
    return doc.toObject();
  }

  async findForAccount(accountId: string, id: string): Promise<LivePhotoDoc | null> {
    return findOwned<LivePhotoDoc>(this.model, accountId, id, API_PROJECTION);
  }

  async findById(id: string): Promise<LivePhotoDoc | null> {
    return this.model.findById(toObjectId(id)).lean<LivePhotoDoc>();
  }

  async listForClient(accountId: string, clientId: string, page: PageRequest): Promise<Page<LivePhotoDoc>> {
    return findPage<LivePhotoDoc>(
      this.model,
      { accountId: toObjectId(accountId), clientId: toObjectId(clientId) },
      page,
      API_PROJECTION,
    );
  }

  /** Ids and object keys of a client's photos (for cascading deletes). */
  async keysForClient(accountId: string, clientId: string): Promise<{ _id: Types.ObjectId; objectKey: string }[]> {
    return this.model
      .find({ accountId: toObjectId(accountId), clientId: toObjectId(clientId) }, { _id: 1, objectKey: 1 })
      .lean<{ _id: Types.ObjectId; objectKey: string }[]>();
  }

  /** Flags the record once its bytes are gone; returns the updated record (null when not found). */
  async markRedacted(accountId: string, id: string): Promise<LivePhotoDoc | null> {
    const filter = { _id: toObjectId(id), accountId: toObjectId(accountId) };
    return this.model
      .findOneAndUpdate(filter, { $set: { redacted: true } }, { new: true, projection: API_PROJECTION })
      .lean<LivePhotoDoc>();
  }

  async delete(accountId: string, id: string): Promise<boolean> {
    const result = await this.model.deleteOne({ _id: toObjectId(id), accountId: toObjectId(accountId) });
    return result.deletedCount === 1;
  }

  /** Undo of `create` when a later upload step fails. */
  async deleteById(id: string | Types.ObjectId): Promise<void> {
    await this.model.deleteOne({ _id: toObjectId(id) });
  }

  async deleteForClient(accountId: string, clientId: string): Promise<number> {
    const result = await this.model.deleteMany({ accountId: toObjectId(accountId), clientId: toObjectId(clientId) });
    return result.deletedCount;
  }

  /** Photos still processing whose record has not changed since `olderThan`, oldest first. */
  async findStale(olderThan: Date, limit: number): Promise<LivePhotoDoc[]> {
    return this.model
      .find({ status: 'processing', updatedAt: { $lt: olderThan } }, API_PROJECTION)
      .sort({ updatedAt: 1 })
      .limit(limit)
      .lean<LivePhotoDoc[]>();
  }

  /** Counts a sweeper re-enqueue (also bumps updatedAt, so the photo is not stale again at once). */
  async incrementRequeues(photoId: string): Promise<number | null> {
    const doc = await this.model
      .findOneAndUpdate(
        { _id: toObjectId(photoId) },
        { $inc: { requeues: 1 } },
        { new: true, projection: { requeues: 1 } },
      )
      .lean<{ requeues: number }>();
    return doc?.requeues ?? null;
  }
}
