import { getInternals } from './engine.js';
import { faceRegion } from './faces.js';
import type { PatchStats } from './image-stats.js';
import { score100 } from './image-stats.js';
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
/** One eye alone this flat is covered even when the other is visible (clear faces: 10th percentile 0.15; a
 * squinting, smiling eye measured 0.06). Only on near-frontal faces: a turned head hides its far eye itself. */
const ONE_EYE_MIN_CONTRAST = 0.04;
const ONE_EYE_MAX_YAW = 20;
/** A visible mouth shows the lip line (mouth patch contrast 0.12-0.25 on clear faces); below this it is covered. */
const MOUTH_MIN_CONTRAST = 0.08;
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
 * upright face crop, RGB scaled to [-1, 1] as in its training. (Averaging with the mirror image was measured: one
 * more mask found of 193, at twice the cost, so it is not done.)
 */
export async function maskProbability(engine: FaceEngine, image: DecodedImage, face: DetectedFace): Promise<number> {
  const { models } = getInternals(engine);
  const k = face.keypoints;
  const region = faceRegion(face.boxPixels, k.rightEye, k.leftEye, MASK_CROP_SCALE);
  const crop = sampleRegion(image, region, MASK_SIDE, { scale: 1 / 127.5, offset: -1 });
  const out = Object.values(await runOnnx(models.mask, crop, [1, MASK_SIDE, MASK_SIDE, 3]))[0];
  if (out?.data.length !== 2) throw new Error('mask classifier returned an unexpected output');
  const [mask, none] = out.data as unknown as [number, number];
  const p = mask / Math.max(1e-9, mask + none);
  if (!Number.isFinite(p)) throw new Error('mask classifier returned no prediction');
  return p;
}

type Cover = 'sunglasses' | 'hand' | 'other';

const contrastOf = (p: PatchStats, ref: PatchStats) => p.lumaStd / Math.max(1, ref.luma);

/** What the landmark-placed eye patches show: how much eye structure is visible, and what covers it if not. */
export function eyeEvidence(x: ObstructionFeatures, yaw: number) {
  const contrast = contrastOf(x.eyes, x.ref);
  const left = contrastOf(x.eyeLeft, x.ref);
  const right = contrastOf(x.eyeRight, x.ref);
  const weakest = Math.min(left, right);
  const both = contrast < EYE_MIN_CONTRAST;
  const one = !both && weakest < ONE_EYE_MIN_CONTRAST && Math.abs(yaw) <= ONE_EYE_MAX_YAW;
  // the flat patch tells what covers it: dark lenses over both eyes, skin (a hand), or something else (hair, an
  // object, a shadow)
  const flat = both ? x.eyes : left <= right ? x.eyeLeft : x.eyeRight;
  const kind: Cover | null = !(both || one)
    ? null
    : both && flat.luma / Math.max(1, x.ref.luma) < DARK_EYES_BELOW
      ? 'sunglasses'
      : flat.skin > SKIN_COVER_ABOVE
        ? 'hand'
        : 'other';
  return { contrast, weakest, covered: both || one, kind };
}

/** The mouth patch without a lip line is covered; skin-coloured means a hand. */
export function mouthEvidence(x: ObstructionFeatures) {
  const contrast = contrastOf(x.mouth, x.ref);
  const covered = contrast < MOUTH_MIN_CONTRAST;
  const kind: Cover | null = !covered ? null : x.mouth.skin > SKIN_COVER_ABOVE ? 'hand' : 'other';
  return { contrast, covered, kind };
}

const REASON_OF = {
  mask: 'MASK_OR_COVERING',
  sunglasses: 'SUNGLASSES',
  hand: 'HAND_OVER_FACE',
  other: 'FACE_OCCLUDED',
} as const;

/**
 * Obstruction by region. Eyes: visible when their patches show eye structure (contrast), else covered by dark
 * lenses, a hand (skin-coloured) or something else. Mouth: covered when the mask classifier says so, when its patch
 * shows no lip line, or when the landmark model stops recognising the face without a mask to explain it (hands,
 * phones, scarves). Nose: covered with a mask, or when the landmark model doubts the face and the mouth is covered.
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
  const yaw = face.angles?.yaw ?? 0;
  const eyes = x ? eyeEvidence(x, yaw) : null;
  const mouth = x ? mouthEvidence(x) : null;
  const maskCovered = mask * 100 >= th.maskMinScore;
  // (on a strongly turned head the landmark model doubts because of the pose, which orientation reports)
  const landmarkDoubt = face.landmarkScore < LANDMARK_DOUBT_BELOW && Math.abs(yaw) <= th.maxYawDeg;
  const kinds = new Set<keyof typeof REASON_OF>();
  if (maskCovered) kinds.add('mask');
  if (eyes?.kind) kinds.add(eyes.kind);
  // below the eyes, a mask explains both a flat mouth and the landmark model's doubt
  const mouthCover = maskCovered ? null : (mouth?.kind ?? (landmarkDoubt ? 'other' : null));
  if (mouthCover) kinds.add(mouthCover);
  const lowerCovered = maskCovered || mouthCover !== null;
  const regions = {
    eyes: eyes?.covered ? 'covered' : 'visible',
    nose: maskCovered || (landmarkDoubt && lowerCovered) ? 'covered' : 'visible',
    mouth: lowerCovered ? 'covered' : 'visible',
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
          ...(eyes && mouth
            ? {
                eyeContrast: score100(eyes.contrast),
                weakerEyeContrast: score100(eyes.weakest),
                mouthContrast: score100(mouth.contrast),
              }
            : {}),
        },
      },
      reasons,
    },
    ms: Math.round(performance.now() - t0),
  };
}
