import { getInternals } from './engine.js';
import { runOnnx } from './ort.js';
import type { DecodedImage, DetectedFace, FaceEngine, Point2 } from './types.js';
import { type SquareRegion, sampleRegion } from './warp.js';

/**
 * Face embeddings for repeat-face search: dlib's ResNet face descriptor (Davis King, public domain; the copy in
 * npm @vladmandic/face-api@1.7.15, rebuilt as ONNX by scripts/models/build_dlib_face_recognition.py).
 *
 * The network expects dlib's aligned face chip: 150x150 RGB, the face placed by a similarity transform (scale,
 * rotation, shift; no shear) that puts five points where dlib's `get_face_chip_details(shape, 150, 0.25)` puts
 * them: both corners of each eye and the base of the nose. Those five points come from the face-landmark mesh
 * (MediaPipe indices 263, 362, 33, 133 and 2). When the mesh is missing (full profiles, heavily covered faces) the
 * detector's five keypoints (eye centres, nose tip, mouth corners) are fitted to the same face frame instead,
 * using dlib's mean face shape; `alignment.from` says which one was used.
 */

/** Side of the aligned chip the model takes (pixels). */
export const EMBEDDING_CHIP_SIZE = 150;
/** Border around dlib's landmark template, as a fraction of its size (dlib's face recognition example uses 0.25). */
export const EMBEDDING_CHIP_PADDING = 0.25;
/** Length of an embedding (float32 values). */
export const EMBEDDING_DIMENSIONS = 128;
/**
 * Names the embedding space: model, alignment and normalisation. Embeddings with a different version are not
 * comparable; store it beside each embedding.
 */
export const EMBEDDING_VERSION = 'dlib-resnet-v1/face-api-1.7.15/chip150-pad0.25/l2';

/**
 * Cosine similarity at or above which two faces are taken to be the same person. Chosen on the identities fixtures
 * (`pnpm eval:identities`, 90 photos of 31 people): just above every different-person score of the identities a
 * threshold is picked on, rounded up to 0.001. Cross-validated by identity (5 folds x 20 repeats, threshold picked
 * on training identities, rates measured on held-out ones): TAR 95.7 % (Wilson 91.6-97.8) at FAR 0.03 %
 * (0.00-0.15). The laxer rule "FAR <= 0.1 % on the training identities" gave 0.20 % on held-out ones. The fixtures
 * are mostly Western public figures: false matches are more frequent on other faces (see
 * models/dlib-face-recognition/NOTICE.md).
 */
export const DEFAULT_REPEAT_FACE_THRESHOLD = 0.924;

/**
 * dlib's 5-point template (dlib/image_transforms/interpolation.h, get_face_chip_details) on the unit face square,
 * in dlib's part order: subject's left eye outer and inner corner, subject's right eye outer and inner corner,
 * base of the nose (image x grows to the right, so the subject's left eye is on the image right).
 */
const DLIB_TEMPLATE_5: readonly Point2[] = [
  [0.8595674595992, 0.2134981538014],
  [0.6460604764104, 0.2289674387677],
  [0.1205750620789, 0.2137274526848],
  [0.3340850613712, 0.2290642403242],
  [0.4901123135679, 0.6277975316475],
];
/** MediaPipe face-mesh indices of the same five points, in the same order. */
const MESH_POINTS_5 = ['leftEyeOuter', 'leftEyeInner', 'rightEyeOuter', 'rightEyeInner', 'noseBottom'] as const;

/**
 * The detector keypoints in the same face frame, from dlib's mean 68-point face shape (the same source file):
 * subject's right eye = mean of points 36-41, left eye = mean of 42-47, nose tip = point 30, mouth corners = points
 * 48 (subject's right) and 54 (subject's left).
 */
const KEYPOINT_TEMPLATE: Record<'rightEye' | 'leftEye' | 'nose' | 'mouthRight' | 'mouthLeft', Point2> = {
  rightEye: [
    (0.121737 + 0.187122 + 0.265825 + 0.334606 + 0.260918 + 0.182743) / 6,
    (0.216423 + 0.178758 + 0.179852 + 0.231733 + 0.245099 + 0.244077) / 6,
  ],
  leftEye: [
    (0.645647 + 0.714428 + 0.793132 + 0.858516 + 0.79751 + 0.719335) / 6,
    (0.231733 + 0.179852 + 0.178758 + 0.216423 + 0.244077 + 0.245099) / 6,
  ],
  nose: [0.490127, 0.515625],
  mouthRight: [0.254149, 0.780233],
  mouthLeft: [0.726104, 0.780233],
};

/** How the face was aligned into the chip (all lengths in pixels of the analysis image). */
export interface FaceAlignment {
  /** 'landmarks': dlib's five points from the 468-point mesh; 'keypoints': the detector's five keypoints. */
  from: 'landmarks' | 'keypoints';
  /** The chip as a rotated square of the analysis image (see warp.ts). */
  region: SquareRegion;
  /** Root-mean-square distance between the five points and the fitted template, as a fraction of the eye distance. */
  fitError: number;
  /** Distance between the eye centres; below ~30 px the chip is mostly upscaled blur. */
  eyeDistancePx: number;
}

export interface FaceEmbedding {
  /** L2-normalised, EMBEDDING_DIMENSIONS long: cosine similarity is the dot product. */
  embedding: Float32Array;
  /** alignment + model run */
  ms: number;
  alignment: FaceAlignment;
}

/** Template point (unit face square) -> chip coordinates (continuous: pixel i covers [i, i + 1)). */
function chipPoint(p: Point2, size: number, padding: number): Point2 {
  const k = size / (2 * padding + 1);
  // dlib places template points at pixel positions p * size; a pixel's centre is +0.5 in continuous coordinates
  return [(padding + p[0]) * k + 0.5, (padding + p[1]) * k + 0.5];
}

/**
 * Least-squares similarity transform taking chip points to image points (image = s R chip + t), returned as the
 * rotated square region of the image that the chip covers, plus the RMS residual in image pixels.
 */
export function fitChipRegion(
  imagePoints: readonly Point2[],
  chipPoints: readonly Point2[],
  size: number,
): { region: SquareRegion; rms: number } {
  const n = imagePoints.length;
  if (n < 2 || chipPoints.length !== n) throw new Error('fitChipRegion: need two or more matching points');
  let qx = 0;
  let qy = 0;
  let px = 0;
  let py = 0;
  for (let i = 0; i < n; i++) {
    qx += (chipPoints[i] as Point2)[0] / n;
    qy += (chipPoints[i] as Point2)[1] / n;
    px += (imagePoints[i] as Point2)[0] / n;
    py += (imagePoints[i] as Point2)[1] / n;
  }
  let sqq = 0;
  let dot = 0;
  let cross = 0;
  for (let i = 0; i < n; i++) {
    const ax = (chipPoints[i] as Point2)[0] - qx;
    const ay = (chipPoints[i] as Point2)[1] - qy;
    const bx = (imagePoints[i] as Point2)[0] - px;
    const by = (imagePoints[i] as Point2)[1] - py;
    sqq += ax * ax + ay * ay;
    dot += ax * bx + ay * by;
    cross += ax * by - ay * bx;
  }
  if (!(sqq > 0)) throw new Error('fitChipRegion: chip points coincide');
  // image - p = [[a, -b], [b, a]] (chip - q)
  const a = dot / sqq;
  const b = cross / sqq;
  const map = (x: number, y: number): Point2 => [px + a * (x - qx) - b * (y - qy), py + b * (x - qx) + a * (y - qy)];
  let err = 0;
  for (let i = 0; i < n; i++) {
    const [fx, fy] = map((chipPoints[i] as Point2)[0], (chipPoints[i] as Point2)[1]);
    err += (fx - (imagePoints[i] as Point2)[0]) ** 2 + (fy - (imagePoints[i] as Point2)[1]) ** 2;
  }
  const step = Math.hypot(a, b);
  const [cx, cy] = map(size / 2, size / 2);
  // sampleRegion: image = centre + [[cos, sin], [-sin, cos]] (chip * step - side / 2)
  return { region: { cx, cy, side: step * size, angle: Math.atan2(-b, a) }, rms: Math.sqrt(err / n) };
}

/**
 * Samples a size x size RGB chip (values 0-255, NHWC) of a region. When the region is more than one image pixel
 * per chip pixel, each chip pixel averages an s x s grid of bilinear samples (s = ceil(image px per chip px), at
 * most 4), so that downscaling a large face does not alias.
 */
export function sampleChip(image: DecodedImage, region: SquareRegion, size: number): Float32Array {
  const s = Math.min(4, Math.max(1, Math.ceil(region.side / size - 1e-9)));
  const fine = sampleRegion(image, region, size * s, { scale: 1, offset: 0 });
  if (s === 1) return fine;
  const out = new Float32Array(size * size * 3);
  const fw = size * s;
  const norm = 1 / (s * s);
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let j = 0; j < s; j++) {
          const row = (v * s + j) * fw;
          for (let i = 0; i < s; i++) acc += fine[(row + u * s + i) * 3 + c] as number;
        }
        out[(v * size + u) * 3 + c] = acc * norm;
      }
    }
  }
  return out;
}

/** Where dlib's chip lies in the image for this face, and how well the face fitted the template. */
export function faceChipAlignment(
  face: DetectedFace,
  opts: { size?: number; padding?: number; from?: 'landmarks' | 'keypoints' } = {},
): FaceAlignment {
  const size = opts.size ?? EMBEDDING_CHIP_SIZE;
  const padding = opts.padding ?? EMBEDDING_CHIP_PADDING;
  const useMesh = face.landmarks !== null && opts.from !== 'keypoints';
  let imagePoints: Point2[];
  let templatePoints: Point2[];
  if (useMesh && face.landmarks) {
    const pts = face.landmarks.points;
    imagePoints = MESH_POINTS_5.map((k) => pts[k]);
    templatePoints = [...DLIB_TEMPLATE_5];
  } else {
    const kp = face.keypoints;
    const names = ['rightEye', 'leftEye', 'nose', 'mouthRight', 'mouthLeft'] as const;
    imagePoints = names.map((k) => kp[k]);
    templatePoints = names.map((k) => KEYPOINT_TEMPLATE[k]);
  }
  const { region, rms } = fitChipRegion(
    imagePoints,
    templatePoints.map((p) => chipPoint(p, size, padding)),
    size,
  );
  const eyes = useMesh
    ? [mid(imagePoints[0] as Point2, imagePoints[1] as Point2), mid(imagePoints[2] as Point2, imagePoints[3] as Point2)]
    : [imagePoints[0] as Point2, imagePoints[1] as Point2];
  const eyeDistancePx = Math.hypot(
    (eyes[0] as Point2)[0] - (eyes[1] as Point2)[0],
    (eyes[0] as Point2)[1] - (eyes[1] as Point2)[1],
  );
  return {
    from: useMesh ? 'landmarks' : 'keypoints',
    region,
    fitError: eyeDistancePx > 0 ? rms / eyeDistancePx : Number.POSITIVE_INFINITY,
    eyeDistancePx,
  };
}

const mid = (a: Point2, b: Point2): Point2 => [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];

/** dlib's 150x150 aligned chip of the face (RGB 0-255, NHWC) and how it was placed. */
export function alignedFaceChip(
  image: DecodedImage,
  face: DetectedFace,
  opts: { from?: 'landmarks' | 'keypoints' } = {},
): { chip: Float32Array; alignment: FaceAlignment } {
  const alignment = faceChipAlignment(face, opts);
  return { chip: sampleChip(image, alignment.region, EMBEDDING_CHIP_SIZE), alignment };
}

/** Scales a vector to unit length in place (a zero vector stays zero) and returns it. */
export function l2Normalize(v: Float32Array): Float32Array {
  let ss = 0;
  for (let i = 0; i < v.length; i++) ss += (v[i] as number) * (v[i] as number);
  const k = ss > 0 ? 1 / Math.sqrt(ss) : 0;
  for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) * k;
  return v;
}

/** Runs the embedding model on chips already aligned (batch of n, RGB 0-255 NHWC); returns raw descriptors. */
export async function embedChips(engine: FaceEngine, chips: Float32Array, n: number): Promise<Float32Array[]> {
  const { models } = getInternals(engine);
  const size = EMBEDDING_CHIP_SIZE;
  if (chips.length !== n * size * size * 3) throw new Error(`embedChips: expected ${n} chips of ${size}x${size}x3`);
  const out = await runOnnx(models.faceEmbedding, chips, [n, size, size, 3]);
  const t = out.descriptor;
  if (t === undefined) throw new Error('face embedding model has no descriptor output');
  if (t.dims.length !== 2 || t.dims[0] !== n || t.dims[1] !== EMBEDDING_DIMENSIONS) {
    throw new Error('face embedding model returned an unexpected output');
  }
  const result: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    result.push(t.data.slice(i * EMBEDDING_DIMENSIONS, (i + 1) * EMBEDDING_DIMENSIONS));
  }
  return result;
}

/**
 * The face's embedding: dlib's aligned chip, the descriptor network, L2 normalisation. Compare two embeddings with
 * cosineSimilarity(); the same person scores at or above DEFAULT_REPEAT_FACE_THRESHOLD.
 */
export async function embedFace(engine: FaceEngine, image: DecodedImage, face: DetectedFace): Promise<FaceEmbedding> {
  const t0 = performance.now();
  const { chip, alignment } = alignedFaceChip(image, face);
  const [raw] = await embedChips(engine, chip, 1);
  if (raw === undefined) throw new Error('face embedding model returned nothing');
  if (!raw.every(Number.isFinite)) throw new Error('face embedding is not finite');
  return { embedding: l2Normalize(raw), ms: Math.round((performance.now() - t0) * 10) / 10, alignment };
}

/** Cosine similarity of two vectors of the same length (-1..1; 0 when either is all zeros). */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cosineSimilarity: lengths differ (${a.length} vs ${b.length})`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

export interface SimilarEmbedding {
  /** Row of the store. */
  index: number;
  similarity: number;
}

/**
 * Exact (brute-force) search: the cosine similarity of `query` with every row of `store` (row-major, one
 * L2-normalised embedding of query.length values per row, as embedFace returns them), keeping rows at or above
 * `threshold`, best first, at most `limit`. One pass over the store: 16-27 ms per 100k stored 128-d faces on one core
 * (`pnpm eval:identities --search`; about ten times that per million).
 */
export function findSimilarEmbeddings(
  store: Float32Array,
  query: Float32Array,
  threshold: number,
  limit = Number.POSITIVE_INFINITY,
): SimilarEmbedding[] {
  const dims = query.length;
  if (dims === 0 || dims % 4 !== 0)
    throw new Error(`findSimilarEmbeddings: query length ${dims} is not a multiple of 4`);
  if (store.length % dims !== 0) throw new Error(`findSimilarEmbeddings: store length is not a multiple of ${dims}`);
  const n = store.length / dims;
  const hits: SimilarEmbedding[] = [];
  for (let i = 0, o = 0; i < n; i++, o += dims) {
    // four accumulators: independent additions run in parallel (about twice as fast as one running sum)
    let a = 0;
    let b = 0;
    let c = 0;
    let d = 0;
    for (let j = 0; j < dims; j += 4) {
      a += (store[o + j] as number) * (query[j] as number);
      b += (store[o + j + 1] as number) * (query[j + 1] as number);
      c += (store[o + j + 2] as number) * (query[j + 2] as number);
      d += (store[o + j + 3] as number) * (query[j + 3] as number);
    }
    const s = a + b + c + d;
    if (s >= threshold) hits.push({ index: i, similarity: s });
  }
  hits.sort((x, y) => y.similarity - x.similarity || x.index - y.index);
  return hits.length > limit ? hits.slice(0, limit) : hits;
}
