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
} as const;
export type TReasonCode = (typeof ReasonCode)[keyof typeof ReasonCode];

export const ZVerdict = z.enum(['clear', 'attention', 'not_processed']);
export type TVerdict = z.infer<typeof ZVerdict>;

/** The four stages, in the order they appear in the `inspections` object. */
export const STAGES = ['faces', 'obstruction', 'orientation', 'liveness'] as const;
export type TStage = (typeof STAGES)[number];

/** Wire name of each stage inside `inspections`. */
export const STAGE_FIELD: Record<TStage, string> = {
  faces: 'facesAnalysis',
  obstruction: 'facialObstructions',
  orientation: 'facialOrientation',
  liveness: 'livenessCheck',
};

export const ZStageInspection = z.object({
  result: ZVerdict,
  breakdown: z.record(z.string(), z.unknown()),
  reasons: z.array(z.string()),
});
export type TStageInspection = z.infer<typeof ZStageInspection>;

export const ZLivePhotoStatus = z.enum(['processing', 'complete', 'failed']);
export type TLivePhotoStatus = z.infer<typeof ZLivePhotoStatus>;
