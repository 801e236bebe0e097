import { getInternals } from './engine.js';
import { faceRegion } from './faces.js';
import { score100 } from './image-stats.js';
import { flipHorizontal } from './liveness-cues.js';
import { type ObstructionFeatures, obstructionFeatures } from './obstruction-features.js';
import { runOnnx } from './ort.js';
import type { DecodedImage, DetectedFace, FaceEngine, InspectionThresholds, StageOutcome } from './types.js';
import { sampleRegion } from './warp.js';

const MASK_SIDE = 224;
/** Crop side over the detector box: the mask classifier was trained on slightly loose face crops (measured: 85 % of
 * masks/with_mask found at 1.15 against 81 % at 1.0, same false flags). */
const MASK_CROP_SCALE = 1.15;
/**
 * A visible eye shows strong contrast (sclera, iris, lashes, eyelid fold): the brighter eye patch's luma spread over
 * the skin's luma is 0.17-0.25 on clear faces. Below this the eye region is flat: covered by lenses, a hand or hair.
 */
const EYE_MIN_CONTRAST = 0.12;
/** A flat eye region this much darker than the skin is dark lenses; a skin-coloured one is a hand. */
const DARK_EYES_BELOW = 0.5;
const SKIN_COVER_ABOVE = 0.5;
/**
 * The landmark model's face-presence score is >= 0.99 on fully visible faces (every clear photo measured but one)
 * and drops when part of the face is hidden: below this the face is partly covered even if no region says why.
 */
const LANDMARK_DOUBT_BELOW = 0.9;

/**
 * Probability (0..1) that the lower face is covered by a mask or fabric: the MobileNetV2 mask classifier on the
 * upright face crop and its mirror image (one batch of two), RGB scaled to [-1, 1] as in its training.
 */
export async function maskProbability(engine: FaceEngine, image: DecodedImage, face: DetectedFace): Promise<number> {
  const { models } = getInternals(engine);
  const k = face.keypoints;
  const region = faceRegion(face.boxPixels, k.rightEye, k.leftEye, MASK_CROP_SCALE);
  const crop = sampleRegion(image, region, MASK_SIDE, { scale: 1 / 127.5, offset: -1 });
  const batch = new Float32Array(crop.length * 2);
  batch.set(crop, 0);
  batch.set(flipHorizontal(crop, MASK_SIDE, MASK_SIDE), crop.length);
  const out = Object.values(await runOnnx(models.mask, batch, [2, MASK_SIDE, MASK_SIDE, 3]))[0];
  if (!out || out.data.length !== 4) throw new Error('mask classifier returned an unexpected output');
  const [m0, n0, m1, n1] = out.data as unknown as [number, number, number, number];
  const p = (m0 / Math.max(1e-9, m0 + n0) + m1 / Math.max(1e-9, m1 + n1)) / 2;
  if (!Number.isFinite(p)) throw new Error('mask classifier returned no prediction');
  return p;
}

/** What the landmark-placed eye patches show: how much eye structure is visible, and what covers it if not. */
export function eyeEvidence(x: ObstructionFeatures) {
  const contrast = x.eyes.lumaStd / Math.max(1, x.ref.luma);
  const covered = contrast < EYE_MIN_CONTRAST;
  const kind: 'sunglasses' | 'hand' | 'other' | null = !covered
    ? null
    : x.eyeLumaRatio < DARK_EYES_BELOW
      ? 'sunglasses'
      : x.eyes.skin > SKIN_COVER_ABOVE
        ? 'hand'
        : 'other';
  return { contrast, covered, kind, luma: x.eyeLumaRatio };
}

const REASON_OF = {
  mask: 'MASK_OR_COVERING',
  sunglasses: 'SUNGLASSES',
  hand: 'HAND_OVER_FACE',
  other: 'FACE_OCCLUDED',
} as const;

/**
 * Obstruction by region. Eyes: visible when their patches show eye structure (contrast), else covered by dark
 * lenses, a hand (skin-coloured) or something else. Nose and mouth: covered when the mask classifier says so, or
 * when the landmark model stops recognising the face without a mask to explain it (hands, phones, scarves).
 */
export async function inspectObstruction(
  engine: FaceEngine,
  image: DecodedImage,
  face: DetectedFace,
  thresholds?: Partial<InspectionThresholds>,
): Promise<StageOutcome> {
  const t0 = performance.now();
  const internals = getInternals(engine);
  const th = { ...internals.thresholds, ...(thresholds ?? {}) };
  const mask = await maskProbability(engine, image, face);
  // the patches need landmarks the model could fit; a face it could not fit is itself evidence of covering
  const fitted = face.poseFrom === 'landmarks' && face.landmarks !== null;
  const x = fitted ? obstructionFeatures(image, face) : null;
  const eyes = x ? eyeEvidence(x) : null;
  const maskCovered = mask * 100 >= th.maskMinScore;
  const landmarkDoubt = face.landmarkScore < LANDMARK_DOUBT_BELOW;
  const lowerOther = !maskCovered && landmarkDoubt;
  const kinds = new Set<keyof typeof REASON_OF>();
  if (maskCovered) kinds.add('mask');
  if (eyes?.kind) kinds.add(eyes.kind);
  if (lowerOther) kinds.add('other');
  const regions = {
    eyes: eyes?.covered ? 'covered' : 'visible',
    nose: maskCovered || lowerOther ? 'covered' : 'visible',
    mouth: maskCovered || lowerOther ? 'covered' : 'visible',
  };
  const reasons = [...kinds].map((k) => REASON_OF[k]);
  const obstructed = reasons.length > 0;
  return {
    inspection: {
      result: obstructed ? 'attention' : 'clear',
      breakdown: {
        obstructed,
        regions,
        kinds: [...kinds],
        signals: {
          mask: score100(mask),
          landmarkConfidence: score100(face.landmarkScore),
          ...(eyes ? { eyeContrast: score100(eyes.contrast), eyeBrightness: score100(Math.min(1, eyes.luma)) } : {}),
        },
      },
      reasons,
    },
    ms: Math.round(performance.now() - t0),
  };
}
