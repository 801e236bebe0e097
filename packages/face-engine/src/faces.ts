import { probeProbability } from './embedding.js';
import { getInternals, type HumanFace, type HumanResult } from './engine.js';
import {
  type Box,
  type DecodedImage,
  type DetectedFace,
  type FaceEngine,
  type FaceLandmarks,
  type FacesOutcome,
  KEYPOINT_INDEX,
  type KeypointName,
  type Point2,
} from './types.js';

const RAD2DEG = 180 / Math.PI;

const round3 = (v: number) => Math.round(v * 1000) / 1000;
const round1 = (v: number) => Math.round(v * 10) / 10;

function pts(list: number[][] | undefined): Point2[] {
  return (list ?? []).map((p) => [round1(p[0] ?? 0), round1(p[1] ?? 0)] as Point2);
}

/** Converts one human face into the plain-JSON DetectedFace. */
export function toDetectedFace(image: DecodedImage, f: HumanFace, gestures: string[], pass: 1 | 2): DetectedFace {
  const [bx, by, bw, bh] = f.box;
  const x0 = Math.max(0, bx);
  const y0 = Math.max(0, by);
  const x1 = Math.min(image.width, bx + bw);
  const y1 = Math.min(image.height, by + bh);
  const boxPixels: Box = { x: round1(x0), y: round1(y0), width: round1(x1 - x0), height: round1(y1 - y0) };
  const box: Box = {
    x: round3(x0 / image.width),
    y: round3(y0 / image.height),
    width: round3((x1 - x0) / image.width),
    height: round3((y1 - y0) / image.height),
  };
  const inv = 1 / image.scale;
  const boxOriginalPixels: Box = {
    x: Math.round(x0 * inv),
    y: Math.round(y0 * inv),
    width: Math.round((x1 - x0) * inv),
    height: Math.round((y1 - y0) * inv),
  };
  let landmarks: FaceLandmarks | null = null;
  if (f.mesh && f.mesh.length >= 468) {
    const a = f.annotations as Record<string, number[][]>;
    let mx0 = Number.POSITIVE_INFINITY;
    let my0 = Number.POSITIVE_INFINITY;
    let mx1 = Number.NEGATIVE_INFINITY;
    let my1 = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < 468; i++) {
      const p = f.mesh[i] as number[];
      const px = p[0] ?? 0;
      const py = p[1] ?? 0;
      if (px < mx0) mx0 = px;
      if (px > mx1) mx1 = px;
      if (py < my0) my0 = py;
      if (py > my1) my1 = py;
    }
    const m = (i: number): Point2 => {
      const p = f.mesh[i] as number[] | undefined;
      return [round1(p?.[0] ?? 0), round1(p?.[1] ?? 0)];
    };
    landmarks = {
      // eye contours as the subject sees them: human's "left" is the subject's left eye (image right)
      leftEye: [...pts(a.leftEyeUpper0), ...pts(a.leftEyeLower0)],
      rightEye: [...pts(a.rightEyeUpper0), ...pts(a.rightEyeLower0)],
      leftIris: pts(a.leftEyeIris),
      rightIris: pts(a.rightEyeIris),
      // nose: tip (1), bottom (2), bridge (168, 6, 197, 195, 5), corners (98, 327)
      nose: [m(1), m(2), m(168), m(6), m(197), m(195), m(5), m(98), m(327)],
      lips: [...pts(a.lipsUpperOuter), ...pts(a.lipsLowerOuter)],
      faceOval: pts(a.silhouette),
      points: Object.fromEntries(Object.entries(KEYPOINT_INDEX).map(([name, idx]) => [name, m(idx)])) as Record<
        KeypointName,
        Point2
      >,
      meshBox: { x: round1(mx0), y: round1(my0), width: round1(mx1 - mx0), height: round1(my1 - my0) },
    };
  }
  const angle = f.rotation?.angle;
  return {
    boxPixels,
    box,
    boxOriginalPixels,
    confidence: Math.round(Math.max(0, Math.min(1, f.score)) * 100),
    boxScore: round3(f.boxScore ?? f.score),
    meshScore: round3(f.faceScore ?? 0),
    angles: angle
      ? { yaw: round1(angle.yaw * RAD2DEG), pitch: round1(angle.pitch * RAD2DEG), roll: round1(angle.roll * RAD2DEG) }
      : null,
    landmarks,
    gestures,
    humanReal: typeof f.real === 'number' ? round3(f.real) : null,
    humanLive: typeof f.live === 'number' ? round3(f.live) : null,
    pass,
  };
}

export interface Padding {
  top: number;
  left: number;
  bottom: number;
  right: number;
}

/**
 * Padding that makes the image square (blazeface squeezes its input to 256x256, so a wide or tall photo would be
 * distorted) plus `margin` x the long side on every side (close-up selfies where the face fills the frame are
 * detected far better with some context around them).
 */
export function squarePadding(image: DecodedImage, margin: number): Padding {
  const side = Math.max(image.width, image.height);
  const extra = Math.round(side * margin);
  const padX = side - image.width;
  const padY = side - image.height;
  return {
    left: Math.floor(padX / 2) + extra,
    right: Math.ceil(padX / 2) + extra,
    top: Math.floor(padY / 2) + extra,
    bottom: Math.ceil(padY / 2) + extra,
  };
}

function shiftFace(f: HumanFace, dx: number, dy: number): HumanFace {
  const mv = (p: number[]) => [(p[0] ?? 0) - dx, (p[1] ?? 0) - dy, p[2] ?? 0];
  const annotations: Record<string, number[][]> = {};
  for (const [k, list] of Object.entries(f.annotations ?? {})) annotations[k] = (list as number[][]).map(mv);
  return {
    ...f,
    box: [f.box[0] - dx, f.box[1] - dy, f.box[2], f.box[3]],
    mesh: (f.mesh ?? []).map(mv),
    annotations,
  };
}

/**
 * Runs human on the decoded image (optionally padded with black borders) with the given config override;
 * coordinates in the result are mapped back to the unpadded image.
 */
export async function runHuman(
  engine: FaceEngine,
  image: DecodedImage,
  config: Record<string, unknown>,
  pad?: Padding,
): Promise<HumanResult> {
  const { human, tf } = getInternals(engine);
  const base = tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
  const padded = pad && (pad.top || pad.left || pad.bottom || pad.right);
  const input = padded
    ? tf.pad(base, [
        [pad.top, pad.bottom],
        [pad.left, pad.right],
        [0, 0],
      ])
    : base;
  try {
    const result = await human.detect(input, config);
    if (result.error) throw new Error(`face detection failed: ${result.error}`);
    if (padded) result.face = result.face.map((f) => shiftFace(f, pad.left, pad.top));
    return result;
  } finally {
    if (input !== base) input.dispose();
    base.dispose();
  }
}

function facesFrom(image: DecodedImage, r: HumanResult, pass: 1 | 2): DetectedFace[] {
  return r.face.map((f, idx) => {
    const id = f.id ?? idx;
    const gestures = r.gesture
      .filter((g) => (g as { face?: number }).face === id || (g as { iris?: number }).iris === id)
      .map((g) => g.gesture);
    return toDetectedFace(image, f, gestures, pass);
  });
}

/** A face known only by its box (no mesh): used by the body-pose rescue. */
export function boxOnlyFace(image: DecodedImage, b: Box, score: number): DetectedFace {
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
    confidence: Math.round(Math.max(0, Math.min(1, score)) * 100),
    boxScore: round3(score),
    meshScore: 0,
    angles: null,
    landmarks: null,
    gestures: [],
    humanReal: null,
    humanLive: null,
    pass: 2,
  };
}

/** "Masked face" probability of the mask probe for a face box. */
export function maskProbability(engine: FaceEngine, image: DecodedImage, box: Box): number {
  const i = getInternals(engine);
  return probeProbability(i.maskProbe, i.embed(image, box));
}

/**
 * Head box from the body-pose model's face keypoints (nose, eyes, ears), or null when they are not confident
 * enough (mean nose/eye score below minScore). Measured on the fixtures: masked faces the face detector misses
 * mostly keep confident nose/eye keypoints; the animal, text and landscape photos of C-noface stay below 0.17.
 */
export async function headFromBodyPose(
  engine: FaceEngine,
  image: DecodedImage,
  minScore: number,
): Promise<{ box: Box; score: number } | null> {
  const r = await runHuman(engine, image, getInternals(engine).bodyConfig());
  const body = r.body?.[0];
  if (!body) return null;
  const kp = new Map(body.keypoints.map((k) => [k.part, k]));
  const nose = kp.get('nose');
  const le = kp.get('leftEye');
  const re = kp.get('rightEye');
  if (!nose || !le || !re) return null;
  const score = (nose.score + le.score + re.score) / 3;
  if (score < minScore) return null;
  const pts = [nose, le, re, kp.get('leftEar'), kp.get('rightEar')].filter(
    (k): k is NonNullable<typeof k> => !!k && k.score >= 0.2,
  );
  const xs = pts.map((k) => k.position[0] ?? 0);
  const eyeDist = Math.hypot(
    (le.position[0] ?? 0) - (re.position[0] ?? 0),
    (le.position[1] ?? 0) - (re.position[1] ?? 0),
  );
  const spanX = Math.max(...xs) - Math.min(...xs);
  const side = Math.max(2.6 * eyeDist, 1.3 * spanX, 24);
  const cx = (Math.max(...xs) + Math.min(...xs)) / 2;
  // the eyes sit in the upper half of the face box: centre a little below the eye line
  const eyeY = ((le.position[1] ?? 0) + (re.position[1] ?? 0)) / 2;
  const cy = Math.max(eyeY, nose.position[1] ?? eyeY) + side * 0.1;
  return { box: { x: cx - side / 2, y: cy - side / 2, width: side, height: side }, score };
}

/**
 * Five named points (eye centres, nose tip, mouth corners) as ratios of the image size, for the API to show what
 * the later stages looked at; absent when the face mesh did not run (e.g. a rescue-pass face).
 */
function keyLandmarks(face: DetectedFace, image: DecodedImage): Record<string, [number, number]> | undefined {
  const p = face.landmarks?.points;
  if (!p) return undefined;
  const ratio = (x: number, y: number): [number, number] => [
    Math.round((x / image.width) * 1000) / 1000,
    Math.round((y / image.height) * 1000) / 1000,
  ];
  const mid = (a: [number, number], b: [number, number]) => ratio((a[0] + b[0]) / 2, (a[1] + b[1]) / 2);
  return {
    rightEye: mid(p.rightEyeInner, p.rightEyeOuter),
    leftEye: mid(p.leftEyeInner, p.leftEyeOuter),
    noseTip: ratio(p.noseTip[0], p.noseTip[1]),
    mouthRight: ratio(p.mouthRight[0], p.mouthRight[1]),
    mouthLeft: ratio(p.mouthLeft[0], p.mouthLeft[1]),
  };
}

/**
 * Faces analysis: counts every face. The normal pass uses faceMinConfidence. Only when it finds nothing, a rescue
 * pass at faceRescueMinConfidence runs (masked faces score low on the detector); its faces are kept only when the
 * face mesh also looks like a face (meshScore >= faceRescueMinMeshScore), so animals/objects stay "no face".
 */
export async function analyzeFaces(engine: FaceEngine, image: DecodedImage): Promise<FacesOutcome> {
  const t0 = performance.now();
  const internals = getInternals(engine);
  const th = internals.thresholds;
  let faces = facesFrom(
    image,
    await runHuman(engine, image, internals.detectConfig(th.faceMinConfidence), squarePadding(image, 0)),
    1,
  );
  let rescue = false;
  if (faces.length === 0) {
    rescue = true;
    for (const margin of th.faceRescuePaddings) {
      const cfg = internals.detectConfig(Math.min(th.faceRescueMinConfidence, th.faceMinConfidence));
      const found = facesFrom(image, await runHuman(engine, image, cfg, squarePadding(image, margin)), 2);
      faces = found.filter(
        (f) =>
          f.boxScore >= th.faceRescueMinBoxScore && f.meshScore >= th.faceRescueMinMeshScore && f.landmarks !== null,
      );
      for (const f of faces) f.rescueCue = 'mesh';
      if (faces.length === 0) {
        // masked faces: the detector is fairly sure but the mesh is not; accept when the mask probe agrees
        for (const f of found) {
          if (f.boxScore < th.faceRescueMaskMinBoxScore || f.boxPixels.width < 8 || f.boxPixels.height < 8) continue;
          const p = maskProbability(engine, image, f.boxPixels);
          if (p >= th.faceRescueMinMaskProbe) faces.push({ ...f, rescueCue: 'maskProbe', maskProbe: round3(p) });
        }
      }
      if (faces.length > 0) break;
    }
    if (faces.length === 0) {
      const head = await headFromBodyPose(engine, image, th.faceRescueHeadMinKeypointScore);
      if (head) {
        const f = boxOnlyFace(image, head.box, head.score);
        if (f.boxPixels.width >= 8 && f.boxPixels.height >= 8) {
          const p = maskProbability(engine, image, head.box);
          if (p >= th.faceRescueMinMaskProbe) faces = [{ ...f, rescueCue: 'headPose', maskProbe: round3(p) }];
        }
      }
    }
  }
  // largest first; optionally ignore tiny background faces
  faces.sort((a, b) => b.boxPixels.width * b.boxPixels.height - a.boxPixels.width * a.boxPixels.height);
  const largest = faces[0];
  if (largest && th.faceMinRelativeSize > 0) {
    const ref = largest.boxPixels.height;
    faces = faces.filter((f) => f.boxPixels.height >= ref * th.faceMinRelativeSize);
  }
  const reasons: string[] = [];
  if (faces.length === 0) reasons.push('NO_FACE_DETECTED');
  if (faces.length > 1) reasons.push('MULTIPLE_FACES');
  const ms = Math.round(performance.now() - t0);
  return {
    inspection: {
      result: faces.length === 1 ? 'clear' : 'attention',
      breakdown: {
        faceCount: faces.length,
        faces: faces.map((f) => {
          const landmarks = keyLandmarks(f, image);
          return { box: f.box, boxPixels: f.boxPixels, confidence: f.confidence, ...(landmarks ? { landmarks } : {}) };
        }),
        ...(rescue ? { rescuePass: true } : {}),
        ...(rescue && faces[0]?.rescueCue ? { rescueCue: faces[0].rescueCue } : {}),
      },
      reasons,
    },
    faces,
    ms,
  };
}
