import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from './engine.js';
import {
  analyzeFaces,
  createFaceEngine,
  DEFAULT_QUALITY_THRESHOLDS,
  type DecodedImage,
  type DetectedFace,
  decodeImage,
  estimateJpegQuality,
  type FaceEngine,
  inspectCaptureQuality,
  type Point2,
  STAGE_MODELS,
} from './index.js';

const fixtures = join(packageRoot, '..', '..', 'test', 'fixtures');
/** 800x542 JPEG (IJG quality 85), a sharp, evenly lit press portrait, eyes 126 px apart. */
const CLEAR = 'faces/A-single/serengil__deepface__img61.jpg';
/** 424x394 PNG: analysed at its own size, so the JPEG block grid is intact in the analysis image. */
const SMALL_PNG = 'faces/A-single/ageitgey__face_recognition__alex-lacamoire.png';

const NUMERIC_FIELDS = [
  'blurPx',
  'glarePercent',
  'luminanceMean',
  'clippedPercent',
  'darkPercent',
  'highlightLuma',
  'dynamicRangeBits',
  'contrast',
  'interEyeDistancePx',
  'eyeOpenness',
  'jpegQuality',
  'blockiness',
  'lightingImbalanceStops',
];

let engine: FaceEngine;

beforeAll(async () => {
  engine = await createFaceEngine({ models: STAGE_MODELS.faces });
}, 180_000);

afterAll(async () => {
  await engine?.dispose();
});

// ---------------------------------------------------------------- helpers: the pipeline and the degradations

interface Analysed {
  image: DecodedImage;
  face: DetectedFace;
}

/** The service's path: decode once, find the single face. */
async function analyse(bytes: Buffer): Promise<Analysed> {
  const image = await decodeImage(bytes);
  const { faces } = await analyzeFaces(engine, image);
  expect(faces).toHaveLength(1);
  return { image, face: faces[0] as DetectedFace };
}

async function quality(bytes: Buffer, withBytes = true) {
  const { image, face } = await analyse(bytes);
  const { inspection, ms } = await inspectCaptureQuality(image, face, undefined, withBytes ? { bytes } : undefined);
  return { ...inspection, ms, image, face };
}

interface Raw {
  data: Buffer;
  width: number;
  height: number;
}
const raw = async (bytes: Buffer): Promise<Raw> => {
  const { data, info } = await sharp(bytes).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
};
const encode = (r: Raw, quality = 95) =>
  sharp(r.data, { raw: { width: r.width, height: r.height, channels: 3 } })
    .jpeg({ quality, chromaSubsampling: '4:4:4' })
    .toBuffer();

const toLin = (v: number) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
};
const toSrgb = (l: number) => {
  const c = Math.max(0, Math.min(1, l));
  return Math.round(255 * (c <= 0.0031308 ? c * 12.92 : 1.055 * c ** (1 / 2.4) - 0.055));
};

/** Every pixel's linear light times gain(x, y). */
function relight(r: Raw, gain: (x: number, y: number) => number): Raw {
  const data = Buffer.alloc(r.data.length);
  for (let y = 0; y < r.height; y++) {
    for (let x = 0; x < r.width; x++) {
      const g = gain(x, y);
      const o = (y * r.width + x) * 3;
      for (let c = 0; c < 3; c++) data[o + c] = toSrgb(toLin(r.data[o + c] as number) * g);
    }
  }
  return { ...r, data };
}

/** Additive white Gaussian spots (linear light) of sigma s, peaking at twice white so that their cores clip. */
function spots(r: Raw, centres: Point2[], s: number): Raw {
  const data = Buffer.from(r.data);
  for (const [cx, cy] of centres) {
    for (let y = Math.max(0, Math.floor(cy - 3 * s)); y < Math.min(r.height, cy + 3 * s); y++) {
      for (let x = Math.max(0, Math.floor(cx - 3 * s)); x < Math.min(r.width, cx + 3 * s); x++) {
        const add = 2 * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s * s));
        const o = (y * r.width + x) * 3;
        for (let c = 0; c < 3; c++) data[o + c] = toSrgb(toLin(data[o + c] as number) + add);
      }
    }
  }
  return { ...r, data };
}

const eyeCentre = (eye: Point2[]): Point2 => [
  eye.reduce((a, p) => a + p[0], 0) / eye.length,
  eye.reduce((a, p) => a + p[1], 0) / eye.length,
];

// ---------------------------------------------------------------- tests

describe('captureQuality on an untouched clear photo', () => {
  it('passes every measure and reports each as a number', async () => {
    const q = await quality(readFileSync(join(fixtures, CLEAR)));
    expect(q.reasons).toEqual([]);
    expect(q.result).toBe('clear');
    for (const field of NUMERIC_FIELDS) expect(typeof q.breakdown[field], field).toBe('number');
    expect(q.breakdown.unmeasured).toBeUndefined();
    expect(q.breakdown.jpegQuality).toBe(85);
    expect(q.breakdown.interEyeDistancePx as number).toBeGreaterThan(100);
    expect(q.ms).toBeGreaterThanOrEqual(0);
    expect(JSON.parse(JSON.stringify(q.breakdown))).toEqual(q.breakdown); // plain JSON
  });
});

describe('captureQuality flags each degradation', () => {
  let clearBytes: Buffer;
  let base: Raw;
  let clear: Analysed;
  /** eye distance of the untouched photo, original pixels */
  let ied: number;
  /** analysis pixels -> original pixels */
  let toOriginal: (v: number) => number;

  beforeAll(async () => {
    clearBytes = readFileSync(join(fixtures, CLEAR));
    base = await raw(clearBytes);
    clear = await analyse(clearBytes);
    toOriginal = (v) => v / clear.image.scale;
    ied = (await quality(clearBytes)).breakdown.interEyeDistancePx as number;
  });

  it('BLURRY: Gaussian blur of sigma 4 analysis pixels', async () => {
    const blurred = await sharp(clearBytes).blur(toOriginal(4)).jpeg({ quality: 95 }).toBuffer();
    const q = await quality(blurred);
    expect(q.reasons).toContain('BLURRY');
    expect(q.breakdown.blurPx as number).toBeGreaterThan(DEFAULT_QUALITY_THRESHOLDS.maxBlurPx);
  });

  it('BLURRY: horizontal motion blur of 16 analysis pixels', async () => {
    const n = Math.round(toOriginal(16)) | 1;
    const kernel = [...new Array(n).fill(0), ...new Array(n).fill(1), ...new Array(n).fill(0)];
    const smeared = await sharp(clearBytes).convolve({ width: n, height: 3, kernel }).jpeg({ quality: 95 }).toBuffer();
    const q = await quality(smeared);
    expect(q.reasons).toContain('BLURRY');
  });

  it('GLARE_ON_FACE: two clipped highlights on the forehead and the nose', async () => {
    const p = clear.face.landmarks?.points;
    if (!p) throw new Error('no landmarks');
    const centres: Point2[] = [p.forehead, p.noseTip].map(([x, y]) => [toOriginal(x), toOriginal(y)]);
    const q = await quality(await encode(spots(base, centres, 0.15 * ied)));
    expect(q.reasons).toContain('GLARE_ON_FACE');
    expect(q.breakdown.glarePercent as number).toBeGreaterThan(DEFAULT_QUALITY_THRESHOLDS.maxGlarePercent);
  });

  it('UNDEREXPOSED: two stops under', async () => {
    const q = await quality(await encode(relight(base, () => 2 ** -2)));
    expect(q.reasons).toContain('UNDEREXPOSED');
    expect(q.breakdown.highlightLuma as number).toBeLessThan(DEFAULT_QUALITY_THRESHOLDS.minHighlightLuma);
    expect(q.reasons).not.toContain('OVEREXPOSED');
  });

  it('OVEREXPOSED: two stops over', async () => {
    const q = await quality(await encode(relight(base, () => 2 ** 2)));
    expect(q.reasons).toContain('OVEREXPOSED');
    expect(q.reasons).not.toContain('UNDEREXPOSED');
  });

  it('LOW_RESOLUTION: downsized to 40 px between the eyes, in original-image pixels', async () => {
    const width = Math.round(base.width * (40 / ied));
    const small = await sharp(clearBytes).resize(width).jpeg({ quality: 95 }).toBuffer();
    const q = await quality(small);
    expect(q.reasons).toContain('LOW_RESOLUTION');
    expect(Math.abs((q.breakdown.interEyeDistancePx as number) - 40)).toBeLessThanOrEqual(3);
  });

  it('HEAVY_COMPRESSION: re-encoded at JPEG quality 8, from the header', async () => {
    const q = await quality(await sharp(clearBytes).jpeg({ quality: 8 }).toBuffer());
    expect(q.reasons).toContain('HEAVY_COMPRESSION');
    expect(q.breakdown.jpegQuality).toBe(8);
  });

  it('HEAVY_COMPRESSION: from the block edges alone when the file is not provided (grid intact at 424 px)', async () => {
    const png = readFileSync(join(fixtures, SMALL_PNG));
    const q = await quality(await sharp(png).jpeg({ quality: 8 }).toBuffer(), false);
    expect(q.reasons).toContain('HEAVY_COMPRESSION');
    expect(q.breakdown.blockiness as number).toBeGreaterThan(DEFAULT_QUALITY_THRESHOLDS.maxBlockiness);
    expect((q.breakdown.unmeasured as Record<string, string>).jpegQuality).toMatch(/not provided/);
  });

  it('UNEVEN_LIGHTING: one side of the face three stops darker', async () => {
    const [rx] = eyeCentre(clear.face.landmarks?.rightEye ?? []);
    const [lx] = eyeCentre(clear.face.landmarks?.leftEye ?? []);
    const mid = toOriginal((rx + lx) / 2);
    const half = toOriginal((lx - rx) * 0.3);
    const shaded = relight(base, (x) => {
      const t = Math.max(0, Math.min(1, (x - (mid - half)) / (2 * half)));
      return 2 ** (-3 * t * t * (3 - 2 * t));
    });
    const q = await quality(await encode(shaded));
    expect(q.reasons).toContain('UNEVEN_LIGHTING');
    expect(q.breakdown.lightingImbalanceStops as number).toBeGreaterThan(2);
  });

  it('EYES_CLOSED: the lids the landmark model gives for a closed eye', async () => {
    // The 468-point face mesh barely follows closing lids in pixels (see the next test and `pnpm eval:quality`), so
    // the closed eye is given to the measure as landmarks: each lid point moved onto the corner-to-corner line.
    const lm = clear.face.landmarks;
    if (!lm) throw new Error('no landmarks');
    const close = (eye: Point2[]): Point2[] => {
      const a = eye[7] as Point2;
      const b = eye[15] as Point2;
      return eye.map(([x, y], i) => {
        if (i === 7 || i === 15) return [x, y];
        const t = ((x - a[0]) * (b[0] - a[0]) + (y - a[1]) * (b[1] - a[1])) / ((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2);
        const px = a[0] + t * (b[0] - a[0]);
        const py = a[1] + t * (b[1] - a[1]);
        // a lid gap of a twentieth of what it was
        return [px + (x - px) * 0.05, py + (y - py) * 0.05];
      });
    };
    const closed: DetectedFace = {
      ...clear.face,
      landmarks: { ...lm, rightEye: close(lm.rightEye), leftEye: close(lm.leftEye) },
    };
    const { inspection } = await inspectCaptureQuality(clear.image, closed, undefined, { bytes: clearBytes });
    expect(inspection.reasons).toEqual(['EYES_CLOSED']);
    expect(inspection.breakdown.eyeOpenness as number).toBeLessThan(0.1);
  });

  it('eyeOpenness drops when the eyes are closed in the pixels (lids warped together)', async () => {
    const lm = clear.face.landmarks;
    if (!lm) throw new Error('no landmarks');
    const shut = { ...base, data: Buffer.from(base.data) };
    for (const eye of [lm.rightEye, lm.leftEye]) {
      const pts = eye.map(([x, y]): Point2 => [toOriginal(x), toOriginal(y)]);
      const [cx, cy] = eyeCentre(pts);
      const xs = pts.map((p) => p[0]);
      const ys = pts.map((p) => p[1]);
      const half = ((Math.max(...xs) - Math.min(...xs)) / 2) * 1.3;
      const open = ((Math.max(...ys) - Math.min(...ys)) / 2) * 1.2;
      const reach = 3 * open;
      // output row t (from the eye's centre line) shows source row open + (reach - open) |t| / reach: the lids meet
      for (let x = Math.floor(cx - half); x <= cx + half; x++) {
        const k = Math.min(1, 2 * (1 - Math.abs(x - cx) / half));
        for (let y = Math.floor(cy - reach); y <= cy + reach; y++) {
          const t = y - cy;
          const s = Math.sign(t || 1) * (open + ((reach - open) * Math.abs(t)) / reach);
          const sy = cy + k * s + (1 - k) * t;
          const y0 = Math.floor(sy);
          for (let c = 0; c < 3; c++) {
            const a = base.data[(y0 * base.width + x) * 3 + c] as number;
            const b = base.data[((y0 + 1) * base.width + x) * 3 + c] as number;
            shut.data[(y * base.width + x) * 3 + c] = Math.round(a + (b - a) * (sy - y0));
          }
        }
      }
    }
    const untouched = (await quality(clearBytes)).breakdown.eyeOpenness as number;
    const q = await quality(await encode(shut));
    expect(q.breakdown.eyeOpenness as number).toBeLessThan(untouched - 0.05);
  });
});

describe('captureQuality without landmarks or the file', () => {
  it('says what it could not measure instead of guessing', async () => {
    const bytes = readFileSync(join(fixtures, CLEAR));
    const { image, face } = await analyse(bytes);
    // as for a face the landmark model could not fit (a full profile): the detector keypoints only
    const unfitted: DetectedFace = { ...face, poseFrom: 'keypoints', landmarks: null };
    const { inspection } = await inspectCaptureQuality(image, unfitted);
    expect(inspection.breakdown.eyeOpenness).toBeNull();
    expect(inspection.breakdown.jpegQuality).toBeNull();
    const unmeasured = inspection.breakdown.unmeasured as Record<string, string>;
    expect(Object.keys(unmeasured).sort()).toEqual(['eyeOpenness', 'jpegQuality']);
    // the rest is measured from the region placed by the eyes
    expect(typeof inspection.breakdown.blurPx).toBe('number');
    expect(typeof inspection.breakdown.lightingImbalanceStops).toBe('number');
    expect(inspection.reasons).toEqual([]);
  });
});

describe('estimateJpegQuality', () => {
  it('reads the IJG quality back from the header, and null for other formats', async () => {
    const png = readFileSync(join(fixtures, SMALL_PNG));
    for (const q of [5, 10, 15, 30, 50, 75, 90]) {
      expect(estimateJpegQuality(await sharp(png).jpeg({ quality: q }).toBuffer())).toBe(q);
    }
    expect(estimateJpegQuality(png)).toBeNull();
    expect(estimateJpegQuality(Buffer.from('not an image'))).toBeNull();
  });
});
