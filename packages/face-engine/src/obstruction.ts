import { getInternals } from './engine.js';
import { maskProbability, runHuman } from './faces.js';
import { polygonBounds, score100 } from './image-stats.js';
import { type ObstructionFeatures, obstructionFeatures } from './obstruction-features.js';
import type { DecodedImage, DetectedFace, FaceEngine, InspectionThresholds, StageOutcome } from './types.js';

const clamp01 = (v: number) => Math.max(0, Math.min(1, v));

/**
 * Scores (0..1) from the colour/texture features:
 * - mask: the lower face (mouth, chin, lower cheeks) has lost the skin colour that the upper face still shows,
 *   or the mouth area is nearly colourless (white/grey/black masks) while the upper face is not.
 * - sunglasses: the eye regions are much darker than the skin and flat (no sclera, no iris/eyelid contrast).
 */
export function obstructionScores(x: ObstructionFeatures, face: DetectedFace, th: InspectionThresholds) {
  const skinLoss = clamp01((-x.lowerSkinDrop - 0.35) / 0.3);
  const colourless = x.ref.sat > 0.15 ? clamp01((0.5 * x.ref.sat - x.mouth.sat) / 0.08 + 0.5) : 0;
  const mask = Math.max(skinLoss, colourless);
  const eyeContrast = x.eyes.lumaStd / Math.max(1, x.ref.luma);
  const dark = clamp01((0.75 - x.eyeLumaRatio) / 0.3);
  const flat = clamp01((0.16 - eyeContrast) / 0.06);
  const sunglasses = Math.min(dark, flat);
  // nose covered when the nose tip patch is also off-skin (masks pulled up over the nose)
  const noseOff = clamp01((x.ref.skin - x.noseTip.skin - 0.35) / 0.3);
  // The face-mesh model is nearly always certain (>= 0.99) on a fully visible face; its confidence drops when part
  // of the face is hidden. A face only the rescue pass could find is weak evidence of the same.
  const meshDoubt = Math.max(clamp01((th.meshOccludedBelow + 0.01 - face.meshScore) / 0.02), face.pass === 2 ? 0.6 : 0);
  return { mask, skinLoss, colourless, sunglasses, dark, flat, eyeContrast, noseOff, meshDoubt };
}

function overlap(
  a: { x0: number; y0: number; x1: number; y1: number },
  b: { x0: number; y0: number; x1: number; y1: number },
) {
  const w = Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0));
  const h = Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));
  const area = Math.max(1, (a.x1 - a.x0) * (a.y1 - a.y0));
  return (w * h) / area;
}

export async function inspectObstruction(
  engine: FaceEngine,
  image: DecodedImage,
  face: DetectedFace,
  thresholds?: Partial<InspectionThresholds>,
): Promise<StageOutcome> {
  const t0 = performance.now();
  const internals = getInternals(engine);
  const th = { ...internals.thresholds, ...(thresholds ?? {}) };
  // descriptor-based mask probe (faceres + logistic regression, models/mask-probe.json); reused when the faces
  // stage already computed it for a rescued face
  const probe = face.maskProbe ?? maskProbability(engine, image, face.boxPixels);
  const x = obstructionFeatures(image, face);
  if (!x || !face.landmarks) {
    // a face without mesh (rescued for a mask) has no colour cues to support the probe
    if (probe * 100 >= th.maskProbeSupportedMinScore) {
      return {
        inspection: {
          result: 'attention',
          breakdown: {
            obstructed: true,
            regions: { eyes: 'visible', nose: 'covered', mouth: 'covered' },
            kinds: ['mask'],
            score: score100(probe),
            signals: { maskProbe: score100(probe), meshConfidence: score100(face.meshScore) },
          },
          reasons: ['MASK_OR_COVERING'],
        },
        ms: Math.round(performance.now() - t0),
      };
    }
    // no mesh: the face could not be analysed in detail, which itself means the face is not clearly visible
    return {
      inspection: {
        result: 'attention',
        breakdown: {
          obstructed: true,
          regions: { eyes: 'covered', nose: 'covered', mouth: 'covered' },
          kinds: ['other'],
          score: 100,
          signals: { maskProbe: score100(probe), meshConfidence: score100(face.meshScore) },
        },
        reasons: ['FACE_OCCLUDED'],
      },
      ms: Math.round(performance.now() - t0),
    };
  }
  const s = obstructionScores(x, face, th);
  // the descriptor probe, or colour evidence (alone, or mesh doubt with some colour evidence) that the probe does
  // not flatly contradict, is a mask/covering
  const colourMask = s.mask * 100 >= th.maskMinScore || (s.meshDoubt >= 0.5 && s.mask >= 0.15);
  const support = s.mask >= 0.1 || s.noseOff >= 0.2 || s.meshDoubt >= 0.25;
  const probeMasked = probe * 100 >= th.maskProbeMinScore || (support && probe * 100 >= th.maskProbeSupportedMinScore);
  const maskCovered = probeMasked || (colourMask && probe * 100 >= th.maskProbeVeto);
  const otherCovered = !maskCovered && s.meshDoubt * 100 >= th.obstructionMinScore;
  const eyesCovered = s.sunglasses * 100 >= th.sunglassesMinScore;
  let handScore = 0;
  let handChecked = false;
  // The hand detector is expensive (~110 ms): only consult it when the lower face looks doubtful but not masked,
  // or when the face mesh itself is unsure.
  const doubtful = (!maskCovered && s.mask >= 0.25) || face.meshScore < th.handCheckBelowMeshScore;
  let handKinds: string[] = [];
  if (doubtful && !maskCovered && th.handCheck) {
    handChecked = true;
    const r = await runHuman(engine, image, internals.handConfig());
    const lips = polygonBounds(face.landmarks.lips);
    const eyesB = polygonBounds([...face.landmarks.leftEye, ...face.landmarks.rightEye]);
    const mouthRect = { x0: lips.x0, y0: lips.y0, x1: lips.x1, y1: lips.y1 };
    const eyeRect = { x0: eyesB.x0, y0: eyesB.y0, x1: eyesB.x1, y1: eyesB.y1 };
    for (const h of r.hand ?? []) {
      const [hx, hy, hw, hh] = h.box;
      const hr = { x0: hx, y0: hy, x1: hx + hw, y1: hy + hh };
      const ov = Math.max(overlap(mouthRect, hr), overlap(eyeRect, hr));
      const sc = (h.score ?? h.boxScore ?? 0) * ov;
      if (sc > handScore) handScore = sc;
    }
    if (handScore * 100 >= th.obstructionMinScore) handKinds = ['hand'];
  }
  const handCovered = handKinds.length > 0;
  // an unexplained mesh-confidence drop is reported on the lower face, where occluders (masks, scarves, hands,
  // phones) are by far the most common
  const mouth = maskCovered || handCovered || otherCovered ? 'covered' : 'visible';
  const nose = (maskCovered && (s.noseOff >= 0.5 || probe >= 0.9)) || otherCovered ? 'covered' : 'visible';
  const eyes = eyesCovered ? 'covered' : 'visible';
  const kinds: string[] = [];
  const reasons: string[] = [];
  if (maskCovered) {
    kinds.push('mask');
    reasons.push('MASK_OR_COVERING');
  }
  if (eyesCovered) {
    kinds.push('sunglasses');
    reasons.push('SUNGLASSES');
  }
  if (handCovered) {
    kinds.push('hand');
    reasons.push('HAND_OVER_FACE');
  }
  if (otherCovered && !handCovered) {
    kinds.push('other');
    reasons.push('FACE_OCCLUDED');
  }
  const obstructed = reasons.length > 0;
  return {
    inspection: {
      result: obstructed ? 'attention' : 'clear',
      breakdown: {
        obstructed,
        regions: { eyes, nose, mouth },
        kinds,
        score: score100(Math.max(maskCovered ? Math.max(s.mask, probe) : s.mask, s.sunglasses, handScore, s.meshDoubt)),
        signals: {
          maskProbe: score100(probe),
          mask: score100(s.mask),
          lowerFaceSkinLoss: score100(s.skinLoss),
          mouthColourless: score100(s.colourless),
          sunglasses: score100(s.sunglasses),
          eyeDarkness: score100(s.dark),
          eyeFlatness: score100(s.flat),
          noseCovered: score100(s.noseOff),
          ...(handChecked ? { hand: score100(handScore) } : {}),
          meshConfidence: score100(face.meshScore),
          meshDoubt: score100(s.meshDoubt),
        },
      },
      reasons,
    },
    ms: Math.round(performance.now() - t0),
  };
}
