import { getInternals } from './engine.js';
import type { DecodedImage, DetectedFace, FaceEngine, InspectionThresholds, StageOutcome } from './types.js';

/**
 * Head pose and framing.
 *
 * Sign convention (integer degrees, as seen in the EXIF-oriented photo; 0/0/0 is a frontal, upright face):
 * - yaw   > 0: the face is turned towards the LEFT side of the image (the subject looks to their own right);
 *        < 0: turned towards the right side of the image. (Checked on D-pose/stock-teen-3: head turned to the
 *        image left -> yaw +39.)
 * - pitch > 0: the head is tilted down (chin towards the chest); < 0: tilted up (image_T1, head slightly lowered ->
 *        small positive pitch).
 * - roll  > 0: the head is rotated counter-clockwise in the image (top of the head towards the image left);
 *        < 0: clockwise. (D-pose/28, selfie taken lying down with the head top at the image left -> roll +57.)
 * Angles come from a weighted Procrustes fit of the 468 face landmarks to MediaPipe's canonical face (pose.ts);
 * when the landmark model cannot fit the face (full profiles, heavy covering) yaw and roll come from the
 * detector's five keypoints instead (`poseFrom: "keypoints"`, pitch reported as 0).
 */
export function orientationOf(
  image: Pick<DecodedImage, 'width' | 'height' | 'scale'>,
  face: DetectedFace,
  th: InspectionThresholds,
): StageOutcome['inspection'] {
  const reasons: string[] = [];
  const a = face.angles ?? { yaw: 0, pitch: 0, roll: 0 };
  const yaw = Math.round(a.yaw);
  const pitch = Math.round(a.pitch);
  const roll = Math.round(a.roll);
  if (!face.angles) reasons.push('EXTREME_POSE_YAW');
  else {
    if (Math.abs(yaw) > th.maxYawDeg) reasons.push('EXTREME_POSE_YAW');
    if (Math.abs(pitch) > th.maxPitchDeg) reasons.push('EXTREME_POSE_PITCH');
    if (Math.abs(roll) > th.maxRollDeg) reasons.push('EXTREME_POSE_ROLL');
  }
  // framing: the tight mesh extent (forehead to chin) must lie inside the image, up to a small tolerance
  // (a mesh the landmark model could not fit says nothing about the extent: use the detector box then)
  const mb = face.poseFrom === 'landmarks' && face.landmarks ? face.landmarks.meshBox : face.boxPixels;
  const outX = Math.max(0, -mb.x) + Math.max(0, mb.x + mb.width - image.width);
  const outY = Math.max(0, -mb.y) + Math.max(0, mb.y + mb.height - image.height);
  const outside = Math.max(outX / Math.max(1, mb.width), outY / Math.max(1, mb.height));
  const faceInFrame = outside <= th.maxFaceOutsideRatio;
  if (!faceInFrame) reasons.push('FACE_CROPPED');
  // size: height of the reported face box (detector box, clipped to the image) relative to the image height, and
  // in original-image pixels
  const faceSize = face.boxPixels.height / image.height;
  const faceHeightPx = Math.round(face.boxPixels.height / image.scale);
  if (faceSize < th.minFaceHeightRatio || faceHeightPx < th.minFaceHeightPx) reasons.push('FACE_TOO_SMALL');
  return {
    result: reasons.length === 0 ? 'clear' : 'attention',
    breakdown: {
      poseFrom: face.poseFrom,
      yaw,
      pitch,
      roll,
      faceInFrame,
      faceSize: Math.round(faceSize * 100) / 100,
      faceHeightPx,
    },
    reasons,
  };
}

export async function inspectOrientation(
  engine: FaceEngine,
  // Geometry only: pose and framing come from the face's landmarks, so no pixels are needed.
  image: Pick<DecodedImage, 'width' | 'height' | 'scale'>,
  face: DetectedFace,
  thresholds?: Partial<InspectionThresholds>,
): Promise<StageOutcome> {
  const t0 = performance.now();
  const th = { ...getInternals(engine).thresholds, ...(thresholds ?? {}) };
  const inspection = orientationOf(image, face, th);
  return { inspection, ms: Math.round(performance.now() - t0) };
}
