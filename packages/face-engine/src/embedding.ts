import { readFileSync } from 'node:fs';
import type { Tensor } from '@tensorflow/tfjs-core';
import type { Tf } from './engine.js';
import { cropResize } from './minifasnet/crop.js';
import type { Box, DecodedImage } from './types.js';

/**
 * Face descriptor from human's `faceres` model (1024-d global-pooling output), run by us on a square crop instead
 * of through human's description step: human feeds it 224x224 (~90 ms single-threaded WASM); the network is fully
 * convolutional, so it also runs at EMBEDDING_SIZE (~40 ms). Linear probes (mask, see models/mask-probe.json) are
 * trained on exactly this crop and size, so keep them in sync (scripts/train-mask-probe.ts).
 */
export const EMBEDDING_SIZE = 144;
/** Side of the square crop around the face box, as a multiple of the box's long side. */
export const EMBEDDING_CROP = 1.2;
const OUTPUT_NODE = 'global_pooling/Mean';

export interface GraphModelLike {
  execute(input: Tensor, outputs?: string | string[]): Tensor | Tensor[];
  executor?: { graph?: { inputs?: { attrParams?: { shape?: { value: number[] } } }[] } };
}

/** Lets the graph model accept any input size (its signature declares 224x224). */
export function allowAnyInputSize(model: GraphModelLike): void {
  const shape = model.executor?.graph?.inputs?.[0]?.attrParams?.shape;
  if (!shape) throw new Error('faceres: cannot read the model input signature');
  shape.value = [-1, -1, -1, 3];
}

export function embeddingRect(image: DecodedImage, box: Box) {
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const side = Math.max(box.width, box.height) * EMBEDDING_CROP;
  return {
    x0: Math.round(cx - side / 2),
    y0: Math.round(cy - side / 2),
    x1: Math.round(cx + side / 2),
    y1: Math.round(cy + side / 2),
  };
}

/** 1024-d descriptor of the face box (RGB 0-255 input, edges replicated where the crop leaves the image). */
export function faceEmbedding(tf: Tf, model: GraphModelLike, image: DecodedImage, box: Box): Float32Array {
  const data = cropResize(image, embeddingRect(image, box), EMBEDDING_SIZE, EMBEDDING_SIZE, false);
  const x = tf.tensor4d(data, [1, EMBEDDING_SIZE, EMBEDDING_SIZE, 3]);
  let y: Tensor | Tensor[] | undefined;
  try {
    y = model.execute(x, OUTPUT_NODE);
    const t = Array.isArray(y) ? y[0] : y;
    if (!t) throw new Error('faceres returned no output');
    const v = t.dataSync() as Float32Array;
    if (v.length !== 1024) throw new Error(`faceres returned ${v.length} values`);
    return Float32Array.from(v);
  } finally {
    x.dispose();
    if (y) tf.dispose(y);
  }
}

/** Logistic-regression probe on standardised features: p = sigmoid(bias + sum w_j (x_j - mean_j) / std_j). */
export interface LinearProbeFile {
  name: string;
  description: string;
  feature: { model: string; size: number; crop: number; dims: number };
  mean: number[];
  std: number[];
  weights: number[];
  bias: number;
  threshold: number;
  training: Record<string, unknown>;
}

export function loadProbe(path: string): LinearProbeFile {
  const p = JSON.parse(readFileSync(path, 'utf8')) as LinearProbeFile;
  const d = p.feature?.dims;
  if (!d || p.mean?.length !== d || p.std?.length !== d || p.weights?.length !== d || typeof p.bias !== 'number') {
    throw new Error(`linear probe ${path} is malformed`);
  }
  if (p.feature.size !== EMBEDDING_SIZE || p.feature.crop !== EMBEDDING_CROP) {
    throw new Error(`linear probe ${path} was trained on a different embedding (${p.feature.size}/${p.feature.crop})`);
  }
  return p;
}

export function probeProbability(p: LinearProbeFile, x: ArrayLike<number>): number {
  let s = p.bias;
  for (let j = 0; j < p.weights.length; j++) {
    s += (p.weights[j] ?? 0) * (((x[j] ?? 0) - (p.mean[j] ?? 0)) / (p.std[j] ?? 1));
  }
  return 1 / (1 + Math.exp(-s));
}
