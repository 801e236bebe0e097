/**
 * Checks the ONNX rebuild of dlib's face descriptor (scripts/models/build_dlib_face_recognition.py) against the
 * original: npm @vladmandic/face-api@1.7.15 running its own weights in TensorFlow.js (`dist/face-api.node-wasm.js`
 * on @tensorflow/tfjs 4.22, the workspace root's dev dependencies), on real aligned face chips.
 *
 *   pnpm exec tsx scripts/models/verify_dlib_face_recognition_onnx.ts [--write-reference] [--bench] [folders...]
 *
 * The package must be unpacked first (bash scripts/models/convert.sh does it): default
 * .tools/model-src/vladmandic-face-api/package, or --package-dir. Photos: default test/fixtures/faces and
 * ../shared/fixtures/{faces,identities}. Every face the engine finds (createFaceEngine + analyzeFaces) is aligned
 * into dlib's 150x150 chip by the engine's own code (packages/face-engine/src/embedding.ts), rounded to 8-bit
 * pixels, and run through
 *   - face-api's FaceRecognitionNet on the tfjs cpu backend (the reference: pure JavaScript float32),
 *   - the same on the tfjs wasm backend,
 *   - the ONNX file in onnxruntime-node (one intra-op thread).
 * Prints the largest absolute descriptor differences and cosine-similarity differences.
 *   --write-reference  writes packages/face-engine/models/reference/face-recognition/{*.png,outputs.json} from
 *                      three committed fixture photos
 *   --bench            median time per chip: onnxruntime-node (1 thread) and tfjs-wasm
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { alignedFaceChip, EMBEDDING_CHIP_SIZE } from '../../packages/face-engine/src/embedding.js';
import { MODEL_FILES } from '../../packages/face-engine/src/engine.js';
import { analyzeFaces, createFaceEngine, decodeImage } from '../../packages/face-engine/src/index.js';

const root = resolve(import.meta.dirname, '../..');
const pkgDir = join(root, 'packages/face-engine');
const refDir = join(pkgDir, 'models/reference/face-recognition');
const onnxPath = join(pkgDir, 'models', MODEL_FILES.faceEmbedding);
const S = EMBEDDING_CHIP_SIZE;

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'write-reference': { type: 'boolean', default: false },
    bench: { type: 'boolean', default: false },
    'package-dir': { type: 'string', default: join(root, '.tools/model-src/vladmandic-face-api/package') },
  },
});

/** The part of onnxruntime-node this script uses (the package resolves from packages/face-engine only). */
interface OrtTensor {
  data: Float32Array;
  dims: readonly number[];
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => OrtTensor;
  InferenceSession: { create(path: string, opts: Record<string, unknown>): Promise<OrtSession> };
  env: { logLevel: string };
}
const ort = createRequire(join(pkgDir, 'package.json'))('onnxruntime-node') as Ort;

/** The part of face-api (and its tfjs) this script uses. */
interface TfTensor {
  dispose(): void;
}
interface FaceApi {
  tf: {
    setBackend(name: string): Promise<boolean>;
    ready(): Promise<void>;
    getBackend(): string;
    tensor3d(data: Float32Array, shape: [number, number, number], dtype: 'float32'): TfTensor;
    version_core: string;
  };
  nets: {
    faceRecognitionNet: {
      loadFromDisk(dir: string): Promise<void>;
      computeFaceDescriptor(t: TfTensor): Promise<Float32Array>;
    };
  };
  version: string;
}

const REFERENCE_FACES = [
  { file: 'test/fixtures/faces/A-single/ageitgey__face_recognition__alex-lacamoire.png', png: 'alex-lacamoire.png' },
  { file: 'test/fixtures/faces/A-single/serengil__deepface__img61.jpg', png: 'deepface_img61.png' },
  { file: 'test/fixtures/faces/A-single/yakhyo__uniface__src_man2.jpg', png: 'uniface_src_man2.png' },
];

function listImages(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listImages(p));
    else if (/\.(jpe?g|png|webp)$/i.test(name)) out.push(p);
  }
  return out;
}

/** Chip values rounded to 8-bit pixels, so that a PNG holds exactly the model input. */
function quantise(chip: Float32Array): Float32Array {
  return chip.map((v) => Math.min(255, Math.max(0, Math.round(v))));
}

const round6 = (v: number) => Number(v.toPrecision(6));

async function main() {
  const faceapiPath = join(opts['package-dir'] as string, 'dist/face-api.node-wasm.js');
  if (!existsSync(faceapiPath)) {
    throw new Error(`${faceapiPath} not found: run bash scripts/models/convert.sh (it unpacks the npm package)`);
  }
  // face-api's node-wasm build requires @tensorflow/tfjs and -backend-wasm: resolved from the workspace root
  const faceapi = createRequire(join(root, 'package.json'))(faceapiPath) as FaceApi;
  const wasmDir = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist/');
  const { setWasmPaths } = (await import('@tensorflow/tfjs-backend-wasm')) as {
    setWasmPaths(p: string): void;
  };
  setWasmPaths(wasmDir);
  await faceapi.tf.setBackend('cpu');
  await faceapi.tf.ready();
  await faceapi.nets.faceRecognitionNet.loadFromDisk(join(opts['package-dir'] as string, 'model'));
  ort.env.logLevel = 'error';
  const session = await ort.InferenceSession.create(onnxPath, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3,
  });
  const engine = await createFaceEngine({ models: ['detector', 'landmarks'] });

  const runTf = async (chip: Float32Array) => {
    const t = faceapi.tf.tensor3d(chip, [S, S, 3], 'float32');
    const d = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(t);
    t.dispose();
    return Float32Array.from(d);
  };
  const runOnnx = async (chip: Float32Array) => {
    const out = await session.run({ input: new ort.Tensor('float32', chip, [1, S, S, 3]) });
    const d = out.descriptor;
    if (d?.dims[1] !== 128) throw new Error('unexpected ONNX output');
    return Float32Array.from(d.data);
  };

  const folders =
    positionals.length > 0
      ? positionals.map((p) => resolve(p))
      : [
          join(root, 'test/fixtures/faces'),
          resolve(root, '../shared/fixtures/faces'),
          resolve(root, '../shared/fixtures/identities'),
        ];
  const files = [...new Set(folders.flatMap(listImages))];
  const chips: { file: string; face: number; chip: Float32Array }[] = [];
  for (const file of files) {
    const image = await decodeImage(readFileSync(file));
    const { faces } = await analyzeFaces(engine, image);
    faces.forEach((face, i) => {
      chips.push({ file, face: i, chip: quantise(alignedFaceChip(image, face).chip) });
    });
  }
  console.log(`${chips.length} aligned chips from ${files.length} photos`);

  const results: Record<string, Float32Array[]> = { cpu: [], wasm: [], onnx: [] };
  for (const backend of ['cpu', 'wasm'] as const) {
    await faceapi.tf.setBackend(backend);
    await faceapi.tf.ready();
    for (const c of chips) results[backend]?.push(await runTf(c.chip));
  }
  for (const c of chips) results.onnx?.push(await runOnnx(c.chip));

  const maxDiff = (a: Float32Array[], b: Float32Array[]) => {
    let m = 0;
    a.forEach((x, i) => {
      const y = b[i] as Float32Array;
      for (let j = 0; j < x.length; j++) m = Math.max(m, Math.abs((x[j] as number) - (y[j] as number)));
    });
    return m;
  };
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const cos = (a: Float32Array, b: Float32Array) =>
    a.reduce((s, x, j) => s + x * (b[j] as number), 0) / (norm(a) * norm(b));
  const cpu = results.cpu as Float32Array[];
  const onnx = results.onnx as Float32Array[];
  const wasm = results.wasm as Float32Array[];
  let maxAbsValue = 0;
  for (const d of cpu) for (const v of d) maxAbsValue = Math.max(maxAbsValue, Math.abs(v));
  // pairwise cosine similarities: the quantity the engine thresholds
  let cosDiff = 0;
  for (let i = 0; i < chips.length; i++) {
    for (let j = i + 1; j < chips.length; j++) {
      cosDiff = Math.max(
        cosDiff,
        Math.abs(
          cos(cpu[i] as Float32Array, cpu[j] as Float32Array) - cos(onnx[i] as Float32Array, onnx[j] as Float32Array),
        ),
      );
    }
  }
  console.log(
    `face-api ${faceapi.version}, tfjs ${faceapi.tf.version_core}; largest |descriptor value| ${maxAbsValue.toFixed(3)}`,
  );
  console.log(`max |onnx - tfjs cpu|  ${maxDiff(onnx, cpu).toExponential(2)}`);
  console.log(`max |onnx - tfjs wasm| ${maxDiff(onnx, wasm).toExponential(2)}`);
  console.log(`max |wasm - tfjs cpu|  ${maxDiff(wasm, cpu).toExponential(2)}`);
  console.log(
    `max |cosine(onnx) - cosine(tfjs cpu)| over ${(chips.length * (chips.length - 1)) / 2} pairs: ${cosDiff.toExponential(2)}`,
  );

  if (opts.bench && chips.length > 0) {
    const chip = (chips[0] as { chip: Float32Array }).chip;
    const time = async (f: () => Promise<unknown>, n: number) => {
      for (let i = 0; i < 5; i++) await f();
      const ts: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await f();
        ts.push(performance.now() - t0);
      }
      ts.sort((a, b) => a - b);
      return ts[ts.length >> 1] as number;
    };
    console.log(`onnxruntime-node, 1 thread: median ${(await time(() => runOnnx(chip), 100)).toFixed(1)} ms per chip`);
    await faceapi.tf.setBackend('wasm');
    await faceapi.tf.ready();
    console.log(`tfjs-wasm: median ${(await time(() => runTf(chip), 30)).toFixed(1)} ms per chip`);
  }

  if (opts['write-reference']) {
    await faceapi.tf.setBackend('cpu');
    await faceapi.tf.ready();
    mkdirSync(refDir, { recursive: true });
    const cases = [];
    for (const r of REFERENCE_FACES) {
      const image = await decodeImage(readFileSync(join(root, r.file)));
      const { faces } = await analyzeFaces(engine, image);
      const face = faces[0];
      if (!face) throw new Error(`${r.file}: no face`);
      const { chip, alignment } = alignedFaceChip(image, face);
      const pixels = quantise(chip);
      await sharp(Buffer.from(Uint8Array.from(pixels)), { raw: { width: S, height: S, channels: 3 } })
        .png({ compressionLevel: 9 })
        .toFile(join(refDir, r.png));
      // the reference reads the PNG back, so it sees exactly the stored pixels
      const back = await sharp(join(refDir, r.png)).raw().toBuffer();
      const input = Float32Array.from(back);
      const want = await runTf(input);
      const got = await runOnnx(input);
      console.log(`${r.png}: max |onnx - tfjs cpu| ${maxDiff([got], [want]).toExponential(2)}`);
      cases.push({
        png: r.png,
        source: r.file,
        alignment: alignment.from,
        outputs: { descriptor: { shape: [1, 128], data: Array.from(want, round6) } },
      });
    }
    const ref = {
      model: `dlib ResNet face descriptor (Davis King, public domain) from npm @vladmandic/face-api@1.7.15 model/face_recognition_model.bin: ../../dlib-face-recognition/${basename(MODEL_FILES.faceEmbedding)}`,
      reference: `outputs of face-api ${faceapi.version} FaceRecognitionNet.computeFaceDescriptor on TensorFlow.js ${faceapi.tf.version_core} cpu backend, on exactly these PNG pixels; written by scripts/models/verify_dlib_face_recognition_onnx.ts --write-reference`,
      input: {
        name: 'input',
        layout: 'NHWC',
        channelOrder: 'RGB',
        range: '0-255',
        shape: [1, S, S, 3],
        dtype: 'float32',
      },
      png: `each PNG is dlib's ${S}x${S} aligned chip (packages/face-engine/src/embedding.ts) of the first face the engine finds in the source photo, as 8-bit RGB; the model input is its pixels as float32, 0-255`,
      output: { name: 'descriptor', shape: [1, 128], meaning: 'face descriptor, not normalised' },
      measured: {
        chips: chips.length,
        photos: files.map((f) => relative(root, f)).length,
        maxAbsOnnxVsTfjsCpu: Number(maxDiff(onnx, cpu).toPrecision(3)),
        maxAbsOnnxVsTfjsWasm: Number(maxDiff(onnx, wasm).toPrecision(3)),
        maxAbsCosineDiff: Number(cosDiff.toPrecision(3)),
        largestAbsValue: Number(maxAbsValue.toPrecision(4)),
      },
      tolerance: { abs: 1e-5 },
      cases,
    };
    writeFileSync(join(refDir, 'outputs.json'), `${JSON.stringify(ref, null, 2)}\n`);
    console.log(`wrote ${relative(root, refDir)}`);
  }
  await session.release();
  await engine.dispose();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
