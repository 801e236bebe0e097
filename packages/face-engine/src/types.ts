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
  leftEye: Point2[];
  rightEye: Point2[];
  leftIris: Point2[];
  rightIris: Point2[];
  nose: Point2[];
  lips: Point2[];
  faceOval: Point2[];
  /** Named single mesh keypoints (MediaPipe face-mesh indices in KEYPOINT_INDEX). */
  points: Record<KeypointName, Point2>;
  /** Bounding box of every mesh keypoint (tight face extent; may reach outside the image). */
  meshBox: Box;
}

export interface DetectedFace {
  /** Box in pixels of the oriented analysis image (see DecodedImage.width/height). */
  boxPixels: Box;
  /** Box as ratios of the analysis image size. */
  box: Box;
  /** Box in pixels of the original (EXIF-oriented, full resolution) image. */
  boxOriginalPixels: Box;
  /** 0-100 */
  confidence: number;
  /** Detector (box) and mesh scores, 0..1. */
  boxScore: number;
  meshScore: number;
  /** Degrees; see orientation.ts for the sign convention. Null when the mesh was not available. */
  angles: { yaw: number; pitch: number; roll: number } | null;
  landmarks: FaceLandmarks | null;
  /** Gesture strings human produced for this face (e.g. "blink left eye"). */
  gestures: string[];
  /** human's own antispoof ("real") and liveness ("live") scores, 0..1, when computed. */
  humanReal: number | null;
  humanLive: number | null;
  /** Which detection pass found the face: 1 = default, 2 = low-confidence rescue pass. */
  pass: 1 | 2;
  /** How a rescue-pass face was accepted (absent for pass 1): face mesh, mask probe, or body-pose head keypoints. */
  rescueCue?: 'mesh' | 'maskProbe' | 'headPose';
  /** "Masked face" probability (0..1) of the mask probe, when it was computed. */
  maskProbe?: number;
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
  /** Face detector confidence (0..1) of the first, normal pass. */
  faceMinConfidence: number;
  /** Detector confidence (0..1) of the rescue pass that only runs when the first pass finds no face. */
  faceRescueMinConfidence: number;
  /** Borders tried in turn by the rescue pass, as fractions of the long side added on every side (close-ups need context). */
  faceRescuePaddings: number[];
  /** Rescue-pass faces must have a detector score (0..1) at least this high. */
  faceRescueMinBoxScore: number;
  /** Rescue-pass faces must also have a face-mesh score (0..1) at least this high. */
  faceRescueMinMeshScore: number;
  /** Rescue pass: a face without a convincing mesh is still accepted when its detector score (0..1) is at least
   * this and the mask probe (0..1) says masked face with at least faceRescueMinMaskProbe. */
  faceRescueMaskMinBoxScore: number;
  faceRescueMinMaskProbe: number;
  /** Last resort when no detector pass finds a face: the body-pose model's nose and eye keypoints (mean score 0..1
   * at least this) place a head, accepted when the mask probe on it reaches faceRescueMinMaskProbe. */
  faceRescueHeadMinKeypointScore: number;
  /** Maximum faces counted. */
  faceMaxDetected: number;
  /** Faces smaller than this fraction of the largest face are ignored (background blur / reflections). */
  faceMinRelativeSize: number;

  // ---- obstruction ----
  /** Obstruction score (0-100) at or above which a region is reported covered. */
  obstructionMinScore: number;
  /** Lower-face (mouth/nose) "non-skin" score needed to call a mask/covering. */
  maskMinScore: number;
  /** Mask-probe score (0-100, faceres descriptor + logistic regression) at or above which a mask is reported on
   * its own. The probe was trained on one photo collection and over-fires on other photo styles, so below this it
   * needs support (see maskProbeSupportedMinScore). */
  maskProbeMinScore: number;
  /** Mask-probe score enough when the colour cues, the nose patch or the mesh confidence show some covering. */
  maskProbeSupportedMinScore: number;
  /** Mask-probe score below which the colour cues alone cannot call a mask (they need some support). */
  maskProbeVeto: number;
  /** Eye-region darkness score needed to call sunglasses. */
  sunglassesMinScore: number;
  /** Face-mesh confidence (0..1) below which part of the face is considered hidden (fully visible faces score >= 0.99). */
  meshOccludedBelow: number;
  /** Allow the (slow, ~110 ms) hand detector on doubtful faces. */
  handCheck: boolean;
  /** Run the (slow) hand detector when the face-mesh confidence (0..1) is below this, or the mouth looks doubtful. */
  handCheckBelowMeshScore: number;

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
  /** Report EYES_CLOSED when both eyes are closed (human's blink gestures). */
  detectEyesClosed: boolean;

  // ---- liveness ----
  /** livenessCheckScore (0-100) below which the photo is SPOOF_SUSPECTED. */
  livenessMinScore: number;
}

export const DEFAULT_THRESHOLDS: Readonly<InspectionThresholds> = Object.freeze({
  faceMinConfidence: 0.5,
  faceRescueMinConfidence: 0.3,
  faceRescueMinMeshScore: 0.5,
  faceRescuePaddings: [0.15, 0.3],
  faceRescueMinBoxScore: 0.5,
  faceRescueMaskMinBoxScore: 0.6,
  faceRescueMinMaskProbe: 0.6,
  faceRescueHeadMinKeypointScore: 0.3,
  faceMaxDetected: 20,
  faceMinRelativeSize: 0.0,

  obstructionMinScore: 50,
  maskMinScore: 50,
  maskProbeMinScore: 95,
  maskProbeSupportedMinScore: 50,
  maskProbeVeto: 5,
  sunglassesMinScore: 50,
  handCheckBelowMeshScore: 0.9,
  meshOccludedBelow: 0.975,
  handCheck: true,

  maxYawDeg: 25,
  maxPitchDeg: 25,
  maxRollDeg: 25,
  minFaceHeightRatio: 0.15,
  minFaceHeightPx: 112,
  maxFaceOutsideRatio: 0.1,
  detectEyesClosed: false,

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
  /** Folder holding the MiniFASNet safetensors files (defaults to the package's models/minifasnet). */
  modelsDir?: string;
  /** Mask probe JSON (defaults to the package's models/mask-probe.json). */
  maskProbePath?: string;
  /** Log function for backend / model information (default: none). */
  log?: (msg: string) => void;
}
