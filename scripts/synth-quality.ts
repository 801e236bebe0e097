/**
 * Labelled capture-quality set for the captureQuality stage: controlled degradations of clear single-face photos.
 *
 *   pnpm exec tsx scripts/synth-quality.ts [--out DIR] [--seed S] [--limit N] [--kinds a,b] [--force]
 *
 * Sources: the clear single-face photos of the shared fixtures (../shared/fixtures or /work/shared/fixtures):
 * faces/ A-single and more-2026-12/ clear/genuine rows labelled expected_obstruction "no", every identities/ photo,
 * and the first 60 plain-numbered files of masks/without_mask/ (the augmented_* copies and the 2020-06-23-* webcam
 * frames with a covered mouth are left out). Byte-identical files are kept once. Each is decoded and analysed by the
 * face engine; photos without exactly one face the landmark model could fit are skipped.
 *
 * Every source is given a group (its identity in identities/MANIFEST.tsv, else its file) and a split (dev / test,
 * from a hash of the group), so thresholds can be chosen on one half of the subjects and checked on the other.
 *
 * Degradations (strengths in analysis-image pixels, i.e. of the photo downsized to a long side of 640 as the engine
 * sees it; applied to the EXIF-upright original at its own resolution, so a 3 px blur of a 2560 px photo is a 12 px
 * blur of the file):
 *   gauss    Gaussian blur sigma 1, 2, 3, 4, 6                 (clearly degraded: sigma >= 3)
 *   motion   linear motion blur of length 6, 11, 16 at a seeded angle (clearly: >= 11, i.e. the same second moment
 *            as a Gaussian of sigma >= 3.2)
 *   exposure linear-light exposure shift of -2, -1.5, -1, +1, +1.5, +2 stops (clipped, re-encoded to sRGB;
 *            clearly: |shift| >= 1.5)
 *   jpeg     re-encoded at JPEG quality 5, 10, 15, 30 at full resolution (clearly: quality <= 10)
 *   glare    two specular highlights (additive, in linear light, Gaussian profile peaking at 2x white so that the core
 *            clips) on the forehead and on the nose or a cheek, of sigma 0.05, 0.1, 0.15 eye distances (clearly:
 *            >= 0.1, a clipped disc about as wide as the nose on each)
 *   small    downscaled so that the eye centres are 30, 45, 55 px apart (clearly: all, they are below the 60 px
 *            threshold) or 75, 90 px (should pass); only sources with at least 1.15x that distance
 *   shade    directional lighting: one side of the face darkened by 1, 2, 3 stops (linear light, a smooth ramp
 *            across the nose), on the side that was already the darker one so that the step adds to the photo's own
 *            imbalance (clearly: >= 2 stops)
 *   shut     both eyes closed by a vertical warp that removes the opening between the lids (each lid stretched to
 *            meet the other at the eye's centre line, blended out over the eye's width; clearly: yes)
 *   eyes     real photos with eyes closed: copied as they are
 * Outputs other than jpeg are JPEG quality 95 (4:4:4).
 *
 * Output (default .eval/synth-quality/, git-ignored; some sources are research-licensed, so nothing is written
 * elsewhere inside the repository): the images and MANIFEST.tsv with one row per image: file, kind, strength,
 * clearly_degraded, expected_reason, source_file, group, split, source_ied (eye distance of the source, original
 * pixels), notes. Rows of kind "clear" point at the untouched source photos (absolute paths). Images already there
 * are kept (--force starts afresh); with --kinds the manifest lists only those kinds.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import {
  analyzeFaces,
  createFaceEngine,
  type DetectedFace,
  decodeImage,
  type Point2,
} from '../packages/face-engine/src/index.js';
import { mulberry32 } from './lib/stats.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const fixturesRoot =
  [resolve(repoRoot, '../shared/fixtures'), '/work/shared/fixtures'].find((p) => existsSync(p)) ??
  '/work/shared/fixtures';
const IMAGE_RE = /\.(jpe?g|png|webp)$/i;
const ANALYSIS_SIDE = 640;
const OUT_QUALITY = 95;

export const KINDS = ['gauss', 'motion', 'exposure', 'jpeg', 'glare', 'small', 'shade', 'shut', 'eyes'] as const;
export type Kind = (typeof KINDS)[number];

/** Real photos with eyes closed, checked by eye (none is labelled so in the manifests): vladmandic/human's stock
 * model squeezing both eyes shut (stock-emotions-b-1, b-4) and winking (b-8, one eye closed). */
const EYES_CLOSED = [/stock-emotions-b-1\.jpg$/, /stock-emotions-b-4\.jpg$/, /stock-emotions-b-8\.jpg$/];

interface Source {
  file: string;
  rel: string;
  group: string;
  split: 'dev' | 'test';
}

export interface ManifestRow {
  file: string;
  kind: 'clear' | Kind;
  strength: string;
  clearly_degraded: 'yes' | 'no' | '';
  expected_reason: string;
  source_file: string;
  group: string;
  split: string;
  source_ied: string;
  notes: string;
}
export const MANIFEST_COLUMNS: (keyof ManifestRow)[] = [
  'file',
  'kind',
  'strength',
  'clearly_degraded',
  'expected_reason',
  'source_file',
  'group',
  'split',
  'source_ied',
  'notes',
];

function readTsv(path: string): Record<string, string>[] {
  const lines = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split('\t');
  return lines.slice(1).map((line) => {
    const cells = line.split('\t');
    return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? '']));
  });
}

const hashOf = (s: string) => createHash('sha256').update(s).digest();
const splitOf = (group: string): 'dev' | 'test' => (((hashOf(group)[0] as number) & 1) === 0 ? 'dev' : 'test');
const relName = (file: string) => {
  const r = relative(fixturesRoot, file);
  return !r.startsWith('..') && !isAbsolute(r) ? r : relative(process.cwd(), file);
};

/** The clear single-face source photos, deduplicated by content, with their subject group and split. */
export function qualitySources(): Source[] {
  const identityOf = new Map<string, string>();
  const idDir = join(fixturesRoot, 'identities');
  const idRows = readTsv(join(idDir, 'MANIFEST.tsv'));
  for (const r of idRows) {
    const f = join(idDir, r.file ?? '');
    if (existsSync(f)) identityOf.set(hashOf(readFileSync(f).toString('base64')).toString('hex'), r.identity ?? '');
  }
  const no = (r: Record<string, string>) => (r.expected_obstruction ?? '').trim().toLowerCase() === 'no';
  const files: string[] = [];
  const facesDir = join(fixturesRoot, 'faces');
  for (const r of readTsv(join(facesDir, 'MANIFEST.tsv'))) {
    if (r.category === 'A-single' && no(r)) files.push(join(facesDir, r.file ?? ''));
  }
  const moreDir = join(fixturesRoot, 'more-2026-12');
  for (const r of readTsv(join(moreDir, 'MANIFEST.tsv'))) {
    if ((r.category === 'clear' || r.category === 'genuine') && no(r)) files.push(join(moreDir, r.file ?? ''));
  }
  for (const r of idRows) files.push(join(idDir, r.file ?? ''));
  const maskDir = join(fixturesRoot, 'masks', 'without_mask');
  files.push(
    ...readdirSync(maskDir)
      .filter((f) => /^\d+\.(jpe?g|png)$/i.test(f))
      .sort()
      .slice(0, 60)
      .map((f) => join(maskDir, f)),
  );
  const seen = new Set<string>();
  const out: Source[] = [];
  for (const file of files) {
    if (!IMAGE_RE.test(file) || !existsSync(file)) continue;
    const h = hashOf(readFileSync(file).toString('base64')).toString('hex');
    if (seen.has(h)) continue;
    seen.add(h);
    const rel = relName(file);
    const identity = identityOf.get(h);
    const group = identity ? `identity:${identity}` : `file:${rel}`;
    out.push({ file, rel, group, split: splitOf(group) });
  }
  return out;
}

// ---------------------------------------------------------------- pixel operations (upright RGB originals)

interface Raw {
  data: Buffer;
  width: number;
  height: number;
}

async function loadUpright(file: string): Promise<Raw> {
  const { data, info } = await sharp(file)
    .rotate()
    .toColourspace('srgb')
    .flatten({ background: '#ffffff' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

const rawInput = (r: Raw) => ({ raw: { width: r.width, height: r.height, channels: 3 as const } });
const jpeg = (r: Raw, quality = OUT_QUALITY) =>
  sharp(r.data, rawInput(r))
    .jpeg({ quality, chromaSubsampling: quality >= 90 ? '4:4:4' : '4:2:0' })
    .toBuffer();

const TO_LIN = Float64Array.from({ length: 256 }, (_, v) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});
/** Linear light (0..1, in 1/65535 steps) to 8-bit sRGB. */
const ENCODE = Uint8Array.from({ length: 65536 }, (_, i) => {
  const c = i / 65535;
  const e = c <= 0.0031308 ? c * 12.92 : 1.055 * c ** (1 / 2.4) - 0.055;
  return Math.round(e * 255);
});
const toSrgb = (l: number) => ENCODE[Math.round(Math.max(0, Math.min(1, l)) * 65535)] as number;

/** Each pixel's linear light multiplied by gain(x, y) (same for the three channels), clipped. */
function mapLinear(r: Raw, gain: (x: number, y: number) => number): Raw {
  const out = Buffer.alloc(r.data.length);
  for (let y = 0; y < r.height; y++) {
    for (let x = 0; x < r.width; x++) {
      const g = gain(x, y);
      const o = (y * r.width + x) * 3;
      for (let c = 0; c < 3; c++) out[o + c] = toSrgb((TO_LIN[r.data[o + c] as number] as number) * g);
    }
  }
  return { ...r, data: out };
}

function exposure(r: Raw, stops: number): Raw {
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = toSrgb((TO_LIN[v] as number) * 2 ** stops);
  const out = Buffer.alloc(r.data.length);
  for (let i = 0; i < r.data.length; i++) out[i] = lut[r.data[i] as number] as number;
  return { ...r, data: out };
}

async function gaussBlur(r: Raw, sigma: number): Promise<Raw> {
  const { data } = await sharp(r.data, rawInput(r)).blur(sigma).raw().toBuffer({ resolveWithObject: true });
  return { ...r, data };
}

/** Motion blur: rotate so that the motion is horizontal, average `length` pixels along rows, rotate back, crop. */
async function motionBlur(r: Raw, length: number, angleDeg: number): Promise<Raw> {
  const n = Math.max(3, Math.round(length) | 1);
  const rot = await sharp(r.data, rawInput(r))
    .rotate(angleDeg, { background: '#808080' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const blurred = await sharp(rot.data, { raw: { width: rot.info.width, height: rot.info.height, channels: 3 } })
    // (sharp wants kernels at least 3 high: the line sits in the middle row)
    .convolve({
      width: n,
      height: 3,
      kernel: [...new Array(n).fill(0), ...new Array(n).fill(1), ...new Array(n).fill(0)],
    })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const back = await sharp(blurred.data, {
    raw: { width: blurred.info.width, height: blurred.info.height, channels: 3 },
  })
    .rotate(-angleDeg, { background: '#808080' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const left = Math.round((back.info.width - r.width) / 2);
  const top = Math.round((back.info.height - r.height) / 2);
  const { data } = await sharp(back.data, { raw: { width: back.info.width, height: back.info.height, channels: 3 } })
    .extract({ left, top, width: r.width, height: r.height })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { ...r, data };
}

/** Additive specular blobs (linear light, Gaussian profile, the same on the three channels). */
function glare(r: Raw, blobs: { c: Point2; sigma: number; peak: number }[]): Raw {
  const out = Buffer.from(r.data);
  for (const b of blobs) {
    const rad = Math.ceil(3 * b.sigma);
    for (let y = Math.max(0, Math.floor(b.c[1] - rad)); y <= Math.min(r.height - 1, Math.ceil(b.c[1] + rad)); y++) {
      for (let x = Math.max(0, Math.floor(b.c[0] - rad)); x <= Math.min(r.width - 1, Math.ceil(b.c[0] + rad)); x++) {
        const add = b.peak * Math.exp(-((x - b.c[0]) ** 2 + (y - b.c[1]) ** 2) / (2 * b.sigma * b.sigma));
        if (add < 1e-3) continue;
        const o = (y * r.width + x) * 3;
        for (let c = 0; c < 3; c++) out[o + c] = toSrgb((TO_LIN[out[o + c] as number] as number) + add);
      }
    }
  }
  return { ...r, data: out };
}

// ---------------------------------------------------------------- face geometry (original-image pixels)

interface Geometry {
  /** eye centres (mean of the eyelid contours), original pixels */
  right: Point2;
  left: Point2;
  /** the 16-point eyelid contours, original pixels */
  rightEye: Point2[];
  leftEye: Point2[];
  ied: number;
  forehead: Point2;
  noseTip: Point2;
  rightCheek: Point2;
  leftCheek: Point2;
}

function geometry(face: DetectedFace, scale: number): Geometry | null {
  const lm = face.landmarks;
  if (!lm || face.poseFrom !== 'landmarks') return null;
  const up = (p: Point2): Point2 => [p[0] / scale, p[1] / scale];
  const centre = (pts: Point2[]): Point2 => {
    let x = 0;
    let y = 0;
    for (const p of pts) {
      x += p[0];
      y += p[1];
    }
    return up([x / pts.length, y / pts.length]);
  };
  const right = centre(lm.rightEye);
  const left = centre(lm.leftEye);
  const mid = (a: Point2, b: Point2): Point2 => up([(a[0] + b[0]) / 2, (a[1] + b[1]) / 2]);
  const p = lm.points;
  return {
    right,
    left,
    rightEye: lm.rightEye.map(up),
    leftEye: lm.leftEye.map(up),
    ied: Math.hypot(left[0] - right[0], left[1] - right[1]),
    forehead: mid(p.forehead, p.glabella),
    noseTip: up(p.noseTip),
    rightCheek: mid(p.rightUpperCheek, p.rightLowerCheek),
    leftCheek: mid(p.leftUpperCheek, p.leftLowerCheek),
  };
}

/** Median linear luminance around a point (half-size h, original pixels). */
function medianLinear(r: Raw, c: Point2, h: number): number {
  const vals: number[] = [];
  const step = Math.max(1, Math.floor(h / 10));
  for (let y = Math.round(c[1] - h); y <= Math.round(c[1] + h); y += step) {
    for (let x = Math.round(c[0] - h); x <= Math.round(c[0] + h); x += step) {
      if (x < 0 || y < 0 || x >= r.width || y >= r.height) continue;
      const o = (y * r.width + x) * 3;
      vals.push(
        0.2126 * (TO_LIN[r.data[o] as number] as number) +
          0.7152 * (TO_LIN[r.data[o + 1] as number] as number) +
          0.0722 * (TO_LIN[r.data[o + 2] as number] as number),
      );
    }
  }
  vals.sort((a, b) => a - b);
  return vals[Math.floor(vals.length / 2)] ?? 0;
}

/**
 * Closes an eye: inside a window around it (1.3 times its half-width across, three half-openings up and down), output
 * row t (from the eye's centre line) samples source row open + (H - open) |t| / H on the same side, so that the lids
 * meet on the centre line and the opening between them (iris, sclera) disappears; the warp fades out towards the
 * eye corners. Rows are interpolated linearly.
 */
function shutEye(r: Raw, eye: Point2[]) {
  const src = Buffer.from(r.data);
  const xs = eye.map((p) => p[0]);
  const ys = eye.map((p) => p[1]);
  const cx = (Math.min(...xs) + Math.max(...xs)) / 2;
  const cy = (Math.min(...ys) + Math.max(...ys)) / 2;
  const half = ((Math.max(...xs) - Math.min(...xs)) / 2) * 1.3;
  const open = Math.max(1, ((Math.max(...ys) - Math.min(...ys)) / 2) * 1.2);
  const H = open * 3;
  for (let x = Math.max(0, Math.floor(cx - half)); x <= Math.min(r.width - 1, Math.ceil(cx + half)); x++) {
    const k = Math.min(1, 2 * Math.max(0, 1 - Math.abs(x - cx) / half));
    for (let y = Math.max(0, Math.floor(cy - H)); y <= Math.min(r.height - 2, Math.ceil(cy + H)); y++) {
      const t = y - cy;
      const s = Math.sign(t || 1) * (open + ((H - open) * Math.abs(t)) / H);
      const sy = Math.max(0, Math.min(r.height - 2, cy + k * s + (1 - k) * t));
      const y0 = Math.floor(sy);
      const fy = sy - y0;
      for (let c = 0; c < 3; c++) {
        const a = src[(y0 * r.width + x) * 3 + c] as number;
        const b = src[((y0 + 1) * r.width + x) * 3 + c] as number;
        r.data[(y * r.width + x) * 3 + c] = Math.round(a * (1 - fy) + b * fy);
      }
    }
  }
}

// ---------------------------------------------------------------- the set

interface Variant {
  kind: Kind;
  strength: string;
  clearly: boolean;
  reason: string;
  notes?: string;
  make: () => Promise<Buffer>;
}

function variants(src: Source, raw: Raw, g: Geometry, scale: number, rng: () => number): Variant[] {
  const px = (v: number) => v / scale; // analysis pixels -> original pixels
  const out: Variant[] = [];
  for (const s of [1, 2, 3, 4, 6]) {
    out.push({
      kind: 'gauss',
      strength: `sigma${s}`,
      clearly: s >= 3,
      reason: 'BLURRY',
      make: async () => jpeg(await gaussBlur(raw, px(s))),
    });
  }
  for (const len of [6, 11, 16]) {
    const angle = Math.round(rng() * 180);
    out.push({
      kind: 'motion',
      strength: `len${len}`,
      clearly: len >= 11,
      reason: 'BLURRY',
      notes: `angle ${angle} deg`,
      make: async () => jpeg(await motionBlur(raw, px(len), angle)),
    });
  }
  for (const ev of [-2, -1.5, -1, 1, 1.5, 2]) {
    out.push({
      kind: 'exposure',
      strength: `${ev > 0 ? '+' : ''}${ev}ev`,
      clearly: Math.abs(ev) >= 1.5,
      reason: ev < 0 ? 'UNDEREXPOSED' : 'OVEREXPOSED',
      make: async () => jpeg(exposure(raw, ev)),
    });
  }
  for (const q of [5, 10, 15, 30]) {
    out.push({
      kind: 'jpeg',
      strength: `q${q}`,
      clearly: q <= 10,
      reason: 'HEAVY_COMPRESSION',
      make: async () => jpeg(raw, q),
    });
  }
  const second = rng() < 0.5 ? g.noseTip : rng() < 0.5 ? g.rightCheek : g.leftCheek;
  for (const [i, s] of [0.05, 0.1, 0.15].entries()) {
    out.push({
      kind: 'glare',
      strength: `blob${i + 1}`,
      clearly: s >= 0.1,
      reason: 'GLARE_ON_FACE',
      notes: `two blobs of sigma ${s} eye distances`,
      make: async () =>
        jpeg(
          glare(raw, [
            { c: g.forehead, sigma: s * g.ied, peak: 2 },
            { c: second, sigma: s * g.ied, peak: 2 },
          ]),
        ),
    });
  }
  for (const target of [30, 45, 55, 75, 90]) {
    if (g.ied < 1.15 * target) continue;
    const k = target / g.ied;
    out.push({
      kind: 'small',
      strength: `ied${target}`,
      clearly: target < 60,
      reason: target < 60 ? 'LOW_RESOLUTION' : '',
      notes: target < 60 ? '' : 'above the threshold: should pass',
      make: async () => {
        const w = Math.max(1, Math.round(raw.width * k));
        const h = Math.max(1, Math.round(raw.height * k));
        return sharp(raw.data, rawInput(raw))
          .resize(w, h, { fit: 'fill', kernel: 'lanczos3' })
          .jpeg({ quality: OUT_QUALITY, chromaSubsampling: '4:4:4' })
          .toBuffer();
      },
    });
  }
  // darken the side that is already the darker one (in the image: the subject's right cheek is on the image left)
  const half = 0.16 * g.ied;
  const darkerIsRight = medianLinear(raw, g.rightCheek, half) <= medianLinear(raw, g.leftCheek, half);
  const cx = (g.right[0] + g.left[0]) / 2;
  const cy = (g.right[1] + g.left[1]) / 2;
  const ux = (g.left[0] - g.right[0]) / g.ied;
  const uy = (g.left[1] - g.right[1]) / g.ied;
  for (const stops of [1, 2, 3]) {
    out.push({
      kind: 'shade',
      strength: `${stops}stop`,
      clearly: stops >= 2,
      reason: 'UNEVEN_LIGHTING',
      notes: `subject's ${darkerIsRight ? 'right' : 'left'} side darkened`,
      make: async () =>
        jpeg(
          mapLinear(raw, (x, y) => {
            // position along the eye line in eye distances; smooth 0..1 ramp over -0.3..+0.3 across the nose
            const a = ((x - cx) * ux + (y - cy) * uy) / g.ied;
            const t = Math.max(0, Math.min(1, (a + 0.3) / 0.6));
            const s = t * t * (3 - 2 * t);
            const shade = darkerIsRight ? 1 - s : s;
            return 2 ** (-stops * shade);
          }),
        ),
    });
  }
  out.push({
    kind: 'shut',
    strength: 'warp',
    clearly: true,
    reason: 'EYES_CLOSED',
    notes: 'both eyes closed by a vertical warp',
    make: async () => {
      const shut = { ...raw, data: Buffer.from(raw.data) };
      shutEye(shut, g.rightEye);
      shutEye(shut, g.leftEye);
      return jpeg(shut);
    },
  });
  if (EYES_CLOSED.some((re) => re.test(src.file))) {
    out.push({
      kind: 'eyes',
      strength: 'real',
      clearly: true,
      reason: 'EYES_CLOSED',
      notes: 'real photo, copied unchanged',
      make: async () => readFileSync(src.file),
    });
  }
  return out;
}

function parseArgs(argv: string[]) {
  const opts = {
    out: join(repoRoot, '.eval', 'synth-quality'),
    seed: 1,
    limit: Number.POSITIVE_INFINITY,
    kinds: [...KINDS] as Kind[],
    force: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--out') opts.out = resolve(value());
    else if (a === '--seed') opts.seed = Number(value());
    else if (a === '--limit') opts.limit = Number(value());
    else if (a === '--force') opts.force = true;
    else if (a === '--kinds') {
      const ks = value().split(',');
      for (const k of ks) if (!(KINDS as readonly string[]).includes(k)) throw new Error(`unknown kind ${k}`);
      opts.kinds = ks as Kind[];
    } else if (a === '--help' || a === '-h') {
      console.log(
        'usage: pnpm exec tsx scripts/synth-quality.ts [--out DIR] [--seed S] [--limit N] [--kinds a,b] [--force]',
      );
      process.exit(0);
    } else if (a !== '--') throw new Error(`unknown argument ${a}`);
  }
  const inRepo = relative(repoRoot, opts.out);
  if (!inRepo.startsWith('..') && !isAbsolute(inRepo) && !inRepo.startsWith('.eval')) {
    throw new Error('--out inside the repository must be under .eval/ (some sources are research-licensed)');
  }
  return opts;
}

const safeName = (rel: string) => rel.replace(/[/\\]/g, '__').replace(/\.[^.]+$/, '');

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const sources = qualitySources().slice(0, opts.limit);
  if (existsSync(opts.out) && opts.force) rmSync(opts.out, { recursive: true, force: true });
  mkdirSync(opts.out, { recursive: true });
  const engine = await createFaceEngine({ models: ['detector', 'landmarks'] });
  const rows: ManifestRow[] = [];
  let skipped = 0;
  let written = 0;
  const t0 = performance.now();
  try {
    for (const [n, src] of sources.entries()) {
      const image = await decodeImage(readFileSync(src.file));
      const { faces } = await analyzeFaces(engine, image);
      const face = faces.length === 1 ? faces[0] : undefined;
      const g = face ? geometry(face, image.scale) : null;
      if (!g) {
        skipped++;
        continue;
      }
      const base = {
        source_file: src.rel,
        group: src.group,
        split: src.split,
        source_ied: String(Math.round(g.ied)),
      };
      rows.push({
        file: src.file,
        kind: 'clear',
        strength: '',
        clearly_degraded: '',
        expected_reason: '',
        notes: 'untouched source photo',
        ...base,
      });
      const raw = await loadUpright(src.file);
      // the engine's analysis scale of the upright original
      const scale = Math.min(1, ANALYSIS_SIDE / Math.max(raw.width, raw.height));
      const rng = mulberry32((opts.seed * 1_000_003) ^ hashOf(src.rel).readUInt32LE(0));
      for (const v of variants(src, raw, g, scale, rng)) {
        if (!opts.kinds.includes(v.kind)) continue;
        const name = `${v.kind}/${safeName(src.rel)}__${v.strength}.jpg`;
        const path = join(opts.out, name);
        if (!existsSync(path)) {
          mkdirSync(dirname(path), { recursive: true });
          writeFileSync(path, await v.make());
          written++;
        }
        rows.push({
          file: name,
          kind: v.kind,
          strength: v.strength,
          clearly_degraded: v.clearly ? 'yes' : 'no',
          expected_reason: v.reason,
          notes: v.notes ?? '',
          ...base,
        });
      }
      if ((n + 1) % 20 === 0) {
        process.stderr.write(
          `  ${n + 1}/${sources.length} sources, ${Math.round((performance.now() - t0) / 1000)} s\n`,
        );
      }
    }
  } finally {
    await engine.dispose();
  }
  const tsv = [MANIFEST_COLUMNS.join('\t'), ...rows.map((r) => MANIFEST_COLUMNS.map((c) => r[c]).join('\t'))];
  writeFileSync(join(opts.out, 'MANIFEST.tsv'), `${tsv.join('\n')}\n`);
  const perKind = new Map<string, number>();
  for (const r of rows) perKind.set(r.kind, (perKind.get(r.kind) ?? 0) + 1);
  console.log(
    `${sources.length} sources (${skipped} skipped: not exactly one fitted face); ${rows.length} rows, ${written} images written to ${relative(process.cwd(), opts.out) || '.'}`,
  );
  console.log([...perKind].map(([k, v]) => `${k} ${v}`).join(', '));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
