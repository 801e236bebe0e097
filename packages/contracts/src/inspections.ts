import { z } from 'zod';

/** Stable reason codes (extend, never rename). */
export const ReasonCode = {
  NO_FACE_DETECTED: 'NO_FACE_DETECTED',
  MULTIPLE_FACES: 'MULTIPLE_FACES',
  FACE_TOO_SMALL: 'FACE_TOO_SMALL',
  FACE_CROPPED: 'FACE_CROPPED',
  EXTREME_POSE_YAW: 'EXTREME_POSE_YAW',
  EXTREME_POSE_PITCH: 'EXTREME_POSE_PITCH',
  EXTREME_POSE_ROLL: 'EXTREME_POSE_ROLL',
  EYES_CLOSED: 'EYES_CLOSED',
  FACE_OCCLUDED: 'FACE_OCCLUDED',
  SUNGLASSES: 'SUNGLASSES',
  MASK_OR_COVERING: 'MASK_OR_COVERING',
  HAND_OVER_FACE: 'HAND_OVER_FACE',
  LOW_BRIGHTNESS: 'LOW_BRIGHTNESS',
  LOW_SHARPNESS: 'LOW_SHARPNESS',
  SPOOF_SUSPECTED: 'SPOOF_SUSPECTED',
  NO_SINGLE_FACE: 'NO_SINGLE_FACE',
  STAGE_FAILED: 'STAGE_FAILED',
  // captureQuality: how to retake the photo (each with a one-line hint in QUALITY_HINTS).
  BLURRY: 'BLURRY',
  GLARE_ON_FACE: 'GLARE_ON_FACE',
  UNDEREXPOSED: 'UNDEREXPOSED',
  OVEREXPOSED: 'OVEREXPOSED',
  LOW_RESOLUTION: 'LOW_RESOLUTION',
  HEAVY_COMPRESSION: 'HEAVY_COMPRESSION',
  UNEVEN_LIGHTING: 'UNEVEN_LIGHTING',
  // repeatFace: the face was already uploaded under another client of the same account.
  FACE_SEEN_ON_OTHER_CLIENT: 'FACE_SEEN_ON_OTHER_CLIENT',
  /** The photo's bytes are gone from storage while its record still expected them (found by the orphan sweeper). */
  IMAGE_MISSING: 'IMAGE_MISSING',
} as const;
export type TReasonCode = (typeof ReasonCode)[keyof typeof ReasonCode];

export const ZVerdict = z.enum(['clear', 'attention', 'not_processed']);
export type TVerdict = z.infer<typeof ZVerdict>;

/** The stages, in the order they appear in the `inspections` object. */
export const STAGES = ['faces', 'obstruction', 'orientation', 'liveness', 'quality', 'repeatFace'] as const;
export type TStage = (typeof STAGES)[number];

/**
 * Stages that run only for accounts that enabled them (repeatFace: REPEAT_FACE_ENABLED and the account setting);
 * a photo uploaded without them has no such field in `inspections`.
 */
export const OPT_IN_STAGES: readonly TStage[] = ['repeatFace'];

/** Wire name of each stage inside `inspections`. */
export const STAGE_FIELD: Record<TStage, string> = {
  faces: 'facesAnalysis',
  obstruction: 'facialObstructions',
  orientation: 'facialOrientation',
  liveness: 'livenessCheck',
  quality: 'captureQuality',
  repeatFace: 'repeatFace',
};

/** What to tell the person taking the selfie, per captureQuality reason (the demo page shows these). */
export const QUALITY_HINTS: Record<string, string> = {
  BLURRY: 'Hold the phone still and let the camera focus on your face.',
  GLARE_ON_FACE: 'Avoid direct light or flash on your face; turn away from the lamp or window.',
  UNDEREXPOSED: 'Move to a brighter place.',
  OVEREXPOSED: 'Move out of direct sunlight or turn the flash off.',
  LOW_RESOLUTION: 'Hold the phone closer, or use a camera with more resolution.',
  EYES_CLOSED: 'Keep your eyes open and look at the camera.',
  HEAVY_COMPRESSION: 'Upload the original photo, not a compressed copy or a screenshot.',
  UNEVEN_LIGHTING: 'Face the light so both sides of your face are evenly lit.',
};

export const ZStageInspection = z.object({
  result: ZVerdict,
  breakdown: z.record(z.string(), z.unknown()),
  reasons: z.array(z.string()),
});
export type TStageInspection = z.infer<typeof ZStageInspection>;

export const ZLivePhotoStatus = z.enum(['processing', 'complete', 'failed']);
export type TLivePhotoStatus = z.infer<typeof ZLivePhotoStatus>;
