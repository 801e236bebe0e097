import { decodeImage } from './decode.js';
import { analyzeFaces } from './faces.js';
import { inspectLiveness } from './liveness.js';
import { inspectObstruction } from './obstruction.js';
import { inspectOrientation } from './orientation.js';
import { inspectCaptureQualityFrom, qualityInputOf } from './quality.js';
import type { DetectedFace, FaceEngine, FacesOutcome, StageInspection, StageOutcome } from './types.js';

export { decodeImage, ImageDecodeError, MAX_ANALYSIS_SIDE } from './decode.js';
export {
  alignedFaceChip,
  cosineSimilarity,
  DEFAULT_REPEAT_FACE_THRESHOLD,
  EMBEDDING_CHIP_SIZE,
  EMBEDDING_DIMENSIONS,
  EMBEDDING_VERSION,
  embedChips,
  embedFace,
  type FaceAlignment,
  type FaceEmbedding,
  findSimilarEmbeddings,
  l2Normalize,
  type SimilarEmbedding,
} from './embedding.js';
export { createFaceEngine, MODEL_FILES, type ModelName, STAGE_MODELS } from './engine.js';
export { analyzeFaces } from './faces.js';
export { inspectLiveness } from './liveness.js';
export { enlargedBox } from './minifasnet/crop.js';
export { inspectObstruction } from './obstruction.js';
export { inspectOrientation } from './orientation.js';
export {
  type CaptureSource,
  captureQualityOf,
  DEFAULT_QUALITY_THRESHOLDS,
  estimateJpegQuality,
  inspectCaptureQuality,
  inspectCaptureQualityFrom,
  type QualityInput,
  type QualityReason,
  type QualityThresholds,
  qualityInputOf,
} from './quality.js';
export * from './types.js';

export interface InspectAllResult {
  facesAnalysis: StageInspection;
  facialObstructions: StageInspection;
  facialOrientation: StageInspection;
  livenessCheck: StageInspection;
  captureQuality: StageInspection;
  outcome: 'clear' | 'attention' | 'not_processed';
  faces: DetectedFace[];
  /** milliseconds per stage, plus decode and total */
  timings: {
    decode: number;
    facesAnalysis: number;
    facialObstructions: number;
    facialOrientation: number;
    livenessCheck: number;
    captureQuality: number;
    total: number;
  };
  image: { width: number; height: number; originalWidth: number; originalHeight: number; exifOrientation: number };
}

const notProcessed = (): StageInspection => ({ result: 'not_processed', breakdown: {}, reasons: ['NO_SINGLE_FACE'] });

/**
 * Decodes once, detects once, then runs the three face stages on the single face (or marks them not_processed
 * when there is not exactly one face). Used by the evaluation and the benchmark; the workers call the stages
 * one by one.
 */
export async function inspectAll(engine: FaceEngine, bytes: Uint8Array | Buffer): Promise<InspectAllResult> {
  const t0 = performance.now();
  const image = await decodeImage(bytes);
  const decodeMs = Math.round(performance.now() - t0);
  const faces: FacesOutcome = await analyzeFaces(engine, image);
  const face = faces.faces.length === 1 ? faces.faces[0] : undefined;
  let obstruction: StageOutcome = { inspection: notProcessed(), ms: 0 };
  let orientation: StageOutcome = { inspection: notProcessed(), ms: 0 };
  let liveness: StageOutcome = { inspection: notProcessed(), ms: 0 };
  let quality: StageOutcome = { inspection: notProcessed(), ms: 0 };
  if (face) {
    obstruction = await inspectObstruction(engine, image, face);
    orientation = await inspectOrientation(engine, image, face);
    liveness = await inspectLiveness(engine, image, face);
    // As the pipeline runs it: on the hand-over the faces stage builds (its cost counted here too).
    const q0 = performance.now();
    const handOver = qualityInputOf(image, face, bytes);
    quality = await inspectCaptureQualityFrom(handOver, face);
    quality.ms = Math.round(performance.now() - q0);
  }
  const stages = [
    faces.inspection,
    obstruction.inspection,
    orientation.inspection,
    liveness.inspection,
    quality.inspection,
  ];
  const outcome = stages.some((s) => s.result === 'attention')
    ? 'attention'
    : stages.some((s) => s.result === 'not_processed')
      ? 'not_processed'
      : 'clear';
  return {
    facesAnalysis: faces.inspection,
    facialObstructions: obstruction.inspection,
    facialOrientation: orientation.inspection,
    livenessCheck: liveness.inspection,
    captureQuality: quality.inspection,
    outcome,
    faces: faces.faces,
    timings: {
      decode: decodeMs,
      facesAnalysis: faces.ms,
      facialObstructions: obstruction.ms,
      facialOrientation: orientation.ms,
      livenessCheck: liveness.ms,
      captureQuality: quality.ms,
      total: Math.round(performance.now() - t0),
    },
    image: {
      width: image.width,
      height: image.height,
      originalWidth: image.originalWidth,
      originalHeight: image.originalHeight,
      exifOrientation: image.exifOrientation,
    },
  };
}
