import {
  centroid,
  chromaDistance,
  dist,
  type PatchStats,
  patchStats,
  polygonBounds,
  rectStats,
} from './image-stats.js';
import type { DecodedImage, DetectedFace } from './types.js';

/**
 * Colour/texture evidence for occlusion, measured on patches placed with the face-mesh keypoints.
 * The face mesh predicts where eyes, nose and mouth are even when they are hidden, so a patch that should show
 * lips or skin but shows a uniform non-skin colour is covered.
 */
export interface ObstructionFeatures {
  /** inter-ocular distance in pixels (patch size unit) */
  iod: number;
  /** reference skin: the most skin-like of forehead / upper cheeks */
  ref: PatchStats;
  refName: string;
  mouth: PatchStats;
  chin: PatchStats;
  noseTip: PatchStats;
  lowerCheeks: PatchStats;
  eyes: PatchStats;
  eyeLeft: PatchStats;
  eyeRight: PatchStats;
  /** lower face vs reference skin chroma distance (mean over mouth, chin, lower cheeks) */
  lowerChroma: number;
  /** lower face skin fraction minus reference skin fraction (negative = less skin than the reference) */
  lowerSkinDrop: number;
  /** lower face luminance texture relative to reference */
  lowerGradRatio: number;
  /** mouth redness above the surrounding lower face (lips visible) */
  lipRedness: number;
  /** eye region mean luma / reference luma */
  eyeLumaRatio: number;
  /** eye region p90 luma / reference luma (sclera / highlights) */
  eyeBrightRatio: number;
}

export function obstructionFeatures(img: DecodedImage, face: DetectedFace): ObstructionFeatures | null {
  const lm = face.landmarks;
  if (!lm) return null;
  const p = lm.points;
  const eyeR = centroid([p.rightEyeOuter, p.rightEyeInner]);
  const eyeL = centroid([p.leftEyeOuter, p.leftEyeInner]);
  const iod = Math.max(4, dist(eyeR, eyeL));
  const h = iod * 0.14;

  const refs: [string, PatchStats][] = [
    ['forehead', patchStats(img, (p.forehead[0] + p.glabella[0]) / 2, (p.forehead[1] + p.glabella[1]) / 2, h * 1.2)],
    ['rightUpperCheek', patchStats(img, p.rightUpperCheek[0], p.rightUpperCheek[1], h)],
    ['leftUpperCheek', patchStats(img, p.leftUpperCheek[0], p.leftUpperCheek[1], h)],
  ];
  refs.sort((a, b) => b[1].skin - a[1].skin || b[1].luma - a[1].luma);
  const [refName, ref] = refs[0] as [string, PatchStats];

  const lips = polygonBounds(lm.lips);
  const mouth = rectStats(img, lips.x0, lips.y0, lips.x1, lips.y1);
  const chin = patchStats(img, (p.chinUpper[0] + p.chin[0]) / 2, (p.chinUpper[1] + p.chin[1]) / 2, h);
  const noseTip = patchStats(img, p.noseTip[0], p.noseTip[1], h * 0.8);
  const lcR = patchStats(img, p.rightLowerCheek[0], p.rightLowerCheek[1], h);
  const lcL = patchStats(img, p.leftLowerCheek[0], p.leftLowerCheek[1], h);
  const lowerCheeks = lcR.skin > lcL.skin ? lcR : lcL;

  const eb = (pts: typeof lm.leftEye) => {
    const b = polygonBounds(pts);
    const padX = b.w * 0.15;
    const padY = Math.max(b.h * 0.6, iod * 0.06);
    return rectStats(img, b.x0 - padX, b.y0 - padY, b.x1 + padX, b.y1 + padY);
  };
  const eyeLeft = eb(lm.leftEye);
  const eyeRight = eb(lm.rightEye);
  // keep the brighter (more visible) eye so that one shadowed eye does not look like sunglasses
  const eyes = eyeLeft.luma > eyeRight.luma ? eyeLeft : eyeRight;

  const lowerChroma = (chromaDistance(mouth, ref) + chromaDistance(chin, ref) + chromaDistance(lowerCheeks, ref)) / 3;
  const lowerSkin = (mouth.skin + chin.skin + lowerCheeks.skin) / 3;
  const lowerGrad = (mouth.grad + chin.grad + lowerCheeks.grad) / 3;
  const around = (chin.r + lowerCheeks.r) / 2;
  return {
    iod,
    ref,
    refName,
    mouth,
    chin,
    noseTip,
    lowerCheeks,
    eyes,
    eyeLeft,
    eyeRight,
    lowerChroma,
    lowerSkinDrop: lowerSkin - ref.skin,
    lowerGradRatio: lowerGrad / Math.max(1, ref.grad),
    lipRedness: (mouth.r - around) / 0.02,
    eyeLumaRatio: eyes.luma / Math.max(1, ref.luma),
    eyeBrightRatio: eyes.p90 / Math.max(1, ref.luma),
  };
}
