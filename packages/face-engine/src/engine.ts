import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { allowAnyInputSize, faceEmbedding, type GraphModelLike, type LinearProbeFile, loadProbe } from './embedding.js';
import {
  installLocalFetch,
  loadCommonJsByPath,
  packageRoot,
  packageVersion,
  resolvePackageDir,
} from './human-loader.js';
import { loadMiniFasNet, type MiniFasNet } from './minifasnet/model.js';
import {
  type Box,
  type CreateFaceEngineOptions,
  DEFAULT_THRESHOLDS,
  type DecodedImage,
  type FaceEngine,
  type InspectionThresholds,
} from './types.js';

/** The subset of tfjs-core the engine uses (the same instance human runs on). */
export type Tf = typeof import('@tensorflow/tfjs-core');

/** Minimal structural view of the human instance. */
export interface HumanLike {
  version: string;
  config: Record<string, unknown>;
  tf: unknown;
  models: { loaded(): string[] };
  init(): Promise<void>;
  load(config?: Record<string, unknown>): Promise<void>;
  detect(input: unknown, config?: Record<string, unknown>): Promise<HumanResult>;
}

export interface HumanPoint extends Array<number> {}
export interface HumanFace {
  score: number;
  boxScore: number;
  faceScore: number;
  box: [number, number, number, number];
  boxRaw: [number, number, number, number];
  mesh: HumanPoint[];
  annotations: Record<string, HumanPoint[]>;
  real?: number;
  live?: number;
  rotation?: { angle: { roll: number; yaw: number; pitch: number } } | null;
  id: number;
}
export interface HumanBodyKeypoint {
  part: string;
  score: number;
  position: number[];
}
export interface HumanResult {
  face: HumanFace[];
  body?: { score: number; keypoints: HumanBodyKeypoint[] }[];
  hand: { box: [number, number, number, number]; score: number; boxScore: number }[];
  gesture: { face?: number; gesture: string }[];
  error?: string | null;
}

export interface EngineInternals {
  human: HumanLike;
  tf: Tf;
  fas: { v2: MiniFasNet; v1se: MiniFasNet };
  thresholds: InspectionThresholds;
  /** human config for the main detection pass. */
  detectConfig(minConfidence: number): Record<string, unknown>;
  handConfig(): Record<string, unknown>;
  /** human config that runs only the body-pose model (head keypoints for the no-face rescue). */
  bodyConfig(): Record<string, unknown>;
  /** 1024-d faceres descriptor of a face box (see embedding.ts). */
  embed(image: DecodedImage, box: Box): Float32Array;
  /** Linear probe "masked face" on the descriptor (models/mask-probe.json). */
  maskProbe: LinearProbeFile;
}

const internals = new WeakMap<FaceEngine, EngineInternals>();

export function getInternals(engine: FaceEngine): EngineInternals {
  const i = internals.get(engine);
  if (!i) throw new Error('face engine is disposed or was not created by createFaceEngine()');
  return i;
}

/** Face models the engine needs; creation fails if any of them does not load (fail closed). */
const REQUIRED_HUMAN_MODELS = [
  'blazeface',
  'facemesh',
  'iris',
  'antispoof',
  'liveness',
  'handtrack',
  'faceres',
  'movenet',
];

async function tryTfjsNode(): Promise<boolean> {
  try {
    const name = '@tensorflow/tfjs-node';
    await import(/* @vite-ignore */ name);
    return true;
  } catch {
    return false;
  }
}

export async function createFaceEngine(opts: CreateFaceEngineOptions = {}): Promise<FaceEngine> {
  const log = opts.log ?? (() => {});
  const thresholds: InspectionThresholds = { ...DEFAULT_THRESHOLDS, ...(opts.thresholds ?? {}) };
  const humanDir = resolvePackageDir('@vladmandic/human');
  const wasmDir = join(resolvePackageDir('@tensorflow/tfjs-backend-wasm'), 'dist');
  const modelsDir = join(humanDir, 'models');
  const fasDir = opts.modelsDir ?? join(packageRoot, 'models', 'minifasnet');

  installLocalFetch();

  // tfjs-node when it is installed and loads, WASM otherwise.
  const useNode = process.env.FACE_ENGINE_BACKEND !== 'wasm' && (await tryTfjsNode());
  const bundle = join(humanDir, 'dist', useNode ? 'human.node.js' : 'human.node-wasm.js');
  if (!existsSync(bundle)) throw new Error(`human bundle not found: ${bundle}`);
  const mod = loadCommonJsByPath(bundle) as {
    Human?: new (cfg: Record<string, unknown>) => HumanLike;
    default?: unknown;
  };
  const HumanCtor = mod.Human ?? (mod.default as new (cfg: Record<string, unknown>) => HumanLike);
  if (typeof HumanCtor !== 'function') throw new Error('human bundle has no Human export');

  const baseConfig: Record<string, unknown> = {
    backend: useNode ? 'tensorflow' : 'wasm',
    wasmPath: `${wasmDir}/`,
    wasmPlatformFetch: false,
    modelBasePath: `${pathToFileURL(modelsDir).href}/`,
    debug: false,
    async: true,
    warmup: 'none',
    cacheSensitivity: 0,
    cacheModels: false,
    validateModels: false,
    deallocate: false,
    filter: { enabled: false },
    gesture: { enabled: true },
    face: {
      enabled: true,
      detector: {
        modelPath: 'blazeface.json',
        rotation: true,
        maxDetected: thresholds.faceMaxDetected,
        skipFrames: 0,
        skipTime: 0,
        minConfidence: thresholds.faceMinConfidence,
        minSize: 0,
        iouThreshold: 0.1,
        mask: false,
        return: false,
      },
      mesh: { enabled: true, modelPath: 'facemesh.json', keepInvalid: false },
      attention: { enabled: false },
      iris: { enabled: true, modelPath: 'iris.json', scale: 2.3 },
      emotion: { enabled: false },
      description: { enabled: false },
      antispoof: { enabled: true, modelPath: 'antispoof.json', skipFrames: 0, skipTime: 0 },
      liveness: { enabled: true, modelPath: 'liveness.json', skipFrames: 0, skipTime: 0 },
      gear: { enabled: false },
    },
    body: {
      enabled: false,
      modelPath: 'movenet-lightning.json',
      maxDetected: 1,
      minConfidence: 0.1,
      skipFrames: 0,
      skipTime: 0,
    },
    hand: {
      enabled: false,
      rotation: false,
      skipFrames: 0,
      skipTime: 0,
      minConfidence: 0.5,
      iouThreshold: 0.2,
      maxDetected: 4,
      landmarks: false,
      detector: { modelPath: 'handtrack.json' },
      skeleton: { modelPath: 'handlandmark-lite.json' },
    },
    object: { enabled: false },
    segmentation: { enabled: false },
  };

  const human = new HumanCtor(baseConfig);
  const tf = human.tf as Tf;
  if (!useNode) {
    // one core per worker process: single-threaded WASM
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    const setThreads = (tf as unknown as { setThreadsCount?: (n: number) => void }).setThreadsCount;
    if (typeof setThreads === 'function') setThreads(1);
  }
  await human.init();
  // load face models, plus the hand detector (used only when the obstruction stage needs it), the face descriptor
  // (run by embedding.ts, not by human's description step) and the body-pose model (no-face rescue only)
  const faceBase = baseConfig.face as Record<string, unknown>;
  await human.load({
    ...baseConfig,
    face: { ...faceBase, description: { enabled: true, modelPath: 'faceres.json', skipFrames: 0, skipTime: 0 } },
    body: { ...(baseConfig.body as object), enabled: true },
    hand: { ...(baseConfig.hand as object), enabled: true },
  });
  const loaded = new Set(human.models.loaded());
  const missing = REQUIRED_HUMAN_MODELS.filter((m) => !loaded.has(m));
  if (missing.length > 0) throw new Error(`face models failed to load: ${missing.join(', ')}`);
  const backend = tf.getBackend();
  if (!backend) throw new Error('no tfjs backend is active');

  const faceres = (human.models as unknown as { models?: Record<string, GraphModelLike | null> }).models?.faceres;
  if (!faceres) throw new Error('face descriptor model (faceres) failed to load');
  allowAnyInputSize(faceres);
  const maskProbe = loadProbe(opts.maskProbePath ?? join(packageRoot, 'models', 'mask-probe.json'));

  const v2 = await loadMiniFasNet(tf, join(fasDir, 'minifasnet_v2_scale2.7.safetensors'), 'v2');
  const v1se = await loadMiniFasNet(tf, join(fasDir, 'minifasnet_v1se_scale4.0.safetensors'), 'v1se');

  const versions: Record<string, string> = {
    human: human.version,
    'tfjs-core': packageVersion('@tensorflow/tfjs-core'),
    'tfjs-backend-wasm': packageVersion('@tensorflow/tfjs-backend-wasm'),
    sharp: packageVersion('sharp'),
    minifasnetV2: `2.7_80x80_MiniFASNetV2@sha256:${v2.sha256.slice(0, 12)}`,
    minifasnetV1SE: `4_0_0_80x80_MiniFASNetV1SE@sha256:${v1se.sha256.slice(0, 12)}`,
    faceDetector: 'blazeface (human 3.3.6)',
    faceMesh: 'facemesh+iris (human 3.3.6)',
    faceDescriptor: 'faceres (human 3.3.6) @144px',
    maskProbe: `${maskProbe.name} (${String(maskProbe.training.date ?? '')})`,
  };
  const engineName = `selfie-face-engine/0.1 (human ${human.version}, ${backend})`;
  log(`face engine ready: backend=${backend} ${JSON.stringify(versions)}`);

  const engine: FaceEngine = {
    info: { backend, engine: engineName, versions },
    thresholds,
    async dispose() {
      const i = internals.get(engine);
      if (!i) return;
      internals.delete(engine);
      i.fas.v2.dispose();
      i.fas.v1se.dispose();
    },
  };
  const faceCfg = baseConfig.face as Record<string, Record<string, unknown>>;
  internals.set(engine, {
    human,
    tf,
    fas: { v2, v1se },
    thresholds,
    detectConfig(minConfidence: number) {
      return {
        face: { ...faceCfg, detector: { ...faceCfg.detector, minConfidence } },
        hand: { ...(baseConfig.hand as object), enabled: false },
        body: { enabled: false },
      };
    },
    handConfig() {
      return {
        face: { ...faceCfg, enabled: false },
        hand: { ...(baseConfig.hand as object), enabled: true },
        body: { enabled: false },
      };
    },
    bodyConfig() {
      return {
        face: { ...faceCfg, enabled: false },
        hand: { ...(baseConfig.hand as object), enabled: false },
        body: { ...(baseConfig.body as object), enabled: true },
      };
    },
    embed(image: DecodedImage, box: Box) {
      return faceEmbedding(tf, faceres, image, box);
    },
    maskProbe,
  });
  return engine;
}
