import type { DecodedImage, DetectedFace, Point2, StageInspection, StageOutcome } from './types.js';

/**
 * Capture quality of the one face: is the photo good enough to be judged, and if not, what should the person change?
 * Every measure is a number in the breakdown (null, with the reason in `unmeasured`, when it cannot be computed) and
 * gives its own reason code when out of range. Pixels come from the analysis image the faces stage decoded (long
 * side <= 640): nothing is decoded again. JPEG compression is read from the file header when the caller hands the
 * original bytes (or the quality estimateJpegQuality() read from them earlier), never by decoding at full size.
 *
 * Notation: d is the distance between the eye centres in analysis pixels. The face region is the landmark face oval
 * from the mid forehead (0.9 d above the eye line) to the chin (1.5 d below), or an ellipse placed from the eyes when
 * the landmark model could not fit the face. Measured on the quality set of scripts/synth-quality.ts with
 * scripts/eval-quality.ts (`pnpm eval:quality`).
 */

export interface QualityThresholds {
  /** BLURRY when the face's estimated blur sigma (analysis pixels) is above this. */
  maxBlurPx: number;
  /** GLARE_ON_FACE when more than this percentage of the face (eyes and mouth left out) is specular highlight. */
  maxGlarePercent: number;
  /** UNDEREXPOSED when the face's mean luma (0..1) is below this. */
  minLuminanceMean: number;
  /** UNDEREXPOSED also when the face is darker than dimFaceLuminance and the brightest 0.1 % of the whole photo stays
   * below minHighlightLuma (0..1): the camera left the top of its range unused. */
  minHighlightLuma: number;
  dimFaceLuminance: number;
  /** OVEREXPOSED when the face's mean luma (0..1) is above this ... */
  maxLuminanceMean: number;
  /** ... or when more than this percentage of the face is clipped (luma >= 247). */
  maxClippedPercent: number;
  /** LOW_RESOLUTION when the eye centres are fewer than this many ORIGINAL-image pixels apart. */
  minInterEyeDistancePx: number;
  /** EYES_CLOSED when the less open eye's aspect ratio is below this. */
  minEyeOpenness: number;
  /** HEAVY_COMPRESSION when the JPEG header's luma quantisation is coarser than IJG quality this ... */
  minJpegQuality: number;
  /** ... or when the face's block-boundary steps exceed this many times the steps inside the blocks. */
  maxBlockiness: number;
  /** UNEVEN_LIGHTING when one cheek is this many stops brighter than the other (linear light). */
  maxLightingImbalanceStops: number;
}

export const DEFAULT_QUALITY_THRESHOLDS: Readonly<QualityThresholds> = Object.freeze({
  // set on the dev half of the subjects: above all its sharp photos but one (all: 99th pct 1.4), below 99 % of its
  // blurs of sigma >= 3 px, which the estimate reads low (2.1 at the 1st percentile)
  maxBlurPx: 1.8,
  // a clipped spot as wide as the nose (0.28 d across) covers about 1.8 % of the face without eyes and mouth
  maxGlarePercent: 1.8,
  // OFIQ LuminanceMean: its quality sigmoid is centred on 0.2 and 0.8 (ISO/IEC 29794-5 luminance mean)
  minLuminanceMean: 0.2,
  // 1.5 stops under maps white to 0.63 and caps every pixel below it; 0.01 above that for JPEG ringing
  minHighlightLuma: 0.64,
  // a face at or above mid-grey (sRGB 0.5, 21 % linear) is bright enough whatever the scene
  dimFaceLuminance: 0.5,
  // OFIQ LuminanceMean's upper sigmoid centre
  maxLuminanceMean: 0.8,
  // OFIQ OverExposurePrevention scores a clipped share c as 1 / (c + 0.01): 10 % gives 9 of 100
  maxClippedPercent: 10,
  // ISO/IEC 19794-5 token image (240 px wide, eyes 60 px apart), the smallest standard face image; the full-frontal
  // (ICAO Doc 9303) minimum is 90 px and OFIQ's InterEyeDistance sigmoid is centred on 70 px
  minInterEyeDistancePx: 60,
  // under every open eye of the dev half (smiling squints reach 0.19); eyes squeezed shut measure 0.135, but the
  // 468-point mesh keeps most relaxed closed lids 0.2 apart, so only clearly shut eyes are caught (see the eval)
  minEyeOpenness: 0.18,
  // IJG quality 25 = twice the Annex K (quality 50) steps; cameras and web encoders save at 50-100
  minJpegQuality: 25,
  // block-edge steps twice the steps inside the blocks; no untouched photo reaches 1.9
  maxBlockiness: 2,
  // a 3:1 key-to-fill ratio (1.58 stops) is the usual limit of even portrait lighting; 4:1 is low-key
  maxLightingImbalanceStops: 1.58,
});

/** Optional extra input: the original file's bytes (only the JPEG header is read), or the quality read earlier. */
export interface CaptureSource {
  bytes?: Uint8Array;
  /** estimateJpegQuality(bytes), computed by whoever had the bytes; null: not a JPEG. */
  jpegQuality?: number | null;
  /** imageHighlight of the whole photo, when `image` is only the face's part of it (see QualityInput). */
  highlightLuma?: number;
}

export type QualityReason =
  | 'BLURRY'
  | 'GLARE_ON_FACE'
  | 'UNDEREXPOSED'
  | 'OVEREXPOSED'
  | 'LOW_RESOLUTION'
  | 'EYES_CLOSED'
  | 'HEAVY_COMPRESSION'
  | 'UNEVEN_LIGHTING';

// ---------------------------------------------------------------- JPEG header

/** ITU-T T.81 Annex K.1 luminance quantisation table in natural (row-major) order: the IJG quality-50 table. */
const ANNEX_K_LUMA = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51,
  87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101,
  72, 92, 95, 98, 112, 100, 103, 99,
];
/** Natural index of the k-th coefficient in zig-zag order (the order of a DQT segment). */
const ZIGZAG: number[] = [];
for (let s = 0; s < 15; s++) {
  const lo = Math.max(0, s - 7);
  const hi = Math.min(s, 7);
  for (let i = 0; i <= hi - lo; i++) {
    const row = s % 2 === 0 ? hi - i : lo + i;
    ZIGZAG.push(row * 8 + s - row);
  }
}

/**
 * IJG-equivalent quality (1..100) of a JPEG's luma quantisation table, read from the header segments only (the scan
 * is never touched); null when the bytes are not a JPEG or carry no table. IJG scales the Annex K table by 5000/q %
 * (q < 50) or 200 - 2q % (q >= 50) and clips the steps to 1..255, so the ratio of the unclipped steps to Annex K's
 * gives q back; other encoders' tables (phone cameras) get the IJG quality of the same average step.
 */
export function estimateJpegQuality(bytes: Uint8Array): number | null {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  const tables = new Map<number, number[]>();
  let lumaTable = 0;
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1] as number;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) break; // end of image / start of scan: the header is over
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    const len = ((bytes[i + 2] as number) << 8) | (bytes[i + 3] as number);
    const end = i + 2 + len;
    if (len < 2 || end > bytes.length) break;
    if (marker === 0xdb) {
      let o = i + 4;
      while (o + 65 <= end) {
        const wide = (bytes[o] as number) >> 4 !== 0;
        const id = (bytes[o] as number) & 15;
        o++;
        const t: number[] = [];
        for (let k = 0; k < 64; k++) {
          t.push(wide ? ((bytes[o] as number) << 8) | (bytes[o + 1] as number) : (bytes[o] as number));
          o += wide ? 2 : 1;
        }
        if (o > end) break;
        tables.set(id, t);
      }
    } else if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      // frame header: P, Y, X, Nf, then per component C, HV, Tq; the first component (Y) names its table
      if (i + 12 < end) lumaTable = (bytes[i + 12] as number) & 15;
    }
    i = end;
  }
  const table = tables.get(lumaTable) ?? tables.values().next().value;
  if (!table) return null;
  let sum = 0;
  let ref = 0;
  for (let k = 0; k < 64; k++) {
    const v = table[k] as number;
    if (v <= 1 || v >= 255) continue; // clipped: says only that the scale is at least / at most this
    sum += v;
    ref += ANNEX_K_LUMA[ZIGZAG[k] as number] as number;
  }
  if (ref === 0) return table.every((v) => v <= 1) ? 100 : 1;
  const s = (100 * sum) / ref;
  const q = s <= 100 ? (200 - s) / 2 : 5000 / s;
  return Math.max(1, Math.min(100, Math.round(q)));
}

// ---------------------------------------------------------------- geometry

/** A frame on the face: origin between the eye centres, u along the eye line (towards the image right for an upright
 * face), v perpendicular to it, down the face; d is the eye distance (analysis pixels). */
interface FaceFrame {
  cx: number;
  cy: number;
  ux: number;
  uy: number;
  d: number;
  fitted: boolean;
}

const centroid = (pts: Point2[]): Point2 => {
  let x = 0;
  let y = 0;
  for (const p of pts) {
    x += p[0];
    y += p[1];
  }
  return [x / Math.max(1, pts.length), y / Math.max(1, pts.length)];
};

function faceFrame(face: DetectedFace): FaceFrame {
  const lm = face.landmarks;
  const fitted = face.poseFrom === 'landmarks' && lm !== null && lm.rightEye.length === 16 && lm.leftEye.length === 16;
  // eye centres: the mean of each 16-point eyelid contour when fitted, else the detector's eye keypoints
  const right = fitted ? centroid(lm.rightEye) : face.keypoints.rightEye;
  const left = fitted ? centroid(lm.leftEye) : face.keypoints.leftEye;
  const dx = left[0] - right[0];
  const dy = left[1] - right[1];
  const d = Math.max(1e-6, Math.hypot(dx, dy));
  return { cx: (left[0] + right[0]) / 2, cy: (left[1] + right[1]) / 2, ux: dx / d, uy: dy / d, d, fitted };
}

/** Face-frame coordinates (in eye distances) of an image point; both are linear along an image row. */
const frameA = (f: FaceFrame, x: number, y: number) => ((x - f.cx) * f.ux + (y - f.cy) * f.uy) / f.d;
const frameB = (f: FaceFrame, x: number, y: number) => (-(x - f.cx) * f.uy + (y - f.cy) * f.ux) / f.d;
const fromFrame = (f: FaceFrame, a: number, b: number): Point2 => [
  f.cx + (a * f.ux - b * f.uy) * f.d,
  f.cy + (a * f.uy + b * f.ux) * f.d,
];

/** Band of the face used (eye distances below the eye line): mid forehead to the chin. */
const BAND_TOP = -0.9;
const BAND_BOTTOM = 1.5;
/** Ellipse used when the landmarks are not fitted (frame units). */
const ELLIPSE = { a: 1.0, b: 1.15, cb: 0.4 };

interface Ellipse {
  ca: number;
  cb: number;
  ra: number;
  rb: number;
}
/** Left out of the glare count: the eyes (catch-lights) and the mouth (teeth), frame units. */
function glareExclusions(face: DetectedFace, f: FaceFrame): Ellipse[] {
  const eyes: Ellipse[] = [
    { ca: -0.5, cb: 0, ra: 0.32, rb: 0.2 },
    { ca: 0.5, cb: 0, ra: 0.32, rb: 0.2 },
  ];
  const lips = f.fitted && face.landmarks ? face.landmarks.lips : null;
  if (!lips || lips.length === 0) return [...eyes, { ca: 0, cb: 1.05, ra: 0.45, rb: 0.25 }];
  let a0 = Number.POSITIVE_INFINITY;
  let a1 = Number.NEGATIVE_INFINITY;
  let b0 = Number.POSITIVE_INFINITY;
  let b1 = Number.NEGATIVE_INFINITY;
  for (const p of lips) {
    const a = frameA(f, p[0], p[1]);
    const b = frameB(f, p[0], p[1]);
    a0 = Math.min(a0, a);
    a1 = Math.max(a1, a);
    b0 = Math.min(b0, b);
    b1 = Math.max(b1, b);
  }
  // the lip contour's box, widened by a tenth of the eye distance (and a square's corners: sqrt 2)
  const ra = ((a1 - a0) / 2 + 0.1) * Math.SQRT2;
  const rb = ((b1 - b0) / 2 + 0.1) * Math.SQRT2;
  return [...eyes, { ca: (a0 + a1) / 2, cb: (b0 + b1) / 2, ra, rb }];
}

interface FaceRegion {
  /** the rectangle (image pixels) holding the face region plus a margin */
  x0: number;
  y0: number;
  w: number;
  h: number;
  luma: Float32Array;
  /** 1 inside the face region */
  mask: Uint8Array;
  count: number;
}

/** Margin around the face region (pixels), for the re-blur of the blur estimate. */
const MARGIN = 4;

function faceRegion(image: DecodedImage, face: DetectedFace, f: FaceFrame): FaceRegion | null {
  const poly = f.fitted && face.landmarks ? face.landmarks.faceOval : null;
  const outline: Point2[] =
    poly ??
    Array.from({ length: 24 }, (_, k) =>
      fromFrame(
        f,
        ELLIPSE.a * Math.cos((k / 24) * 2 * Math.PI),
        ELLIPSE.cb + ELLIPSE.b * Math.sin((k / 24) * 2 * Math.PI),
      ),
    );
  let bx0 = Number.POSITIVE_INFINITY;
  let by0 = Number.POSITIVE_INFINITY;
  let bx1 = Number.NEGATIVE_INFINITY;
  let by1 = Number.NEGATIVE_INFINITY;
  for (const p of outline) {
    bx0 = Math.min(bx0, p[0]);
    by0 = Math.min(by0, p[1]);
    bx1 = Math.max(bx1, p[0]);
    by1 = Math.max(by1, p[1]);
  }
  const x0 = Math.max(0, Math.floor(bx0) - MARGIN);
  const y0 = Math.max(0, Math.floor(by0) - MARGIN);
  const x1 = Math.min(image.width, Math.ceil(bx1) + MARGIN + 1);
  const y1 = Math.min(image.height, Math.ceil(by1) + MARGIN + 1);
  const w = x1 - x0;
  const h = y1 - y0;
  if (w < 4 || h < 4) return null;
  const luma = new Float32Array(w * h);
  const mask = new Uint8Array(w * h);
  const data = image.data;
  const W = image.width;
  for (let y = 0; y < h; y++) {
    let o = ((y0 + y) * W + x0) * 3;
    const r = y * w;
    for (let x = 0; x < w; x++, o += 3) {
      luma[r + x] = 0.299 * (data[o] as number) + 0.587 * (data[o + 1] as number) + 0.114 * (data[o + 2] as number);
    }
  }
  let count = 0;
  const xs: number[] = [];
  const db = -f.uy / f.d;
  for (let y = 0; y < h; y++) {
    const py = y0 + y + 0.5;
    const b0 = frameB(f, x0 + 0.5, py);
    // even-odd scanline crossings of the outline
    xs.length = 0;
    for (let k = 0; k < outline.length; k++) {
      const a = outline[k] as Point2;
      const b = outline[(k + 1) % outline.length] as Point2;
      if (a[1] <= py !== b[1] <= py) xs.push(a[0] + ((py - a[1]) / (b[1] - a[1])) * (b[0] - a[0]));
    }
    xs.sort((p, q) => p - q);
    for (let s = 0; s + 1 < xs.length; s += 2) {
      const from = Math.max(0, Math.ceil((xs[s] as number) - 0.5 - x0));
      const to = Math.min(w - 1, Math.floor((xs[s + 1] as number) - 0.5 - x0));
      for (let x = from; x <= to; x++) {
        const b = b0 + x * db;
        if (b < BAND_TOP || b > BAND_BOTTOM) continue;
        mask[y * w + x] = 1;
        count++;
      }
    }
  }
  return count > 0 ? { x0, y0, w, h, luma, mask, count } : null;
}

// ---------------------------------------------------------------- sharpness

/** Fewer face pixels than this: the region says nothing reliable. */
const MIN_REGION_PIXELS = 150;
/** Re-blur of the sharpness estimate: two passes of a running mean this wide, a near-Gaussian of sigma
 * sqrt(2 (w^2 - 1) / 12) = 2.83 samples. */
const REBLUR_BOX = 7;
const REBLUR_SIGMA = Math.sqrt((2 * (REBLUR_BOX * REBLUR_BOX - 1)) / 12);
/** Largest blur reported (a face with no edges left at all). */
const MAX_BLUR_REPORTED = 20;
/** Lines sampled per direction (every k-th row, column or diagonal). */
const BLUR_LINES = 64;
/** Rows, columns and the two diagonals: a motion blur smears one direction only. */
const DIRECTIONS: readonly [number, number][] = [
  [1, 0],
  [0, 1],
  [1, 1],
  [1, -1],
];

/** Running mean of width REBLUR_BOX over src[0..n) into dst (the window shrinks at the ends). */
function boxPass(src: Float32Array, dst: Float32Array, n: number, prefix: Float64Array) {
  const r = (REBLUR_BOX - 1) / 2;
  prefix[0] = 0;
  for (let i = 0; i < n; i++) prefix[i + 1] = (prefix[i] as number) + (src[i] as number);
  for (let i = 0; i < n; i++) {
    const a = Math.max(0, i - r);
    const b = Math.min(n, i + r + 1);
    dst[i] = ((prefix[b] as number) - (prefix[a] as number)) / (b - a);
  }
}

/**
 * Blur sigma (analysis pixels) along each of DIRECTIONS. Along sampled lines, the gradient energy between neighbouring
 * face pixels before (e0) and after (e1) a known re-blur r along the same line: a step edge blurred by s carries
 * gradient energy proportional to 1 / s, so e0 / e1 = sqrt(s^2 + r^2) / s and s = r / sqrt((e0 / e1)^2 - 1). The
 * ratio does not depend on the contrast or the number of edges, so a large face and a small one, a pale face and a
 * dark one, read the same when equally sharp (Laplacian variance grows with both).
 */
function blurSigmas(reg: FaceRegion): number[] | null {
  const { w, h, luma, mask } = reg;
  const n = Math.max(w, h);
  const lum = new Float32Array(n);
  const inm = new Uint8Array(n);
  const b1 = new Float32Array(n);
  const b2 = new Float32Array(n);
  const prefix = new Float64Array(n + 1);
  const out: number[] = [];
  for (const [dx, dy] of DIRECTIONS) {
    let e0 = 0;
    let e1 = 0;
    let pairs = 0;
    // line starts: one per row, per column, or per diagonal (x - y or x + y constant)
    const starts: [number, number][] = [];
    if (dy === 0) {
      const step = Math.max(1, Math.round(h / BLUR_LINES));
      for (let y = 0; y < h; y += step) starts.push([0, y]);
    } else if (dx === 0) {
      const step = Math.max(1, Math.round(w / BLUR_LINES));
      for (let x = 0; x < w; x += step) starts.push([x, 0]);
    } else {
      const step = Math.max(1, Math.round((w + h) / BLUR_LINES));
      for (let k = 0; k < w + h - 1; k += step) {
        const x = Math.max(0, k - (h - 1));
        starts.push(dy > 0 ? [x, Math.max(0, h - 1 - k)] : [x, Math.min(h - 1, k)]);
      }
    }
    for (const [sx, sy] of starts) {
      let m = 0;
      for (let x = sx, y = sy; x >= 0 && y >= 0 && x < w && y < h; x += dx, y += dy, m++) {
        lum[m] = luma[y * w + x] as number;
        inm[m] = mask[y * w + x] as number;
      }
      if (m < 3) continue;
      boxPass(lum, b1, m, prefix);
      boxPass(b1, b2, m, prefix);
      for (let i = 0; i + 1 < m; i++) {
        if (inm[i] !== 1 || inm[i + 1] !== 1) continue;
        const a = (lum[i + 1] as number) - (lum[i] as number);
        const b = (b2[i + 1] as number) - (b2[i] as number);
        e0 += a * a;
        e1 += b * b;
        pairs++;
      }
    }
    if (pairs < MIN_REGION_PIXELS) return null;
    // a diagonal step is sqrt(2) pixels long
    const spacing = dx !== 0 && dy !== 0 ? Math.SQRT2 : 1;
    const ratio = e1 > 0 ? e0 / e1 : 0;
    out.push(
      ratio <= 1.0001
        ? MAX_BLUR_REPORTED
        : Math.min(MAX_BLUR_REPORTED, (spacing * REBLUR_SIGMA) / Math.sqrt(ratio * ratio - 1)),
    );
  }
  return out;
}

// ---------------------------------------------------------------- luminance, glare

/** sRGB-encoded 0..255 to linear light 0..1. */
const toLinear = (v: number) => {
  const c = Math.max(0, Math.min(255, v)) / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
};

/** A specular highlight: clipped in all three channels (its detail is lost; merely bright, near-white skin is shine,
 * not glare: measured, counting from 230 flagged 12 % of the clear photos), and this far above the face's median luma
 * (so that an evenly over-exposed face is OVEREXPOSED, not glare). */
const GLARE_MIN_CHANNEL = 250;
const GLARE_ABOVE_MEDIAN = 40;
/** OFIQ's exposure ranges: luma 0-25 is under-exposed, 247-255 clipped. */
const DARK_MAX = 25;
const CLIPPED_MIN = 247;
/** Face pixels sampled for the statistics (a regular subsample of larger faces). */
const STAT_PIXELS = 20000;

interface LumaStats {
  mean: number;
  p5: number;
  p95: number;
  entropy: number;
  dark: number;
  clipped: number;
  glare: number | null;
}

function lumaStats(image: DecodedImage, reg: FaceRegion, f: FaceFrame, exclude: Ellipse[]): LumaStats {
  const { x0, y0, w, h, luma, mask, count } = reg;
  const step = Math.max(1, Math.floor(Math.sqrt(count / STAT_PIXELS)));
  const hist = new Float64Array(256);
  let n = 0;
  let sum = 0;
  for (let y = 0; y < h; y += step) {
    for (let x = 0; x < w; x += step) {
      const i = y * w + x;
      if (mask[i] !== 1) continue;
      const v = luma[i] as number;
      const k = Math.min(255, Math.round(v));
      hist[k] = (hist[k] as number) + 1;
      sum += v;
      n++;
    }
  }
  const pct = (p: number) => {
    let acc = 0;
    for (let v = 0; v < 256; v++) {
      acc += hist[v] as number;
      if (acc >= p * n) return v;
    }
    return 255;
  };
  let entropy = 0;
  let dark = 0;
  let clipped = 0;
  for (let v = 0; v < 256; v++) {
    const c = hist[v] as number;
    if (c > 0) entropy -= (c / n) * Math.log2(c / n);
    if (v <= DARK_MAX) dark += c;
    if (v >= CLIPPED_MIN) clipped += c;
  }
  const median = pct(0.5);
  // glare: specular pixels over the face, eyes and mouth left out
  const data = image.data;
  const W = image.width;
  const da = f.ux / f.d;
  const db = -f.uy / f.d;
  let spec = 0;
  let m = 0;
  for (let y = 0; y < h; y += step) {
    const a0 = frameA(f, x0 + 0.5, y0 + y + 0.5);
    const b0 = frameB(f, x0 + 0.5, y0 + y + 0.5);
    for (let x = 0; x < w; x += step) {
      const i = y * w + x;
      if (mask[i] !== 1) continue;
      const a = a0 + x * da;
      const b = b0 + x * db;
      let excluded = false;
      for (const e of exclude) {
        const ea = (a - e.ca) / e.ra;
        const eb = (b - e.cb) / e.rb;
        if (ea * ea + eb * eb < 1) {
          excluded = true;
          break;
        }
      }
      if (excluded) continue;
      m++;
      if ((luma[i] as number) < median + GLARE_ABOVE_MEDIAN) continue;
      const o = ((y0 + y) * W + x0 + x) * 3;
      if (Math.min(data[o] as number, data[o + 1] as number, data[o + 2] as number) >= GLARE_MIN_CHANNEL) spec++;
    }
  }
  return {
    mean: sum / n / 255,
    p5: pct(0.05) / 255,
    p95: pct(0.95) / 255,
    entropy,
    dark: dark / n,
    clipped: clipped / n,
    glare: m > 0 ? spec / m : null,
  };
}

/** Pixels sampled (a regular grid) for the whole-image highlight. */
const HIGHLIGHT_PIXELS = 40000;

/** The luma (0..1) that only the brightest `share` of the whole analysis image's pixels reach. */
function imageHighlight(image: DecodedImage, share: number): number {
  const step = Math.max(1, Math.round(Math.sqrt((image.width * image.height) / HIGHLIGHT_PIXELS)));
  const hist = new Float64Array(256);
  let n = 0;
  const d = image.data;
  for (let y = 0; y < image.height; y += step) {
    let o = y * image.width * 3;
    for (let x = 0; x < image.width; x += step, o += 3 * step) {
      // Rec. 601 luma in 8-bit fixed point (weights 77, 150, 29 of 256)
      const k = (77 * (d[o] as number) + 150 * (d[o + 1] as number) + 29 * (d[o + 2] as number)) >> 8;
      hist[k] = (hist[k] as number) + 1;
      n++;
    }
  }
  let acc = 0;
  for (let v = 255; v >= 0; v--) {
    acc += hist[v] as number;
    if (acc >= share * n) return v / 255;
  }
  return 0;
}

// ---------------------------------------------------------------- eyes, lighting, blocks

/** Eye aspect ratio of a 16-point eyelid contour (faces.ts CONTOURS: upper lid 0-6 and lower lid 8-14 from the outer
 * corner at 7 to the inner one at 15): the three middle lid-to-lid distances over the corner-to-corner width. */
function eyeAspectRatio(eye: Point2[]): number {
  const p = (i: number) => eye[i] as Point2;
  const dist = (a: Point2, b: Point2) => Math.hypot(a[0] - b[0], a[1] - b[1]);
  const width = dist(p(7), p(15));
  const open = (dist(p(2), p(10)) + dist(p(3), p(11)) + dist(p(4), p(12))) / 3;
  return width > 0 ? open / width : 0;
}

/** Median linear-light luminance of the face pixels in a square patch (half-size r) around a point; null when too
 * few of them are in the face region. */
function patchLinear(reg: FaceRegion, c: Point2, r: number): number | null {
  const vals: number[] = [];
  const step = Math.max(1, Math.floor(r / 8));
  for (let y = Math.round(c[1] - r); y <= Math.round(c[1] + r); y += step) {
    for (let x = Math.round(c[0] - r); x <= Math.round(c[0] + r); x += step) {
      const lx = x - reg.x0;
      const ly = y - reg.y0;
      if (lx < 0 || ly < 0 || lx >= reg.w || ly >= reg.h || reg.mask[ly * reg.w + lx] !== 1) continue;
      vals.push(reg.luma[ly * reg.w + lx] as number);
    }
  }
  if (vals.length < 9) return null;
  vals.sort((a, b) => a - b);
  return toLinear(vals[Math.floor(vals.length / 2)] as number);
}

/** Cheekbones below the eyes (mesh points 118 and 347), which a beard does not reach, or the same place from the
 * eyes when the landmarks are not fitted. */
function cheekCentres(face: DetectedFace, f: FaceFrame): [Point2, Point2] {
  const p = face.landmarks?.points;
  if (f.fitted && p) return [p.rightUpperCheek, p.leftUpperCheek];
  return [fromFrame(f, -0.5, 0.45), fromFrame(f, 0.5, 0.45)];
}
const CHEEK_HALF = 0.15;
/** A cheek darker than this (linear) is black: its ratio to the other one is noise. */
const CHEEK_FLOOR = 0.002;

/** Below this period (analysis pixels) the 8x8 block grid is not resolved by the analysis image. */
const MIN_BLOCK_PERIOD = 3;
/** |luma difference| histogram resolution (quarter levels) and range. */
const DIFF_BINS = 64;
/** Rows of the face used by the blockiness measure. */
const BLOCK_ROWS = 120;
/** Least pairs in each phase bin. */
const MIN_PHASE_PAIRS = 20;

/**
 * JPEG blockiness on the original grid as the analysis image shows it: horizontal (vertical) luma steps between
 * neighbouring face pixels are binned by their position within the block period 8 * scale; quantised blocks are flat
 * inside and step at their edges, so one phase bin's median step stands out. Max over the median of the phase bins'
 * median steps, for columns and rows (geometric mean). Phase-blind: EXIF rotation or an earlier crop may have moved
 * the grid. Null when the period is under MIN_BLOCK_PERIOD analysis pixels (photos downsized more than 2.7 times)
 * or the face is too small.
 */
function blockiness(reg: FaceRegion, scale: number): number | null {
  const period = 8 * scale;
  if (period < MIN_BLOCK_PERIOD) return null;
  const bins = Math.max(3, Math.round(period));
  const { w, h, luma, mask } = reg;
  const hx = new Float64Array(bins * DIFF_BINS);
  const hy = new Float64Array(bins * DIFF_BINS);
  const phase = (p: number) => Math.min(bins - 1, Math.floor(((p % period) / period) * bins));
  const colPhase = Int32Array.from({ length: w }, (_, x) => phase(reg.x0 + x));
  // every row of small faces; of larger ones, bands of 16 consecutive rows (all phases) about BLOCK_ROWS rows in all
  const bandStep = Math.max(1, Math.floor(h / BLOCK_ROWS));
  for (let y = 0; y < h; y++) {
    if (bandStep > 1 && Math.floor(y / 16) % bandStep !== 0) continue;
    const o = y * w;
    const py = phase(reg.y0 + y) * DIFF_BINS;
    for (let x = 0; x < w; x++) {
      if (mask[o + x] !== 1) continue;
      const v = luma[o + x] as number;
      if (x + 1 < w && mask[o + x + 1] === 1) {
        const k =
          (colPhase[x] as number) * DIFF_BINS +
          Math.min(DIFF_BINS - 1, Math.round(Math.abs((luma[o + x + 1] as number) - v) * 4));
        hx[k] = (hx[k] as number) + 1;
      }
      if (y + 1 < h && mask[o + w + x] === 1) {
        const k = py + Math.min(DIFF_BINS - 1, Math.round(Math.abs((luma[o + w + x] as number) - v) * 4));
        hy[k] = (hy[k] as number) + 1;
      }
    }
  }
  const ratio = (hist: Float64Array) => {
    const meds: number[] = [];
    for (let b = 0; b < bins; b++) {
      let n = 0;
      for (let k = 0; k < DIFF_BINS; k++) n += hist[b * DIFF_BINS + k] as number;
      if (n < MIN_PHASE_PAIRS) return null;
      let acc = 0;
      let med = DIFF_BINS - 1;
      for (let k = 0; k < DIFF_BINS; k++) {
        acc += hist[b * DIFF_BINS + k] as number;
        if (acc >= n / 2) {
          med = k;
          break;
        }
      }
      // a quarter level is added so that a flat face (all medians 0) reads 1, not 0/0
      meds.push((med + 1) / 4);
    }
    const sorted = [...meds].sort((a, b) => a - b);
    return (sorted[bins - 1] as number) / (sorted[Math.floor(bins / 2)] as number);
  };
  const rx = ratio(hx);
  const ry = ratio(hy);
  return rx === null || ry === null ? null : Math.sqrt(rx * ry);
}

// ---------------------------------------------------------------- the stage

const round = (v: number, digits: number) => {
  const k = 10 ** digits;
  return Math.round(v * k) / k;
};
const num = (v: number | null | undefined, digits: number) => (v === null || v === undefined ? null : round(v, digits));

/** The measures and verdict for one face (synchronous; inspectCaptureQuality is the timed stage). */
export function captureQualityOf(
  image: DecodedImage,
  face: DetectedFace,
  th: QualityThresholds,
  source?: CaptureSource,
): StageInspection {
  const reasons: QualityReason[] = [];
  const unmeasured: Record<string, string> = {};
  const f = faceFrame(face);
  const found = faceRegion(image, face, f);
  const reg = found !== null && found.count >= MIN_REGION_PIXELS ? found : null;
  if (!reg) unmeasured.faceRegion = 'fewer than 150 face pixels inside the image';

  // sharpness: the most blurred direction
  const sigmas = reg ? blurSigmas(reg) : null;
  const blurPx = sigmas ? Math.max(...sigmas) : null;
  if (blurPx !== null && blurPx > th.maxBlurPx) reasons.push('BLURRY');

  // glare and exposure
  const st = reg ? lumaStats(image, reg, f, glareExclusions(face, f)) : null;
  const glarePercent = st?.glare === null || st?.glare === undefined ? null : st.glare * 100;
  if (glarePercent !== null && glarePercent > th.maxGlarePercent) reasons.push('GLARE_ON_FACE');
  const highlightLuma = source?.highlightLuma ?? imageHighlight(image, 0.001);
  if (st) {
    if (st.mean < th.minLuminanceMean || (st.mean < th.dimFaceLuminance && highlightLuma < th.minHighlightLuma)) {
      reasons.push('UNDEREXPOSED');
    }
    if (st.mean > th.maxLuminanceMean || st.clipped * 100 > th.maxClippedPercent) reasons.push('OVEREXPOSED');
  }

  // resolution, in original-image pixels
  const interEyeDistancePx = f.d / image.scale;
  if (interEyeDistancePx < th.minInterEyeDistancePx) reasons.push('LOW_RESOLUTION');

  // eyes open
  let eyeOpenness: number | null = null;
  if (f.fitted && face.landmarks) {
    eyeOpenness = Math.min(eyeAspectRatio(face.landmarks.rightEye), eyeAspectRatio(face.landmarks.leftEye));
    if (eyeOpenness < th.minEyeOpenness) reasons.push('EYES_CLOSED');
  } else unmeasured.eyeOpenness = 'the landmark model could not fit the eyelids of this face';

  // compression: the file's quantisation, and the block edges the face shows
  const jpegQuality =
    source?.jpegQuality !== undefined
      ? source.jpegQuality
      : source?.bytes
        ? estimateJpegQuality(source.bytes)
        : undefined;
  if (jpegQuality === undefined) unmeasured.jpegQuality = 'the original file was not provided';
  else if (jpegQuality === null) unmeasured.jpegQuality = 'not a JPEG file';
  const block = reg ? blockiness(reg, image.scale) : null;
  if (reg && block === null) {
    unmeasured.blockiness =
      8 * image.scale < MIN_BLOCK_PERIOD
        ? 'the 8x8 JPEG grid is finer than the analysis image (photo downsized more than 2.7 times)'
        : 'too few face pixels';
  }
  if (
    (typeof jpegQuality === 'number' && jpegQuality < th.minJpegQuality) ||
    (block !== null && block > th.maxBlockiness)
  ) {
    reasons.push('HEAVY_COMPRESSION');
  }

  // illumination uniformity: left against right cheekbone
  let lightingImbalanceStops: number | null = null;
  if (reg) {
    const [rc, lc] = cheekCentres(face, f);
    const half = Math.max(2, CHEEK_HALF * f.d);
    const r = patchLinear(reg, rc, half);
    const l = patchLinear(reg, lc, half);
    if (r === null || l === null) unmeasured.lightingImbalanceStops = 'a cheek is outside the image';
    else {
      lightingImbalanceStops = Math.abs(Math.log2(Math.max(CHEEK_FLOOR, l) / Math.max(CHEEK_FLOOR, r)));
      if (lightingImbalanceStops > th.maxLightingImbalanceStops) reasons.push('UNEVEN_LIGHTING');
    }
  }

  return {
    result: reasons.length === 0 ? 'clear' : 'attention',
    breakdown: {
      blurPx: num(blurPx, 2),
      glarePercent: num(glarePercent, 2),
      luminanceMean: num(st?.mean, 3),
      clippedPercent: num(st ? st.clipped * 100 : null, 1),
      darkPercent: num(st ? st.dark * 100 : null, 1),
      highlightLuma: round(highlightLuma, 3),
      dynamicRangeBits: num(st?.entropy, 2),
      contrast: num(st ? st.p95 - st.p5 : null, 3),
      interEyeDistancePx: Math.round(interEyeDistancePx),
      eyeOpenness: num(eyeOpenness, 3),
      jpegQuality: jpegQuality ?? null,
      blockiness: num(block, 2),
      lightingImbalanceStops: num(lightingImbalanceStops, 2),
      ...(Object.keys(unmeasured).length > 0 ? { unmeasured } : {}),
    },
    reasons,
  };
}

/**
 * The captureQuality stage on the single face the faces stage found, from the analysis image it decoded. Pass the
 * original bytes (only the JPEG header is read) or the quality estimateJpegQuality() read from them to judge
 * compression from the file too; without them only the face's block edges can say HEAVY_COMPRESSION.
 */
export async function inspectCaptureQuality(
  image: DecodedImage,
  face: DetectedFace,
  thresholds?: Partial<QualityThresholds>,
  source?: CaptureSource,
): Promise<StageOutcome> {
  const t0 = performance.now();
  const th = { ...DEFAULT_QUALITY_THRESHOLDS, ...(thresholds ?? {}) };
  const inspection = captureQualityOf(image, face, th, source);
  return { inspection, ms: Math.round(performance.now() - t0) };
}

// ---------------------------------------------------------------- hand-over between stages

/**
 * What the captureQuality stage needs of a photo, so that it never fetches or decodes the photo itself: the pixels
 * of the face's region (with a margin) of the analysis image, where that region sits, and the two figures that look
 * at the whole photo. The faces stage, which has the decoded image, builds it.
 */
export interface QualityInput {
  /** Top-left corner of the region in the analysis image. */
  x0: number;
  y0: number;
  width: number;
  height: number;
  /** RGB, 3 bytes per pixel, row-major. */
  data: Uint8Array;
  /** Of the whole analysis image: analysis pixels per original pixel, and its size. */
  scale: number;
  originalWidth: number;
  originalHeight: number;
  highlightLuma: number;
  jpegQuality: number | null;
}

/** Extra pixels kept around the face region: the blur estimate's re-blur and the cheek patches stay inside. */
const INPUT_MARGIN = 16;

function boundsOf(points: Point2[]): [number, number, number, number] {
  let x0 = Number.POSITIVE_INFINITY;
  let y0 = Number.POSITIVE_INFINITY;
  let x1 = Number.NEGATIVE_INFINITY;
  let y1 = Number.NEGATIVE_INFINITY;
  for (const [x, y] of points) {
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x);
    y1 = Math.max(y1, y);
  }
  return [x0, y0, x1, y1];
}

/** The hand-over for the captureQuality stage; `bytes` are the original file's (only its header is read). */
export function qualityInputOf(image: DecodedImage, face: DetectedFace, bytes?: Uint8Array): QualityInput {
  const f = faceFrame(face);
  // The same outline faceRegion uses (landmark oval, or the ellipse from the eyes), plus the face box.
  const outline: Point2[] =
    f.fitted && face.landmarks
      ? [...face.landmarks.faceOval]
      : Array.from({ length: 24 }, (_, k) =>
          fromFrame(
            f,
            ELLIPSE.a * Math.cos((k / 24) * 2 * Math.PI),
            ELLIPSE.cb + ELLIPSE.b * Math.sin((k / 24) * 2 * Math.PI),
          ),
        );
  const b = face.boxPixels;
  outline.push([b.x, b.y], [b.x + b.width, b.y + b.height]);
  const [bx0, by0, bx1, by1] = boundsOf(outline);
  const x0 = Math.max(0, Math.floor(bx0) - INPUT_MARGIN);
  const y0 = Math.max(0, Math.floor(by0) - INPUT_MARGIN);
  const x1 = Math.min(image.width, Math.ceil(bx1) + INPUT_MARGIN);
  const y1 = Math.min(image.height, Math.ceil(by1) + INPUT_MARGIN);
  const width = Math.max(0, x1 - x0);
  const height = Math.max(0, y1 - y0);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const from = ((y0 + y) * image.width + x0) * 3;
    data.set(image.data.subarray(from, from + width * 3), y * width * 3);
  }
  return {
    x0,
    y0,
    width,
    height,
    data,
    scale: image.scale,
    originalWidth: image.originalWidth,
    originalHeight: image.originalHeight,
    highlightLuma: imageHighlight(image, 0.001),
    jpegQuality: bytes ? estimateJpegQuality(bytes) : null,
  };
}

/** Every point of the face moved by (-dx, -dy): the face in the coordinates of a region of the image. */
function shifted<T>(value: T, dx: number, dy: number): T {
  if (Array.isArray(value)) {
    if (value.length === 2 && typeof value[0] === 'number' && typeof value[1] === 'number') {
      return [value[0] - dx, value[1] - dy] as T;
    }
    return value.map((v) => shifted(v, dx, dy)) as T;
  }
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.x === 'number' && typeof o.y === 'number' && typeof o.width === 'number') {
      return { ...o, x: o.x - dx, y: (o.y as number) - dy } as T;
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, shifted(v, dx, dy)])) as T;
  }
  return value;
}

/** The captureQuality stage on the hand-over of the faces stage (same measures as on the whole image). */
export async function inspectCaptureQualityFrom(
  input: QualityInput,
  face: DetectedFace,
  thresholds?: Partial<QualityThresholds>,
): Promise<StageOutcome> {
  const t0 = performance.now();
  const th = { ...DEFAULT_QUALITY_THRESHOLDS, ...(thresholds ?? {}) };
  const region: DecodedImage = {
    width: input.width,
    height: input.height,
    originalWidth: input.originalWidth,
    originalHeight: input.originalHeight,
    scale: input.scale,
    data: input.data,
    exifOrientation: 1,
    format: 'raw',
  };
  const local: DetectedFace = {
    ...face,
    boxPixels: shifted(face.boxPixels, input.x0, input.y0),
    keypoints: shifted(face.keypoints, input.x0, input.y0),
    landmarks: face.landmarks ? shifted(face.landmarks, input.x0, input.y0) : null,
  };
  const inspection = captureQualityOf(region, local, th, {
    jpegQuality: input.jpegQuality,
    highlightLuma: input.highlightLuma,
  });
  return { inspection, ms: Math.round(performance.now() - t0) };
}
