import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  alignedFaceChip,
  cosineSimilarity,
  DEFAULT_REPEAT_FACE_THRESHOLD,
  EMBEDDING_CHIP_SIZE,
  EMBEDDING_DIMENSIONS,
  embedFace,
  findSimilarEmbeddings,
} from './embedding.js';
import { MODEL_FILES, packageRoot, STAGE_MODELS } from './engine.js';
import { analyzeFaces, createFaceEngine, type DetectedFace, decodeImage, type FaceEngine } from './index.js';
import { loadOnnxModel, runOnnx } from './ort.js';

/**
 * The face-embedding model (dlib's ResNet descriptor rebuilt as ONNX) and embedFace(). The reference outputs were
 * written by scripts/models/verify_dlib_face_recognition_onnx.ts from the ORIGINAL runtime: npm
 * @vladmandic/face-api@1.7.15 running its own weights in TensorFlow.js (cpu backend) on the stored PNG chips.
 */
const fixtures = join(packageRoot, '..', '..', 'test', 'fixtures');
const referenceDir = join(packageRoot, 'models', 'reference', 'face-recognition');
/** Research-class photos (never committed): the cross-photo same-person checks run only where they are present. */
const identitiesDir = join(packageRoot, '..', '..', '..', 'shared', 'fixtures', 'identities');

const ALEX = 'faces/A-single/ageitgey__face_recognition__alex-lacamoire.png';
const KIT_WITH_ROSE = 'faces/B-multi/ageitgey__face_recognition__kit_with_rose.jpg';
const SINGLES = [
  ALEX,
  'faces/A-single/chandrikadeb7__Face-Mask-Detection__370.jpg',
  'faces/A-single/serengil__deepface__img61.jpg',
  'faces/A-single/yakhyo__uniface__src_man2.jpg',
];

interface Reference {
  tolerance: { abs: number };
  cases: { png: string; outputs: { descriptor: { shape: number[]; data: number[] } } }[];
}

describe('face embedding model reproduces face-api (TensorFlow.js)', () => {
  it('dlib descriptor within tolerance on every reference chip', async () => {
    const ref = JSON.parse(readFileSync(join(referenceDir, 'outputs.json'), 'utf8')) as Reference;
    const model = await loadOnnxModel('faceEmbedding', join(packageRoot, 'models', MODEL_FILES.faceEmbedding), {
      threads: 1,
    });
    try {
      expect(ref.cases.length).toBeGreaterThanOrEqual(3);
      for (const c of ref.cases) {
        const { data, info } = await sharp(join(referenceDir, c.png)).removeAlpha().raw().toBuffer({
          resolveWithObject: true,
        });
        expect([info.width, info.height]).toEqual([EMBEDDING_CHIP_SIZE, EMBEDDING_CHIP_SIZE]);
        const out = await runOnnx(model, Float32Array.from(data), [1, info.height, info.width, 3]);
        const got = out.descriptor;
        if (!got) throw new Error('no descriptor output');
        expect([...got.dims]).toEqual(c.outputs.descriptor.shape);
        let max = 0;
        c.outputs.descriptor.data.forEach((want, i) => {
          max = Math.max(max, Math.abs((got.data[i] as number) - want));
        });
        expect(max, c.png).toBeLessThanOrEqual(ref.tolerance.abs);
      }
    } finally {
      await model.session.release();
    }
  });
});

describe('embedFace', () => {
  let engine: FaceEngine;

  beforeAll(async () => {
    engine = await createFaceEngine({ models: [...STAGE_MODELS.faces, ...STAGE_MODELS.repeatFace] });
  }, 180_000);

  afterAll(async () => {
    await engine?.dispose();
  });

  /** Decodes a photo and embeds every face, left to right. */
  async function embedAll(bytes: Buffer) {
    const image = await decodeImage(bytes);
    const faces = (await analyzeFaces(engine, image)).faces.sort((a, b) => a.boxPixels.x - b.boxPixels.x);
    const out = [];
    for (const face of faces) out.push({ face, image, ...(await embedFace(engine, image, face)) });
    return out;
  }
  async function embedLargest(bytes: Buffer) {
    const all = await embedAll(bytes);
    const largest = all.sort((a, b) => b.face.boxPixels.width - a.face.boxPixels.width)[0];
    if (!largest) throw new Error('no face');
    return largest;
  }
  const fixture = (rel: string) => readFileSync(join(fixtures, rel));

  it('the repeatFace stage loads only the embedding model, named by its hash', async () => {
    const only = await createFaceEngine({ models: STAGE_MODELS.repeatFace });
    try {
      expect(only.info.versions.faceEmbedding).toMatch(/^dlib-resnet-v1-128@sha256:[0-9a-f]{12}$/);
      expect(Object.keys(only.info.versions)).not.toContain('faceDetector');
    } finally {
      await only.dispose();
    }
  });

  it('gives a unit-length 128-d embedding, its alignment from the landmarks and its cost', async () => {
    const r = await embedLargest(fixture(ALEX));
    expect(r.embedding).toBeInstanceOf(Float32Array);
    expect(r.embedding.length).toBe(EMBEDDING_DIMENSIONS);
    const norm = Math.sqrt(r.embedding.reduce((s, v) => s + v * v, 0));
    expect(norm).toBeCloseTo(1, 5);
    expect(r.alignment.from).toBe('landmarks');
    expect(r.alignment.fitError).toBeLessThan(0.15);
    expect(r.alignment.eyeDistancePx).toBeGreaterThan(30);
    expect(r.ms).toBeGreaterThan(0);
    // the chip is dlib's: the face fills it, upright
    expect(Math.abs(r.alignment.region.angle)).toBeLessThan(0.2);
  });

  it('the same face in another capture of the photo (smaller + JPEG, mirrored, rotated, darker) matches', async () => {
    const src = fixture(ALEX);
    const base = await embedLargest(src);
    const variants = {
      smallJpeg: await sharp(src).resize(200).jpeg({ quality: 60 }).toBuffer(),
      mirrored: await sharp(src).flop().toBuffer(),
      rotated: await sharp(src).rotate(12, { background: '#808080' }).toBuffer(),
      darker: await sharp(src).modulate({ brightness: 0.6 }).toBuffer(),
    };
    for (const [name, bytes] of Object.entries(variants)) {
      const v = await embedLargest(bytes);
      expect(cosineSimilarity(base.embedding, v.embedding), name).toBeGreaterThanOrEqual(DEFAULT_REPEAT_FACE_THRESHOLD);
    }
  });

  it('different people score below the threshold', async () => {
    // Rose Leslie (left) and Kit Harington (right) in one photo
    const pair = await embedAll(fixture(KIT_WITH_ROSE));
    expect(pair).toHaveLength(2);
    const [rose, kit] = pair as [(typeof pair)[0], (typeof pair)[0]];
    expect(cosineSimilarity(rose.embedding, kit.embedding)).toBeLessThan(DEFAULT_REPEAT_FACE_THRESHOLD);
    const singles = [];
    for (const rel of SINGLES) singles.push((await embedLargest(fixture(rel))).embedding);
    for (let a = 0; a < singles.length; a++) {
      for (let b = a + 1; b < singles.length; b++) {
        const s = cosineSimilarity(singles[a] as Float32Array, singles[b] as Float32Array);
        expect(s, `${SINGLES[a]} vs ${SINGLES[b]}`).toBeLessThan(DEFAULT_REPEAT_FACE_THRESHOLD);
      }
      expect(cosineSimilarity(singles[a] as Float32Array, kit.embedding)).toBeLessThan(DEFAULT_REPEAT_FACE_THRESHOLD);
      expect(cosineSimilarity(singles[a] as Float32Array, rose.embedding)).toBeLessThan(DEFAULT_REPEAT_FACE_THRESHOLD);
    }
  });

  it('falls back to the detector keypoints when the face has no landmarks', async () => {
    const r = await embedLargest(fixture(ALEX));
    const bare: DetectedFace = { ...r.face, landmarks: null };
    const fallback = await embedFace(engine, r.image, bare);
    expect(fallback.alignment.from).toBe('keypoints');
    expect(cosineSimilarity(r.embedding, fallback.embedding)).toBeGreaterThanOrEqual(DEFAULT_REPEAT_FACE_THRESHOLD);
    const chip = alignedFaceChip(r.image, bare);
    expect(chip.chip.length).toBe(EMBEDDING_CHIP_SIZE * EMBEDDING_CHIP_SIZE * 3);
  });

  it.skipIf(!existsSync(identitiesDir))(
    'the same person in different photos matches; other people do not (shared identities fixtures)',
    async () => {
      const shared = (file: string) => readFileSync(join(identitiesDir, file));
      const [rose, kit] = await embedAll(fixture(KIT_WITH_ROSE));
      const alex = await embedLargest(fixture(ALEX));
      const people = {
        kit: { ref: kit?.embedding, files: ['train_kit_harington_john1.jpeg', 'train_kit_harington_john2.jpeg'] },
        rose: { ref: rose?.embedding, files: ['train_rose_leslie_img1.jpg', 'train_rose_leslie_img2.jpg'] },
        alex: { ref: alex.embedding, files: ['test_alex_lacamoire1.jpg', 'train_alex_lacamoire_img1.jpg'] },
      };
      for (const [name, p] of Object.entries(people)) {
        if (!p.ref) throw new Error(`no face for ${name}`);
        for (const f of p.files) {
          const other = await embedLargest(shared(`ageitgey__face_recognition__examples_knn_examples_${f}`));
          for (const [otherName, q] of Object.entries(people)) {
            const s = cosineSimilarity(q.ref as Float32Array, other.embedding);
            if (otherName === name) expect(s, `${name} vs ${f}`).toBeGreaterThanOrEqual(DEFAULT_REPEAT_FACE_THRESHOLD);
            else expect(s, `${otherName} vs ${f}`).toBeLessThan(DEFAULT_REPEAT_FACE_THRESHOLD);
          }
        }
      }
    },
  );
});

describe('cosineSimilarity', () => {
  it('is the normalised dot product', () => {
    expect(cosineSimilarity([1, 0], [0, 1])).toBe(0);
    expect(cosineSimilarity([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(cosineSimilarity([1, 0], [-1, 0])).toBe(-1);
    expect(cosineSimilarity(new Float32Array([3, 4]), new Float32Array([4, 3]))).toBeCloseTo(24 / 25, 6);
  });
  it('is 0 for a zero vector and refuses vectors of different lengths', () => {
    expect(cosineSimilarity([0, 0], [1, 0])).toBe(0);
    expect(() => cosineSimilarity([1, 2], [1, 2, 3])).toThrow(/lengths differ/);
  });
});

describe('findSimilarEmbeddings', () => {
  it('returns the rows at or above the threshold, best first, capped', () => {
    const rows = [
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0.96, 0.28, 0, 0],
      [0.8, 0.6, 0, 0],
      [0.99, 0, 0.141, 0],
    ];
    const store = Float32Array.from(rows.flat());
    const query = Float32Array.from([1, 0, 0, 0]);
    const hits = findSimilarEmbeddings(store, query, 0.9);
    expect(hits.map((h) => h.index)).toEqual([0, 4, 2]);
    expect(hits[0]?.similarity).toBe(1);
    expect(hits[2]?.similarity).toBeCloseTo(0.96, 6);
    expect(findSimilarEmbeddings(store, query, 0.9, 1).map((h) => h.index)).toEqual([0]);
    expect(findSimilarEmbeddings(store, query, 1.01)).toEqual([]);
  });
  it('agrees with cosineSimilarity on random unit vectors', () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31 - 0.5;
    };
    const unit = () => {
      const v = Float32Array.from({ length: EMBEDDING_DIMENSIONS }, rnd);
      const k = 1 / Math.hypot(...v);
      return v.map((x) => x * k);
    };
    const rows = Array.from({ length: 50 }, unit);
    const store = new Float32Array(rows.length * EMBEDDING_DIMENSIONS);
    rows.forEach((r, i) => {
      store.set(r, i * EMBEDDING_DIMENSIONS);
    });
    const query = rows[17] as Float32Array;
    const hits = findSimilarEmbeddings(store, query, -1);
    expect(hits).toHaveLength(50);
    expect(hits[0]?.index).toBe(17);
    for (const h of hits) expect(h.similarity).toBeCloseTo(cosineSimilarity(query, rows[h.index] as Float32Array), 5);
  });
  it('refuses a store that does not hold whole rows', () => {
    expect(() => findSimilarEmbeddings(new Float32Array(10), new Float32Array(4), 0)).toThrow(/multiple of 4/);
    expect(() => findSimilarEmbeddings(new Float32Array(8), new Float32Array(3), 0)).toThrow(/multiple of 4/);
  });
});
