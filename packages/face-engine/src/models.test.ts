import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { MODEL_FILES, packageRoot } from './engine.js';
import { loadOnnxModel, runOnnx } from './ort.js';

/**
 * Every converted model against its original. The conversion scripts (scripts/models/) ran the ORIGINAL runtime
 * (TensorFlow for the frozen graph and the Keras model, the TFLite interpreter for MediaPipe, the verified
 * TensorFlow.js port for MiniFASNet) on lossless PNG inputs and stored its outputs beside them; the shipped ONNX
 * files must reproduce those outputs within the stated tolerance.
 */
const referenceDir = join(packageRoot, 'models', 'reference');

interface Output {
  shape: number[];
  data: number[];
}
interface Reference {
  tolerance: { abs: number; perOutput?: Record<string, number> };
  cases: { png: string; outputs: Record<string, Output | number[]> }[];
}

const readReference = (name: string) =>
  JSON.parse(readFileSync(join(referenceDir, name, 'outputs.json'), 'utf8')) as Reference;

async function pngInput(name: string, png: string, scale: number, offset: number, bgr = false) {
  const { data, info } = await sharp(join(referenceDir, name, png))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const out = new Float32Array(info.width * info.height * 3);
  for (let i = 0; i < info.width * info.height; i++) {
    for (let c = 0; c < 3; c++) out[i * 3 + (bgr ? 2 - c : c)] = (data[i * 3 + c] as number) * scale + offset;
  }
  return { data: out, dims: [1, info.height, info.width, 3] };
}

function maxAbsDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let max = 0;
  for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs((got[i] as number) - (want[i] as number)));
  return max;
}

const CONVERTED = [
  { name: 'retinaface', file: MODEL_FILES.detector, scale: 1, offset: 0 },
  { name: 'face-landmark', file: MODEL_FILES.landmarks, scale: 1 / 255, offset: 0 },
  { name: 'mask-classifier', file: MODEL_FILES.mask, scale: 1 / 127.5, offset: -1 },
] as const;

describe('converted models reproduce their originals', () => {
  for (const m of CONVERTED) {
    it(`${m.name}: every output within tolerance on every reference input`, async () => {
      const ref = readReference(m.name);
      const model = await loadOnnxModel(m.name, join(packageRoot, 'models', m.file), { threads: 1 });
      try {
        expect(ref.cases.length).toBeGreaterThanOrEqual(3);
        for (const c of ref.cases) {
          const input = await pngInput(m.name, c.png, m.scale, m.offset);
          const out = await runOnnx(model, input.data, input.dims);
          for (const [key, want] of Object.entries(c.outputs) as [string, Output][]) {
            const got = out[key];
            if (!got) throw new Error(`${m.name}: no output ${key}`);
            expect([...got.dims]).toEqual(want.shape);
            const tol = ref.tolerance.perOutput?.[key] ?? ref.tolerance.abs;
            expect(maxAbsDiff(got.data, want.data), `${c.png} ${key}`).toBeLessThanOrEqual(tol);
          }
        }
      } finally {
        await model.session.release();
      }
    });
  }

  it('minifasnet V2 and V1SE: probabilities within tolerance of the original weights', async () => {
    const ref = readReference('minifasnet');
    const models = {
      v2: await loadOnnxModel('fasV2', join(packageRoot, 'models', MODEL_FILES.fasV2), { threads: 1 }),
      v1se: await loadOnnxModel('fasV1se', join(packageRoot, 'models', MODEL_FILES.fasV1se), { threads: 1 }),
    };
    try {
      for (const c of ref.cases) {
        const input = await pngInput('minifasnet', c.png, 1, 0, true);
        for (const key of ['v2', 'v1se'] as const) {
          const out = Object.values(await runOnnx(models[key], input.data, input.dims))[0];
          if (!out) throw new Error('no output');
          expect(maxAbsDiff(out.data, c.outputs[key] as number[]), `${c.png} ${key}`).toBeLessThanOrEqual(
            ref.tolerance.abs,
          );
        }
      }
    } finally {
      await models.v2.session.release();
      await models.v1se.session.release();
    }
  });
});
