/**
 * SVG builders for synthetic face occluders (sunglasses, hands, masks, hair, phones) and for the look-alikes that
 * must NOT count as obstructions (clear or lightly tinted glasses, a thin hair strand). Every builder works from
 * face landmarks in pixels of the analysis image and returns an SVG document of the image size, to be composited
 * over the photo (sharp `composite`).
 *
 * Shapes are built in a face-aligned frame: origin between the eye centres, x from the subject's right eye to the
 * left eye, y towards the chin, so that rolled faces get rolled occluders. `measureCoverage` renders the SVG alone
 * and reports which part of each eye, the lower nose and the mouth it hides (opaque pixels), so the labels come
 * from what was actually drawn.
 */
import sharp from 'sharp';
import { mulberry32 as seededRandom } from './stats.js';

export type Point = readonly [number, number];
type P = [number, number];

export const POSITIVE_KINDS = ['sunglasses', 'hand-mouth', 'hand-eyes', 'mask', 'hair', 'phone'] as const;
export const NEGATIVE_KINDS = ['clear-glasses', 'light-tint-glasses', 'hair-strand'] as const;
export const OCCLUDER_KINDS = [...POSITIVE_KINDS, ...NEGATIVE_KINDS] as const;
export type OccluderKind = (typeof OCCLUDER_KINDS)[number];
export type Region = 'eyes' | 'nose' | 'mouth';

export const isObstructing = (kind: OccluderKind): boolean => (POSITIVE_KINDS as readonly string[]).includes(kind);

/** Named keypoints the builders use (a subset of the face engine's KEYPOINT_INDEX names). */
export type FacePointName =
  | 'top'
  | 'noseBridge'
  | 'noseTip'
  | 'noseBottom'
  | 'upperLip'
  | 'lowerLip'
  | 'mouthRight'
  | 'mouthLeft'
  | 'chin'
  | 'rightEyeOuter'
  | 'rightEyeInner'
  | 'leftEyeInner'
  | 'leftEyeOuter'
  | 'rightEyeTop'
  | 'rightEyeBottom'
  | 'leftEyeTop'
  | 'leftEyeBottom'
  | 'rightUpperCheek'
  | 'leftUpperCheek'
  | 'rightFaceEdge'
  | 'leftFaceEdge';

/** Structurally compatible with the face engine's FaceLandmarks (pixels of the analysis image). */
export interface OccluderFace {
  points: Record<FacePointName, Point>;
  leftEye: readonly Point[];
  rightEye: readonly Point[];
  lips: readonly Point[];
  nose: readonly Point[];
  faceOval: readonly Point[];
}

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

export interface OccluderContext {
  /** Skin tone (e.g. the median of the subject's cheeks), used for hands and fingers. */
  skin: Rgb;
  /** Colour found above the forehead; used for hair when it is dark enough. */
  hair?: Rgb;
}

export interface Occluder {
  kind: OccluderKind;
  /** Complete SVG document of the image size. */
  svg: string;
  /** Short description of the random choices (style, colours, sizes). */
  notes: string;
}

// ---------------------------------------------------------------- random numbers

export type Rng = () => number;

/** Small seeded PRNG (the one the statistics use): same seed, same sequence. */
export const mulberry32: (seed: number) => Rng = seededRandom;

export function hashSeed(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  const s = parts.join('\u0000');
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const uni = (rng: Rng, a: number, b: number) => a + (b - a) * rng();
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;
const coin = (rng: Rng, p = 0.5) => rng() < p;
const sgn = (rng: Rng) => (rng() < 0.5 ? -1 : 1);

// ---------------------------------------------------------------- colours

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
export const hex = (c: Rgb): string =>
  `#${[c.r, c.g, c.b]
    .map((v) =>
      Math.round(clamp(v, 0, 255))
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`;
export const parseHex = (s: string): Rgb => ({
  r: Number.parseInt(s.slice(1, 3), 16),
  g: Number.parseInt(s.slice(3, 5), 16),
  b: Number.parseInt(s.slice(5, 7), 16),
});
const shade = (c: Rgb, f: number): Rgb => ({ r: c.r * f, g: c.g * f, b: c.b * f });
const mix = (a: Rgb, b: Rgb, t: number): Rgb => ({
  r: a.r + (b.r - a.r) * t,
  g: a.g + (b.g - a.g) * t,
  b: a.b + (b.b - a.b) * t,
});
const luma = (c: Rgb) => 0.299 * c.r + 0.587 * c.g + 0.114 * c.b;
const lighten = (c: Rgb, t: number) => mix(c, { r: 255, g: 255, b: 255 }, t);

// ---------------------------------------------------------------- geometry and paths

const n = (v: number): string => (Math.round(v * 100) / 100).toString();
const pt = (p: Point): string => `${n(p[0])},${n(p[1])}`;
const add = (a: Point, b: Point): P => [a[0] + b[0], a[1] + b[1]];
const sub = (a: Point, b: Point): P => [a[0] - b[0], a[1] - b[1]];
const mul = (a: Point, k: number): P => [a[0] * k, a[1] * k];
const lerp = (a: Point, b: Point, t: number): P => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
const dist = (a: Point, b: Point) => Math.hypot(a[0] - b[0], a[1] - b[1]);
const mean = (ps: readonly Point[]): P => {
  let x = 0;
  let y = 0;
  for (const p of ps) {
    x += p[0];
    y += p[1];
  }
  return [x / Math.max(1, ps.length), y / Math.max(1, ps.length)];
};

/** Catmull-Rom spline through the points as cubic Bézier commands (no leading M). */
function catmullCommands(pts: readonly Point[], closed: boolean): string {
  const m = pts.length;
  const get = (i: number): Point => {
    if (closed) return pts[((i % m) + m) % m] as Point;
    return pts[clamp(i, 0, m - 1)] as Point;
  };
  const segs = closed ? m : m - 1;
  let out = '';
  for (let i = 0; i < segs; i++) {
    const p0 = get(i - 1);
    const p1 = get(i);
    const p2 = get(i + 1);
    const p3 = get(i + 2);
    const c1 = add(p1, mul(sub(p2, p0), 1 / 6));
    const c2 = sub(p2, mul(sub(p3, p1), 1 / 6));
    out += ` C${pt(c1)} ${pt(c2)} ${pt(p2)}`;
  }
  return out;
}

export function smoothPath(pts: readonly Point[], closed: boolean): string {
  if (pts.length === 0) return '';
  return `M${pt(pts[0] as Point)}${catmullCommands(pts, closed)}${closed ? ' Z' : ''}`;
}

const polyPath = (pts: readonly Point[], closed = true) => `M${pts.map(pt).join(' L')}${closed ? ' Z' : ''}`;

/** Polygon with corners rounded by quadratic curves of radius r (clamped to half of each edge). */
function roundedPolygonPath(pts: readonly Point[], r: number): string {
  const m = pts.length;
  let d = '';
  for (let i = 0; i < m; i++) {
    const prev = pts[(i - 1 + m) % m] as Point;
    const cur = pts[i] as Point;
    const next = pts[(i + 1) % m] as Point;
    const r1 = Math.min(r, dist(prev, cur) / 2);
    const r2 = Math.min(r, dist(cur, next) / 2);
    const a = lerp(cur, prev, r1 / dist(prev, cur));
    const b = lerp(cur, next, r2 / dist(cur, next));
    d += `${i === 0 ? 'M' : ' L'}${pt(a)} Q${pt(cur)} ${pt(b)}`;
  }
  return `${d} Z`;
}

const cubicAt = (p0: Point, p1: Point, p2: Point, p3: Point, t: number): P => {
  const u = 1 - t;
  return [
    u * u * u * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t * t * t * p3[0],
    u * u * u * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t * t * t * p3[1],
  ];
};

const sampleCubic = (p0: Point, p1: Point, p2: Point, p3: Point, k: number): P[] =>
  Array.from({ length: k + 1 }, (_, i) => cubicAt(p0, p1, p2, p3, i / k));

/** Closed outline of a stroke along the centre line whose width goes from w0 (start) to w1 (end). */
function taperedPath(center: readonly Point[], w0: number, w1: number, power = 0.8): string {
  const left: P[] = [];
  const right: P[] = [];
  const m = center.length;
  for (let i = 0; i < m; i++) {
    const a = center[Math.max(0, i - 1)] as Point;
    const b = center[Math.min(m - 1, i + 1)] as Point;
    const dx = b[0] - a[0];
    const dy = b[1] - a[1];
    const len = Math.hypot(dx, dy) || 1;
    const nx = -dy / len;
    const ny = dx / len;
    const t = i / (m - 1);
    const w = (w0 + (w1 - w0) * t ** power) / 2;
    const c = center[i] as Point;
    left.push([c[0] + nx * w, c[1] + ny * w]);
    right.push([c[0] - nx * w, c[1] - ny * w]);
  }
  return smoothPath([...left, ...right.reverse()], true);
}

export function convexHull(points: readonly Point[]): P[] {
  const ps = [...points].map((p): P => [p[0], p[1]]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (ps.length < 3) return ps;
  const cross = (o: P, a: P, b: P) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: P[] = [];
  for (const p of ps) {
    while (lower.length >= 2 && cross(lower[lower.length - 2] as P, lower[lower.length - 1] as P, p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: P[] = [];
  for (let i = ps.length - 1; i >= 0; i--) {
    const p = ps[i] as P;
    while (upper.length >= 2 && cross(upper[upper.length - 2] as P, upper[upper.length - 1] as P, p) <= 0) upper.pop();
    upper.push(p);
  }
  upper.pop();
  lower.pop();
  return [...lower, ...upper];
}

export function pointInPolygon(x: number, y: number, poly: readonly Point[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const a = poly[i] as Point;
    const b = poly[j] as Point;
    if (a[1] > y !== b[1] > y && x < ((b[0] - a[0]) * (y - a[1])) / (b[1] - a[1]) + a[0]) inside = !inside;
  }
  return inside;
}

const ellipsePoints = (c: Point, rx: number, ry: number, k = 12): P[] =>
  Array.from({ length: k }, (_, i) => {
    const a = (i / k) * Math.PI * 2;
    return [c[0] + rx * Math.cos(a), c[1] + ry * Math.sin(a)];
  });

// ---------------------------------------------------------------- face frame

/**
 * Landmarks in the face-aligned frame (see the file comment); d is the distance between the eye centres. The "R"
 * fields (er, ewR, edgeR) are on the -x side, normally the subject's right.
 */
export interface LocalFace {
  d: number;
  origin: P;
  angleDeg: number;
  toLocal(p: Point): P;
  er: P;
  el: P;
  /** Eye widths (outer to inner corner). */
  ewR: number;
  ewL: number;
  /** Highest eye top and lowest eye bottom (local y). */
  eyeTop: number;
  eyeBottom: number;
  top: P;
  noseBridge: P;
  noseTip: P;
  noseBottom: P;
  mouth: P;
  mouthW: number;
  chin: P;
  edgeR: P;
  edgeL: P;
  oval: P[];
}

export function localFace(face: OccluderFace): LocalFace {
  const k = face.points;
  const rightImg = mean([k.rightEyeOuter, k.rightEyeInner, k.rightEyeTop, k.rightEyeBottom]);
  const leftImg = mean([k.leftEyeOuter, k.leftEyeInner, k.leftEyeTop, k.leftEyeBottom]);
  // x runs from the subject's right eye to the left one; should the chin then fall on -y (eyes named the other way
  // round, or a mirrored image), the frame turns round so that y always points to the chin
  const a0 = Math.atan2(leftImg[1] - rightImg[1], leftImg[0] - rightImg[0]);
  const chinSide = -(k.chin[0] - rightImg[0]) * Math.sin(a0) + (k.chin[1] - rightImg[1]) * Math.cos(a0);
  const swap = chinSide < 0;
  const erImg = swap ? leftImg : rightImg;
  const elImg = swap ? rightImg : leftImg;
  const origin = lerp(erImg, elImg, 0.5);
  const angle = Math.atan2(elImg[1] - erImg[1], elImg[0] - erImg[0]);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const toLocal = (p: Point): P => {
    const dx = p[0] - origin[0];
    const dy = p[1] - origin[1];
    return [dx * cos + dy * sin, -dx * sin + dy * cos];
  };
  const L = (name: FacePointName) => toLocal(k[name]);
  const d = Math.max(1, dist(erImg, elImg));
  const mouthPts = [L('upperLip'), L('lowerLip'), L('mouthRight'), L('mouthLeft')];
  return {
    d,
    origin,
    angleDeg: (angle * 180) / Math.PI,
    toLocal,
    er: toLocal(erImg),
    el: toLocal(elImg),
    ewR: swap ? dist(k.leftEyeOuter, k.leftEyeInner) : dist(k.rightEyeOuter, k.rightEyeInner),
    ewL: swap ? dist(k.rightEyeOuter, k.rightEyeInner) : dist(k.leftEyeOuter, k.leftEyeInner),
    eyeTop: Math.min(L('rightEyeTop')[1], L('leftEyeTop')[1]),
    eyeBottom: Math.max(L('rightEyeBottom')[1], L('leftEyeBottom')[1]),
    top: L('top'),
    noseBridge: L('noseBridge'),
    noseTip: L('noseTip'),
    noseBottom: L('noseBottom'),
    mouth: mean(mouthPts),
    mouthW: dist(k.mouthRight, k.mouthLeft),
    chin: L('chin'),
    edgeR: L(swap ? 'leftFaceEdge' : 'rightFaceEdge'),
    edgeL: L(swap ? 'rightFaceEdge' : 'leftFaceEdge'),
    oval: face.faceOval.map(toLocal),
  };
}

const inFaceFrame = (lf: LocalFace, body: string) =>
  `<g transform="translate(${n(lf.origin[0])} ${n(lf.origin[1])}) rotate(${n(lf.angleDeg)})">${body}</g>`;

/** Wraps a body (image coordinates) into an SVG document; `soften` blurs edges by that many pixels. */
export function svgDocument(width: number, height: number, body: string, soften = 0.6): string {
  const filter =
    soften > 0
      ? `<defs><filter id="soften" filterUnits="userSpaceOnUse" x="0" y="0" width="${width}" height="${height}"><feGaussianBlur stdDeviation="${n(soften)}"/></filter></defs>`
      : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${filter}<g${soften > 0 ? ' filter="url(#soften)"' : ''}>${body}</g></svg>`;
}

// ---------------------------------------------------------------- glasses

type LensStyle = 'round' | 'rect' | 'wayfarer' | 'aviator';
type GlassesMode = 'sun' | 'clear' | 'tint';

/** Right lens centred on 0,0 with half-width a and half-height b; its outer side is -x. */
function lensPath(style: LensStyle, a: number, b: number): string {
  switch (style) {
    case 'round':
      return `M${n(-a)},0 A${n(a)} ${n(b)} 0 1 0 ${n(a)},0 A${n(a)} ${n(b)} 0 1 0 ${n(-a)},0 Z`;
    case 'rect':
      return roundedPolygonPath(
        [
          [-a, -b],
          [a, -b],
          [a, b],
          [-a, b],
        ],
        Math.min(a, b) * 0.5,
      );
    case 'wayfarer':
      return roundedPolygonPath(
        [
          [-a * 1.04, -b],
          [a, -b * 0.94],
          [a * 0.84, b * 0.88],
          [-a * 0.78, b],
        ],
        b * 0.4,
      );
    case 'aviator':
      return smoothPath(
        [
          [-a, -b * 0.62],
          [-a * 0.45, -b],
          [a * 0.45, -b * 0.97],
          [a, -b * 0.6],
          [a * 0.85, b * 0.2],
          [a * 0.45, b * 0.9],
          [-a * 0.15, b],
          [-a * 0.7, b * 0.6],
        ],
        true,
      );
  }
}

function glasses(lf: LocalFace, rng: Rng, mode: GlassesMode, id: string): { body: string; notes: string } {
  const d = lf.d;
  const ew = (lf.ewR + lf.ewL) / 2;
  const style = pick<LensStyle>(rng, ['round', 'rect', 'wayfarer', 'aviator']);
  const shift = uni(rng, 0, 0.05) * d;
  const gap = uni(rng, 0.14, 0.22) * d;
  let lw = ew * (mode === 'sun' ? uni(rng, 1.7, 2.05) : uni(rng, 1.6, 1.95));
  lw = Math.max(Math.min(lw, d + 2 * shift - gap), ew * 1.35);
  const lh = lw * (style === 'round' ? uni(rng, 0.8, 0.95) : uni(rng, 0.64, 0.8));
  const a = lw / 2;
  const b = lh / 2;
  const cy = uni(rng, 0.0, 0.07) * d;
  const cR: P = [lf.er[0] - shift, lf.er[1] + cy];
  const cL: P = [lf.el[0] + shift, lf.el[1] + cy];
  const lens = lensPath(style, a, b);

  let frameCol: string;
  let fw: number;
  let lensFill: string;
  let lensDefs = '';
  let highlight = 0;
  let notes: string;
  if (mode === 'sun') {
    const metal = coin(rng, 0.3);
    frameCol = metal ? pick(rng, ['#8a6d3b', '#9a9a9a', '#2a2a2a']) : pick(rng, ['#0b0b0b', '#1a1a1a', '#2b1d14']);
    fw = (metal ? uni(rng, 0.014, 0.024) : uni(rng, 0.03, 0.055)) * d;
    const lensCol = parseHex(pick(rng, ['#0d0d0f', '#141915', '#1c140e', '#0f1420', '#1a1a1a']));
    const op = uni(rng, 0.9, 0.97);
    const gradient = coin(rng, 0.4);
    lensDefs = `<linearGradient id="${id}lg" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${hex(gradient ? shade(lensCol, 0.7) : lighten(lensCol, 0.12))}"/><stop offset="1" stop-color="${hex(gradient ? lighten(lensCol, 0.18) : lensCol)}"/></linearGradient>`;
    lensFill = `fill="url(#${id}lg)" fill-opacity="${n(op)}"`;
    highlight = uni(rng, 0.1, 0.25);
    notes = `style=${style} lens=${hex(lensCol)} opacity=${n(op)} frame=${frameCol}`;
  } else {
    frameCol = pick(rng, ['#141414', '#2b1d14', '#5a3a22', '#8a6d3b', '#a0a0a8', '#1d2a4a', '#6b1f2a']);
    fw = uni(rng, 0.014, 0.032) * d;
    const maxAlpha = mode === 'clear' ? 0.15 : 0.3;
    const t = mode === 'clear' ? uni(rng, 0.04, 0.12) : uni(rng, 0.16, 0.27);
    const tint =
      mode === 'clear'
        ? pick(rng, ['#ffffff', '#cfe0ff', '#e8e0c8', '#d8f0e8'])
        : pick(rng, ['#6b4a2b', '#4a4a4a', '#c07a3a', '#b05a6a', '#3a5a8a', '#4a6a3a']);
    lensFill = `fill="${tint}" fill-opacity="${n(t)}"`;
    // keep tint and highlight together at or below the mode's opacity ceiling
    highlight = Math.max(0, Math.min(uni(rng, 0.03, 0.08), 1 - (1 - maxAlpha) / (1 - t) - 0.005));
    notes = `style=${style} tint=${tint} opacity=${n(t)} frame=${frameCol} frame_w=${n(fw / d)}d`;
  }

  const oneLens = (c: P, mirror: boolean) => {
    const hl =
      highlight > 0
        ? `<g clip-path="url(#${id}clip)"><ellipse cx="${n(-a * 0.2)}" cy="${n(-b * 0.38)}" rx="${n(a * 0.65)}" ry="${n(b * 0.14)}" transform="rotate(-24 ${n(-a * 0.2)} ${n(-b * 0.38)})" fill="#ffffff" fill-opacity="${n(highlight)}"/></g>`
        : '';
    return `<g transform="translate(${pt(c)})${mirror ? ' scale(-1 1)' : ''}"><path d="${lens}" ${lensFill}/>${hl}<path d="${lens}" fill="none" stroke="${frameCol}" stroke-width="${n(fw)}"/></g>`;
  };
  const innerY = cR[1] - b * 0.35;
  const bridgeFrom: P = [cR[0] + a * 0.93, innerY];
  const bridgeTo: P = [cL[0] - a * 0.93, cL[1] - b * 0.35];
  const arch = Math.min(cR[1], cL[1]) - b * uni(rng, 0.55, 0.75);
  let bridge = `<path d="M${pt(bridgeFrom)} Q0,${n(arch)} ${pt(bridgeTo)}" fill="none" stroke="${frameCol}" stroke-width="${n(fw * 1.1)}" stroke-linecap="round"/>`;
  if (style === 'aviator') {
    bridge += `<path d="M${pt([cR[0] + a * 0.5, cR[1] - b * 0.97])} L${pt([cL[0] - a * 0.5, cL[1] - b * 0.97])}" stroke="${frameCol}" stroke-width="${n(fw * 0.9)}"/>`;
  }
  let temples = '';
  const templeW = Math.max(fw * 1.15, 0.02 * d);
  const outerR: P = [cR[0] - a * 0.97, cR[1] - b * 0.3];
  if (lf.edgeR[0] < outerR[0] - 0.06 * d) {
    temples += `<path d="M${pt(outerR)} L${pt([lf.edgeR[0] + 0.02 * d, outerR[1] + b * 0.08])}" stroke="${frameCol}" stroke-width="${n(templeW)}" stroke-linecap="round"/>`;
  }
  const outerL: P = [cL[0] + a * 0.97, cL[1] - b * 0.3];
  if (lf.edgeL[0] > outerL[0] + 0.06 * d) {
    temples += `<path d="M${pt(outerL)} L${pt([lf.edgeL[0] - 0.02 * d, outerL[1] + b * 0.08])}" stroke="${frameCol}" stroke-width="${n(templeW)}" stroke-linecap="round"/>`;
  }
  const defs = `<defs>${lensDefs}<clipPath id="${id}clip"><path d="${lens}"/></clipPath></defs>`;
  return { body: inFaceFrame(lf, `${defs}${temples}${oneLens(cR, false)}${oneLens(cL, true)}${bridge}`), notes };
}

// ---------------------------------------------------------------- hands

/** One finger in its own frame: base on y = 0 (reaching 0.14 below it, under the palm), tip at y = -len. */
function fingerGeom(len: number, w: number) {
  const hw = w / 2;
  const ht = hw * 0.84;
  const tipY = -len + ht;
  return {
    fill: `M${n(-hw)},0.14 L${n(-hw)},0 L${n(-ht)},${n(tipY)} A${n(ht)} ${n(ht)} 0 0 1 ${n(ht)},${n(tipY)} L${n(hw)},0 L${n(hw)},0.14 Z`,
    outline: `M${n(-hw)},0 L${n(-ht)},${n(tipY)} A${n(ht)} ${n(ht)} 0 0 1 ${n(ht)},${n(tipY)} L${n(hw)},0`,
    nail: { x: -ht * 0.62, y: -len + 0.035 * w * 4, w: ht * 1.24, h: Math.min(w * 0.85, len * 0.24), rx: ht * 0.55 },
    creases: [0.36, 0.66].map((t) => {
      const y = -len * t;
      return `M${n(-hw * 0.55)},${n(y)} Q0,${n(y + 0.14 * w)} ${n(hw * 0.55)},${n(y)}`;
    }),
  };
}

interface Digit {
  x: number;
  y: number;
  len: number;
  w: number;
  ang: number;
}

/** Fill, shading, outline, creases and nail of one finger seen from the back (SVG in the finger's parent frame). */
function drawFinger(f: Digit, tone: Rgb, id: string, strokeW: number): string {
  const g = fingerGeom(f.len, f.w);
  const dark = hex(shade(tone, 0.58));
  const nailCol = hex(mix(lighten(tone, 0.28), { r: 235, g: 175, b: 170 }, 0.25));
  let out = `<g transform="translate(${n(f.x)} ${n(f.y)}) rotate(${n(f.ang)})">`;
  out += `<path d="${g.fill}" fill="${hex(tone)}"/><path d="${g.fill}" fill="url(#${id}fg)"/>`;
  out += `<path d="${g.outline}" fill="none" stroke="${dark}" stroke-opacity="0.6" stroke-width="${n(strokeW)}"/>`;
  for (const c of g.creases) {
    out += `<path d="${c}" fill="none" stroke="${dark}" stroke-opacity="0.3" stroke-width="${n(strokeW * 0.9)}"/>`;
  }
  const k = g.nail;
  out += `<rect x="${n(k.x)}" y="${n(k.y)}" width="${n(k.w)}" height="${n(k.h)}" rx="${n(k.rx)}" fill="${nailCol}" fill-opacity="0.55" stroke="${dark}" stroke-opacity="0.25" stroke-width="${n(strokeW * 0.5)}"/>`;
  out += '</g>';
  return out;
}

/** Gradient ids drawFinger needs (`${id}fg`: shading across the finger). */
const fingerDefs = (id: string) =>
  `<linearGradient id="${id}fg" x1="0" y1="0" x2="1" y2="0"><stop offset="0" stop-color="#000" stop-opacity="0.34"/><stop offset="0.3" stop-color="#fff" stop-opacity="0.07"/><stop offset="0.65" stop-color="#000" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="0.36"/></linearGradient>`;

/**
 * A hand seen from the back in its own frame: unit = palm width, knuckles on y = 0, fingers towards -y, wrist at
 * y = 0.92, thumb on the -x side. The forearm leaves the wrist at `forearmAngle` degrees from +y (a bent wrist).
 */
function handBody(tone: Rgb, rng: Rng, id: string, forearmAngle: number): string {
  const dark = hex(shade(tone, 0.58));
  const fill = hex(tone);
  const palmPts: P[] = [
    [-0.48, 0.04],
    [-0.25, -0.05],
    [0.05, -0.06],
    [0.33, -0.02],
    [0.49, 0.12],
    [0.5, 0.45],
    [0.42, 0.85],
    [0.3, 1.02],
    [-0.3, 1.02],
    [-0.46, 0.8],
    [-0.53, 0.42],
  ];
  const palm = smoothPath(palmPts, true);
  // outline without the wrist edge, so that palm and forearm join without a seam
  const palmEdge = smoothPath([...palmPts.slice(9), ...palmPts.slice(0, 7)], false);
  const wrist = `translate(0 0.92) rotate(${n(forearmAngle)})`;
  const forearm = polyPath([
    [-0.36, -0.1],
    [0.36, -0.1],
    [0.44, 4.2],
    [-0.44, 4.2],
  ]);
  const spread = uni(rng, 0, 1);
  const fingers: Digit[] = [
    { x: -0.37, y: 0.04, len: 0.82, w: 0.25, ang: -5 },
    { x: -0.125, y: 0.0, len: 0.93, w: 0.255, ang: -1.5 },
    { x: 0.125, y: 0.03, len: 0.87, w: 0.245, ang: 2 },
    { x: 0.355, y: 0.1, len: 0.68, w: 0.215, ang: 7 },
  ].map((f) => ({ ...f, len: f.len * uni(rng, 0.95, 1.04), ang: f.ang * spread * 1.6 + uni(rng, -1.5, 1.5) }));
  const thumb: Digit = { x: -0.4, y: 0.62, len: 0.62 * uni(rng, 0.92, 1.06), w: 0.27, ang: -28 + uni(rng, -8, 8) };
  const light = uni(rng, 0, 360);
  const lx = Math.cos((light * Math.PI) / 180);
  const ly = Math.sin((light * Math.PI) / 180);
  const fingerFills = [thumb, ...fingers]
    .map(
      (f) =>
        `<path transform="translate(${n(f.x)} ${n(f.y)}) rotate(${n(f.ang)})" d="${fingerGeom(f.len, f.w).fill}"/>`,
    )
    .join('');
  const silhouette = `<path transform="${wrist}" d="${forearm}"/><ellipse cx="0" cy="0.92" rx="0.4" ry="0.22"/><path d="${palm}"/>${fingerFills}`;
  let defs = fingerDefs(id);
  defs += `<linearGradient id="${id}li" gradientUnits="userSpaceOnUse" x1="${n(-lx)}" y1="${n(0.4 - ly)}" x2="${n(lx)}" y2="${n(0.4 + ly)}"><stop offset="0" stop-color="#fff" stop-opacity="0.14"/><stop offset="0.45" stop-color="#fff" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="0.3"/></linearGradient>`;
  defs += `<radialGradient id="${id}sh" gradientUnits="userSpaceOnUse" cx="0" cy="0.4" r="0.75"><stop offset="0.55" stop-color="#000" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="0.3"/></radialGradient>`;
  defs += `<linearGradient id="${id}fa" x1="0" y1="0" x2="1" y2="0"><stop offset="0" stop-color="#000" stop-opacity="0.4"/><stop offset="0.4" stop-color="#000" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="0.35"/></linearGradient>`;
  defs += `<filter id="${id}blur" x="-20%" y="-20%" width="140%" height="140%"><feGaussianBlur stdDeviation="0.05"/></filter>`;
  defs += `<clipPath id="${id}clip">${silhouette}</clipPath>`;
  let out = `<defs>${defs}</defs>`;
  out += `<g filter="url(#${id}blur)" fill="#000" fill-opacity="0.4" transform="translate(0.05 0.07)">${silhouette}</g>`;
  out += `<g transform="${wrist}"><path d="${forearm}" fill="${fill}"/><path d="${forearm}" fill="url(#${id}fa)"/></g>`;
  out += `<ellipse cx="0" cy="0.92" rx="0.4" ry="0.22" fill="${fill}"/>`;
  out += drawFinger(thumb, shade(tone, 0.97), id, 0.013);
  out += `<path d="${palm}" fill="${fill}"/><path d="${palm}" fill="url(#${id}sh)"/>`;
  out += `<path d="${palmEdge}" fill="none" stroke="${dark}" stroke-opacity="0.45" stroke-width="0.012"/>`;
  // tendons and knuckles on the back of the hand
  for (const f of fingers) {
    out += `<path d="M${n(f.x * 0.5)},0.85 Q${n(f.x * 0.8)},0.4 ${n(f.x)},0.05" fill="none" stroke="#fff" stroke-opacity="0.07" stroke-width="0.05"/>`;
  }
  for (const f of [...fingers].reverse()) out += drawFinger(f, tone, id, 0.013);
  for (const f of fingers) {
    out += `<ellipse cx="${n(f.x)}" cy="${n(f.y - 0.02)}" rx="${n(f.w * 0.3)}" ry="0.05" fill="#fff" fill-opacity="0.1"/>`;
  }
  out += `<rect x="-3" y="-3" width="6" height="9" fill="url(#${id}li)" clip-path="url(#${id}clip)"/>`;
  return out;
}

interface HandPose {
  /** Face-frame point where the palm centre (hand frame 0,0.45) goes. */
  at: P;
  /** Direction of the fingers in degrees: 0 = up, 90 = towards +x (the subject's left), 180 = down. */
  angle: number;
  /** Palm width in pixels. */
  width: number;
  /** Thumb towards the chin (true) or the forehead (false) when the fingers point sideways. */
  thumbDown: boolean;
  /** Direction of the forearm (same convention as angle); 180 = straight down. */
  forearm: number;
}

const wrapDeg = (a: number) => ((((a + 180) % 360) + 360) % 360) - 180;

function placedHand(lf: LocalFace, pose: HandPose, ctx: OccluderContext, rng: Rng, id: string): string {
  const rad = (pose.angle * Math.PI) / 180;
  // thumb (hand frame -x) points along (-cos, -sin) unmirrored: mirror when that is not the side asked for
  const mirror = -Math.sin(rad) > 0 !== pose.thumbDown;
  const rel = clamp(wrapDeg(pose.forearm - pose.angle - 180), -80, 80);
  const tone = handTone(ctx.skin, rng);
  const t = `translate(${pt(pose.at)}) rotate(${n(pose.angle)}) scale(${n(mirror ? -pose.width : pose.width)} ${n(pose.width)}) translate(0 -0.45)`;
  return inFaceFrame(lf, `<g transform="${t}">${handBody(tone, rng, id, mirror ? -rel : rel)}</g>`);
}

/** Hands are usually a little darker and redder than the lit cheek the tone was sampled from. */
function handTone(skin: Rgb, rng: Rng): Rgb {
  const f = uni(rng, 0.84, 0.98);
  return {
    r: skin.r * f * uni(rng, 1.0, 1.05),
    g: skin.g * f * uni(rng, 0.95, 1.0),
    b: skin.b * f * uni(rng, 0.92, 1.0),
  };
}

function handMouth(lf: LocalFace, rng: Rng, ctx: OccluderContext, id: string) {
  const d = lf.d;
  const s = sgn(rng);
  const variant = pick(rng, ['across', 'across', 'diagonal'] as const);
  const width = uni(rng, 1.25, 1.5) * d;
  const angle = variant === 'across' ? s * uni(rng, 70, 100) : s * uni(rng, 30, 50);
  const at: P =
    variant === 'across'
      ? [lf.mouth[0] - s * uni(rng, 0.15, 0.45) * d, lf.mouth[1] + uni(rng, 0.0, 0.4) * d]
      : [lf.mouth[0] - s * uni(rng, 0.25, 0.45) * d, lf.mouth[1] + uni(rng, 0.35, 0.55) * d];
  // the arm comes up from below, leaning towards the wrist side
  const pose: HandPose = { at, angle, width, thumbDown: coin(rng, 0.8), forearm: 180 + s * uni(rng, 10, 40) };
  return {
    body: placedHand(lf, pose, ctx, rng, id),
    notes: `pose=${variant} angle=${n(angle)} palm=${n(width / d)}d`,
  };
}

function handEyes(lf: LocalFace, rng: Rng, ctx: OccluderContext, id: string) {
  const d = lf.d;
  const variant = pick(rng, ['both', 'one-up', 'one-side'] as const);
  const s = sgn(rng);
  const width = uni(rng, 1.25, 1.5) * d;
  let pose: HandPose;
  if (variant === 'both') {
    pose = {
      at: [-s * uni(rng, 0.5, 0.8) * d, uni(rng, -0.1, 0.1) * d],
      angle: s * uni(rng, 80, 100),
      width,
      thumbDown: coin(rng, 0.7),
      forearm: 180 + s * uni(rng, 15, 45),
    };
  } else if (variant === 'one-up') {
    pose = {
      at: [s * (0.5 + uni(rng, 0.05, 0.2)) * d, uni(rng, 0.15, 0.35) * d],
      angle: uni(rng, -12, 12) + s * 8,
      width,
      thumbDown: coin(rng),
      forearm: 180 - s * uni(rng, 0, 20),
    };
  } else {
    pose = {
      at: [s * uni(rng, 1.6, 1.9) * d, uni(rng, -0.05, 0.15) * d],
      angle: -s * uni(rng, 78, 100),
      width,
      thumbDown: coin(rng, 0.7),
      forearm: 180 - s * uni(rng, 10, 35),
    };
  }
  return {
    body: placedHand(lf, pose, ctx, rng, id),
    notes: `pose=${variant} side=${s > 0 ? 'left' : 'right'} angle=${n(pose.angle)} palm=${n(width / d)}d`,
  };
}

// ---------------------------------------------------------------- masks and face coverings

/** x positions where the closed polygon crosses the horizontal line y. */
function crossingsAt(poly: readonly Point[], y: number): number[] {
  const xs: number[] = [];
  for (let i = 0; i < poly.length; i++) {
    const a = poly[i] as Point;
    const b = poly[(i + 1) % poly.length] as Point;
    if (a[1] > y !== b[1] > y) xs.push(a[0] + ((y - a[1]) / (b[1] - a[1])) * (b[0] - a[0]));
  }
  return xs;
}

function mask(lf: LocalFace, rng: Rng, id: string) {
  const d = lf.d;
  const style = pick(rng, ['surgical', 'cloth', 'pattern', 'scarf'] as const);
  const c = mean(lf.oval);
  // order the face outline by angle around its centre
  const ordered = lf.oval
    .map((p) => ({ p, a: Math.atan2(p[1] - c[1], p[0] - c[0]) }))
    .sort((u, v) => u.a - v.a)
    .map((u) => u.p);
  const grow = style === 'scarf' ? uni(rng, 1.1, 1.18) : uni(rng, 1.03, 1.07);
  const below = (style === 'scarf' ? uni(rng, 0.35, 0.7) : uni(rng, 0.1, 0.25)) * d;
  const span = Math.max(1, lf.chin[1] - lf.mouth[1]);
  const expanded = ordered.map((p): P => {
    const q = add(c, mul(sub(p, c), grow));
    const t = clamp((p[1] - lf.mouth[1]) / span, 0, 1.2);
    return [q[0], q[1] + t * below];
  });
  const ys = lf.eyeBottom + uni(rng, 0.18, 0.32) * d;
  const xs = crossingsAt(expanded, ys);
  const xr = xs.length ? Math.min(...xs) : lf.edgeR[0];
  const xl = xs.length ? Math.max(...xs) : lf.edgeL[0];
  const lower = expanded
    .filter((p) => p[1] > ys + 0.02 * d)
    .map((p) => {
      let a = Math.atan2(p[1] - c[1], p[0] - c[0]);
      if (a < -Math.PI / 2) a += Math.PI * 2;
      return { p, a };
    })
    .sort((u, v) => u.a - v.a)
    .map((u) => u.p);
  // lower runs from the +x side (angle ~0) round the chin to the -x side (angle ~pi)
  const chain: P[] = [[xl, ys], ...lower, [xr, ys]];
  const peakY = Math.max(
    lf.noseBridge[1] + uni(rng, 0.22, 0.42) * (lf.noseTip[1] - lf.noseBridge[1]),
    lf.eyeBottom + 0.08 * d,
  );
  const peakX = lf.noseTip[0] * 0.7 + lf.noseBridge[0] * 0.3;
  const topSag = style === 'scarf' ? 0.05 * d : 0;
  const topEdge = `C${pt([xr + (peakX - xr) * 0.35, ys - topSag])} ${pt([peakX - (peakX - xr) * 0.35, peakY])} ${pt([peakX, peakY])} C${pt([peakX + (xl - peakX) * 0.35, peakY])} ${pt([xl - (xl - peakX) * 0.35, ys - topSag])} ${pt([xl, ys])}`;
  const outline = `M${pt(chain[0] as P)}${catmullCommands(chain, false)} ${topEdge} Z`;

  const palettes = {
    surgical: ['#8fc1e3', '#a7d3ef', '#eef2f3', '#262626', '#e8b4c4', '#9fd5c0'],
    cloth: ['#1f2f4f', '#1b1b1b', '#6b6f75', '#a89a7a', '#8c2a2a', '#e9e6df', '#2f4a3a'],
    pattern: ['#1f2f4f', '#e9e6df', '#8c2a2a', '#2b2b2b', '#d9a441', '#3b6ea5'],
    scarf: ['#8c2a2a', '#1f2f4f', '#d9a441', '#3a3a3a', '#6b3f6b', '#2f5a4a'],
  } as const;
  const base = parseHex(pick(rng, palettes[style]));
  const accent = luma(base) > 140 ? shade(base, 0.45) : lighten(base, uni(rng, 0.45, 0.7));
  let fillRef = hex(base);
  let defs = `<clipPath id="${id}clip"><path d="${outline}"/></clipPath>`;
  let patternName = '';
  if (style === 'pattern' || (style === 'scarf' && coin(rng, 0.6))) {
    patternName = pick(rng, ['stripes', 'dots', 'checks', 'flowers'] as const);
    const s = uni(rng, 0.14, 0.26) * d;
    const B = hex(base);
    const A = hex(accent);
    let tile = `<rect width="${n(s)}" height="${n(s)}" fill="${B}"/>`;
    if (patternName === 'stripes') tile += `<rect width="${n(s * 0.4)}" height="${n(s)}" fill="${A}"/>`;
    else if (patternName === 'dots')
      tile += `<circle cx="${n(s / 2)}" cy="${n(s / 2)}" r="${n(s * 0.18)}" fill="${A}"/>`;
    else if (patternName === 'checks')
      tile += `<rect width="${n(s / 2)}" height="${n(s / 2)}" fill="${A}" fill-opacity="0.7"/><rect x="${n(s / 2)}" y="${n(s / 2)}" width="${n(s / 2)}" height="${n(s / 2)}" fill="${A}" fill-opacity="0.7"/><rect width="${n(s)}" height="${n(s * 0.08)}" fill="${A}"/>`;
    else {
      const r = s * 0.09;
      for (let i = 0; i < 5; i++) {
        const a = (i / 5) * Math.PI * 2;
        tile += `<circle cx="${n(s / 2 + Math.cos(a) * r * 1.6)}" cy="${n(s / 2 + Math.sin(a) * r * 1.6)}" r="${n(r)}" fill="${A}"/>`;
      }
      tile += `<circle cx="${n(s / 2)}" cy="${n(s / 2)}" r="${n(r * 0.8)}" fill="${hex(parseHex('#e8c547'))}"/>`;
    }
    defs += `<pattern id="${id}pat" patternUnits="userSpaceOnUse" width="${n(s)}" height="${n(s)}" patternTransform="rotate(${n(uni(rng, -35, 35))})">${tile}</pattern>`;
    fillRef = `url(#${id}pat)`;
  }
  // cylinder-like shading across the face and a darker fold under the chin
  defs += `<linearGradient id="${id}shx" gradientUnits="userSpaceOnUse" x1="${n(xr)}" y1="0" x2="${n(xl)}" y2="0"><stop offset="0" stop-color="#000" stop-opacity="0.32"/><stop offset="0.32" stop-color="#000" stop-opacity="0.02"/><stop offset="0.55" stop-color="#fff" stop-opacity="0.06"/><stop offset="0.75" stop-color="#000" stop-opacity="0.04"/><stop offset="1" stop-color="#000" stop-opacity="0.34"/></linearGradient>`;
  defs += `<linearGradient id="${id}shy" gradientUnits="userSpaceOnUse" x1="0" y1="${n(peakY)}" x2="0" y2="${n(lf.chin[1] + below)}"><stop offset="0" stop-color="#fff" stop-opacity="0.1"/><stop offset="0.45" stop-color="#fff" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="0.3"/></linearGradient>`;
  defs += `<filter id="${id}blur" x="-20%" y="-20%" width="140%" height="140%"><feGaussianBlur stdDeviation="${n(0.03 * d)}"/></filter>`;

  let body = `<defs>${defs}</defs>`;
  body += `<path d="${outline}" fill="#000" fill-opacity="0.3" filter="url(#${id}blur)" transform="translate(0 ${n(0.03 * d)})"/>`;
  body += `<path d="${outline}" fill="${fillRef}"/>`;
  let extra = '';
  if (style === 'surgical') {
    const pleatCol = hex(shade(base, 0.72));
    const y0 = peakY + 0.25 * d;
    const y1 = Math.max(y0 + 0.3 * d, lf.chin[1] - 0.25 * d);
    for (let i = 0; i < 3; i++) {
      const y = y0 + ((y1 - y0) * i) / 2;
      const sag = uni(rng, 0.06, 0.14) * d;
      extra += `<path d="M${n(xr - 0.1 * d)},${n(y)} Q${n(peakX)},${n(y + sag)} ${n(xl + 0.1 * d)},${n(y)}" fill="none" stroke="${pleatCol}" stroke-opacity="0.55" stroke-width="${n(0.022 * d)}"/>`;
      extra += `<path d="M${n(xr - 0.1 * d)},${n(y - 0.025 * d)} Q${n(peakX)},${n(y + sag - 0.025 * d)} ${n(xl + 0.1 * d)},${n(y - 0.025 * d)}" fill="none" stroke="#fff" stroke-opacity="0.25" stroke-width="${n(0.015 * d)}"/>`;
    }
  } else if (style === 'scarf') {
    for (let i = 0; i < 4; i++) {
      const y = lf.mouth[1] + uni(rng, -0.3, 0.9) * d;
      extra += `<path d="M${n(xr - 0.2 * d)},${n(y)} Q${n(peakX + uni(rng, -0.3, 0.3) * d)},${n(y + uni(rng, 0.1, 0.3) * d)} ${n(xl + 0.2 * d)},${n(y + uni(rng, -0.1, 0.1) * d)}" fill="none" stroke="#000" stroke-opacity="0.18" stroke-width="${n(0.05 * d)}"/>`;
    }
  }
  body += `<g clip-path="url(#${id}clip)">${extra}<rect x="${n(xr - d)}" y="${n(peakY - d)}" width="${n(xl - xr + 2 * d)}" height="${n(lf.chin[1] + below - peakY + 2 * d)}" fill="url(#${id}shx)"/><rect x="${n(xr - d)}" y="${n(peakY - d)}" width="${n(xl - xr + 2 * d)}" height="${n(lf.chin[1] + below - peakY + 2 * d)}" fill="url(#${id}shy)"/></g>`;
  // rim along the top edge and ear loops
  const rimCol = style === 'surgical' ? hex(lighten(base, 0.35)) : hex(shade(base, 0.8));
  body += `<path d="M${pt([xr, ys])} ${topEdge}" fill="none" stroke="${rimCol}" stroke-width="${n(0.03 * d)}" stroke-opacity="0.8"/>`;
  if (style === 'surgical' || style === 'cloth') {
    const loopCol = style === 'surgical' ? '#f2f2f2' : hex(shade(base, 0.9));
    const lowY = lf.mouth[1] + 0.1 * d;
    for (const side of [-1, 1]) {
      const x0 = side < 0 ? xr : xl;
      const lowXs = crossingsAt(expanded, lowY);
      const x1 = lowXs.length ? (side < 0 ? Math.min(...lowXs) : Math.max(...lowXs)) : x0;
      const ear: P = [x0 + side * 0.14 * d, ys - 0.05 * d];
      body += `<path d="M${pt([x0, ys + 0.02 * d])} Q${pt([x0 + side * 0.08 * d, ys - 0.06 * d])} ${pt(ear)} M${pt([x1, lowY])} Q${pt([x1 + side * 0.16 * d, lowY - 0.1 * d])} ${pt(ear)}" fill="none" stroke="${loopCol}" stroke-width="${n(0.025 * d)}" stroke-linecap="round"/>`;
    }
  }
  return {
    body: inFaceFrame(lf, body),
    notes: `style=${style}${patternName ? ` pattern=${patternName}` : ''} colour=${hex(base)}`,
  };
}

// ---------------------------------------------------------------- hair

const HAIR_PALETTE = ['#15100c', '#1f1611', '#2b1e15', '#3a2718', '#4a3220', '#262626'];

function hairColour(rng: Rng, ctx: OccluderContext): Rgb {
  if (ctx.hair && luma(ctx.hair) < 85 && coin(rng, 0.9)) return shade(ctx.hair, uni(rng, 0.85, 1.05));
  return parseHex(pick(rng, HAIR_PALETTE));
}

function hairFringe(lf: LocalFace, rng: Rng, ctx: OccluderContext, id: string) {
  const d = lf.d;
  const col = hairColour(rng, ctx);
  // the hair mass: a dome over the head, its sides coming down to about eye level
  const capY = lf.eyeTop - uni(rng, 0.0, 0.12) * d;
  const xs = crossingsAt(lf.oval, capY);
  const halfW =
    ((xs.length ? Math.max(...xs) - Math.min(...xs) : lf.edgeL[0] - lf.edgeR[0]) / 2) * uni(rng, 1.08, 1.16);
  const midX = xs.length ? (Math.max(...xs) + Math.min(...xs)) / 2 : 0;
  const crownY = Math.min(lf.top[1], lf.eyeTop - 0.7 * d) - uni(rng, 0.45, 0.65) * d;
  const upper: P[] = [];
  for (let i = 0; i <= 12; i++) {
    const a = Math.PI + (i / 12) * Math.PI; // from the -x side over the top to the +x side
    upper.push([midX + halfW * Math.cos(a), capY + (capY - crownY) * Math.sin(a)]);
  }
  // fringe: its lower edge slants for a side-swept fringe
  const fa = lf.er[0] - uni(rng, 0.5, 0.68) * d;
  const fb = lf.el[0] + uni(rng, 0.5, 0.68) * d;
  const yb = lf.eyeBottom + uni(rng, 0.2, 0.4) * d;
  const slope = uni(rng, -0.25, 0.25);
  const bottomAt = (x: number) => yb + slope * x;
  const bottom: P[] = [];
  const k = 8;
  for (let i = 0; i <= k; i++) {
    const x = fb - ((fb - fa) * i) / k;
    bottom.push([x, bottomAt(x) - 0.1 * d + uni(rng, -0.08, 0.06) * d]);
  }
  const xa = midX - halfW;
  const xb = midX + halfW;
  const outline: P[] = [...upper, [(xb + fb) / 2, (capY + bottomAt(fb)) / 2], ...bottom];
  outline.push([(xa + fa) / 2, (capY + bottomAt(fa)) / 2]);
  const outlinePath = smoothPath(outline, true);
  let body = `<defs><filter id="${id}blur" x="-20%" y="-20%" width="140%" height="140%"><feGaussianBlur stdDeviation="${n(0.035 * d)}"/></filter><linearGradient id="${id}g" gradientUnits="userSpaceOnUse" x1="0" y1="${n(crownY)}" x2="0" y2="${n(yb)}"><stop offset="0" stop-color="${hex(shade(col, 0.9))}"/><stop offset="0.3" stop-color="${hex(lighten(col, 0.08))}"/><stop offset="1" stop-color="${hex(shade(col, 0.78))}"/></linearGradient></defs>`;
  body += `<path d="${outlinePath}" fill="#000" fill-opacity="0.4" filter="url(#${id}blur)" transform="translate(0 ${n(0.05 * d)})"/>`;
  body += `<path d="${outlinePath}" fill="url(#${id}g)"/>`;
  // strands combed from a parting near the crown, following the dome, over the mass and past its lower edge
  const parting = midX + uni(rng, -0.4, 0.4) * d;
  const count = Math.round(uni(rng, 60, 85));
  const strands: string[] = [];
  for (let i = 0; i < count; i++) {
    const x = uni(rng, fa - 0.15 * d, fb + 0.15 * d);
    const startX = parting + (x - parting) * uni(rng, 0.2, 0.5);
    const u = clamp((startX - midX) / halfW, -0.95, 0.95);
    const p0: P = [startX, capY - (capY - crownY) * Math.sqrt(1 - u * u) + uni(rng, 0.04, 0.12) * d];
    const p3: P = [x + uni(rng, -0.04, 0.04) * d, bottomAt(x) + uni(rng, -0.12, 0.12) * d];
    const bulge = (x - midX) * uni(rng, 0.12, 0.3);
    const p1: P = [p0[0] + (p3[0] - p0[0]) * 0.45 + bulge, p0[1] + (p3[1] - p0[1]) * 0.3];
    const p2: P = [p3[0] + bulge * 0.3, p0[1] + (p3[1] - p0[1]) * 0.72];
    const centre = sampleCubic(p0, p1, p2, p3, 16);
    const w0 = uni(rng, 0.04, 0.1) * d;
    strands.push(
      `<path d="${taperedPath(centre, w0, 0.012 * d, uni(rng, 1.5, 3))}" fill="${hex(shade(col, uni(rng, 0.65, 1.35)))}"/>`,
    );
    if (i % 2 === 0) {
      const shine = i % 4 === 0 ? lighten(col, uni(rng, 0.2, 0.35)) : shade(col, 0.5);
      strands.push(
        `<path d="${smoothPath(centre.slice(1, 13), false)}" fill="none" stroke="${hex(shine)}" stroke-opacity="${n(uni(rng, 0.2, 0.45))}" stroke-width="${n(uni(rng, 0.008, 0.02) * d)}"/>`,
      );
    }
  }
  body += strands.join('');
  return {
    body: inFaceFrame(lf, body),
    notes: `colour=${hex(col)} strands=${count} slope=${n(slope)} fringe_to=${n((yb - lf.eyeBottom) / d)}d below eyes`,
  };
}

function hairStrands(lf: LocalFace, rng: Rng, ctx: OccluderContext) {
  const d = lf.d;
  const col = hairColour(rng, ctx);
  const count = coin(rng, 0.6) ? 1 : 2;
  const routes: string[] = [];
  let body = '';
  const ytop = Math.min(lf.top[1], lf.eyeTop - 0.6 * d);
  for (let i = 0; i < count; i++) {
    const route = pick(rng, ['temple', 'forehead', 'centre'] as const);
    const e = sgn(rng);
    const outer = e < 0 ? lf.er[0] - lf.ewR * 0.5 : lf.el[0] + lf.ewL * 0.5;
    let pts: P[];
    if (route === 'temple') {
      pts = [
        [e * uni(rng, 0.0, 0.35) * d, ytop + uni(rng, -0.05, 0.1) * d],
        [e * uni(rng, 0.6, 0.75) * d, uni(rng, -0.65, -0.5) * d],
        [outer + e * uni(rng, 0.2, 0.3) * d, uni(rng, -0.2, 0.1) * d],
        [outer + e * uni(rng, 0.18, 0.3) * d, uni(rng, 0.45, 0.7) * d],
        [outer + e * uni(rng, 0.1, 0.25) * d, uni(rng, 0.9, 1.3) * d],
      ];
    } else if (route === 'forehead') {
      const yEnd = Math.min(lf.eyeTop - 0.32 * d, uni(rng, -0.55, -0.4) * d);
      pts = [
        [-e * uni(rng, 0.2, 0.5) * d, ytop + uni(rng, 0.0, 0.1) * d],
        [e * uni(rng, -0.05, 0.2) * d, (ytop + yEnd) / 2 + uni(rng, -0.05, 0.05) * d],
        [e * uni(rng, 0.55, 0.75) * d, yEnd],
        [outer + e * uni(rng, 0.15, 0.3) * d, yEnd + uni(rng, 0.0, 0.1) * d],
      ];
    } else {
      const x = uni(rng, -0.06, 0.06) * d;
      pts = [
        [x + uni(rng, -0.1, 0.1) * d, ytop + uni(rng, 0, 0.1) * d],
        [x, uni(rng, -0.45, -0.3) * d],
        [x + e * 0.02 * d, lf.eyeBottom * 0.5],
        [e * uni(rng, 0.1, 0.18) * d, lf.eyeBottom + 0.3 * d],
        [e * uni(rng, 0.28, 0.45) * d, lf.noseTip[1] + uni(rng, 0.1, 0.3) * d],
      ];
    }
    routes.push(route);
    // a lock: a few thin hairs that start together and fan out a little towards the end
    const hairs = Math.round(uni(rng, 3, 6));
    const opacity = uni(rng, 0.6, 0.85);
    for (let j = 0; j < hairs; j++) {
      const spread = uni(rng, -0.05, 0.05) * d;
      const path = pts.map((p, idx): P => {
        const t = idx / (pts.length - 1);
        const a = pts[Math.max(0, idx - 1)] as P;
        const b = pts[Math.min(pts.length - 1, idx + 1)] as P;
        const len = dist(a, b) || 1;
        return [p[0] - ((b[1] - a[1]) / len) * spread * t, p[1] + ((b[0] - a[0]) / len) * spread * t];
      });
      const w = Math.max(0.7, uni(rng, 0.006, 0.014) * d);
      body += `<path d="${smoothPath(path, false)}" fill="none" stroke="${hex(shade(col, uni(rng, 0.8, 1.2)))}" stroke-opacity="${n(opacity)}" stroke-width="${n(w)}" stroke-linecap="round"/>`;
    }
  }
  return { body: inFaceFrame(lf, body), notes: `colour=${hex(col)} strands=${count} routes=${routes.join('+')}` };
}

// ---------------------------------------------------------------- phone

function phone(lf: LocalFace, rng: Rng, ctx: OccluderContext, id: string) {
  const d = lf.d;
  const placement = pick(rng, ['lower', 'lower', 'eye'] as const);
  const w = uni(rng, 1.0, 1.2) * d;
  const h = w * uni(rng, 2.0, 2.15);
  const e = sgn(rng);
  let centre: P;
  let angle: number;
  if (placement === 'lower') {
    centre = [lf.noseTip[0] + uni(rng, -0.3, 0.3) * d, (lf.noseTip[1] + lf.mouth[1]) / 2 + uni(rng, 0.0, 0.25) * d];
    angle = 90 * sgn(rng) + uni(rng, -12, 12);
  } else {
    centre = [e * uni(rng, 0.55, 0.75) * d, uni(rng, 0.1, 0.35) * d];
    angle = uni(rng, -12, 12);
  }
  const caseCol = parseHex(pick(rng, ['#111214', '#1c1c1e', '#2a2d34', '#1d2b3a', '#3a1e22', '#23302a', '#3b3b3b']));
  const r = w * 0.14;
  const cam = w * 0.42;
  const lensR = w * 0.075;
  const x0 = -w / 2;
  const y0 = -h / 2;
  const lensCount = coin(rng) ? 2 : 3;
  const lensPos: P[] = (
    lensCount === 2
      ? [
          [0.3, 0.3],
          [0.3, 0.72],
        ]
      : [
          [0.3, 0.28],
          [0.3, 0.72],
          [0.72, 0.5],
        ]
  ).map(([u, v]): P => [x0 + w * 0.07 + cam * (u ?? 0), y0 + w * 0.07 + cam * (v ?? 0)]);
  // the holding hand: palm beside one long edge (outside the phone), fingers curled over the back
  // palm beside the lower edge of a landscape phone (fingers curl up over the back), either side of a portrait one
  const side = Math.sin((angle * Math.PI) / 180);
  const fs = Math.abs(side) > 0.5 ? Math.sign(side) : sgn(rng);
  const tone = handTone(ctx.skin, rng);
  const scale = w * uni(rng, 0.95, 1.1);
  const handY = uni(rng, 0.05, 0.3) * h;
  // forearm straight down in the face frame, expressed in the phone frame
  const down = -angle;
  let hand = `<g transform="translate(${n(fs * (w / 2 + 0.18 * scale))} ${n(handY)}) scale(${n(scale)})">`;
  hand += `<g transform="rotate(${n(down)})"><path d="${polyPath([
    [-0.3, 0],
    [0.3, 0],
    [0.38, 4],
    [-0.38, 4],
  ])}" fill="${hex(tone)}"/><path d="${polyPath([
    [-0.3, 0],
    [0.3, 0],
    [0.38, 4],
    [-0.38, 4],
  ])}" fill="url(#${id}fg)"/></g>`;
  hand += `<ellipse cx="0" cy="0" rx="0.36" ry="0.45" fill="${hex(tone)}"/><ellipse cx="0" cy="0" rx="0.36" ry="0.45" fill="url(#${id}fg)"/>`;
  hand += '</g>';
  let fingers = '';
  for (let i = 0; i < 4; i++) {
    const len = [0.5, 0.55, 0.52, 0.42][i] ?? 0.5;
    const f: Digit = {
      x: fs * (w / 2 + 0.1 * scale),
      y: handY + (-0.42 + 0.2 * i + uni(rng, -0.015, 0.015)) * scale,
      len: len * scale,
      w: 0.2 * scale,
      ang: -fs * 90 + uni(rng, -6, 6),
    };
    fingers = drawFinger(f, tone, id, 0.012 * scale) + fingers;
  }
  let body = `<defs>${fingerDefs(id)}<linearGradient id="${id}g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${hex(lighten(caseCol, 0.14))}"/><stop offset="1" stop-color="${hex(shade(caseCol, 0.8))}"/></linearGradient><filter id="${id}blur" x="-20%" y="-20%" width="140%" height="140%"><feGaussianBlur stdDeviation="${n(0.04 * d)}"/></filter></defs>`;
  body += `<rect x="${n(x0)}" y="${n(y0)}" width="${n(w)}" height="${n(h)}" rx="${n(r)}" fill="#000" fill-opacity="0.35" filter="url(#${id}blur)" transform="translate(${n(0.04 * d)} ${n(0.05 * d)})"/>`;
  body += hand;
  body += `<rect x="${n(x0)}" y="${n(y0)}" width="${n(w)}" height="${n(h)}" rx="${n(r)}" fill="url(#${id}g)" stroke="${hex(lighten(caseCol, 0.35))}" stroke-width="${n(w * 0.014)}"/>`;
  body += `<rect x="${n(x0 + w * 0.07)}" y="${n(y0 + w * 0.07)}" width="${n(cam)}" height="${n(cam)}" rx="${n(cam * 0.24)}" fill="${hex(shade(caseCol, 0.6))}" stroke="${hex(lighten(caseCol, 0.25))}" stroke-width="${n(w * 0.01)}"/>`;
  for (const p of lensPos) {
    body += `<circle cx="${n(p[0])}" cy="${n(p[1])}" r="${n(lensR)}" fill="#050505" stroke="#4a4a4a" stroke-width="${n(w * 0.018)}"/><circle cx="${n(p[0] - lensR * 0.3)}" cy="${n(p[1] - lensR * 0.3)}" r="${n(lensR * 0.22)}" fill="#ffffff" fill-opacity="0.55"/>`;
  }
  body += `<circle cx="${n(x0 + w * 0.07 + cam * 0.72)}" cy="${n(y0 + w * 0.07 + cam * (lensCount === 2 ? 0.3 : 0.85))}" r="${n(w * 0.03)}" fill="#e6e2d0"/>`;
  body += `<circle cx="0" cy="${n(h * 0.05)}" r="${n(w * 0.09)}" fill="#fff" fill-opacity="0.07"/>`;
  body += fingers;
  return {
    body: inFaceFrame(lf, `<g transform="translate(${pt(centre)}) rotate(${n(angle)})">${body}</g>`),
    notes: `placement=${placement}${placement === 'eye' ? (e < 0 ? ' eye=right' : ' eye=left') : ''} case=${hex(caseCol)} size=${n(w / d)}x${n(h / d)}d`,
  };
}

// ---------------------------------------------------------------- entry point

/** Builds one occluder of the given kind for a face; the image size sets the SVG canvas. */
export function buildOccluder(
  kind: OccluderKind,
  face: OccluderFace,
  size: { width: number; height: number },
  rng: Rng,
  ctx: OccluderContext,
): Occluder {
  const lf = localFace(face);
  const id = `o${Math.floor(rng() * 1e6)}`;
  let built: { body: string; notes: string };
  switch (kind) {
    case 'sunglasses':
      built = glasses(lf, rng, 'sun', id);
      break;
    case 'clear-glasses':
      built = glasses(lf, rng, 'clear', id);
      break;
    case 'light-tint-glasses':
      built = glasses(lf, rng, 'tint', id);
      break;
    case 'hand-mouth':
      built = handMouth(lf, rng, ctx, id);
      break;
    case 'hand-eyes':
      built = handEyes(lf, rng, ctx, id);
      break;
    case 'mask':
      built = mask(lf, rng, id);
      break;
    case 'hair':
      built = hairFringe(lf, rng, ctx, id);
      break;
    case 'hair-strand':
      built = hairStrands(lf, rng, ctx);
      break;
    case 'phone':
      built = phone(lf, rng, ctx, id);
      break;
  }
  const soften = clamp(lf.d / 110, 0.4, 1.4);
  return { kind, svg: svgDocument(size.width, size.height, built.body, soften), notes: built.notes };
}

// ---------------------------------------------------------------- coverage

export interface RegionPolygons {
  rightEye: P[];
  leftEye: P[];
  nose: P[];
  mouth: P[];
}

/** Convex outlines (image pixels) of each eye, the lower nose (tip, wings, bottom) and the outer lips. */
export function regionPolygons(face: OccluderFace): RegionPolygons {
  const k = face.points;
  const lf = localFace(face);
  const eye = (contour: readonly Point[], named: Point[]) => convexHull(contour.length >= 4 ? contour : named);
  const midY = (lf.noseBridge[1] + lf.noseTip[1]) / 2;
  const lowerNose = face.nose.filter((p) => lf.toLocal(p)[1] >= midY);
  const nosePts: Point[] = [
    ...lowerNose,
    k.noseTip,
    k.noseBottom,
    ...ellipsePoints(k.noseTip, 0.16 * lf.d, 0.1 * lf.d),
  ];
  return {
    rightEye: eye(face.rightEye, [k.rightEyeOuter, k.rightEyeInner, k.rightEyeTop, k.rightEyeBottom]),
    leftEye: eye(face.leftEye, [k.leftEyeOuter, k.leftEyeInner, k.leftEyeTop, k.leftEyeBottom]),
    nose: convexHull(nosePts),
    mouth: convexHull(face.lips.length >= 4 ? face.lips : [k.upperLip, k.lowerLip, k.mouthRight, k.mouthLeft]),
  };
}

/** Fraction of the polygon's pixels whose alpha (RGBA buffer) is at least minAlpha (0-255). */
export function polygonCoverage(
  rgba: Uint8Array,
  width: number,
  height: number,
  poly: readonly Point[],
  minAlpha = 128,
): number {
  if (poly.length < 3) return 0;
  const xs = poly.map((p) => p[0]);
  const ys = poly.map((p) => p[1]);
  const x0 = Math.max(0, Math.floor(Math.min(...xs)));
  const x1 = Math.min(width - 1, Math.ceil(Math.max(...xs)));
  const y0 = Math.max(0, Math.floor(Math.min(...ys)));
  const y1 = Math.min(height - 1, Math.ceil(Math.max(...ys)));
  let inside = 0;
  let covered = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if (!pointInPolygon(x + 0.5, y + 0.5, poly)) continue;
      inside++;
      if ((rgba[(y * width + x) * 4 + 3] ?? 0) >= minAlpha) covered++;
    }
  }
  if (inside === 0) {
    const c = mean(poly);
    const x = clamp(Math.round(c[0]), 0, width - 1);
    const y = clamp(Math.round(c[1]), 0, height - 1);
    return (rgba[(y * width + x) * 4 + 3] ?? 0) >= minAlpha ? 1 : 0;
  }
  return covered / inside;
}

export interface Coverage {
  rightEye: number;
  leftEye: number;
  nose: number;
  mouth: number;
}

export interface RenderedOccluder {
  /** Straight (not premultiplied) RGBA, width*height*4 bytes. */
  rgba: Uint8Array;
  width: number;
  height: number;
}

/** Rasterises the occluder SVG on its own (transparent background). */
export async function renderOccluder(svg: string): Promise<RenderedOccluder> {
  const { data, info } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return {
    rgba: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
  };
}

/** How much of each face region the rendered occluder hides. */
export function coverageOf(r: RenderedOccluder, face: OccluderFace): Coverage {
  const polys = regionPolygons(face);
  const cov = (p: P[]) => polygonCoverage(r.rgba, r.width, r.height, p);
  return { rightEye: cov(polys.rightEye), leftEye: cov(polys.leftEye), nose: cov(polys.nose), mouth: cov(polys.mouth) };
}

/** Renders the occluder SVG alone and measures how much of each face region it hides. */
export async function measureCoverage(svg: string, face: OccluderFace): Promise<Coverage> {
  return coverageOf(await renderOccluder(svg), face);
}

/**
 * Blends the rendered occluder over an RGB image (same size) and adds a little sensor-like grain to the drawn
 * pixels only (grain = standard deviation in grey levels), so that flat vector fills do not stand out as noiseless.
 */
export function blendOccluder(rgb: Uint8Array, r: RenderedOccluder, rng: Rng, grain = 3): Uint8Array {
  const out = new Uint8Array(rgb);
  const pixels = r.width * r.height;
  for (let i = 0; i < pixels; i++) {
    const a = (r.rgba[i * 4 + 3] ?? 0) / 255;
    if (a === 0) continue;
    // approximately normal: sum of three uniforms, scaled to unit variance
    const g = (rng() + rng() + rng() - 1.5) * 2 * grain;
    for (let c = 0; c < 3; c++) {
      const o = r.rgba[i * 4 + c] ?? 0;
      const base = rgb[i * 3 + c] ?? 0;
      const v = base * (1 - a) + (o + g + (rng() - 0.5) * grain * 0.6) * a;
      out[i * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
    }
  }
  return out;
}

/** A region counts as covered when at least `min` of it (either eye, for the eyes) is hidden. */
export function coveredRegions(c: Coverage, min = 0.5): Region[] {
  const out: Region[] = [];
  if (Math.max(c.rightEye, c.leftEye) >= min) out.push('eyes');
  if (c.nose >= min) out.push('nose');
  if (c.mouth >= min) out.push('mouth');
  return out;
}

/**
 * Whether a rendered occluder does what its kind promises: positives hide their main region (sunglasses and hair
 * both eyes, hands and phones at least one region of their target, masks nose and mouth); negatives hide nothing.
 */
export function coverageFits(kind: OccluderKind, c: Coverage): boolean {
  const eyes = Math.min(c.rightEye, c.leftEye);
  const anyEye = Math.max(c.rightEye, c.leftEye);
  switch (kind) {
    case 'sunglasses':
      return eyes >= 0.9;
    case 'hair':
      return eyes >= 0.75;
    case 'hand-eyes':
      return anyEye >= 0.7;
    case 'hand-mouth':
      return c.mouth >= 0.7 && anyEye < 0.15;
    case 'mask':
      return c.nose >= 0.6 && c.mouth >= 0.9 && anyEye < 0.1;
    case 'phone':
      return coveredRegions(c, 0.6).length > 0;
    case 'clear-glasses':
    case 'light-tint-glasses':
    case 'hair-strand':
      return anyEye < 0.08 && c.nose < 0.2 && c.mouth < 0.1;
  }
}
