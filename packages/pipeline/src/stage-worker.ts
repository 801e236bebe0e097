import type { TConfig } from '@selfie/config';
import type { TStage, TStageInspection, TStageJob } from '@selfie/contracts';
import {
  type DecodedImage,
  type DetectedFace,
  decodeImage,
  ImageDecodeError,
  type QualityInput,
  qualityInputOf,
} from '@selfie/face-engine';
import type { Logger } from '@selfie/logger';
import { processMetrics } from '@selfie/metrics';
import { ObjectNotFoundError } from '@selfie/object-store';
import { createWorker, type Job, UnrecoverableError, type Worker } from '@selfie/queue';
import type { ServiceHandle } from '@selfie/runtime';
import { setSpanAttributes } from '@selfie/tracing';
import { createPipelineContext, type PipelineContext } from './context.js';
import { createInspectionEngine, type ImageGeometry, type InspectionEngine } from './engine.js';
import { addFinalize, addStageFlow } from './flow.js';
import { dependentStages, notProcessed } from './outcome.js';
import {
  inspectRepeatFace,
  keepEmbeddingOnlyForLivePhoto,
  repeatFaceHandOver,
  storedRepeatFaceInput,
} from './repeat-face.js';

/** What a stage job returns (kept small: it is stored in Redis and read by the finalizer). */
export interface StageSummary {
  stage: TStage;
  result?: TStageInspection['result'];
  faceCount?: number;
  ms?: number;
  skipped?: string;
}

export interface StageWorkerOptions {
  /** An engine shared with other stage workers of the same process (all-in-one); otherwise one is loaded. */
  engine?: InspectionEngine;
}

export interface StageWorkerHandle extends ServiceHandle {
  worker: Worker;
}

/** Job options every pipeline worker shares; see STAGE_LOCK_DURATION_MS for why the lock is generous. */
export function workerLockOptions(config: TConfig) {
  return {
    lockDuration: config.STAGE_LOCK_DURATION_MS,
    stalledInterval: config.STAGE_STALLED_INTERVAL_MS,
    // A job whose worker died is put back twice before it counts as failed (then the sweeper takes over).
    maxStalledCount: 2,
  };
}

function isFinalAttempt(job: Job, err: unknown): boolean {
  return err instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

async function loadImage(
  ctx: PipelineContext,
  objectKey: string,
): Promise<{ image: DecodedImage; bytes: Buffer } | null> {
  let bytes: Buffer;
  try {
    bytes = await ctx.store.get(objectKey);
  } catch (err) {
    // The record exists (checked by the caller) but its bytes do not: retrying cannot bring them back.
    if (err instanceof ObjectNotFoundError) return null;
    throw err;
  }
  try {
    return { image: await decodeImage(bytes), bytes };
  } catch (err) {
    if (err instanceof ImageDecodeError) throw new UnrecoverableError(`undecodable image: ${err.message}`);
    throw err;
  }
}

async function loadImageOrFail(
  ctx: PipelineContext,
  objectKey: string,
): Promise<{ image: DecodedImage; bytes: Buffer }> {
  const loaded = await loadImage(ctx, objectKey);
  if (!loaded) throw new UnrecoverableError(`image '${objectKey}' is missing from storage`);
  return loaded;
}

/** The quality hand-over as stored (its pixels come back from the store as a BSON Binary). */
function storedQualityInput(value: unknown): QualityInput | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const stored = value as QualityInput & { data: unknown };
  const raw = stored.data as { buffer?: unknown } | Uint8Array;
  const data = raw instanceof Uint8Array ? raw : raw?.buffer instanceof Uint8Array ? raw.buffer : undefined;
  return data ? { ...stored, data } : undefined;
}

/** Stages that need neither the face region's pixels nor the bytes: they read the record without the hand-over. */
const WITHOUT_QUALITY_INPUT = { 'work.quality': 0, 'work.repeatFace': 0 } as const;

/** What the faces stage hands the later stages, in the photo record (not in job data: landmarks are biometric). */
interface StoredFace {
  face: DetectedFace;
  geometry: ImageGeometry;
}

/** Only the quality stage reads the face region's pixels (`work.quality`); the others leave them in the store. */
const STAGE_PROJECTION: Partial<Record<TStage, Record<string, 0>>> = {
  obstruction: WITHOUT_QUALITY_INPUT,
  orientation: WITHOUT_QUALITY_INPUT,
  liveness: WITHOUT_QUALITY_INPUT,
  quality: { 'work.repeatFace': 0 },
  repeatFace: { 'work.quality': 0 },
};

function stageResult(engine: InspectionEngine, stage: TStage, inspection: TStageInspection, ms: number) {
  const models = { engine: engine.info.engine, backend: engine.info.backend, versions: engine.info.versions };
  return { stage, inspection, ms, models };
}

/** The faces stage's hand-over; a photo started before it existed is measured from its bytes instead. */
async function qualityInput(
  ctx: PipelineContext,
  stored: unknown,
  objectKey: string,
  face: DetectedFace,
): Promise<QualityInput> {
  const handed = storedQualityInput(stored);
  if (handed) return handed;
  const { image, bytes } = await loadImageOrFail(ctx, objectKey);
  return qualityInputOf(image, face, bytes);
}

/** The faces stage's chip; a photo started before the hand-over existed is aligned from its bytes instead. */
async function repeatFaceInput(ctx: PipelineContext, stored: unknown, objectKey: string, face: DetectedFace) {
  const handed = storedRepeatFaceInput(stored);
  if (handed) return handed;
  const { image } = await loadImageOrFail(ctx, objectKey);
  return storedRepeatFaceInput(repeatFaceHandOver(image, face)) as NonNullable<
    ReturnType<typeof storedRepeatFaceInput>
  >;
}

/**
 * One stage job: read the photo record once (it carries the face the faces stage found), run this stage's
 * inspection, and store the result with one atomic write to the stage's own field of the record.
 */
export async function runStage(
  ctx: PipelineContext,
  engine: InspectionEngine,
  stage: TStage,
  payload: TStageJob,
): Promise<StageSummary> {
  const { photoId } = payload;
  const photo = await ctx.photos.findById(photoId, STAGE_PROJECTION[stage]);
  if (!photo) return { stage, skipped: 'photo_deleted' };
  if (photo.status !== 'processing') return { stage, skipped: `photo_${photo.status}` };
  if (stage === 'liveness' && !photo.performLivenessCheck) return { stage, skipped: 'liveness_not_requested' };
  if (stage === 'repeatFace' && !photo.performRepeatFace) return { stage, skipped: 'repeat_face_not_requested' };
  if (photo.redacted) throw new UnrecoverableError('photo was redacted before its inspection ran');

  if (stage === 'faces') {
    const { image, bytes } = await loadImageOrFail(ctx, payload.objectKey);
    const outcome = await engine.faces(image);
    const face = outcome.faces.length === 1 ? outcome.faces[0] : undefined;
    const dependents = dependentStages(photo.performLivenessCheck, photo.performRepeatFace === true);
    // The face (with the image geometry, so the orientation stage needs neither bytes nor a decode) is stored in
    // the same write as the result, before the flow exists, so children always find it. Without exactly one face
    // the later stages say so in that write too, without loading any model.
    const stored: StoredFace | undefined = face
      ? { face, geometry: { width: image.width, height: image.height, scale: image.scale } }
      : undefined;
    const results = [stageResult(engine, 'faces', outcome.inspection, outcome.ms)];
    if (!face) results.push(...dependents.map((s) => stageResult(engine, s, notProcessed(), 0)));
    // The quality stage measures the face region from these pixels, so it neither fetches nor decodes the photo.
    const quality = face ? qualityInputOf(image, face, bytes) : undefined;
    // The repeatFace stage gets dlib's aligned face chip (67.5 KB), only when the photo's account asked for it.
    const repeatFace = face && photo.performRepeatFace ? repeatFaceHandOver(image, face) : undefined;
    const handOver = quality
      ? {
          face: stored,
          quality: {
            ...quality,
            data: Buffer.from(quality.data.buffer, quality.data.byteOffset, quality.data.byteLength),
          },
          ...(repeatFace ? { repeatFace } : {}),
        }
      : undefined;
    const saved = await ctx.state.saveStageResults(photoId, results, handOver);
    if (!saved) return { stage, skipped: 'photo_not_processing' };
    processMetrics().recordStage('faces', outcome.inspection, outcome.ms / 1000);
    if (face) {
      await addStageFlow(ctx, { ...payload, performLivenessCheck: photo.performLivenessCheck }, dependents);
    } else {
      for (const s of dependents) processMetrics().recordStage(s, notProcessed());
      await addFinalize(ctx, photoId, payload.accountId);
    }
    return { stage, result: outcome.inspection.result, faceCount: outcome.faces.length, ms: outcome.ms };
  }

  const stored = photo.work?.face as StoredFace | undefined;
  if (!stored) throw new Error(`no detected face stored for photo ${photoId}`);
  const { face, geometry } = stored;
  const outcome =
    stage === 'repeatFace'
      ? await inspectRepeatFace(
          ctx,
          engine,
          photo,
          await repeatFaceInput(ctx, photo.work?.repeatFace, payload.objectKey, face),
        )
      : stage === 'orientation'
        ? await engine.orientation(geometry, face)
        : stage === 'quality'
          ? await engine.quality(await qualityInput(ctx, photo.work?.quality, payload.objectKey, face), face)
          : stage === 'obstruction'
            ? await engine.obstruction((await loadImageOrFail(ctx, payload.objectKey)).image, face)
            : await engine.liveness((await loadImageOrFail(ctx, payload.objectKey)).image, face);
  const saved = await ctx.state.saveStageResults(photoId, [stageResult(engine, stage, outcome.inspection, outcome.ms)]);
  if (stage === 'repeatFace') await keepEmbeddingOnlyForLivePhoto(ctx, photoId, saved);
  if (!saved) return { stage, skipped: 'photo_not_processing' };
  processMetrics().recordStage(stage, outcome.inspection, outcome.ms / 1000);
  return { stage, result: outcome.inspection.result, ms: outcome.ms };
}

/**
 * A stage worker: consumes its own queue. Inference runs on this process's event loop with concurrency
 * WORKER_CONCURRENCY (1 by default, one process per core): one inference takes tens to a few hundred ms, far below
 * the lock renewal period (STAGE_LOCK_DURATION_MS / 2), so locks do not starve.
 */
export async function startStageWorker(
  stage: TStage,
  config: TConfig,
  logger: Logger,
  options: StageWorkerOptions = {},
): Promise<StageWorkerHandle> {
  // Models first: if they do not load the worker refuses to start, before it touches any queue.
  const ownsEngine = !options.engine;
  const engine = options.engine ?? (await createInspectionEngine(config, logger, [stage]));
  let ctx: PipelineContext;
  try {
    ctx = await createPipelineContext(config, logger);
  } catch (err) {
    if (ownsEngine) await engine.dispose();
    throw err;
  }
  const log = logger.child({ stage });

  const worker = createWorker(
    stage,
    ctx.queueCtx,
    async (payload, job) => {
      try {
        setSpanAttributes({ 'selfie.stage': stage });
        const summary = await runStage(ctx, engine, stage, payload);
        setSpanAttributes({
          'selfie.result': summary.result,
          'selfie.skipped': summary.skipped,
          'selfie.face_count': summary.faceCount,
          'selfie.inference_ms': summary.ms,
        });
        log.debug({ jobId: job.id, ...summary }, 'stage done');
        return summary;
      } catch (err) {
        // Faces analysis failing for good has no parent to wake: start finalize directly so the photo ends
        // `failed` now rather than when the sweeper notices it.
        if (isFinalAttempt(job, err))
          processMetrics().recordStage(stage, { result: 'failed', reasons: ['STAGE_FAILED'] });
        if (stage === 'faces' && isFinalAttempt(job, err)) {
          await addFinalize(ctx, payload.photoId, payload.accountId).catch((e: unknown) =>
            log.error({ err: e, photoId: payload.photoId }, 'could not enqueue finalize after faces failure'),
          );
        }
        throw err;
      }
    },
    { concurrency: config.WORKER_CONCURRENCY, ...workerLockOptions(config) },
  );
  worker.on('failed', (job, err) =>
    log.warn({ jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, 'stage job failed'),
  );
  worker.on('error', (err) => log.error({ err }, 'stage worker error'));
  await worker.waitUntilReady();

  return {
    worker,
    async stop() {
      // close() lets the active job finish (or keeps its lock until it does), then stops taking jobs.
      await worker.close();
      await ctx.close();
      if (ownsEngine) await engine.dispose();
    },
  };
}
