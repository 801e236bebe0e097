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
  /**
   * The repeatFace stage runs for this photo (REPEAT_FACE_ENABLED and the account's setting, decided at upload, so a
   * setting changed meanwhile does not change the stages an in-flight photo waits for). Absent on older photos: false.
   */
  performRepeatFace?: boolean;
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
  work?: { face?: unknown; quality?: unknown; repeatFace?: unknown };
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
    performRepeatFace: { type: Boolean },
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
// Retention: an account's photos uploaded before a cutoff.
livePhotoSchema.index({ accountId: 1, createdAt: 1 });

/** What erasing a photo needs to know of it. */
export type PhotoKeys = Pick<LivePhotoDoc, '_id' | 'accountId' | 'clientId' | 'objectKey' | 'status' | 'createdAt'>;
const KEYS_PROJECTION = { _id: 1, accountId: 1, clientId: 1, objectKey: 1, status: 1, createdAt: 1 } as const;

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
  performRepeatFace?: boolean;
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

  /** `projection` leaves fields out (e.g. a stage that does not need another stage's hand-over). */
  async findById(id: string, projection?: Record<string, 0>): Promise<LivePhotoDoc | null> {
    return this.model.findById(toObjectId(id), projection).lean<LivePhotoDoc>();
  }

  async listForClient(accountId: string, clientId: string, page: PageRequest): Promise<Page<LivePhotoDoc>> {
    return findPage<LivePhotoDoc>(
      this.model,
      { accountId: toObjectId(accountId), clientId: toObjectId(clientId) },
      page,
      API_PROJECTION,
    );
  }

  /** Ids and object keys of a client's photos (for cascading deletes); `limit` bounds one batch. */
  async keysForClient(accountId: string, clientId: string, limit?: number): Promise<PhotoKeys[]> {
    const query = this.model.find(
      { accountId: toObjectId(accountId), clientId: toObjectId(clientId) },
      KEYS_PROJECTION,
    );
    if (limit !== undefined) query.limit(limit);
    return query.lean<PhotoKeys[]>();
  }

  /** Retention: up to `limit` photos of an account uploaded before `before` and no longer processing. */
  async findExpired(accountId: string, before: Date, limit: number): Promise<PhotoKeys[]> {
    return this.model
      .find(
        { accountId: toObjectId(accountId), createdAt: { $lt: before }, status: { $ne: 'processing' } },
        KEYS_PROJECTION,
      )
      .sort({ createdAt: 1 })
      .limit(limit)
      .lean<PhotoKeys[]>();
  }

  /** Orphan sweep: the records among `ids` (only what the check needs). */
  async findByIds(ids: readonly (string | Types.ObjectId)[]): Promise<PhotoKeys[]> {
    if (ids.length === 0) return [];
    return this.model.find({ _id: { $in: ids.map((id) => toObjectId(id)) } }, KEYS_PROJECTION).lean<PhotoKeys[]>();
  }

  /** Orphan sweep: the next `limit` records after `afterId`, in `_id` order (a resumable walk of the collection). */
  async pageAfter(
    afterId: Types.ObjectId | undefined,
    limit: number,
  ): Promise<(PhotoKeys & Pick<LivePhotoDoc, 'redacted'>)[]> {
    return this.model
      .find(afterId ? { _id: { $gt: afterId } } : {}, { ...KEYS_PROJECTION, redacted: 1 })
      .sort({ _id: 1 })
      .limit(limit)
      .lean<(PhotoKeys & Pick<LivePhotoDoc, 'redacted'>)[]>();
  }

  async deleteByIds(ids: readonly (string | Types.ObjectId)[]): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await this.model.deleteMany({ _id: { $in: ids.map((id) => toObjectId(id)) } });
    return result.deletedCount;
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
