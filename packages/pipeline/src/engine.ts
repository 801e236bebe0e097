import type { TConfig } from '@selfie/config';
import { STAGES } from '@selfie/contracts';
import {
  analyzeFaces,
  createFaceEngine,
  type DecodedImage,
  type DetectedFace,
  embedChips,
  type FaceEngine,
  type FaceEngineInfo,
  type FacesOutcome,
  type InspectionThresholds,
  inspectCaptureQualityFrom,
  inspectLiveness,
  inspectObstruction,
  inspectOrientation,
  l2Normalize,
  type QualityInput,
  type QualityThresholds,
  STAGE_MODELS,
  type StageOutcome,
} from '@selfie/face-engine';
import type { Logger } from '@selfie/logger';

/** What the orientation stage needs of an image: its analysis size and scale, not its pixels. */
export type ImageGeometry = Pick<DecodedImage, 'width' | 'height' | 'scale'>;

/**
 * The face engine as the stage workers use it. Calls are serialised: inference is CPU-bound and sized by
 * INFERENCE_THREADS, so two overlapping calls (WORKER_CONCURRENCY > 1, or the four stage workers sharing one engine
 * in the all-in-one process) would only compete for the same cores. I/O of other jobs still overlaps.
 */
export interface InspectionEngine {
  readonly info: FaceEngineInfo;
  faces(image: DecodedImage): Promise<FacesOutcome>;
  obstruction(image: DecodedImage, face: DetectedFace): Promise<StageOutcome>;
  orientation(image: ImageGeometry, face: DetectedFace): Promise<StageOutcome>;
  liveness(image: DecodedImage, face: DetectedFace): Promise<StageOutcome>;
  /** No model: runs on the face region the faces stage handed over. */
  quality(input: QualityInput, face: DetectedFace): Promise<StageOutcome>;
  /** The L2-normalised embedding of an aligned face chip (150x150 RGB 0-255, NHWC) the faces stage cut out. */
  embed(chip: Float32Array): Promise<{ embedding: Float32Array; ms: number }>;
  dispose(): Promise<void>;
}

/** The configuration's inspection thresholds, in the engine's terms. */
export function thresholdsFromConfig(config: TConfig): Partial<InspectionThresholds> {
  return {
    faceMinConfidence: config.FACE_MIN_CONFIDENCE,
    maskMinScore: config.MASK_THRESHOLD,
    maxYawDeg: config.POSE_MAX_YAW,
    maxPitchDeg: config.POSE_MAX_PITCH,
    maxRollDeg: config.POSE_MAX_ROLL,
    minFaceHeightRatio: config.FACE_MIN_HEIGHT_RATIO,
    minFaceHeightPx: config.FACE_MIN_HEIGHT_PX,
    livenessMinScore: config.LIVENESS_THRESHOLD,
  };
}

/** The configuration's capture-quality thresholds, in the engine's terms. */
export function qualityThresholdsFromConfig(config: TConfig): Partial<QualityThresholds> {
  return {
    maxBlurPx: config.QUALITY_MAX_BLUR_PX,
    maxGlarePercent: config.QUALITY_MAX_GLARE_PERCENT,
    minLuminanceMean: config.QUALITY_MIN_LUMINANCE,
    maxLuminanceMean: config.QUALITY_MAX_LUMINANCE,
    minInterEyeDistancePx: config.QUALITY_MIN_EYE_DISTANCE_PX,
    minEyeOpenness: config.QUALITY_MIN_EYE_OPENNESS,
    minJpegQuality: config.QUALITY_MIN_JPEG_QUALITY,
    maxLightingImbalanceStops: config.QUALITY_MAX_LIGHTING_IMBALANCE_STOPS,
  };
}

export function wrapFaceEngine(engine: FaceEngine, quality: Partial<QualityThresholds> = {}): InspectionEngine {
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => {});
    return run;
  };
  return {
    info: engine.info,
    faces: (image) => serial(() => analyzeFaces(engine, image)),
    obstruction: (image, face) => serial(() => inspectObstruction(engine, image, face)),
    orientation: (image, face) => serial(() => inspectOrientation(engine, image, face)),
    liveness: (image, face) => serial(() => inspectLiveness(engine, image, face)),
    quality: (input, face) => inspectCaptureQualityFrom(input, face, quality),
    embed: (chip) =>
      serial(async () => {
        const t0 = performance.now();
        const [raw] = await embedChips(engine, chip, 1);
        if (!raw?.every(Number.isFinite)) throw new Error('face embedding is not finite');
        return { embedding: l2Normalize(raw), ms: Math.round((performance.now() - t0) * 10) / 10 };
      }),
    dispose: () => serial(() => engine.dispose()),
  };
}

/**
 * Loads the models of the given stages (every pipeline stage when omitted) or throws: a worker without its models must not start
 * (fail closed). A one-stage worker loads only its own models, which keeps its memory small.
 */
export async function createInspectionEngine(
  config: TConfig,
  logger: Logger,
  stages: readonly (keyof typeof STAGE_MODELS)[] = STAGES,
): Promise<InspectionEngine> {
  const started = Date.now();
  const models = [...new Set(stages.flatMap((s) => STAGE_MODELS[s]))];
  const engine = await createFaceEngine({
    thresholds: thresholdsFromConfig(config),
    threads: config.INFERENCE_THREADS,
    models,
    ...(config.MODELS_DIR ? { modelsDir: config.MODELS_DIR } : {}),
    log: (msg) => logger.info(msg),
  });
  logger.info({ ms: Date.now() - started, backend: engine.info.backend }, 'face engine loaded');
  return wrapFaceEngine(engine, qualityThresholdsFromConfig(config));
}
