import sharp from 'sharp';
import { getInternals } from './engine.js';
import { runOnnx } from './ort.js';
import { headPose } from './pose.js';
import {
  type Box,
  type DecodedImage,
  type DetectedFace,
  type FaceEngine,
  type FaceLandmarks,
  type FacesOutcome,
  type FiveKeypoints,
  KEYPOINT_INDEX,
  type KeypointName,
  type Point2,
} from './types.js';
import { regionToImage, type SquareRegion, sampleRegion } from './warp.js';

const round3 = (v: number) => Math.round(v * 1000) / 1000;
const round1 = (v: number) => Math.round(v * 10) / 10;

/** Long side of the detector input. RetinaFace finds faces down to ~16 px at this scale (5 % of the long side). */
export const DETECTOR_SIDE = 320;
/** The detector's graph works on sizes that are multiples of its largest stride. */
const DETECTOR_STRIDE = 32;
/** Lowest detector score considered at all (candidates below it are dropped before the landmark model runs). */
const CANDIDATE_MIN_SCORE = 0.5;
const LANDMARK_SIDE = 192;
/** Landmark crop side as a multiple of the face size (MediaPipe's own face-to-ROI scale). */
const LANDMARK_CROP_SCALE = 1.5;

export interface Candidate {
  /** analysis-image pixels */
  box: Box;
  score: number;
  keypoints: FiveKeypoints;
}

/**
 * RetinaFace: the image is scaled so its long side is DETECTOR_SIDE, padded right/bottom with black to a multiple of
 * 32, and run as RGB 0-255. Anchor decoding and non-maximum suppression are inside the graph; its rows are
 * [x1, y1, x2, y2, 5 x (x, y) keypoints, keypoint flag, score], coordinates as ratios of the padded input.
 */
export async function detectCandidates(engine: FaceEngine, image: DecodedImage): Promise<Candidate[]> {
  const { models } = getInternals(engine);
  const k = DETECTOR_SIDE / Math.max(image.width, image.height);
  const w = Math.max(1, Math.round(image.width * k));
  const h = Math.max(1, Math.round(image.height * k));
  const pw = Math.ceil(w / DETECTOR_STRIDE) * DETECTOR_STRIDE;
  const ph = Math.ceil(h / DETECTOR_STRIDE) * DETECTOR_STRIDE;
  const small = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(w, h, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
  const input = new Float32Array(pw * ph * 3);
  for (let y = 0; y < h; y++) {
    const src = y * w * 3;
    const dst = y * pw * 3;
    for (let i = 0; i < w * 3; i++) input[dst + i] = small[src + i] as number;
  }
  const out = await runOnnx(models.detector, input, [1, ph, pw, 3]);
  const rows = Object.values(out)[0];
  if (rows?.dims.at(-1) !== 16) throw new Error('face detector returned an unexpected output');
  const n = rows.data.length / 16;
  // ratios of the padded input -> analysis-image pixels
  const sx = pw / k;
  const sy = ph / k;
  const found: Candidate[] = [];
  for (let i = 0; i < n; i++) {
    const r = rows.data.subarray(i * 16, i * 16 + 16);
    const score = r[15] as number;
    if (!(score >= CANDIDATE_MIN_SCORE)) continue;
    const x1 = (r[0] as number) * sx;
    const y1 = (r[1] as number) * sy;
    const x2 = (r[2] as number) * sx;
    const y2 = (r[3] as number) * sy;
    if (!(x2 - x1 > 1 && y2 - y1 > 1)) continue;
    const p = (j: number): Point2 => [(r[4 + 2 * j] as number) * sx, (r[5 + 2 * j] as number) * sy];
    // the detector lists keypoints from the image's left: the subject's right eye comes first
    found.push({
      box: { x: x1, y: y1, width: x2 - x1, height: y2 - y1 },
      score,
      keypoints: { rightEye: p(0), leftEye: p(1), nose: p(2), mouthRight: p(3), mouthLeft: p(4) },
    });
  }
  return found.sort((a, b) => b.score - a.score);
}

/** Counter-clockwise angle (radians, on screen) of the line from the subject's right eye to their left eye. */
export function eyeLineAngle(rightEye: Point2, leftEye: Point2): number {
  return Math.atan2(-(leftEye[1] - rightEye[1]), leftEye[0] - rightEye[0]);
}

/** Upright square crop around a face, rotated so that the eye line is horizontal. */
export function faceRegion(box: Box, rightEye: Point2, leftEye: Point2, scale: number): SquareRegion {
  const angle = eyeLineAngle(rightEye, leftEye);
  return {
    cx: box.x + box.width / 2,
    cy: box.y + box.height / 2,
    side: Math.max(box.width, box.height) * scale,
    angle,
  };
}

export interface Mesh {
  /** 468 x (x, y, z), image pixels (z: relative depth, same scale, smaller = nearer) */
  points: Float32Array;
  /** face-presence probability 0..1 */
  score: number;
}

/** MediaPipe face_landmark: 192x192 RGB in [0, 1] -> 468 points in crop pixels plus a face-presence logit. */
export async function runMesh(engine: FaceEngine, image: DecodedImage, region: SquareRegion): Promise<Mesh> {
  const { models } = getInternals(engine);
  const input = sampleRegion(image, region, LANDMARK_SIDE, { scale: 1 / 255, offset: 0 });
  const out = await runOnnx(models.landmarks, input, [1, LANDMARK_SIDE, LANDMARK_SIDE, 3]);
  let coords: Float32Array | undefined;
  let flag: number | undefined;
  for (const t of Object.values(out)) {
    if (t.data.length === 468 * 3) coords = t.data;
    else if (t.data.length === 1) flag = t.data[0];
  }
  if (!coords || flag === undefined) throw new Error('face landmark model returned an unexpected output');
  const points = new Float32Array(468 * 3);
  const zScale = region.side / LANDMARK_SIDE;
  for (let i = 0; i < 468; i++) {
    const [x, y] = regionToImage(region, LANDMARK_SIDE, coords[i * 3] as number, coords[i * 3 + 1] as number);
    points[i * 3] = x;
    points[i * 3 + 1] = y;
    points[i * 3 + 2] = (coords[i * 3 + 2] as number) * zScale;
  }
  return { points, score: 1 / (1 + Math.exp(-flag)) };
}

/**
 * Extent of the 468 points in a frame rotated by `angle` (counter-clockwise on screen): u along the rotated x axis,
 * v along the rotated y axis (angle 0: plain image x and y).
 */
function meshExtent(points: Float32Array, angle: number) {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  let u0 = Number.POSITIVE_INFINITY;
  let u1 = Number.NEGATIVE_INFINITY;
  let v0 = Number.POSITIVE_INFINITY;
  let v1 = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < 468; i++) {
    const x = points[i * 3] as number;
    const y = points[i * 3 + 1] as number;
    const u = x * cos - y * sin;
    const v = x * sin + y * cos;
    u0 = Math.min(u0, u);
    u1 = Math.max(u1, u);
    v0 = Math.min(v0, v);
    v1 = Math.max(v1, v);
  }
  return { u0, u1, v0, v1, cos, sin };
}

/** Crop for a second landmark pass: the first pass's own landmarks give a tighter, better rotated face region. */
function regionFromMesh(points: Float32Array): SquareRegion {
  const at = (i: number): Point2 => [points[i * 3] as number, points[i * 3 + 1] as number];
  const angle = eyeLineAngle(at(KEYPOINT_INDEX.rightEyeOuter), at(KEYPOINT_INDEX.leftEyeOuter));
  const { u0, u1, v0, v1, cos, sin } = meshExtent(points, angle);
  const cu = (u0 + u1) / 2;
  const cv = (v0 + v1) / 2;
  return {
    cx: cu * cos + cv * sin,
    cy: -cu * sin + cv * cos,
    side: Math.max(u1 - u0, v1 - v0) * LANDMARK_CROP_SCALE,
    angle,
  };
}

const CONTOURS = {
  rightEye: [246, 161, 160, 159, 158, 157, 173, 33, 7, 163, 144, 145, 153, 154, 155, 133],
  leftEye: [466, 388, 387, 386, 385, 384, 398, 263, 249, 390, 373, 374, 380, 381, 382, 362],
  nose: [1, 2, 168, 6, 197, 195, 5, 98, 327],
  lips: [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 146, 91, 181, 84, 17, 314, 405, 321, 375],
  faceOval: [
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150,
    136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
  ],
} as const;

export function landmarksFromMesh(points: Float32Array): FaceLandmarks {
  const at = (i: number): Point2 => [round1(points[i * 3] as number), round1(points[i * 3 + 1] as number)];
  const { u0: x0, u1: x1, v0: y0, v1: y1 } = meshExtent(points, 0);
  return {
    rightEye: CONTOURS.rightEye.map(at),
    leftEye: CONTOURS.leftEye.map(at),
    nose: CONTOURS.nose.map(at),
    lips: CONTOURS.lips.map(at),
    faceOval: CONTOURS.faceOval.map(at),
    points: Object.fromEntries(Object.entries(KEYPOINT_INDEX).map(([name, idx]) => [name, at(idx)])) as Record<
      KeypointName,
      Point2
    >,
    meshBox: { x: round1(x0), y: round1(y0), width: round1(x1 - x0), height: round1(y1 - y0) },
  };
}

function clippedBoxes(image: DecodedImage, b: Box) {
  const x0 = Math.max(0, b.x);
  const y0 = Math.max(0, b.y);
  const x1 = Math.min(image.width, b.x + b.width);
  const y1 = Math.min(image.height, b.y + b.height);
  const inv = 1 / image.scale;
  return {
    boxPixels: { x: round1(x0), y: round1(y0), width: round1(x1 - x0), height: round1(y1 - y0) },
    box: {
      x: round3(x0 / image.width),
      y: round3(y0 / image.height),
      width: round3((x1 - x0) / image.width),
      height: round3((y1 - y0) / image.height),
    },
    boxOriginalPixels: {
      x: Math.round(x0 * inv),
      y: Math.round(y0 * inv),
      width: Math.round((x1 - x0) * inv),
      height: Math.round((y1 - y0) * inv),
    },
  };
}

const roundPoint = (p: Point2): Point2 => [round1(p[0]), round1(p[1])];

/** Below this face-presence score the landmark model did not recognise a face it could fit (e.g. a full profile). */
export const MIN_MESH_SCORE = 0.5;
/** Half the distance between the eye centres over the nose tip's depth in front of them (canonical face). */
const EYE_TO_NOSE_DEPTH = 0.75;

/**
 * Yaw and roll from the detector's five keypoints alone, for faces the landmark model cannot fit. The nose tip
 * sits between the eyes on a frontal face and moves past one eye as the head turns: with the eyes at +-E and the
 * nose D in front of them, the nose offset over E is (D / E) tan(yaw).
 */
export function keypointPose(k: FiveKeypoints): { yaw: number; pitch: number; roll: number } {
  const ex = k.leftEye[0] - k.rightEye[0];
  const ey = k.leftEye[1] - k.rightEye[1];
  const half = Math.max(1e-6, Math.hypot(ex, ey) / 2);
  const ux = ex / (2 * half);
  const uy = ey / (2 * half);
  const mx = (k.leftEye[0] + k.rightEye[0]) / 2;
  const my = (k.leftEye[1] + k.rightEye[1]) / 2;
  // nose offset along the eye line, in half eye distances (negative: towards the image left)
  const offset = ((k.nose[0] - mx) * ux + (k.nose[1] - my) * uy) / half;
  const deg = 180 / Math.PI;
  return {
    yaw: Math.atan(-offset * EYE_TO_NOSE_DEPTH) * deg,
    pitch: 0,
    roll: eyeLineAngle(k.rightEye, k.leftEye) * deg,
  };
}

/** A detector candidate plus its landmarks, as plain JSON for storage and the later stages. */
export async function describeFace(engine: FaceEngine, image: DecodedImage, c: Candidate): Promise<DetectedFace> {
  const { canonical } = getInternals(engine);
  const first = await runMesh(
    engine,
    image,
    faceRegion(c.box, c.keypoints.rightEye, c.keypoints.leftEye, LANDMARK_CROP_SCALE),
  );
  // refine once from the first pass's landmarks (tighter crop, exact roll), as MediaPipe's tracking does
  const mesh = await runMesh(engine, image, regionFromMesh(first.points));
  const k = c.keypoints;
  const fitted = mesh.score >= MIN_MESH_SCORE;
  const pose = fitted ? headPose(mesh.points, canonical) : keypointPose(k);
  return {
    ...clippedBoxes(image, c.box),
    confidence: Math.round(Math.max(0, Math.min(1, c.score)) * 100),
    detectorScore: round3(c.score),
    landmarkScore: round3(mesh.score),
    keypoints: {
      rightEye: roundPoint(k.rightEye),
      leftEye: roundPoint(k.leftEye),
      nose: roundPoint(k.nose),
      mouthRight: roundPoint(k.mouthRight),
      mouthLeft: roundPoint(k.mouthLeft),
    },
    angles: { yaw: round1(pose.yaw), pitch: round1(pose.pitch), roll: round1(pose.roll) },
    poseFrom: fitted ? 'landmarks' : 'keypoints',
    landmarks: landmarksFromMesh(mesh.points),
  };
}

/** Five named points as ratios of the image size, for the API to show what the later stages looked at. */
function keyLandmarks(face: DetectedFace, image: DecodedImage): Record<string, [number, number]> {
  const ratio = (p: Point2): [number, number] => [round3(p[0] / image.width), round3(p[1] / image.height)];
  const k = face.keypoints;
  return {
    rightEye: ratio(k.rightEye),
    leftEye: ratio(k.leftEye),
    noseTip: ratio(k.nose),
    mouthRight: ratio(k.mouthRight),
    mouthLeft: ratio(k.mouthLeft),
  };
}

/**
 * Faces analysis: every face the detector scores at faceMinConfidence or more. RetinaFace's score alone separates
 * faces from animals, objects and scenery (measured: no false face on any no-face photo), and it keeps masked
 * and sunglassed faces, so there is no second, lower-threshold pass (the rescue pass that found faces on a
 * giraffe and a rocket). The landmark model's face-presence score is reported beside it: it drops on masked faces,
 * so it is evidence for the obstruction stage, not a gate here.
 */
export async function analyzeFaces(engine: FaceEngine, image: DecodedImage): Promise<FacesOutcome> {
  const t0 = performance.now();
  const th = getInternals(engine).thresholds;
  const candidates = (await detectCandidates(engine, image))
    .filter((c) => c.score >= th.faceMinConfidence)
    .slice(0, th.faceMaxDetected);
  const faces: DetectedFace[] = [];
  for (const c of candidates) faces.push(await describeFace(engine, image, c));
  faces.sort((a, b) => b.boxPixels.width * b.boxPixels.height - a.boxPixels.width * a.boxPixels.height);
  const reasons: string[] = [];
  if (faces.length === 0) reasons.push('NO_FACE_DETECTED');
  if (faces.length > 1) reasons.push('MULTIPLE_FACES');
  return {
    inspection: {
      result: faces.length === 1 ? 'clear' : 'attention',
      breakdown: {
        faceCount: faces.length,
        faces: faces.map((f) => ({
          box: f.box,
          boxPixels: f.boxPixels,
          confidence: f.confidence,
          landmarks: keyLandmarks(f, image),
        })),
      },
      reasons,
    },
    faces,
    ms: Math.round(performance.now() - t0),
  };
}
