/**
 * Public types of the face engine. Everything that crosses a process boundary (DetectedFace, StageInspection)
 * is plain JSON: numbers, strings, booleans, arrays and plain objects only.
 */

export type StageResult = 'clear' | 'attention' | 'not_processed';

export type StageInspection = {
  result: StageResult;
  breakdown: Record<string, unknown>;
  reasons: string[];
};

export type StageOutcome = { inspection: StageInspection; ms: number };

/** A box in pixels of the oriented analysis image, or as ratios (0..1) of that image's size. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type Point2 = [number, number];

/** MediaPipe face-mesh (468 points) indices of the named keypoints carried in DetectedFace.landmarks.points. */
export const KEYPOINT_INDEX = {
  top: 10,
  forehead: 151,
  glabella: 9,
  noseBridge: 6,
  noseTip: 1,
  noseBottom: 2,
  upperLip: 0,
  lowerLip: 17,
  mouthRight: 61,
  mouthLeft: 291,
  chinUpper: 199,
  chin: 152,
  rightEyeOuter: 33,
  rightEyeInner: 133,
  leftEyeInner: 362,
  leftEyeOuter: 263,
  rightEyeTop: 159,
  rightEyeBottom: 145,
  leftEyeTop: 386,
  leftEyeBottom: 374,
  rightUpperCheek: 118,
  leftUpperCheek: 347,
  rightLowerCheek: 207,
  leftLowerCheek: 427,
  rightFaceEdge: 234,
  leftFaceEdge: 454,
} as const;
export type KeypointName = keyof typeof KEYPOINT_INDEX;

/** Landmarks (pixels of the oriented analysis image) that later stages need. */
export interface FaceLandmarks {
  /** eye contours as the subject sees them: "left" is the subject's left eye (on the image right) */
  leftEye: Point2[];
  rightEye: Point2[];
  nose: Point2[];
  lips: Point2[];
  faceOval: Point2[];
  /** Named single mesh keypoints (MediaPipe face-mesh indices in KEYPOINT_INDEX). */
  points: Record<KeypointName, Point2>;
  /** Bounding box of every mesh keypoint (tight face extent; may reach outside the image). */
  meshBox: Box;
}

/** The detector's five keypoints (pixels of the analysis image), named as the subject sees them. */
export interface FiveKeypoints {
  rightEye: Point2;
  leftEye: Point2;
  nose: Point2;
  mouthRight: Point2;
  mouthLeft: Point2;
}

export interface DetectedFace {
  /** Box in pixels of the oriented analysis image (see DecodedImage.width/height), clipped to the image. */
  boxPixels: Box;
  /** Box as ratios of the analysis image size. */
  box: Box;
  /** Box in pixels of the original (EXIF-oriented, full resolution) image. */
  boxOriginalPixels: Box;
  /** 0-100: the detector's score */
  confidence: number;
  /** Face detector score and face-landmark model's face-presence score, 0..1. */
  detectorScore: number;
  landmarkScore: number;
  keypoints: FiveKeypoints;
  /** Degrees; see orientation.ts for the sign convention. Null when the landmarks were not available. */
  angles: { yaw: number; pitch: number; roll: number } | null;
  /** 'landmarks': fitted to the 468 landmarks; 'keypoints': the landmark model could not fit this face (a full
   * profile, a heavily covered face), so yaw and roll come from the five detector keypoints and pitch is unknown. */
  poseFrom: 'landmarks' | 'keypoints';
  landmarks: FaceLandmarks | null;
}

export interface DecodedImage {
  /** Size of the oriented analysis image (long side <= maxAnalysisSide). */
  width: number;
  height: number;
  /** Size of the oriented original image. */
  originalWidth: number;
  originalHeight: number;
  /** analysis pixels = original pixels * scale (scale <= 1). */
  scale: number;
  /** RGB, 3 bytes per pixel, row-major, width*height*3 bytes. */
  data: Uint8Array;
  /** EXIF orientation tag found in the file (1 when absent). */
  exifOrientation: number;
  format: string;
}

export interface FacesOutcome {
  inspection: StageInspection;
  faces: DetectedFace[];
  ms: number;
}

/**
 * Every threshold of the four inspections, with documented defaults in DEFAULT_THRESHOLDS.
 * Scores are 0-100 unless stated otherwise.
 */
export interface InspectionThresholds {
  // ---- faces analysis ----
  /** Face detector (RetinaFace) score (0..1) for a face to count. */
  faceMinConfidence: number;
  /** Maximum faces counted. */
  faceMaxDetected: number;

  // ---- obstruction ----
  /** Mask classifier probability (0-100) at or above which the lower face is covered (MASK_OR_COVERING). */
  maskMinScore: number;

  // ---- orientation ----
  maxYawDeg: number;
  maxPitchDeg: number;
  maxRollDeg: number;
  /** Face box height / image height. */
  minFaceHeightRatio: number;
  /** Face box height in original-image pixels. */
  minFaceHeightPx: number;
  /** Allowed part of the face box outside the image before FACE_CROPPED (fraction of box size). */
  maxFaceOutsideRatio: number;

  // ---- liveness ----
  /** livenessCheckScore (0-100) below which the photo is SPOOF_SUSPECTED. */
  livenessMinScore: number;
}

export const DEFAULT_THRESHOLDS: Readonly<InspectionThresholds> = Object.freeze({
  faceMinConfidence: 0.9,
  faceMaxDetected: 20,

  maskMinScore: 50,

  maxYawDeg: 25,
  maxPitchDeg: 25,
  maxRollDeg: 25,
  minFaceHeightRatio: 0.15,
  minFaceHeightPx: 112,
  maxFaceOutsideRatio: 0.1,

  livenessMinScore: 50,
});

export interface FaceEngineInfo {
  backend: string;
  engine: string;
  versions: Record<string, string>;
}

export interface FaceEngine {
  info: FaceEngineInfo;
  thresholds: InspectionThresholds;
  dispose(): Promise<void>;
}

export interface CreateFaceEngineOptions {
  thresholds?: Partial<InspectionThresholds>;
  /** Folder holding the model files (defaults to the package's models/). */
  modelsDir?: string;
  /** Threads one model run may use (default 1: one worker process per core). */
  threads?: number;
  /** Load only these models (see STAGE_MODELS; default: all). Using a model that was not loaded throws. */
  models?: readonly ('detector' | 'landmarks' | 'mask' | 'fasV2' | 'fasV1se')[];
  /** Log function for model information (default: none). */
  log?: (msg: string) => void;
}
