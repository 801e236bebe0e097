import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getInternals, MODEL_FILES, packageRoot, STAGE_MODELS } from './engine.js';
import {
  analyzeFaces,
  createFaceEngine,
  decodeImage,
  type FaceEngine,
  ImageDecodeError,
  inspectAll,
  inspectLiveness,
  inspectObstruction,
  inspectOrientation,
} from './index.js';
import { miniFasNetReal } from './liveness.js';

const fixtures = join(packageRoot, '..', '..', 'test', 'fixtures');
const bytes = (rel: string) => readFileSync(join(fixtures, rel));

const SELFIE = 'faces/A-single/ageitgey__face_recognition__alex-lacamoire.png';
const GROUP = 'faces/B-multi/Linzaer__Ultra-Light-Fast-Generic-Face-Detector-1MB__19.jpg';
const DOGS = 'faces/C-noface/davisking__dlib__dogs.jpg';
const TURNED = 'faces/D-pose/vladmandic__human__stock-teen-3.jpg';
const PROFILE = 'faces/D-pose/chandrikadeb7__Face-Mask-Detection__Screenshot_348.png';
const MASKED = 'faces/E-obstructed/chandrikadeb7__Face-Mask-Detection__with_mask026.jpg';
const SUNGLASSES = 'faces/E-obstructed/chandrikadeb7__Face-Mask-Detection__248.jpg';
const F1 = 'faces/F-spoof/minivision-ai__Silent-Face-Anti-Spoofing__image_F1.jpg';
const F2 = 'faces/F-spoof/minivision-ai__Silent-Face-Anti-Spoofing__image_F2.jpg';
const T1 = 'faces/F-spoof/minivision-ai__Silent-Face-Anti-Spoofing__image_T1.jpg';

let engine: FaceEngine;

beforeAll(async () => {
  engine = await createFaceEngine();
}, 180_000);

afterAll(async () => {
  await engine?.dispose();
});

describe('engine', () => {
  it('runs on onnxruntime and names every model file by its hash', () => {
    expect(engine.info.backend).toBe('onnxruntime-cpu');
    expect(engine.info.versions['onnxruntime-node']).toBe('1.30.0');
    for (const key of ['faceDetector', 'faceLandmarks', 'maskClassifier', 'minifasnetV2', 'minifasnetV1SE']) {
      expect(engine.info.versions[key]).toMatch(/@sha256:[0-9a-f]{12}$/);
    }
  });
  it('fails closed when the models folder is missing', async () => {
    await expect(createFaceEngine({ modelsDir: '/nonexistent/models' })).rejects.toThrow();
  });
  it('fails closed, naming the model, when one model file is corrupt', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'face-models-'));
    try {
      cpSync(join(packageRoot, 'models'), dir, { recursive: true });
      writeFileSync(join(dir, MODEL_FILES.mask), Buffer.from('not an onnx model'));
      await expect(createFaceEngine({ modelsDir: dir })).rejects.toThrow(/model mask/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('loads only the models a stage asks for, and refuses to use the others', async () => {
    const obstructionOnly = await createFaceEngine({ models: STAGE_MODELS.obstruction });
    try {
      expect(Object.keys(obstructionOnly.info.versions)).toContain('maskClassifier');
      expect(Object.keys(obstructionOnly.info.versions)).not.toContain('faceDetector');
      await expect(analyzeFaces(obstructionOnly, await decodeImage(bytes(SELFIE)))).rejects.toThrow(
        /model detector is not loaded/,
      );
    } finally {
      await obstructionOnly.dispose();
    }
  });
  it('refuses a thread count that is not a positive integer', async () => {
    await expect(createFaceEngine({ threads: 0 })).rejects.toThrow(/threads/);
  });
});

describe('decodeImage', () => {
  it('throws ImageDecodeError on undecodable bytes', async () => {
    await expect(decodeImage(Buffer.from('this is not an image'))).rejects.toBeInstanceOf(ImageDecodeError);
    await expect(decodeImage(new Uint8Array(0))).rejects.toBeInstanceOf(ImageDecodeError);
  });
  it('applies EXIF orientation 6 (stored 640x480 landscape, upright 480x640 portrait)', async () => {
    const img = await decodeImage(bytes(T1));
    expect(img.exifOrientation).toBe(6);
    expect(img.width).toBe(480);
    expect(img.height).toBe(640);
  });
});

describe('faces analysis', () => {
  it('detects the sideways EXIF photo upright, with near-zero roll', async () => {
    const img = await decodeImage(bytes(T1));
    const r = await analyzeFaces(engine, img);
    expect(r.faces).toHaveLength(1);
    expect(Math.abs(r.faces[0]?.angles?.roll ?? 99)).toBeLessThan(20);
    // face box is taller than wide relative to a portrait image, and inside it
    const b = r.faces[0]?.box;
    expect(b && b.x + b.width).toBeLessThanOrEqual(1.0001);
    expect(JSON.parse(JSON.stringify(r.faces[0]))).toEqual(r.faces[0]); // plain JSON
  });
  it('flags a group photo with MULTIPLE_FACES', async () => {
    const r = await analyzeFaces(engine, await decodeImage(bytes(GROUP)));
    expect(r.inspection.result).toBe('attention');
    expect(r.inspection.reasons).toContain('MULTIPLE_FACES');
    expect(r.inspection.breakdown.faceCount).toBe(5);
  });
  it('answers NO_FACE_DETECTED on a photo of dogs', async () => {
    const r = await analyzeFaces(engine, await decodeImage(bytes(DOGS)));
    expect(r.inspection.reasons).toEqual(['NO_FACE_DETECTED']);
    expect(r.inspection.result).toBe('attention');
  });
  it('finds the masked face (no "no face" for a masked person)', async () => {
    const r = await analyzeFaces(engine, await decodeImage(bytes(MASKED)));
    expect(r.faces).toHaveLength(1);
  });
});

describe('a normal selfie', () => {
  it('is clear on all four inspections', async () => {
    const r = await inspectAll(engine, bytes(SELFIE));
    expect(r.facesAnalysis.result).toBe('clear');
    expect(r.facialObstructions.result).toBe('clear');
    expect(r.facialOrientation.result).toBe('clear');
    expect(r.livenessCheck.result).toBe('clear');
    expect(r.outcome).toBe('clear');
    const score = r.livenessCheck.breakdown.livenessCheckScore;
    expect(Number.isInteger(score)).toBe(true);
    for (const ms of Object.values(r.timings)) expect(ms).toBeGreaterThanOrEqual(0);
  });
});

describe('obstruction', () => {
  it('flags a masked face with MASK_OR_COVERING', async () => {
    const img = await decodeImage(bytes(MASKED));
    const { faces } = await analyzeFaces(engine, img);
    const face = faces[0];
    if (!face) throw new Error('no face');
    const r = await inspectObstruction(engine, img, face);
    expect(r.inspection.result).toBe('attention');
    expect(r.inspection.reasons).toContain('MASK_OR_COVERING');
    expect((r.inspection.breakdown.regions as Record<string, string>).mouth).toBe('covered');
  });
  it('flags dark sunglasses with SUNGLASSES', async () => {
    const img = await decodeImage(bytes(SUNGLASSES));
    const { faces } = await analyzeFaces(engine, img);
    const face = faces[0];
    if (!face) throw new Error('no face');
    const r = await inspectObstruction(engine, img, face);
    expect(r.inspection.reasons).toContain('SUNGLASSES');
    expect((r.inspection.breakdown.regions as Record<string, string>).eyes).toBe('covered');
  });
});

describe('orientation', () => {
  it('flags a head turned far to the side with EXTREME_POSE_YAW', async () => {
    const img = await decodeImage(bytes(TURNED));
    const { faces } = await analyzeFaces(engine, img);
    const face = faces[0];
    if (!face) throw new Error('no face');
    const r = await inspectOrientation(engine, img, face);
    expect(r.inspection.reasons).toContain('EXTREME_POSE_YAW');
    expect(Math.abs(r.inspection.breakdown.yaw as number)).toBeGreaterThan(25);
  });
  it('never answers clear on a 90-degree profile', async () => {
    const r = await inspectAll(engine, bytes(PROFILE));
    expect(r.outcome).not.toBe('clear');
    // the frontal face detector does not find full profiles: either no face, or an extreme yaw
    if (r.faces.length === 1) expect(r.facialOrientation.reasons).toContain('EXTREME_POSE_YAW');
    else expect(r.facesAnalysis.reasons).toContain('NO_FACE_DETECTED');
  });
});

describe('liveness', () => {
  it('flags the tablet screen replay with SPOOF_SUSPECTED', async () => {
    const img = await decodeImage(bytes(F2));
    const { faces } = await analyzeFaces(engine, img);
    const face = faces[0];
    if (!face) throw new Error('no face');
    const r = await inspectLiveness(engine, img, face);
    expect(r.inspection.result).toBe('attention');
    expect(r.inspection.reasons).toEqual(['SPOOF_SUSPECTED']);
  });
  it('reproduces the MiniFASNet reference behaviour on the Silent-Face samples', async () => {
    const { models } = getInternals(engine);
    const real = async (rel: string) => {
      const img = await decodeImage(bytes(rel));
      const face = (await analyzeFaces(engine, img)).faces[0];
      if (!face) throw new Error('no face');
      const a = await miniFasNetReal(img, face.boxPixels, models.fasV2, 2.7);
      const b = await miniFasNetReal(img, face.boxPixels, models.fasV1se, 4.0);
      return (a.real + b.real) / 2;
    };
    // published: F1/F2 ~0.02-0.04 "real", T1 ~0.8 with Silent-Face's own detector box; ours differs, so only the
    // verdicts are compared here (the ONNX conversion itself is checked exactly in models.test.ts)
    expect(await real(F1)).toBeLessThan(0.3);
    expect(await real(F2)).toBeLessThan(0.1);
    expect(await real(T1)).toBeGreaterThan(0.7);
  });
  it('fails closed once the engine is disposed', async () => {
    const other = await createFaceEngine();
    const img = await decodeImage(bytes(T1));
    const face = (await analyzeFaces(other, img)).faces[0];
    if (!face) throw new Error('no face');
    await other.dispose();
    await expect(inspectLiveness(other, img, face)).rejects.toThrow();
  });
});
