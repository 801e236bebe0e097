import { STAGE_FIELD, type TStage } from '@selfie/contracts';
import { type Connection, Schema, type Types } from 'mongoose';
import { LivePhotoRepository } from './live-photos.js';
import { modelOn, toObjectId } from './models.js';

/**
 * Working state of one photo while it is inspected, keyed by photo id:
 * - `face`: the face the faces stage detected (box, landmarks), so later stages never run the detector again.
 *   It is biometric-ish data, so it lives here rather than in Redis job data, and is removed once the photo is final.
 * - `published`: the event types already published for the photo (the finalizer publishes each one once).
 * JSON strings: landmarks are nested arrays, which FerretDB cannot store.
 */
export interface PipelineStateDoc {
  _id: Types.ObjectId;
  face?: string;
  published: string[];
  createdAt: Date;
  updatedAt: Date;
}

/**
 * One stage's result, one document per (photo, stage), written only by that stage's job. The authoritative copy:
 * concurrent `$set`s on sub-paths of one photo document are atomic on MongoDB but lose updates on FerretDB, so
 * stages never depend on sharing the photo document; the finalizer copies every result into it in one write.
 */
export interface StageResultDoc {
  _id: string;
  photoId: Types.ObjectId;
  stage: string;
  /** JSON of the stage inspection ({result, breakdown, reasons}). */
  inspection: string;
  ms: number;
  /** JSON of the engine/model versions that produced it. */
  models?: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface StageResult {
  stage: string;
  inspection: unknown;
  ms: number;
  models?: unknown;
}

/**
 * The `inspections` object that stage results add up to: each stage's inspection under its wire name, the stages'
 * timings, and the model versions (the faces stage's first). `wanted` keeps only the stages a photo expects.
 * Shared by the finalizer (the final object) and the gateway (progress while processing).
 */
export function assembleInspections(results: StageResult[], wanted?: ReadonlySet<string>): Record<string, unknown> {
  const inspections: Record<string, unknown> = {};
  const timings: Record<string, number> = {};
  let models: unknown;
  for (const result of results) {
    const field = STAGE_FIELD[result.stage as TStage];
    if (!field || (wanted && !wanted.has(result.stage))) continue;
    inspections[field] = result.inspection;
    timings[field] = result.ms;
    if (result.stage === 'faces' || models === undefined) models = result.models;
  }
  if (models !== undefined) inspections.models = models;
  inspections.timings = timings;
  return inspections;
}

const pipelineStateSchema = new Schema<PipelineStateDoc>(
  {
    face: { type: String },
    published: { type: [String], default: () => [] },
  },
  { timestamps: true, minimize: false },
);

const stageResultSchema = new Schema<StageResultDoc>(
  {
    _id: { type: String, required: true },
    photoId: { type: Schema.Types.ObjectId, required: true, index: true },
    stage: { type: String, required: true },
    inspection: { type: String, required: true },
    ms: { type: Number, required: true },
    models: { type: String },
  },
  { timestamps: true },
);

export class PipelineRepository {
  readonly model;
  readonly results;
  private readonly photos;

  constructor(connection: Connection) {
    this.model = modelOn(connection, 'PipelineState', pipelineStateSchema);
    this.results = modelOn(connection, 'StageResult', stageResultSchema);
    this.photos = new LivePhotoRepository(connection).model;
  }

  async init(): Promise<void> {
    await Promise.all([this.model.init(), this.results.init()]);
  }

  /** Idempotent: a re-run of the faces stage overwrites the stored face. */
  async saveFace(photoId: string, face: unknown): Promise<void> {
    const json = JSON.stringify(face);
    await this.model.updateOne({ _id: toObjectId(photoId) }, { $set: { face: json } }, { upsert: true });
  }

  async getFace(photoId: string): Promise<unknown | null> {
    const doc = await this.model.findById(toObjectId(photoId)).lean<PipelineStateDoc>();
    return doc?.face ? (JSON.parse(doc.face) as unknown) : null;
  }

  /** Upsert keyed by (photo, stage): a retried stage replaces its own result, never adds a second one. */
  async saveStageResult(photoId: string, result: StageResult): Promise<void> {
    await this.results.updateOne(
      { _id: `${photoId}-${result.stage}` },
      {
        $set: {
          photoId: toObjectId(photoId),
          stage: result.stage,
          inspection: JSON.stringify(result.inspection),
          ms: result.ms,
          ...(result.models !== undefined ? { models: JSON.stringify(result.models) } : {}),
        },
      },
      { upsert: true },
    );
  }

  async stageResults(photoId: string): Promise<StageResult[]> {
    const docs = await this.results.find({ photoId: toObjectId(photoId) }).lean<StageResultDoc[]>();
    return docs.map((d) => ({
      stage: d.stage,
      inspection: JSON.parse(d.inspection) as unknown,
      ms: d.ms,
      ...(d.models ? { models: JSON.parse(d.models) as unknown } : {}),
    }));
  }

  /**
   * processing → complete, with the whole `inspections` object, in one write (so a reader never sees `complete`
   * with half the results). True only for the call that made the transition.
   */
  async completePhoto(photoId: string, inspections: Record<string, unknown>): Promise<boolean> {
    const result = await this.photos.updateOne(
      { _id: toObjectId(photoId), status: 'processing' },
      { $set: { status: 'complete', inspections } },
    );
    return result.modifiedCount === 1;
  }

  /** processing → failed, keeping whatever inspections did finish. True only for the call that made the transition. */
  async failPhoto(photoId: string, reason: string, inspections: Record<string, unknown>): Promise<boolean> {
    const result = await this.photos.updateOne(
      { _id: toObjectId(photoId), status: 'processing' },
      { $set: { status: 'failed', failureReason: reason, inspections } },
    );
    return result.modifiedCount === 1;
  }

  /** Drops the working data once the photo is final (data minimisation); keeps the publish markers. */
  async clearWorkingData(photoId: string): Promise<void> {
    await this.model.updateOne({ _id: toObjectId(photoId) }, { $unset: { face: 1 } });
    await this.results.deleteMany({ photoId: toObjectId(photoId) });
  }

  async wasPublished(photoId: string, type: string): Promise<boolean> {
    const doc = await this.model.findById(toObjectId(photoId)).lean<PipelineStateDoc>();
    return doc?.published?.includes(type) ?? false;
  }

  async markPublished(photoId: string, type: string): Promise<void> {
    await this.model.updateOne({ _id: toObjectId(photoId) }, { $addToSet: { published: type } }, { upsert: true });
  }

  /** Whole state gone with the photo (deleted while processing). */
  async remove(photoId: string): Promise<void> {
    await this.model.deleteOne({ _id: toObjectId(photoId) });
    await this.results.deleteMany({ photoId: toObjectId(photoId) });
  }
}
