import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  blendOccluder,
  buildOccluder,
  coverageFits,
  coverageOf,
  coveredRegions,
  mulberry32,
  OCCLUDER_KINDS,
  type OccluderFace,
  type OccluderKind,
  type Point,
  renderOccluder,
} from './occluders.js';

const W = 400;
const H = 480;
const GREY = 128;

const ellipse = (cx: number, cy: number, rx: number, ry: number, k = 16): Point[] =>
  Array.from({ length: k }, (_, i) => {
    const a = (i / k) * Math.PI * 2;
    return [cx + rx * Math.cos(a), cy + ry * Math.sin(a)] as const;
  });

/** A made-up frontal face: eye centres 100 px apart at y = 200, mouth at y = 318, chin at y = 380. */
function fakeFace(rollDeg = 0): OccluderFace {
  const points = {
    top: [200, 90],
    noseBridge: [200, 200],
    noseTip: [200, 270],
    noseBottom: [200, 282],
    upperLip: [200, 305],
    lowerLip: [200, 330],
    mouthRight: [168, 316],
    mouthLeft: [232, 316],
    chin: [200, 380],
    rightEyeOuter: [126, 200],
    rightEyeInner: [174, 200],
    leftEyeInner: [226, 200],
    leftEyeOuter: [274, 200],
    rightEyeTop: [150, 190],
    rightEyeBottom: [150, 210],
    leftEyeTop: [250, 190],
    leftEyeBottom: [250, 210],
    rightUpperCheek: [140, 250],
    leftUpperCheek: [260, 250],
    rightFaceEdge: [88, 240],
    leftFaceEdge: [312, 240],
  } satisfies Record<string, Point>;
  const face: OccluderFace = {
    points,
    rightEye: ellipse(150, 200, 24, 10),
    leftEye: ellipse(250, 200, 24, 10),
    lips: ellipse(200, 317, 32, 14),
    nose: [points.noseTip, points.noseBottom, [200, 215], [200, 240], [180, 275], [220, 275]],
    faceOval: ellipse(200, 235, 115, 148, 36),
  };
  if (rollDeg === 0) return face;
  const a = (rollDeg * Math.PI) / 180;
  const rot = (p: Point): Point => {
    const dx = p[0] - 200;
    const dy = p[1] - 240;
    return [200 + dx * Math.cos(a) - dy * Math.sin(a), 240 + dx * Math.sin(a) + dy * Math.cos(a)];
  };
  return {
    points: Object.fromEntries(Object.entries(face.points).map(([k, p]) => [k, rot(p)])) as OccluderFace['points'],
    rightEye: face.rightEye.map(rot),
    leftEye: face.leftEye.map(rot),
    lips: face.lips.map(rot),
    nose: face.nose.map(rot),
    faceOval: face.faceOval.map(rot),
  };
}

const ctx = { skin: { r: 205, g: 160, b: 135 } };

/** Composites the SVG over a flat grey RGB image with sharp and returns the raw RGB pixels. */
async function onGrey(svg: string): Promise<Buffer> {
  return sharp({ create: { width: W, height: H, channels: 3, background: { r: GREY, g: GREY, b: GREY } } })
    .composite([{ input: Buffer.from(svg), left: 0, top: 0 }])
    .removeAlpha()
    .raw()
    .toBuffer();
}

const pixel = (rgb: Buffer | Uint8Array, p: Point): number[] => {
  const i = (Math.round(p[1]) * W + Math.round(p[0])) * 3;
  return [rgb[i] ?? 0, rgb[i + 1] ?? 0, rgb[i + 2] ?? 0];
};
const luma = (c: number[]) => 0.299 * (c[0] ?? 0) + 0.587 * (c[1] ?? 0) + 0.114 * (c[2] ?? 0);

/** First draw (of up to 8 seeds) whose coverage fits the kind, as the generator does. */
async function fitted(kind: OccluderKind, face: OccluderFace, seed = 7) {
  for (let attempt = 0; attempt < 8; attempt++) {
    const occ = buildOccluder(kind, face, { width: W, height: H }, mulberry32(seed * 100 + attempt), ctx);
    const rendered = await renderOccluder(occ.svg);
    const cov = coverageOf(rendered, face);
    if (coverageFits(kind, cov)) return { occ, rendered, cov };
  }
  throw new Error(`no ${kind} fitted`);
}

describe('occluder SVGs', () => {
  it('sunglasses darken both eye centres and leave the mouth alone', async () => {
    const face = fakeFace();
    const occ = buildOccluder('sunglasses', face, { width: W, height: H }, mulberry32(1), ctx);
    const rgb = await onGrey(occ.svg);
    expect(luma(pixel(rgb, [150, 200]))).toBeLessThan(70);
    expect(luma(pixel(rgb, [250, 200]))).toBeLessThan(70);
    expect(pixel(rgb, [200, 317])).toEqual([GREY, GREY, GREY]);
    expect(pixel(rgb, [200, 380])).toEqual([GREY, GREY, GREY]);
    const cov = coverageOf(await renderOccluder(occ.svg), face);
    expect(Math.min(cov.rightEye, cov.leftEye)).toBeGreaterThan(0.9);
    expect(cov.mouth).toBe(0);
    expect(coveredRegions(cov)).toEqual(['eyes']);
  });

  it('follows a rolled face', async () => {
    const face = fakeFace(20);
    const occ = buildOccluder('sunglasses', face, { width: W, height: H }, mulberry32(2), ctx);
    const rgb = await onGrey(occ.svg);
    const k = face.points;
    for (const eye of [
      [k.rightEyeOuter, k.rightEyeInner],
      [k.leftEyeOuter, k.leftEyeInner],
    ] as const) {
      const c: Point = [(eye[0][0] + eye[1][0]) / 2, (eye[0][1] + eye[1][1]) / 2];
      expect(luma(pixel(rgb, c))).toBeLessThan(70);
    }
    expect(pixel(rgb, k.chin)).toEqual([GREY, GREY, GREY]);
  });

  it('copes with eyes named the other way round (mirrored image)', async () => {
    const f = fakeFace();
    const k = f.points;
    const face: OccluderFace = {
      ...f,
      points: {
        ...k,
        rightEyeOuter: k.leftEyeOuter,
        rightEyeInner: k.leftEyeInner,
        rightEyeTop: k.leftEyeTop,
        rightEyeBottom: k.leftEyeBottom,
        leftEyeOuter: k.rightEyeOuter,
        leftEyeInner: k.rightEyeInner,
        leftEyeTop: k.rightEyeTop,
        leftEyeBottom: k.rightEyeBottom,
        rightFaceEdge: k.leftFaceEdge,
        leftFaceEdge: k.rightFaceEdge,
      },
      rightEye: f.leftEye,
      leftEye: f.rightEye,
    };
    const { occ } = await fitted('mask', face);
    const rgb = await onGrey(occ.svg);
    expect(pixel(rgb, [150, 200])).toEqual([GREY, GREY, GREY]);
    expect(pixel(rgb, [200, 317])).not.toEqual([GREY, GREY, GREY]);
  });

  it('a mask covers nose and mouth but not the eyes', async () => {
    const face = fakeFace();
    const { occ, cov } = await fitted('mask', face);
    expect(coveredRegions(cov)).toEqual(['nose', 'mouth']);
    const rgb = await onGrey(occ.svg);
    expect(pixel(rgb, [150, 200])).toEqual([GREY, GREY, GREY]);
    expect(pixel(rgb, [200, 317])).not.toEqual([GREY, GREY, GREY]);
  });

  it('clear glasses leave the eyes visible (faint tint only)', async () => {
    const face = fakeFace();
    for (const seed of [1, 2, 3, 4, 5]) {
      const occ = buildOccluder('clear-glasses', face, { width: W, height: H }, mulberry32(seed), ctx);
      const rgb = await onGrey(occ.svg);
      for (const c of [pixel(rgb, [150, 200]), pixel(rgb, [250, 200])]) {
        // at most 15 % of the way to black or white
        expect(Math.abs(luma(c) - GREY)).toBeLessThanOrEqual(0.15 * 128 + 1);
      }
      const cov = coverageOf(await renderOccluder(occ.svg), face);
      expect(coveredRegions(cov)).toEqual([]);
    }
  });

  it('every kind fits its promise on a plain face; positives cover, negatives do not', async () => {
    const face = fakeFace();
    for (const kind of OCCLUDER_KINDS) {
      const { cov } = await fitted(kind, face);
      const regions = coveredRegions(cov);
      if (kind === 'clear-glasses' || kind === 'light-tint-glasses' || kind === 'hair-strand') {
        expect(regions, kind).toEqual([]);
      } else {
        expect(regions.length, kind).toBeGreaterThan(0);
      }
      if (kind === 'sunglasses' || kind === 'hair') expect(regions, kind).toContain('eyes');
      if (kind === 'hand-mouth') expect(regions, kind).toContain('mouth');
    }
  });

  it('is reproducible for a seed and varies between seeds', () => {
    const face = fakeFace();
    const a = buildOccluder('hand-mouth', face, { width: W, height: H }, mulberry32(5), ctx);
    const b = buildOccluder('hand-mouth', face, { width: W, height: H }, mulberry32(5), ctx);
    const c = buildOccluder('hand-mouth', face, { width: W, height: H }, mulberry32(6), ctx);
    expect(a.svg).toBe(b.svg);
    expect(a.svg).not.toBe(c.svg);
  });

  it('blending only touches drawn pixels', async () => {
    const face = fakeFace();
    const occ = buildOccluder('sunglasses', face, { width: W, height: H }, mulberry32(3), ctx);
    const rendered = await renderOccluder(occ.svg);
    const rgb = new Uint8Array(W * H * 3).fill(GREY);
    const out = blendOccluder(rgb, rendered, mulberry32(9), 3);
    expect(pixel(out, [200, 317])).toEqual([GREY, GREY, GREY]);
    expect(luma(pixel(out, [150, 200]))).toBeLessThan(80);
  });
});
