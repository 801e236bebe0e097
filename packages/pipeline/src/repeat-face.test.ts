import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  analyzeFaces,
  cosineSimilarity,
  createFaceEngine,
  DEFAULT_REPEAT_FACE_THRESHOLD,
  decodeImage,
  embedFace,
  type FaceEngine,
  STAGE_MODELS,
} from '@selfie/face-engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wrapFaceEngine } from './engine.js';
import { expectedStages } from './outcome.js';
import { repeatFaceHandOver, storedRepeatFaceInput } from './repeat-face.js';

const singles = path.resolve(import.meta.dirname, '../../../test/fixtures/faces/A-single');

let engine: FaceEngine;

beforeAll(async () => {
  engine = await createFaceEngine({ models: [...STAGE_MODELS.faces, ...STAGE_MODELS.repeatFace] });
}, 60_000);

afterAll(async () => {
  await engine?.dispose();
});

describe('repeatFace stage', () => {
  it('is expected only when the photo asked for it', () => {
    expect(expectedStages(true)).not.toContain('repeatFace');
    expect(expectedStages(true, false)).not.toContain('repeatFace');
    expect(expectedStages(false, true)).toEqual(['faces', 'obstruction', 'orientation', 'quality', 'repeatFace']);
  });

  it("embeds the faces stage's 8-bit chip as embedFace embeds the photo, and keeps different people apart", async () => {
    const wrapped = wrapFaceEngine(engine);
    const embeddings: Float32Array[] = [];
    for (const name of readdirSync(singles).sort()) {
      const image = await decodeImage(readFileSync(path.join(singles, name)));
      const [face] = (await analyzeFaces(engine, image)).faces;
      if (!face) throw new Error(`no face in ${name}`);
      const reference = await embedFace(engine, image, face);
      // Through the record: the hand-over as stored, read back, embedded by the worker's engine.
      const input = storedRepeatFaceInput(
        JSON.parse(JSON.stringify(repeatFaceHandOver(image, face)), (k, v) => (k === 'chip' ? Buffer.from(v.data) : v)),
      );
      expect(input, name).toBeDefined();
      const { embedding } = await wrapped.embed(input?.chip as Float32Array);
      expect(cosineSimilarity(embedding, reference.embedding), name).toBeGreaterThan(0.999);
      embeddings.push(embedding);
    }
    expect(embeddings.length).toBeGreaterThanOrEqual(4);
    for (let i = 0; i < embeddings.length; i++) {
      for (let j = i + 1; j < embeddings.length; j++) {
        const s = cosineSimilarity(embeddings[i] as Float32Array, embeddings[j] as Float32Array);
        expect(s, `${i} vs ${j}`).toBeLessThan(DEFAULT_REPEAT_FACE_THRESHOLD);
      }
    }
  }, 60_000);

  it('matches two different photos of the same person (the fixtures the API test uploads)', async () => {
    const embed = async (file: string) => {
      const image = await decodeImage(readFileSync(file));
      const [face] = (await analyzeFaces(engine, image)).faces;
      if (!face) throw new Error(`no face in ${file}`);
      return (await embedFace(engine, image, face)).embedding;
    };
    const a = await embed(path.join(singles, 'ageitgey__face_recognition__alex-lacamoire.png'));
    const b = await embed(path.join(singles, '../../identities/ageitgey__face_recognition__alex_lacamoire_img1.jpg'));
    expect(cosineSimilarity(a, b)).toBeGreaterThanOrEqual(DEFAULT_REPEAT_FACE_THRESHOLD);
  }, 60_000);
});
