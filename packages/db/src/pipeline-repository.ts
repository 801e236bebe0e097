import { STAGE_FIELD, type TStage } from '@selfie/contracts';
import type { Connection, Types } from 'mongoose';
import { type LivePhotoDoc, LivePhotoRepository, type StageResult } from './live-photos.js';
import { toObjectId } from './models.js';

/**
 * The `inspections` object that stage results add up to: each stage's inspection under its wire name, the stages'
 * timings, and the model versions (the faces stage's first). `wanted` keeps only the stages a photo expects.
 * Shared by the finalizer (the final object) and the gateway (progress while processing).
 */
export function assembleInspections(
  stages: Record<string, StageResult> | undefined,
  wanted?: ReadonlySet<string>,
): Record<string, unknown> {
  const inspections: Record<string, unknown> = {};
  const timings: Record<string, number> = {};
  let models: unknown;
  for (const [stage, result] of Object.entries(stages ?? {})) {
    const field = STAGE_FIELD[stage as TStage];
    if (!field || (wanted && !wanted.has(stage))) continue;
    inspections[field] = result.inspection;
    timings[field] = result.ms;
    if (stage === 'faces' || models === undefined) models = result.models;
  }
  if (models !== undefined) inspections.models = models;
  inspections.timings = timings;
  return inspections;
}

/**
 * The pipeline's writes to a photo record. Every stage writes only its own sub-document (`stages.<stage>`) with an
 * atomic `$set` guarded by `status: 'processing'`, so stages never overwrite each other and a late retry cannot
 * touch a finished photo. The finalizer then replaces the working fields with the final `inspections` in one write.
 */
export class PipelineRepository {
  private readonly photos;

  constructor(connection: Connection) {
    this.photos = new LivePhotoRepository(connection).model;
  }

  async init(): Promise<void> {
    await this.photos.init();
  }

  /**
   * Stage results (idempotent: a retry overwrites its own sub-documents). The faces stage hands the detected face
   * (and the face region's pixels for the quality stage) to the later stages in the same write. False when the
   * photo is gone or already final.
   */
  async saveStageResults(
    photoId: string,
    results: StageResult[],
    handOver?: { face: unknown; quality?: unknown; repeatFace?: unknown },
  ): Promise<boolean> {
    const set: Record<string, unknown> = {};
    for (const result of results) set[`stages.${result.stage}`] = result;
    if (handOver) {
      set['work.face'] = handOver.face;
      if (handOver.quality !== undefined) set['work.quality'] = handOver.quality;
      if (handOver.repeatFace !== undefined) set['work.repeatFace'] = handOver.repeatFace;
    }
    const res = await this.photos.updateOne({ _id: toObjectId(photoId), status: 'processing' }, { $set: set });
    return res.matchedCount === 1;
  }

  /** The face the faces stage stored (null once the photo is final: working data is dropped then). */
  async getFace(photoId: string): Promise<unknown | null> {
    const doc = await this.photos.findById(toObjectId(photoId), { work: 1 }).lean<Pick<LivePhotoDoc, 'work'>>();
    return doc?.work?.face ?? null;
  }

  /**
   * processing → complete or failed, with the whole `inspections` object, in one write that also drops the working
   * data (so a reader never sees a final status with half the results). The updated record for the call that made
   * the transition, null for any other.
   */
  async finish(
    photoId: string,
    final: { status: 'complete' | 'failed'; inspections: Record<string, unknown>; failureReason?: string },
  ): Promise<LivePhotoDoc | null> {
    return this.photos
      .findOneAndUpdate(
        { _id: toObjectId(photoId), status: 'processing' },
        {
          $set: {
            status: final.status,
            inspections: final.inspections,
            ...(final.failureReason ? { failureReason: final.failureReason } : {}),
          },
          $unset: { stages: 1, work: 1 },
        },
        { new: true },
      )
      .lean<LivePhotoDoc>();
  }

  /**
   * A photo (processing or complete, not redacted) whose bytes are gone from storage: failed with `reason`, working
   * data dropped; a processing photo keeps the results its finished stages stored. Guarded by the status read, so a
   * photo that moved on (finished, redacted, deleted) meanwhile is left alone. The updated record, or null.
   */
  async failMissingImage(photoId: string, reason: string): Promise<LivePhotoDoc | null> {
    const doc = await this.photos.findById(toObjectId(photoId)).lean<LivePhotoDoc>();
    if (!doc || doc.redacted || (doc.status !== 'processing' && doc.status !== 'complete')) return null;
    return this.photos
      .findOneAndUpdate(
        { _id: doc._id, status: doc.status, redacted: false },
        {
          $set: {
            status: 'failed',
            failureReason: reason,
            ...(doc.status === 'processing' ? { inspections: assembleInspections(doc.stages) } : {}),
          },
          $unset: { stages: 1, work: 1 },
        },
        { new: true },
      )
      .lean<LivePhotoDoc>();
  }

  async completePhoto(photoId: string, inspections: Record<string, unknown>): Promise<boolean> {
    return (await this.finish(photoId, { status: 'complete', inspections })) !== null;
  }

  /** Marks an event type published for the photo (the finalizer publishes each type once). */
  async markPublished(photoId: string | Types.ObjectId, type: string): Promise<void> {
    await this.photos.updateOne({ _id: toObjectId(photoId) }, { $addToSet: { published: type } });
  }
}
