import { centroid, dist, type PatchStats, patchStats, polygonBounds, rectStats } from './image-stats.js';
import type { DecodedImage, DetectedFace } from './types.js';

/**
 * Colour/texture evidence for occlusion, measured on patches placed with the face landmarks. The landmark model
 * predicts where eyes and mouth are even when they are hidden, so a patch that should show an eye or the lip line
 * but is flat is covered.
 */
export interface ObstructionFeatures {
  /** inter-ocular distance in pixels (patch size unit) */
  iod: number;
  /** reference skin: the most skin-like of forehead / upper cheeks */
  ref: PatchStats;
  refName: string;
  mouth: PatchStats;
  /** the brighter (more visible) eye region, and both */
  eyes: PatchStats;
  eyeLeft: PatchStats;
  eyeRight: PatchStats;
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
  return { iod, ref, refName, mouth, eyes, eyeLeft, eyeRight };
}
