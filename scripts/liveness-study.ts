/**
 * Liveness evidence study: candidate presentation-attack signals beside MiniFASNet, and whether a small fusion of
 * them generalises to photo sources it was not fitted on.
 *
 *   pnpm exec tsx scripts/liveness-study.ts [--analyse-only] [--extras] [--in FILE] [--out FILE]
 *
 * 1. Signals (skipped with --analyse-only): every photo with an `expected_genuine` label in the fixture folders
 *    (faces/, spoofs-research/, more-2026-12/) on which analyzeFaces finds exactly one face gets one number per
 *    candidate signal, and the milliseconds each signal group cost; written to .eval/liveness-signals.json.
 *    --extras also scores presumed-genuine, unlabelled photos (masks/without_mask, identities/) that are never
 *    trained on and only give a second held-out BPCER.
 * 2. Analysis: each signal alone (pooled AUC, AUC over attack/genuine pairs of the same source), then logistic
 *    fusions scored with leave-one-source-out cross-validation (every photo of a source_repo held out together),
 *    against MiniFASNet alone evaluated the same way. Feature selection is repeated inside every outer fold
 *    (nested), so the held-out figure covers "choose the signals and fit them", not only "fit them".
 *
 * Research-only photos are read in place; nothing is copied. Output: .eval/liveness-signals.json and
 * .eval/liveness-study.txt.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { getInternals } from '../packages/face-engine/src/engine.js';
import {
  analyzeFaces,
  type Box,
  createFaceEngine,
  type DecodedImage,
  decodeImage,
} from '../packages/face-engine/src/index.js';
import { miniFasNetReal } from '../packages/face-engine/src/liveness.js';
import { cropFit } from '../packages/face-engine/src/liveness-cues.js';
import { type LinearProbe, predict, trainLogReg } from './lib/logreg.js';
import { apcerAtBpcer, bootstrap, equalErrorRate, errorRatesAt, median, wilson } from './lib/stats.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = [join(repoRoot, '..', 'shared', 'fixtures'), '/work/shared/fixtures'].find((p) => existsSync(p));
const LABELLED = ['faces', 'spoofs-research', 'more-2026-12'];

// =====================================================================================================================
// Signals (pure functions over the decoded RGB image and the face box)
// =====================================================================================================================

const lumaAt = (d: Uint8Array, i: number) =>
  0.299 * (d[i] as number) + 0.587 * (d[i + 1] as number) + 0.114 * (d[i + 2] as number);

/** Integer rectangle [x0, x1) x [y0, y1) clipped to the image. */
function clipRect(img: DecodedImage, x0: number, y0: number, x1: number, y1: number) {
  return {
    x0: Math.max(0, Math.floor(x0)),
    y0: Math.max(0, Math.floor(y0)),
    x1: Math.min(img.width, Math.ceil(x1)),
    y1: Math.min(img.height, Math.ceil(y1)),
  };
}

/** Box scaled by s around its centre (not clipped). */
function scaled(b: Box, sx: number, sy = sx): Box {
  const cx = b.x + b.width / 2;
  const cy = b.y + b.height / 2;
  return { x: cx - (b.width * sx) / 2, y: cy - (b.height * sy) / 2, width: b.width * sx, height: b.height * sy };
}

// ---- straight edges in the ring around the face ------------------------------------------------------------------

export interface LineEvidence {
  /** longest straight edge run in the ring (1.2x..3x the face box), in face widths */
  lineMax: number;
  /** the longer of the two shorter sides of the best perpendicular pair (a frame corner), in face widths */
  linePerp: number;
  /** straight edges at least 0.75 face widths long */
  lineCount: number;
  /** fraction of the 3x ring that lies inside the image */
  ringInside: number;
}

const RING_INNER = 1.2;
const RING_OUTER = 3.0;
/** The face box width maps to this many pixels in the analysis grid (larger faces are averaged down). */
const LINE_FACE_PX = 48;
const THETA_BINS = 90; // 2 degrees

/**
 * Long straight edges (paper or screen borders, device bezels) around the face: the 3x face region is averaged
 * down so that the face is ~48 px wide, Sobel gradients are thinned by non-maximum suppression, edge pixels in the
 * ring between 1.2x and 3x the face box vote in an orientation-guided Hough accumulator, and every strong line is
 * walked to find its longest contiguous run (gaps up to 2 px).
 */
export function lineEvidence(img: DecodedImage, box: Box, debug?: { segments: number[][] }): LineEvidence {
  const outer = scaled(box, RING_OUTER);
  const r = clipRect(img, outer.x, outer.y, outer.x + outer.width, outer.y + outer.height);
  const ringInside = ((r.x1 - r.x0) * (r.y1 - r.y0)) / Math.max(1, outer.width * outer.height);
  const k = Math.min(1, LINE_FACE_PX / Math.max(1, box.width));
  const W = Math.max(3, Math.floor((r.x1 - r.x0) * k));
  const H = Math.max(3, Math.floor((r.y1 - r.y0) * k));
  // area average into W x H
  const sum = new Float32Array(W * H);
  const cnt = new Float32Array(W * H);
  const d = img.data;
  const fx = W / (r.x1 - r.x0);
  const fy = H / (r.y1 - r.y0);
  for (let y = r.y0; y < r.y1; y++) {
    const oy = Math.min(H - 1, Math.floor((y - r.y0) * fy));
    for (let x = r.x0; x < r.x1; x++) {
      const ox = Math.min(W - 1, Math.floor((x - r.x0) * fx));
      const o = oy * W + ox;
      sum[o] = (sum[o] as number) + lumaAt(d, (y * img.width + x) * 3);
      cnt[o] = (cnt[o] as number) + 1;
    }
  }
  const L = new Float32Array(W * H);
  for (let i = 0; i < L.length; i++) L[i] = (sum[i] as number) / Math.max(1, cnt[i] as number);
  // face box in grid coordinates; ring mask
  const gx0 = (box.x - r.x0) * fx;
  const gy0 = (box.y - r.y0) * fy;
  const fw = box.width * fx;
  const fh = box.height * fy;
  const cx = gx0 + fw / 2;
  const cy = gy0 + fh / 2;
  const inRing = (x: number, y: number) =>
    Math.abs(x - cx) > (RING_INNER * fw) / 2 || Math.abs(y - cy) > (RING_INNER * fh) / 2;
  // Sobel (interior only: the clipped region's own border makes no edge)
  const mag = new Float32Array(W * H);
  const ang = new Float32Array(W * H);
  for (let y = 1; y < H - 1; y++) {
    for (let x = 1; x < W - 1; x++) {
      const i = y * W + x;
      const a = L[i - W - 1] as number;
      const b = L[i - W] as number;
      const c = L[i - W + 1] as number;
      const dd = L[i - 1] as number;
      const f = L[i + 1] as number;
      const g = L[i + W - 1] as number;
      const h = L[i + W] as number;
      const ii = L[i + W + 1] as number;
      const gx = c + 2 * f + ii - a - 2 * dd - g;
      const gy = g + 2 * h + ii - a - 2 * b - c;
      mag[i] = Math.hypot(gx, gy);
      ang[i] = Math.atan2(gy, gx);
    }
  }
  const ringMags: number[] = [];
  for (let y = 1; y < H - 1; y++)
    for (let x = 1; x < W - 1; x++) if (inRing(x, y)) ringMags.push(mag[y * W + x] as number);
  if (ringMags.length < 20) return { lineMax: 0, linePerp: 0, lineCount: 0, ringInside };
  ringMags.sort((p, q) => p - q);
  const T = Math.max(40, ringMags[Math.floor(ringMags.length * 0.85)] as number);
  // thinned edge map: local maximum along the gradient direction
  const edge = new Uint8Array(W * H);
  const theta = new Float32Array(W * H); // normal direction folded to [0, pi)
  for (let y = 1; y < H - 1; y++) {
    for (let x = 1; x < W - 1; x++) {
      const i = y * W + x;
      const m = mag[i] as number;
      if (m < T || !inRing(x, y)) continue;
      const a = ang[i] as number;
      const dx = Math.round(Math.cos(a));
      const dy = Math.round(Math.sin(a));
      if (m < (mag[i + dy * W + dx] as number) || m < (mag[i - dy * W - dx] as number)) continue;
      edge[i] = 1;
      let t = a < 0 ? a + Math.PI : a;
      if (t >= Math.PI) t -= Math.PI;
      theta[i] = t;
    }
  }
  // Hough: each edge pixel votes for its own orientation +-1 bin
  const rhoMax = Math.ceil(Math.hypot(W, H));
  const R = 2 * rhoMax + 1;
  const acc = new Float32Array(THETA_BINS * R);
  const cosT = new Float32Array(THETA_BINS);
  const sinT = new Float32Array(THETA_BINS);
  for (let t = 0; t < THETA_BINS; t++) {
    cosT[t] = Math.cos((t * Math.PI) / THETA_BINS);
    sinT[t] = Math.sin((t * Math.PI) / THETA_BINS);
  }
  for (let y = 1; y < H - 1; y++) {
    for (let x = 1; x < W - 1; x++) {
      const i = y * W + x;
      if (!edge[i]) continue;
      const tb = Math.round(((theta[i] as number) / Math.PI) * THETA_BINS);
      for (let dt = -1; dt <= 1; dt++) {
        const t = (((tb + dt) % THETA_BINS) + THETA_BINS) % THETA_BINS;
        const rho = Math.round(x * (cosT[t] as number) + y * (sinT[t] as number)) + rhoMax;
        acc[t * R + rho] = (acc[t * R + rho] as number) + 1;
      }
    }
  }
  // peaks with non-maximum suppression in (theta, rho)
  const minVotes = Math.max(6, 0.4 * fw);
  const cand: { t: number; rho: number; v: number }[] = [];
  for (let t = 0; t < THETA_BINS; t++) {
    for (let p = 0; p < R; p++) {
      const v = acc[t * R + p] as number;
      if (v >= minVotes) cand.push({ t, rho: p - rhoMax, v });
    }
  }
  cand.sort((p, q) => q.v - p.v);
  const peaks: { t: number; rho: number }[] = [];
  for (const c of cand) {
    if (peaks.length >= 12) break;
    const near = peaks.some((p) => {
      const dt = Math.min(Math.abs(p.t - c.t), THETA_BINS - Math.abs(p.t - c.t));
      return dt <= 3 && Math.abs(p.rho - c.rho) <= 3;
    });
    if (!near) peaks.push(c);
  }
  // longest contiguous run along each peak line
  const runs: { t: number; run: number }[] = [];
  const angTol = (10 * Math.PI) / 180;
  for (const p of peaks) {
    const ct = cosT[p.t] as number;
    const st = sinT[p.t] as number;
    const th = (p.t * Math.PI) / THETA_BINS;
    let best = 0;
    let cur = 0;
    let gap = 0;
    let started = false;
    let runStart = 0;
    let bestSeg = [0, 0];
    const tMax = rhoMax;
    for (let s = -tMax; s <= tMax; s++) {
      const px = p.rho * ct - s * st;
      const py = p.rho * st + s * ct;
      let hit = false;
      if (px >= 0 && py >= 0 && px < W && py < H) {
        for (let o = -1; o <= 1 && !hit; o++) {
          const qx = Math.round(px + o * ct);
          const qy = Math.round(py + o * st);
          if (qx < 0 || qy < 0 || qx >= W || qy >= H) continue;
          const qi = qy * W + qx;
          if (!edge[qi]) continue;
          let da = Math.abs((theta[qi] as number) - th);
          da = Math.min(da, Math.PI - da);
          if (da <= angTol) hit = true;
        }
      }
      if (hit) {
        if (!started) runStart = s;
        cur += gap + 1;
        gap = 0;
        started = true;
        if (cur > best) {
          best = cur;
          bestSeg = [runStart, s];
        }
      } else if (started) {
        gap++;
        if (gap > 2) {
          cur = 0;
          gap = 0;
          started = false;
        }
      }
    }
    runs.push({ t: p.t, run: best / fw });
    if (debug && best > 0) {
      const end = (q: number) => [r.x0 + (p.rho * ct - q * st) / fx, r.y0 + (p.rho * st + q * ct) / fy];
      debug.segments.push([...end(bestSeg[0] as number), ...end(bestSeg[1] as number), best / fw]);
    }
  }
  let lineMax = 0;
  let linePerp = 0;
  let lineCount = 0;
  for (const a of runs) {
    lineMax = Math.max(lineMax, a.run);
    if (a.run >= 0.75) lineCount++;
    for (const b of runs) {
      const dt = Math.abs(a.t - b.t);
      const dd = Math.min(dt, THETA_BINS - dt);
      if (Math.abs(dd - THETA_BINS / 2) <= 7) linePerp = Math.max(linePerp, Math.min(a.run, b.run));
    }
  }
  return { lineMax, linePerp, lineCount, ringInside };
}

// ---- spectrum of the face skin -----------------------------------------------------------------------------------

/** In-place iterative radix-2 FFT of (re, im), length a power of two. */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const tr = re[i] as number;
      re[i] = re[j] as number;
      re[j] = tr;
      const ti = im[i] as number;
      im[i] = im[j] as number;
      im[j] = ti;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const a = (-2 * Math.PI) / len;
    const wr = Math.cos(a);
    const wi = Math.sin(a);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const p = i + k;
        const q = p + len / 2;
        const xr = (re[q] as number) * cr - (im[q] as number) * ci;
        const xi = (re[q] as number) * ci + (im[q] as number) * cr;
        re[q] = (re[p] as number) - xr;
        im[q] = (im[p] as number) - xi;
        re[p] = (re[p] as number) + xr;
        im[p] = (im[p] as number) + xi;
        const nr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = nr;
      }
    }
  }
}

/** Power spectrum (N x N, unshifted) of an N x N real patch. */
export function powerSpectrum2d(patch: Float64Array, n: number): Float64Array {
  const re = new Float64Array(patch);
  const im = new Float64Array(n * n);
  const rr = new Float64Array(n);
  const ri = new Float64Array(n);
  for (let y = 0; y < n; y++) {
    rr.set(re.subarray(y * n, y * n + n));
    ri.fill(0);
    fft(rr, ri);
    re.set(rr, y * n);
    im.set(ri, y * n);
  }
  for (let x = 0; x < n; x++) {
    for (let y = 0; y < n; y++) {
      rr[y] = re[y * n + x] as number;
      ri[y] = im[y * n + x] as number;
    }
    fft(rr, ri);
    for (let y = 0; y < n; y++) {
      re[y * n + x] = rr[y] as number;
      im[y * n + x] = ri[y] as number;
    }
  }
  const p = new Float64Array(n * n);
  for (let i = 0; i < p.length; i++) p[i] = (re[i] as number) ** 2 + (im[i] as number) ** 2;
  return p;
}

export interface SpectrumEvidence {
  /** log10 share of the (non-DC) power above 0.25 cycles/px */
  hfShare: number;
  /** log10 of the strongest mid/high-frequency bin over the median of its annulus (periodic peak, moire) */
  peakRatio: number;
  /** patch side used (px) */
  n: number;
}

/**
 * Frequency evidence of the face skin, at the analysis image's own resolution (no resampling, which would hide
 * moire): a square patch over the nose and cheeks (side 0.5x the face width, rounded down to a power of two,
 * 32..128), Hann-windowed, 2-D FFT. Bins on the JPEG 8x8 block grid (scaled by the decode's resize) are skipped
 * in the peak search.
 */
export function spectrumEvidence(img: DecodedImage, box: Box): SpectrumEvidence {
  const side = 0.5 * box.width;
  let n = 32;
  while (n * 2 <= Math.min(128, side)) n *= 2;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height * 0.55;
  let x0 = Math.round(cx - n / 2);
  let y0 = Math.round(cy - n / 2);
  x0 = Math.max(0, Math.min(img.width - n, x0));
  y0 = Math.max(0, Math.min(img.height - n, y0));
  if (img.width < n || img.height < n) return { hfShare: 0, peakRatio: 0, n: 0 };
  const patch = new Float64Array(n * n);
  let mean = 0;
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++) {
      const v = lumaAt(img.data, ((y0 + y) * img.width + x0 + x) * 3);
      patch[y * n + x] = v;
      mean += v;
    }
  mean /= n * n;
  const hann = new Float64Array(n);
  for (let i = 0; i < n; i++) hann[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / n);
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++)
      patch[y * n + x] = ((patch[y * n + x] as number) - mean) * (hann[x] as number) * (hann[y] as number);
  const P = powerSpectrum2d(patch, n);
  // JPEG block grid period in analysis pixels
  const period = 8 * img.scale;
  const onGrid = (u: number) => {
    const f = Math.abs(u) / n; // cycles/px
    const k = f * period;
    return Math.abs(k - Math.round(k)) * (n / period) < 1.01 && Math.round(k) > 0;
  };
  let total = 0;
  let hf = 0;
  const annuli = new Map<number, number[]>();
  const bins: { r: number; p: number }[] = [];
  for (let v = 0; v < n; v++) {
    const fv = v <= n / 2 ? v : v - n;
    for (let u = 0; u < n; u++) {
      const fu = u <= n / 2 ? u : u - n;
      const rad = Math.hypot(fu, fv) / n;
      if (rad < 0.03 || rad > 0.5) continue;
      const p = P[v * n + u] as number;
      total += p;
      if (rad >= 0.25) hf += p;
      if (rad >= 0.1) {
        const a = Math.round(rad * 40);
        const list = annuli.get(a) ?? [];
        list.push(p);
        annuli.set(a, list);
        if (!onGrid(fu) && !onGrid(fv) && fu !== 0 && fv !== 0) bins.push({ r: a, p });
      }
    }
  }
  const med = new Map<number, number>();
  for (const [a, list] of annuli) med.set(a, median(list));
  let peak = 0;
  for (const b of bins) peak = Math.max(peak, b.p / Math.max(1e-9, med.get(b.r) ?? 1));
  return {
    hfShare: Math.log10(Math.max(1e-9, hf / Math.max(1e-9, total))),
    peakRatio: Math.log10(Math.max(1, peak)),
    n,
  };
}

// ---- colour, highlights, sharpness ---------------------------------------------------------------------------------

interface RegionColour {
  n: number;
  satMean: number;
  satStd: number;
  chroma: number;
  specular: number;
  lumaLo: number;
  lumaHi: number;
  lap: number;
  colourfulness: number;
}

function regionColour(
  img: DecodedImage,
  rect: { x0: number; y0: number; x1: number; y1: number },
  skip?: (x: number, y: number) => boolean,
): RegionColour {
  const area = Math.max(1, (rect.x1 - rect.x0) * (rect.y1 - rect.y0));
  const step = Math.max(1, Math.floor(Math.sqrt(area / 6000)));
  const d = img.data;
  const W = img.width;
  let n = 0;
  let sS = 0;
  let sS2 = 0;
  let sCb = 0;
  let sCb2 = 0;
  let sCr = 0;
  let sCr2 = 0;
  let spec = 0;
  let lapSum = 0;
  let lapN = 0;
  let sRg = 0;
  let sRg2 = 0;
  let sYb = 0;
  let sYb2 = 0;
  const lumas: number[] = [];
  for (let y = rect.y0; y < rect.y1; y += step) {
    for (let x = rect.x0; x < rect.x1; x += step) {
      if (skip?.(x, y)) continue;
      const i = (y * W + x) * 3;
      const R = d[i] as number;
      const G = d[i + 1] as number;
      const B = d[i + 2] as number;
      const mx = Math.max(R, G, B);
      const mn = Math.min(R, G, B);
      const s = mx > 0 ? (mx - mn) / mx : 0;
      const Y = 0.299 * R + 0.587 * G + 0.114 * B;
      const cb = -0.1687 * R - 0.3313 * G + 0.5 * B;
      const cr = 0.5 * R - 0.4187 * G - 0.0813 * B;
      sS += s;
      sS2 += s * s;
      sCb += cb;
      sCb2 += cb * cb;
      sCr += cr;
      sCr2 += cr * cr;
      const rg = R - G;
      const yb = 0.5 * (R + G) - B;
      sRg += rg;
      sRg2 += rg * rg;
      sYb += yb;
      sYb2 += yb * yb;
      if (mx >= 245 && s <= 0.2) spec++;
      lumas.push(Y);
      if (x > 0 && y > 0 && x < img.width - 1 && y < img.height - 1) {
        const l = 4 * Y - lumaAt(d, i - 3) - lumaAt(d, i + 3) - lumaAt(d, i - 3 * W) - lumaAt(d, i + 3 * W);
        lapSum += Math.abs(l);
        lapN++;
      }
      n++;
    }
  }
  if (n === 0)
    return { n: 0, satMean: 0, satStd: 0, chroma: 0, specular: 0, lumaLo: 0, lumaHi: 0, lap: 0, colourfulness: 0 };
  lumas.sort((a, b) => a - b);
  const v = (s: number, s2: number) => Math.max(0, s2 / n - (s / n) ** 2);
  return {
    n,
    satMean: sS / n,
    satStd: Math.sqrt(v(sS, sS2)),
    chroma: Math.sqrt(v(sCb, sCb2) + v(sCr, sCr2)),
    specular: spec / n,
    lumaLo: lumas[Math.floor(0.02 * (n - 1))] as number,
    lumaHi: lumas[Math.floor(0.98 * (n - 1))] as number,
    lap: lapN ? lapSum / lapN : 0,
    colourfulness: Math.sqrt(v(sRg, sRg2) + v(sYb, sYb2)) + 0.3 * Math.hypot(sRg / n, sYb / n),
  };
}

export interface ColourEvidence {
  satMean: number;
  satStd: number;
  specular: number;
  /** log of face chroma spread over the ring's */
  gamutRatio: number;
  /** log of face Laplacian energy over the ring's */
  sharpRatio: number;
  /** face luma 2nd..98th percentile range */
  faceContrast: number;
  /** whole-image luma 2nd percentile (raised black level of a washed-out replay) */
  blackLevel: number;
  /** whole-image colourfulness (Hasler-Suesstrunk) */
  colourfulness: number;
}

export function colourEvidence(img: DecodedImage, box: Box): ColourEvidence {
  const f = scaled(box, 0.6, 0.7);
  f.y += box.height * 0.05;
  const face = regionColour(img, clipRect(img, f.x, f.y, f.x + f.width, f.y + f.height));
  const o = scaled(box, RING_OUTER);
  const inner = scaled(box, RING_INNER);
  const ring = regionColour(
    img,
    clipRect(img, o.x, o.y, o.x + o.width, o.y + o.height),
    (x, y) => x >= inner.x && x < inner.x + inner.width && y >= inner.y && y < inner.y + inner.height,
  );
  const whole = regionColour(img, { x0: 0, y0: 0, x1: img.width, y1: img.height });
  return {
    satMean: face.satMean,
    satStd: face.satStd,
    specular: face.specular,
    gamutRatio: ring.n > 50 ? Math.log((face.chroma + 1) / (ring.chroma + 1)) : 0,
    sharpRatio: ring.n > 50 ? Math.log((face.lap + 0.5) / (ring.lap + 0.5)) : 0,
    faceContrast: face.lumaHi - face.lumaLo,
    blackLevel: whole.lumaLo,
    colourfulness: whole.colourfulness,
  };
}

// =====================================================================================================================
// Photo list
// =====================================================================================================================

interface Item {
  file: string;
  rel: string;
  set: string;
  source: string;
  genuine: boolean | null;
  attackType: string | null;
  /** presumed genuine, unlabelled: held-out check only, never trained on */
  extra: boolean;
}

function readManifest(dir: string): Record<string, string>[] {
  const lines = readFileSync(join(dir, 'MANIFEST.tsv'), 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim());
  const header = (lines.shift() ?? '').split('\t').map((h) => h.trim());
  return lines.map((line) => {
    const cells = line.split('\t');
    return Object.fromEntries(header.map((h, i) => [h, (cells[i] ?? '').trim()]));
  });
}

function listItems(extras: boolean): Item[] {
  if (!FIXTURES) throw new Error('fixtures folder not found');
  const items: Item[] = [];
  for (const set of LABELLED) {
    const dir = join(FIXTURES, set);
    for (const row of readManifest(dir)) {
      const g = (row.expected_genuine ?? '').toLowerCase();
      if (g !== 'yes' && g !== 'no') continue;
      const at = (row.attack_type ?? '').toLowerCase();
      items.push({
        file: join(dir, row.file as string),
        rel: `${set}/${row.file}`,
        set,
        source: row.source_repo || set,
        genuine: g === 'yes',
        attackType: g === 'no' ? (at && at !== 'none' ? at : 'unknown') : null,
        extra: false,
      });
    }
  }
  if (extras) {
    const wm = join(FIXTURES, 'masks', 'without_mask');
    if (existsSync(wm))
      for (const f of readdirSync(wm).sort())
        items.push({
          file: join(wm, f),
          rel: `masks/without_mask/${f}`,
          set: 'masks',
          source: 'masks/without_mask',
          genuine: true,
          attackType: null,
          extra: true,
        });
    const idDir = join(FIXTURES, 'identities');
    if (existsSync(join(idDir, 'MANIFEST.tsv')))
      for (const row of readManifest(idDir))
        items.push({
          file: join(idDir, row.file as string),
          rel: `identities/${row.file}`,
          set: 'identities',
          source: `identities:${row.source_repo}`,
          genuine: true,
          attackType: null,
          extra: true,
        });
  }
  return items;
}

// =====================================================================================================================
// Signal extraction
// =====================================================================================================================

interface SignalRow {
  rel: string;
  set: string;
  source: string;
  genuine: boolean;
  attackType: string | null;
  extra: boolean;
  width: number;
  height: number;
  box: Box;
  signals: Record<string, number>;
  ms: Record<string, number>;
}

const FAS_SCALES = [1.5, 2.7, 4.0] as const;

async function extract(items: Item[]): Promise<{ rows: SignalRow[]; skipped: { rel: string; faces: number }[] }> {
  const engine = await createFaceEngine();
  const { models } = getInternals(engine);
  const rows: SignalRow[] = [];
  const skipped: { rel: string; faces: number }[] = [];
  try {
    for (const [idx, item] of items.entries()) {
      const image = await decodeImage(readFileSync(item.file));
      const faces = await analyzeFaces(engine, image);
      if (faces.faces.length !== 1) {
        skipped.push({ rel: item.rel, faces: faces.faces.length });
        continue;
      }
      const face = faces.faces[0];
      if (!face) continue;
      const box = face.boxPixels;
      const s: Record<string, number> = {};
      const ms: Record<string, number> = {};
      for (const [mname, model] of [
        ['V2', models.fasV2],
        ['V1SE', models.fasV1se],
      ] as const) {
        for (const sc of FAS_SCALES) {
          const t = performance.now();
          const r = await miniFasNetReal(image, box, model, sc);
          ms[`fas${mname}_${sc}`] = performance.now() - t;
          s[`fas${mname}_${sc}`] = r.real;
        }
      }
      s.fasShipped = ((s['fasV2_2.7'] as number) + (s.fasV1SE_4 as number)) / 2;
      let t = performance.now();
      const le = lineEvidence(image, box);
      ms.lines = performance.now() - t;
      Object.assign(s, le);
      t = performance.now();
      const sp = spectrumEvidence(image, box);
      ms.spectrum = performance.now() - t;
      s.hfShare = sp.hfShare;
      s.peakRatio = sp.peakRatio;
      s.spectrumN = sp.n;
      t = performance.now();
      Object.assign(s, colourEvidence(image, box));
      ms.colour = performance.now() - t;
      s.fit27 = cropFit(image.width, image.height, box, 2.7);
      s.fit40 = cropFit(image.width, image.height, box, 4.0);
      s.faceFrac = box.height / image.height;
      s.faceLog2Px = Math.log2(box.width / image.scale);
      rows.push({
        rel: item.rel,
        set: item.set,
        source: item.source,
        genuine: item.genuine === true,
        attackType: item.attackType,
        extra: item.extra,
        width: image.width,
        height: image.height,
        box,
        signals: s,
        ms,
      });
      if ((idx + 1) % 25 === 0) process.stderr.write(`  ${idx + 1}/${items.length}\n`);
    }
  } finally {
    await engine.dispose();
  }
  return { rows, skipped };
}

// =====================================================================================================================
// Analysis
// =====================================================================================================================

const logit = (p: number) => {
  const q = Math.min(1 - 1e-4, Math.max(1e-4, p));
  return Math.log(q / (1 - q));
};

/** Feature value used by the fusions (MiniFASNet probabilities as logits). */
function feature(row: SignalRow, name: string): number {
  const s = row.signals;
  switch (name) {
    case 'fasDisagree':
      return Math.abs(logit(s['fasV2_2.7'] as number) - logit(s.fasV1SE_4 as number));
    case 'fasMin':
      return Math.min(
        ...FAS_SCALES.flatMap((sc) => [logit(s[`fasV2_${sc}`] as number), logit(s[`fasV1SE_${sc}`] as number)]),
      );
    case 'fasMean6':
      return (
        FAS_SCALES.flatMap((sc) => [logit(s[`fasV2_${sc}`] as number), logit(s[`fasV1SE_${sc}`] as number)]).reduce(
          (a, b) => a + b,
          0,
        ) / 6
      );
    default: {
      const v = s[name];
      if (v === undefined) throw new Error(`no signal ${name}`);
      return name.startsWith('fas') ? logit(v) : v;
    }
  }
}

const BASE = 'fasShipped';
const CANDIDATES = [
  'fasV2_1.5',
  'fasV2_2.7',
  'fasV2_4',
  'fasV1SE_1.5',
  'fasV1SE_2.7',
  'fasV1SE_4',
  'fasDisagree',
  'fasMin',
  'fasMean6',
  'lineMax',
  'linePerp',
  'lineCount',
  'ringInside',
  'hfShare',
  'peakRatio',
  'satMean',
  'satStd',
  'specular',
  'gamutRatio',
  'sharpRatio',
  'faceContrast',
  'blackLevel',
  'colourfulness',
  'fit27',
  'fit40',
  'faceFrac',
  'faceLog2Px',
];

/** Mann-Whitney AUC: P(genuine score > attack score), ties 1/2. */
function auc(att: number[], gen: number[]): number {
  if (!att.length || !gen.length) return Number.NaN;
  let s = 0;
  for (const a of att) for (const g of gen) s += g > a ? 1 : g === a ? 0.5 : 0;
  return s / (att.length * gen.length);
}

/** AUC over attack/genuine pairs from the same source only (immune to between-source differences). */
function withinSourceAuc(rows: SignalRow[], score: number[]): { auc: number; pairs: number } {
  let s = 0;
  let n = 0;
  const bySrc = new Map<string, number[]>();
  rows.forEach((r, i) => {
    bySrc.set(r.source, [...(bySrc.get(r.source) ?? []), i]);
  });
  for (const idx of bySrc.values()) {
    const a = idx.filter((i) => !rows[i]?.genuine).map((i) => score[i] as number);
    const g = idx.filter((i) => rows[i]?.genuine).map((i) => score[i] as number);
    for (const x of a)
      for (const y of g) {
        s += y > x ? 1 : y === x ? 0.5 : 0;
        n++;
      }
  }
  return { auc: n ? s / n : Number.NaN, pairs: n };
}

const balancedWeights = (ys: number[]) => {
  const n1 = ys.filter((y) => y === 1).length;
  const n0 = ys.length - n1;
  return ys.map((y) => (y === 1 ? ys.length / (2 * Math.max(1, n1)) : ys.length / (2 * Math.max(1, n0))));
};

let L2 = 1;
function fitProbe(xs: number[][], ys: number[]): LinearProbe {
  return trainLogReg(xs, ys, { l2: L2, iterations: 300, weights: balancedWeights(ys) });
}

/** Crop recipes with no fitted parameter: mean "real" probability of some MiniFASNet runs (threshold 0.5). */
const NOFIT: Record<string, string[]> = {
  'shipped (V2@2.7 + V1SE@4.0)': ['fasV2_2.7', 'fasV1SE_4'],
  'V2@1.5': ['fasV2_1.5'],
  'V1SE@1.5': ['fasV1SE_1.5'],
  'V2@1.5 + V1SE@1.5': ['fasV2_1.5', 'fasV1SE_1.5'],
  'V2@1.5 + V2@2.7 + V1SE@4.0': ['fasV2_1.5', 'fasV2_2.7', 'fasV1SE_4'],
  'all 6 crops': ['fasV2_1.5', 'fasV2_2.7', 'fasV2_4', 'fasV1SE_1.5', 'fasV1SE_2.7', 'fasV1SE_4'],
};
const nofitScore = (r: SignalRow, keys: string[]) =>
  keys.reduce((a, k) => a + (r.signals[k] as number), 0) / keys.length;

/** Leave-one-source-out out-of-fold probabilities for a fixed feature list. */
function loso(rows: SignalRow[], feats: string[], groups = rows.map((r) => r.source)): number[] {
  const xs = rows.map((r) => feats.map((f) => feature(r, f)));
  const ys = rows.map((r) => (r.genuine ? 1 : 0));
  const out = new Array<number>(rows.length).fill(Number.NaN);
  for (const g of new Set(groups)) {
    const tr = rows.map((_, i) => i).filter((i) => groups[i] !== g);
    const probe = fitProbe(
      tr.map((i) => xs[i] as number[]),
      tr.map((i) => ys[i] as number),
    );
    rows.forEach((_, i) => {
      if (groups[i] === g) out[i] = predict(probe, xs[i] as number[]);
    });
  }
  return out;
}

const balancedLogLoss = (p: number[], ys: number[]) => {
  let l1 = 0;
  let l0 = 0;
  let n1 = 0;
  let n0 = 0;
  p.forEach((q, i) => {
    const c = Math.min(1 - 1e-6, Math.max(1e-6, q));
    if (ys[i] === 1) {
      l1 -= Math.log(c);
      n1++;
    } else {
      l0 -= Math.log(1 - c);
      n0++;
    }
  });
  return (l1 / Math.max(1, n1) + l0 / Math.max(1, n0)) / 2;
};

/** Greedy forward selection (base always in) by inner leave-one-source-out balanced log-loss. */
function forwardSelect(rows: SignalRow[], maxFeatures: number, pool: string[]): string[] {
  const ys = rows.map((r) => (r.genuine ? 1 : 0));
  let chosen = [BASE];
  let bestLoss = balancedLogLoss(loso(rows, chosen), ys);
  while (chosen.length < maxFeatures) {
    let pick: string | null = null;
    let pickLoss = bestLoss - 0.01; // must improve by at least 0.01 nats
    for (const f of pool) {
      if (chosen.includes(f)) continue;
      const l = balancedLogLoss(loso(rows, [...chosen, f]), ys);
      if (l < pickLoss) {
        pickLoss = l;
        pick = f;
      }
    }
    if (!pick) break;
    chosen = [...chosen, pick];
    bestLoss = pickLoss;
  }
  return chosen;
}

/** Outer leave-one-source-out; the selection runs again inside every outer training set. */
function nestedSelection(rows: SignalRow[], maxFeatures: number, pool: string[]) {
  const groups = rows.map((r) => r.source);
  const ys = rows.map((r) => (r.genuine ? 1 : 0));
  const out = new Array<number>(rows.length).fill(Number.NaN);
  const picks: Record<string, string[]> = {};
  for (const g of new Set(groups)) {
    const trRows = rows.filter((r) => r.source !== g);
    const feats = forwardSelect(trRows, maxFeatures, pool);
    picks[g] = feats;
    const probe = fitProbe(
      trRows.map((r) => feats.map((f) => feature(r, f))),
      trRows.map((r) => (r.genuine ? 1 : 0)),
    );
    rows.forEach((r, i) => {
      if (r.source === g)
        out[i] = predict(
          probe,
          feats.map((f) => feature(r, f)),
        );
    });
  }
  void ys;
  return { scores: out, picks };
}

const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : 'n/a');
const ci = (lo: number, hi: number) => `${pct(lo)}–${pct(hi)}`;

interface Summary {
  label: string;
  text: string[];
}

function summarise(label: string, rows: SignalRow[], score: number[], threshold: number): Summary {
  const att = rows.map((r, i) => (r.genuine ? null : (score[i] as number))).filter((v): v is number => v !== null);
  const gen = rows.map((r, i) => (r.genuine ? (score[i] as number) : null)).filter((v): v is number => v !== null);
  const op = errorRatesAt(att, gen, threshold);
  const aAcc = Math.round(op.apcer * att.length);
  const gRej = Math.round(op.bpcer * gen.length);
  const wa = wilson(aAcc, att.length);
  const wb = wilson(gRej, gen.length);
  const e = bootstrap([att, gen], ([a, g]) => equalErrorRate(a as number[], g as number[]).eer, {
    rounds: 2000,
    seed: 7,
  });
  const ws = withinSourceAuc(rows, score);
  const at10 = bootstrap([att, gen], ([a, g]) => apcerAtBpcer(a as number[], g as number[], 0.1).apcer, {
    rounds: 2000,
    seed: 9,
  });
  const text = [
    `${label.padEnd(44)} APCER ${pct(op.apcer)} (${aAcc}/${att.length}, ${ci(wa.lo, wa.hi)})  BPCER ${pct(op.bpcer)} (${gRej}/${gen.length}, ${ci(wb.lo, wb.hi)})  EER ${pct(e.value)} (${ci(e.lo, e.hi)})  APCER@BPCER<=10 % ${pct(at10.value)} (${ci(at10.lo, at10.hi)})  AUC ${auc(att, gen).toFixed(3)}  within-source AUC ${ws.auc.toFixed(3)} (${ws.pairs} pairs)`,
  ];
  return { label, text };
}

/** Paired bootstrap of EER(b) - EER(a) over photos (attacks and genuine resampled separately, same draw for both). */
function pairedEerDelta(rows: SignalRow[], a: number[], b: number[]) {
  const ai = rows.map((r, i) => (r.genuine ? -1 : i)).filter((i) => i >= 0);
  const gi = rows.map((r, i) => (r.genuine ? i : -1)).filter((i) => i >= 0);
  const stat = ([A, G]: number[][]) => {
    const ea = equalErrorRate(
      (A as number[]).map((i) => a[i] as number),
      (G as number[]).map((i) => a[i] as number),
    ).eer;
    const eb = equalErrorRate(
      (A as number[]).map((i) => b[i] as number),
      (G as number[]).map((i) => b[i] as number),
    ).eer;
    return eb - ea;
  };
  return bootstrap([ai, gi], stat, { rounds: 2000, seed: 11 });
}

/** Source-cluster bootstrap of the same difference (sources resampled with replacement). */
function clusterEerDelta(rows: SignalRow[], a: number[], b: number[]) {
  const bySrc = new Map<string, number[]>();
  rows.forEach((r, i) => {
    bySrc.set(r.source, [...(bySrc.get(r.source) ?? []), i]);
  });
  const clusters = [...bySrc.values()];
  const stat = ([C]: number[][][]) => {
    const idx = (C as number[][]).flat();
    const A = idx.filter((i) => !rows[i]?.genuine);
    const G = idx.filter((i) => rows[i]?.genuine);
    if (!A.length || !G.length) return Number.NaN;
    const e = (s: number[]) =>
      equalErrorRate(
        A.map((i) => s[i] as number),
        G.map((i) => s[i] as number),
      ).eer;
    return e(b) - e(a);
  };
  return bootstrap([clusters], stat, { rounds: 2000, seed: 13 });
}

function analyse(all: SignalRow[], extrasRows: SignalRow[]): string[] {
  const out: string[] = [];
  const rows = all;
  const ys = rows.map((r) => (r.genuine ? 1 : 0));
  const nA = ys.filter((y) => y === 0).length;
  const nG = ys.length - nA;
  const sources = [...new Set(rows.map((r) => r.source))];
  out.push(
    `photos: ${rows.length} (${nA} attacks, ${nG} genuine) from ${sources.length} sources; exactly one face found`,
  );
  for (const s of sources) {
    const r = rows.filter((x) => x.source === s);
    out.push(
      `  ${s.padEnd(48)} attacks ${r.filter((x) => !x.genuine).length}  genuine ${r.filter((x) => x.genuine).length}`,
    );
  }

  // ---- each signal alone ----
  out.push('', '== EACH SIGNAL ALONE (AUC: P(genuine > attack); < 0.5 means the signal is higher on attacks)');
  out.push(
    `${'signal'.padEnd(16)} ${'AUC'.padStart(6)} ${'wsAUC'.padStart(6)} ${'LOSO-EER'.padStart(9)}  median attack / genuine   ms (median)`,
  );
  const msOf = (name: string): string => {
    const key = name.startsWith('fasV')
      ? name
      : name.startsWith('line') || name === 'ringInside'
        ? 'lines'
        : name === 'hfShare' || name === 'peakRatio'
          ? 'spectrum'
          : [
                'satMean',
                'satStd',
                'specular',
                'gamutRatio',
                'sharpRatio',
                'faceContrast',
                'blackLevel',
                'colourfulness',
              ].includes(name)
            ? 'colour'
            : '';
    if (!key) return name.startsWith('fas') ? 'sum of its runs' : '~0';
    const v = rows.map((r) => r.ms[key]).filter((x): x is number => x !== undefined);
    return v.length ? median(v).toFixed(2) : '';
  };
  for (const f of [BASE, ...CANDIDATES]) {
    const v = rows.map((r) => feature(r, f));
    const att = v.filter((_, i) => ys[i] === 0);
    const gen = v.filter((_, i) => ys[i] === 1);
    const p = loso(rows, [f]);
    const e = equalErrorRate(
      p.filter((_, i) => ys[i] === 0),
      p.filter((_, i) => ys[i] === 1),
    ).eer;
    out.push(
      `${f.padEnd(16)} ${auc(att, gen).toFixed(3).padStart(6)} ${withinSourceAuc(rows, v).auc.toFixed(3).padStart(6)} ${pct(e).padStart(9)}  ${median(att).toFixed(3)} / ${median(gen).toFixed(3)}   ${msOf(f)}`,
    );
  }

  // ---- baselines and fusions ----
  out.push(
    '',
    '== HELD-OUT (leave-one-source-out) FIGURES; fixed threshold 0.5 on the probability (shipped: score 50)',
  );
  const shipped = rows.map((r) => r.signals.fasShipped as number);
  const baseLoso = loso(rows, [BASE]);
  const sums: Summary[] = [];
  sums.push(summarise('MiniFASNet shipped (no fitting)', rows, shipped, 0.5));
  sums.push(summarise('MiniFASNet alone, LOSO-recalibrated', rows, baseLoso, 0.5));
  const results: Record<string, number[]> = { shipped, baseLoso };
  const named: [string, string[]][] = [
    ['6 MiniFASNet crops (mean logit)', ['fasMean6']],
    ['MiniFASNet + fasV2_1.5', [BASE, 'fasV2_1.5']],
    ['MiniFASNet + fasV1SE_1.5', [BASE, 'fasV1SE_1.5']],
    ['MiniFASNet + disagreement', [BASE, 'fasDisagree']],
    ['MiniFASNet + lineMax', [BASE, 'lineMax']],
    ['MiniFASNet + linePerp', [BASE, 'linePerp']],
    ['MiniFASNet + peakRatio', [BASE, 'peakRatio']],
    ['MiniFASNet + hfShare', [BASE, 'hfShare']],
    ['MiniFASNet + satStd', [BASE, 'satStd']],
    ['MiniFASNet + gamutRatio', [BASE, 'gamutRatio']],
    ['MiniFASNet + blackLevel', [BASE, 'blackLevel']],
    ['MiniFASNet + colourfulness', [BASE, 'colourfulness']],
    ['MiniFASNet + fit27', [BASE, 'fit27']],
    ['MiniFASNet + faceLog2Px', [BASE, 'faceLog2Px']],
    ['MiniFASNet + linePerp + peakRatio', [BASE, 'linePerp', 'peakRatio']],
    ['MiniFASNet + lineMax + peakRatio + satStd', [BASE, 'lineMax', 'peakRatio', 'satStd']],
  ];
  for (const [label, feats] of named) {
    const p = loso(rows, feats);
    results[label] = p;
    sums.push(summarise(`${label}`, rows, p, 0.5));
  }
  const pool = CANDIDATES.filter((c) => c !== 'fasMean6');
  const nested = nestedSelection(rows, 3, pool);
  results.nested = nested.scores;
  sums.push(summarise('nested forward selection (<=3 signals)', rows, nested.scores, 0.5));
  for (const s of sums) out.push(...s.text);
  out.push('', '  features chosen per held-out source (nested selection):');
  for (const [g, f] of Object.entries(nested.picks)) out.push(`    without ${g.padEnd(46)} ${f.join(', ')}`);

  // ---- parameter-free crop recipes, and choosing one of them inside LOSO ----
  out.push(
    '',
    '== PARAMETER-FREE MiniFASNet CROP RECIPES (mean probability, threshold 0.5; selection among them is post hoc)',
  );
  for (const [label, keys] of Object.entries(NOFIT)) {
    const sc = rows.map((r) => nofitScore(r, keys));
    results[`nofit ${label}`] = sc;
    out.push(...summarise(`nofit ${label}`, rows, sc, 0.5).text);
  }
  {
    // honest version: each outer fold picks the recipe with the lowest EER on its training sources
    const sel = new Array<number>(rows.length).fill(Number.NaN);
    const picks: string[] = [];
    for (const g of new Set(rows.map((r) => r.source))) {
      let best = '';
      let bestE = Number.POSITIVE_INFINITY;
      for (const [label, keys] of Object.entries(NOFIT)) {
        const tr = rows.filter((r) => r.source !== g);
        const e = equalErrorRate(
          tr.filter((r) => !r.genuine).map((r) => nofitScore(r, keys)),
          tr.filter((r) => r.genuine).map((r) => nofitScore(r, keys)),
        ).eer;
        if (e < bestE - 1e-12) {
          bestE = e;
          best = label;
        }
      }
      picks.push(best);
      rows.forEach((r, i) => {
        if (r.source === g) sel[i] = nofitScore(r, NOFIT[best] as string[]);
      });
    }
    results['recipe chosen inside LOSO'] = sel;
    out.push(...summarise('recipe chosen inside LOSO', rows, sel, 0.5).text);
    out.push(
      `  recipes chosen per fold: ${[...new Set(picks)].map((p) => `${p} x${picks.filter((q) => q === p).length}`).join(', ')}`,
    );
  }

  // ---- regularisation sensitivity ----
  out.push('', '== L2 SENSITIVITY (LOSO EER of a few fusions; the figures above use l2 = 1)');
  for (const l2 of [0.1, 1, 10, 30]) {
    L2 = l2;
    const cells = (
      [
        ['base', [BASE]],
        ['+fasV2_1.5', [BASE, 'fasV2_1.5']],
        ['+hfShare', [BASE, 'hfShare']],
        ['+peakRatio', [BASE, 'peakRatio']],
        ['+lineMax', [BASE, 'lineMax']],
        ['+satStd', [BASE, 'satStd']],
      ] as [string, string[]][]
    ).map(([l, f]) => {
      const p = loso(rows, f);
      return `${l} ${pct(
        equalErrorRate(
          p.filter((_, i) => ys[i] === 0),
          p.filter((_, i) => ys[i] === 1),
        ).eer,
      )}`;
    });
    out.push(`  l2 ${String(l2).padEnd(4)} ${cells.join('  ')}`);
  }
  L2 = 1;

  out.push('', '== EER DIFFERENCE vs MiniFASNet alone (LOSO-recalibrated); negative = fusion better; 95 % bootstrap');
  for (const [label, p] of Object.entries(results)) {
    if (label === 'baseLoso') continue;
    const d = pairedEerDelta(rows, baseLoso, p);
    const c = clusterEerDelta(rows, baseLoso, p);
    out.push(
      `  ${label.padEnd(44)} dEER ${pct(d.value)}  photo bootstrap ${ci(d.lo, d.hi)}  source-cluster bootstrap ${ci(c.lo, c.hi)}`,
    );
  }

  // ---- misses of the fixed threshold ----
  out.push('', '== PER PHOTO (attacks) — shipped vs LOSO nested fusion (probability of live)');
  rows.forEach((r, i) => {
    if (r.genuine) return;
    out.push(
      `  ${r.attackType?.padEnd(8)} ship ${(shipped[i] as number).toFixed(2)} nested ${(nested.scores[i] as number).toFixed(2)}  ${r.rel.slice(0, 110)}`,
    );
  });
  out.push('  genuine rejected by either:');
  rows.forEach((r, i) => {
    if (!r.genuine) return;
    if ((shipped[i] as number) < 0.5 || (nested.scores[i] as number) < 0.5)
      out.push(
        `    ship ${(shipped[i] as number).toFixed(2)} nested ${(nested.scores[i] as number).toFixed(2)}  ${r.rel.slice(0, 110)}`,
      );
  });

  // ---- extra presumed-genuine sets (never trained on) ----
  if (extrasRows.length) {
    out.push('', '== PRESUMED-GENUINE EXTRA PHOTOS (unlabelled for liveness, never trained on): BPCER at 0.5');
    const models: [string, string[] | null][] = [
      ['MiniFASNet shipped', null],
      ['MiniFASNet LOSO-recalibrated (all labelled)', [BASE]],
    ];
    for (const [label, feats] of named) models.push([label, feats]);
    for (const set of [...new Set(extrasRows.map((r) => r.set))]) {
      const ex = extrasRows.filter((r) => r.set === set);
      for (const [label, keys] of Object.entries(NOFIT)) {
        const rej = ex.filter((r) => nofitScore(r, keys) < 0.5).length;
        const w = wilson(rej, ex.length);
        out.push(
          `  ${set.padEnd(11)} ${`nofit ${label}`.padEnd(44)} BPCER ${pct(rej / ex.length)} (${rej}/${ex.length}, ${ci(w.lo, w.hi)})`,
        );
      }
      for (const [label, feats] of models) {
        let rej = 0;
        if (!feats) rej = ex.filter((r) => (r.signals.fasShipped as number) < 0.5).length;
        else {
          const probe = fitProbe(
            rows.map((r) => feats.map((f) => feature(r, f))),
            ys,
          );
          rej = ex.filter(
            (r) =>
              predict(
                probe,
                feats.map((f) => feature(r, f)),
              ) < 0.5,
          ).length;
        }
        const w = wilson(rej, ex.length);
        out.push(
          `  ${set.padEnd(11)} ${label.padEnd(44)} BPCER ${pct(rej / ex.length)} (${rej}/${ex.length}, ${ci(w.lo, w.hi)})`,
        );
      }
    }
  }

  // ---- cost ----
  out.push('', '== COST (ms per photo, median over photos; one MiniFASNet run = crop + mirror batch of 2)');
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r.ms)))];
  for (const k of keys) {
    const v = [...rows, ...extrasRows]
      .slice(3)
      .map((r) => r.ms[k])
      .filter((x): x is number => x !== undefined);
    out.push(
      `  ${k.padEnd(14)} median ${median(v).toFixed(2)}  p95 ${v.sort((a, b) => a - b)[Math.floor(0.95 * (v.length - 1))]?.toFixed(2)}`,
    );
  }
  return out;
}

// =====================================================================================================================

async function main() {
  const { values } = parseArgs({
    options: {
      'analyse-only': { type: 'boolean', default: false },
      extras: { type: 'boolean', default: false },
      in: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const evalDir = join(repoRoot, '.eval');
  mkdirSync(evalDir, { recursive: true });
  const jsonPath = resolve(values.in ?? join(evalDir, 'liveness-signals.json'));
  let data: { date: string; rows: SignalRow[]; skipped: { rel: string; faces: number }[] };
  if (values['analyse-only']) {
    data = JSON.parse(readFileSync(jsonPath, 'utf8'));
  } else {
    const items = listItems(values.extras ?? false);
    process.stderr.write(`signals for ${items.length} photos\n`);
    const { rows, skipped } = await extract(items);
    data = { date: new Date().toISOString(), rows, skipped };
    writeFileSync(jsonPath, JSON.stringify(data, null, 1));
    process.stderr.write(`wrote ${jsonPath}\n`);
  }
  const labelled = data.rows.filter((r) => !r.extra);
  const extras = data.rows.filter((r) => r.extra);
  const lines = [
    `liveness evidence study, ${new Date().toISOString()} (signals from ${data.date})`,
    `skipped (not exactly one face): ${data.skipped
      .filter((s) => !s.rel.startsWith('masks') && !s.rel.startsWith('identities'))
      .map((s) => `${basename(s.rel)} (${s.faces})`)
      .join(', ')}`,
    ...analyse(labelled, extras),
  ];
  const txt = lines.join('\n');
  console.log(txt);
  writeFileSync(values.out ? resolve(values.out) : join(evalDir, 'liveness-study.txt'), `${txt}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
