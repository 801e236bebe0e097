import type { DecodedImage, Point2 } from './types.js';

/** Colour statistics of a set of pixels. Chromaticities r = R/(R+G+B), g = G/(R+G+B) are lighting-intensity free. */
export interface PatchStats {
  n: number;
  /** mean luma 0..255 */
  luma: number;
  /** luma standard deviation */
  lumaStd: number;
  p10: number;
  p90: number;
  r: number;
  g: number;
  /** mean saturation 0..1 (HSV) */
  sat: number;
  /** fraction of pixels passing a broad YCbCr skin rule */
  skin: number;
  /** mean absolute horizontal+vertical luma gradient */
  grad: number;
}

export const EMPTY_STATS: PatchStats = {
  n: 0,
  luma: 0,
  lumaStd: 0,
  p10: 0,
  p90: 0,
  r: 1 / 3,
  g: 1 / 3,
  sat: 0,
  skin: 0,
  grad: 0,
};

export function clampRect(img: DecodedImage, x0: number, y0: number, x1: number, y1: number) {
  return {
    x0: Math.max(0, Math.min(img.width - 1, Math.round(x0))),
    y0: Math.max(0, Math.min(img.height - 1, Math.round(y0))),
    x1: Math.max(0, Math.min(img.width - 1, Math.round(x1))),
    y1: Math.max(0, Math.min(img.height - 1, Math.round(y1))),
  };
}

/** Statistics of the square patch centred at (cx, cy) with half-size h (clamped to the image). */
export function patchStats(img: DecodedImage, cx: number, cy: number, h: number): PatchStats {
  return rectStats(img, cx - h, cy - h, cx + h, cy + h);
}

export function rectStats(img: DecodedImage, ax0: number, ay0: number, ax1: number, ay1: number): PatchStats {
  const { x0, y0, x1, y1 } = clampRect(img, ax0, ay0, ax1, ay1);
  if (x1 <= x0 || y1 <= y0) return EMPTY_STATS;
  // subsample large patches to ~4096 pixels
  const area = (x1 - x0 + 1) * (y1 - y0 + 1);
  const step = Math.max(1, Math.floor(Math.sqrt(area / 4096)));
  const d = img.data;
  const W = img.width;
  const lumas: number[] = [];
  let sr = 0;
  let sg = 0;
  let ssat = 0;
  let skin = 0;
  let grad = 0;
  let ngrad = 0;
  for (let y = y0; y <= y1; y += step) {
    for (let x = x0; x <= x1; x += step) {
      const o = (y * W + x) * 3;
      const R = d[o] ?? 0;
      const G = d[o + 1] ?? 0;
      const B = d[o + 2] ?? 0;
      const Y = 0.299 * R + 0.587 * G + 0.114 * B;
      lumas.push(Y);
      const s = R + G + B + 1e-6;
      sr += R / s;
      sg += G / s;
      const mx = Math.max(R, G, B);
      const mn = Math.min(R, G, B);
      ssat += mx > 0 ? (mx - mn) / mx : 0;
      const cb = 128 - 0.168736 * R - 0.331264 * G + 0.5 * B;
      const cr = 128 + 0.5 * R - 0.418688 * G - 0.081312 * B;
      if (cb >= 77 && cb <= 127 && cr >= 133 && cr <= 173 && Y > 30 && R > B) skin++;
      if (x + step <= x1 && y + step <= y1) {
        const ox = (y * W + x + step) * 3;
        const oy = ((y + step) * W + x) * 3;
        const Yx = 0.299 * (d[ox] ?? 0) + 0.587 * (d[ox + 1] ?? 0) + 0.114 * (d[ox + 2] ?? 0);
        const Yy = 0.299 * (d[oy] ?? 0) + 0.587 * (d[oy + 1] ?? 0) + 0.114 * (d[oy + 2] ?? 0);
        grad += (Math.abs(Yx - Y) + Math.abs(Yy - Y)) / step;
        ngrad++;
      }
    }
  }
  const n = lumas.length;
  let mean = 0;
  for (const v of lumas) mean += v;
  mean /= n;
  let varSum = 0;
  for (const v of lumas) varSum += (v - mean) ** 2;
  lumas.sort((a, b) => a - b);
  return {
    n,
    luma: mean,
    lumaStd: Math.sqrt(varSum / n),
    p10: lumas[Math.floor(n * 0.1)] ?? 0,
    p90: lumas[Math.min(n - 1, Math.floor(n * 0.9))] ?? 0,
    r: sr / n,
    g: sg / n,
    sat: ssat / n,
    skin: skin / n,
    grad: ngrad > 0 ? grad / ngrad : 0,
  };
}

export function polygonBounds(points: Point2[]) {
  let x0 = Number.POSITIVE_INFINITY;
  let y0 = Number.POSITIVE_INFINITY;
  let x1 = Number.NEGATIVE_INFINITY;
  let y1 = Number.NEGATIVE_INFINITY;
  for (const [x, y] of points) {
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return { x0, y0, x1, y1, cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, w: x1 - x0, h: y1 - y0 };
}

export function centroid(points: Point2[]): Point2 {
  let x = 0;
  let y = 0;
  for (const p of points) {
    x += p[0];
    y += p[1];
  }
  const n = Math.max(1, points.length);
  return [x / n, y / n];
}

export const dist = (a: Point2, b: Point2) => Math.hypot(a[0] - b[0], a[1] - b[1]);

/** Clamp to 0..100 integer. */
export const score100 = (v: number) => Math.max(0, Math.min(100, Math.round(v * 100)));
