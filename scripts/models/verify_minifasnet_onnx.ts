/**
 * Checks the ONNX MiniFASNet files (built by build_minifasnet.py) against the project's TensorFlow.js port of the
 * original weights (scripts/models/minifasnet-tfjs/, see its README.md) on real 80x80 BGR crops.
 *
 *   pnpm exec tsx scripts/models/verify_minifasnet_onnx.ts [--write-reference] [--bench] [--no-detector] [folders...]
 *
 * The port needs @tensorflow/tfjs, @tensorflow/tfjs-backend-wasm and @tensorflow/tfjs-core: dev dependencies of the
 * workspace root only (the face engine itself runs the ONNX files in onnxruntime-node).
 * Photos: default test/fixtures/faces and ../shared/fixtures/faces. Face box: the face engine's largest face when
 * the engine loads (createFaceEngine + analyzeFaces), otherwise a centred square; the three Silent-Face samples are
 * also cropped around face boxes picked by eye. Each box is enlarged 2.7x (V2) / 4.0x (V1SE) and resized to 80x80
 * with the engine's crop code (packages/face-engine/src/minifasnet/crop.ts); the crop and its mirror image run as a
 * batch of 2 through
 *   - the tfjs port on @tensorflow/tfjs's pure-JS cpu backend (the reference),
 *   - the tfjs port on the wasm backend (what the engine ran in production),
 *   - the ONNX file in onnxruntime-node (batch of 2, and the crop alone as a batch of 1).
 * Prints the largest absolute probability differences.
 *   --write-reference  writes packages/face-engine/models/reference/minifasnet/{*.png,outputs.json}
 *   --bench            median onnxruntime-node session.run time, batch 1 and 2, one intra-op thread
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import sharp from 'sharp';
import { cropResize, enlargedBox } from '../../packages/face-engine/src/minifasnet/crop.js';
import type { DecodedImage } from '../../packages/face-engine/src/types.js';
import { loadMiniFasNet, type MiniFasNet } from './minifasnet-tfjs/model.js';

const root = resolve(import.meta.dirname, '../..');
const pkgDir = join(root, 'packages/face-engine');
const modelDir = join(pkgDir, 'models/minifasnet');
const refDir = join(pkgDir, 'models/reference/minifasnet');
const pkgRequire = createRequire(join(pkgDir, 'package.json'));
const rootRequire = createRequire(join(root, 'package.json'));

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
/** Decoded RGB image as crop.ts reads it. */
interface Image {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * The face box enlarged by `scale` and resized to 80x80 with the engine's crop code (crop.ts, which the port's
 * inputs have always been prepared with); BGR for the models, RGB for the reference PNGs. cropResize reads only
 * width, height and data of the image.
 */
function crop(image: Image, box: Box, scale: number, bgr: boolean): Float32Array {
  return cropResize(image as DecodedImage, enlargedBox(image.width, image.height, box, scale), 80, 80, bgr);
}

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
}
const ort = pkgRequire('onnxruntime-node') as Ort;

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'write-reference': { type: 'boolean', default: false },
    bench: { type: 'boolean', default: false },
    'bench-runs': { type: 'string', default: '300' },
    'no-detector': { type: 'boolean', default: false },
  },
});

const VARIANTS = [
  { key: 'v2', safetensors: 'minifasnet_v2_scale2.7.safetensors', onnx: 'minifasnet_v2.onnx', scale: 2.7 },
  { key: 'v1se', safetensors: 'minifasnet_v1se_scale4.0.safetensors', onnx: 'minifasnet_v1se.onnx', scale: 4.0 },
] as const;
type VariantKey = (typeof VARIANTS)[number]['key'];

/**
 * Face boxes picked by eye on the EXIF-rotated 480x640 Silent-Face samples: forehead to chin, cheek to cheek, the
 * extent a face detector such as Silent-Face's RetinaFace reports.
 */
const HAND_BOXES: Record<string, Box> = {
  'minivision-ai__Silent-Face-Anti-Spoofing__image_F1.jpg': { x: 195, y: 130, width: 195, height: 230 },
  'minivision-ai__Silent-Face-Anti-Spoofing__image_F2.jpg': { x: 150, y: 200, width: 215, height: 285 },
  'minivision-ai__Silent-Face-Anti-Spoofing__image_T1.jpg': { x: 110, y: 125, width: 190, height: 225 },
};

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

/** EXIF orientation applied, sRGB, alpha flattened on white, long side <= 1024 (as the engine decodes). */
async function decode(bytes: Buffer): Promise<Image> {
  const meta = await sharp(bytes).metadata();
  const swap = (meta.orientation ?? 1) >= 5;
  const w0 = (swap ? meta.height : meta.width) ?? 0;
  const h0 = (swap ? meta.width : meta.height) ?? 0;
  const k = Math.min(1, 1024 / Math.max(w0, h0));
  let p = sharp(bytes)
    .rotate()
    .toColourspace('srgb')
    .flatten({ background: { r: 255, g: 255, b: 255 } });
  if (k < 1) p = p.resize(Math.round(w0 * k), Math.round(h0 * k), { fit: 'fill', kernel: 'lanczos3' });
  const { data, info } = await p.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

interface Detector {
  name: string;
  largestFace(bytes: Buffer): Promise<Box | null>;
}

/** The repository's face engine as a detector, when it loads; its API is used loosely (it may be mid-change). */
async function engineDetector(): Promise<Detector | null> {
  try {
    const m = (await import('../../packages/face-engine/src/index.js')) as unknown as {
      createFaceEngine(): Promise<{ info?: { engine?: string } }>;
      decodeImage(b: Buffer): Promise<unknown>;
      analyzeFaces(e: unknown, img: unknown): Promise<{ faces: { boxPixels: Box }[] }>;
    };
    const engine = await m.createFaceEngine();
    return {
      name: engine.info?.engine ?? 'face engine',
      async largestFace(bytes) {
        const img = await m.decodeImage(bytes);
        const faces = (await m.analyzeFaces(engine, img)).faces;
        return faces[0]?.boxPixels ?? null;
      },
    };
  } catch (err) {
    console.warn(`face engine not usable as detector (${(err as Error).message}); using centred boxes`);
    return null;
  }
}

function centredBox(img: Image): Box {
  const s = Math.min(img.width, img.height) * 0.5;
  return { x: (img.width - s) / 2, y: (img.height - s) / 2, width: s, height: s };
}

function flip(data: Float32Array): Float32Array {
  const out = new Float32Array(data.length);
  for (let y = 0; y < 80; y++) {
    for (let x = 0; x < 80; x++) {
      for (let c = 0; c < 3; c++) out[(y * 80 + x) * 3 + c] = data[(y * 80 + 79 - x) * 3 + c] ?? 0;
    }
  }
  return out;
}

async function onnxRun(s: OrtSession, data: Float32Array, n: number): Promise<number[][]> {
  const out = await s.run({ input: new ort.Tensor('float32', data, [n, 80, 80, 3]) });
  const p = out.probs;
  if (!p || p.dims[0] !== n || p.dims[1] !== 3) throw new Error('unexpected ONNX output');
  return Array.from({ length: n }, (_, i) => Array.from(p.data.subarray(i * 3, i * 3 + 3)));
}

function maxAbs(a: number[][], b: number[][]): number {
  let m = 0;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    for (let j = 0; j < 3; j++) m = Math.max(m, Math.abs((a[i]?.[j] ?? Number.NaN) - (b[i]?.[j] ?? Number.NaN)));
  }
  if (Number.isNaN(m)) throw new Error('NaN in comparison');
  return m;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

async function main() {
  const folders =
    positionals.length > 0
      ? positionals.map((p) => resolve(p))
      : [join(root, 'test/fixtures/faces'), resolve(root, '../shared/fixtures/faces')];

  // one tfjs instance with its cpu (pure JS) and wasm backends; the port runs on whichever is selected
  setWasmPaths(`${join(dirname(rootRequire.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  const backends = ['cpu', 'wasm'] as const;
  const run = async (backend: (typeof backends)[number], model: MiniFasNet, data: Float32Array, n: number) => {
    if (tf.getBackend() !== backend && !(await tf.setBackend(backend))) throw new Error(`no tfjs ${backend} backend`);
    const x = tf.tensor4d(data, [n, 80, 80, 3]);
    try {
      return await model.predict(x);
    } finally {
      x.dispose();
    }
  };

  const detector = opts['no-detector'] ? null : await engineDetector();
  const models = {} as Record<VariantKey, { tfjs: MiniFasNet; onnx: OrtSession }>;
  for (const v of VARIANTS) {
    await tf.setBackend('cpu');
    models[v.key] = {
      tfjs: await loadMiniFasNet(tf, join(modelDir, v.safetensors), v.key),
      onnx: await ort.InferenceSession.create(join(modelDir, v.onnx), {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      }),
    };
  }

  const seen = new Set<string>();
  const worst: Record<string, { v: number; where: string }> = {};
  const note = (k: string, v: number, where: string) => {
    if (!worst[k] || v > (worst[k]?.v ?? 0)) worst[k] = { v, where };
  };
  let crops = 0;
  const rows: string[] = [];
  const cases = new Map<string, { image: Image; box: Box; real: Record<VariantKey, number> }>();

  for (const folder of folders) {
    for (const file of listImages(folder)) {
      const bytes = readFileSync(file);
      const sha = createHash('sha256').update(bytes).digest('hex');
      if (seen.has(sha)) continue;
      seen.add(sha);
      const image = await decode(bytes);
      const rel = file.startsWith(root) ? relative(root, file) : file;
      const detected = detector ? await detector.largestFace(bytes) : null;
      const boxes: { label: string; box: Box }[] = [
        { label: detected ? 'detector' : 'centre', box: detected ?? centredBox(image) },
      ];
      const hand = HAND_BOXES[basename(file)];
      if (hand) boxes.push({ label: 'hand', box: hand });
      for (const { label, box } of boxes) {
        const cells: string[] = [];
        const real = {} as Record<VariantKey, number>;
        for (const v of VARIANTS) {
          const m = models[v.key];
          const data = crop(image, box, v.scale, true);
          const batch = new Float32Array(data.length * 2);
          batch.set(data, 0);
          batch.set(flip(data), data.length);
          const cpu = await run('cpu', m.tfjs, batch, 2);
          const wasmOut = await run('wasm', m.tfjs, batch, 2);
          const onx = await onnxRun(m.onnx, batch, 2);
          const onx1 = await onnxRun(m.onnx, data, 1);
          crops += 2;
          const dCpu = maxAbs(onx, cpu);
          note(`onnx vs tfjs-cpu    ${v.key}`, dCpu, rel);
          note(`onnx vs tfjs-wasm   ${v.key}`, maxAbs(onx, wasmOut), rel);
          note(`tfjs-cpu vs -wasm   ${v.key}`, maxAbs(cpu, wasmOut), rel);
          note(`onnx batch1 vs 2    ${v.key}`, maxAbs(onx1, onx.slice(0, 1)), rel);
          real[v.key] = cpu[0]?.[1] ?? Number.NaN;
          cells.push(
            `${v.key} real ${(cpu[0]?.[1] ?? 0).toFixed(4)}/${(onx[0]?.[1] ?? 0).toFixed(4)} d=${dCpu.toExponential(1)}`,
          );
        }
        cases.set(`${rel}#${label}`, { image, box, real });
        rows.push(`${label.padEnd(8)} ${cells.join('  ')}  ${rel}`);
      }
    }
  }

  console.log(`tfjs port: ${relative(root, join(import.meta.dirname, 'minifasnet-tfjs'))}`);
  console.log('box      per model: "real" tfjs-cpu/onnx, max |diff| over the 3 probs of crop + mirror');
  console.log(rows.join('\n'));
  console.log(
    `\nphotos ${seen.size}, crops ${crops} per model (crop + mirror); boxes: ${detector ? detector.name : 'centred'}`,
  );
  console.log('max |diff| of the probabilities:');
  for (const [k, v] of Object.entries(worst)) console.log(`  ${k} ${v.v.toExponential(3)}  (${basename(v.where)})`);

  console.log('\nSilent-Face samples (single crop; the published pipeline reports the mean "real" of the two models):');
  for (const [key, c] of cases) {
    if (!key.includes('Silent-Face-Anti-Spoofing__')) continue;
    const b = c.box;
    console.log(
      `  ${basename(key).padEnd(62)} box [${[b.x, b.y, b.width, b.height].map((n) => n.toFixed(0)).join(',')}] ` +
        `v2 ${c.real.v2.toFixed(4)}  v1se ${c.real.v1se.toFixed(4)}  mean ${((c.real.v2 + c.real.v1se) / 2).toFixed(4)}`,
    );
  }

  if (opts['write-reference']) await writeReference(cases, models, run);

  if (opts.bench) {
    const runs = Number(opts['bench-runs']);
    let seed = 12345;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    console.log(`\nmedian time per call (ms), ${runs} runs; onnxruntime-node intraOpNumThreads 1 vs the tfjs port:`);
    for (const v of VARIANTS) {
      for (const n of [1, 2]) {
        const data = Float32Array.from({ length: n * 80 * 80 * 3 }, () => Math.floor(rnd() * 256));
        const feeds = { input: new ort.Tensor('float32', data, [n, 80, 80, 3]) };
        const m = models[v.key];
        for (let i = 0; i < 30; i++) await m.onnx.run(feeds);
        const ts: number[] = [];
        for (let i = 0; i < runs; i++) {
          const t0 = performance.now();
          await m.onnx.run(feeds);
          ts.push(performance.now() - t0);
        }
        const sorted = [...ts].sort((a, b) => a - b);
        const tw: number[] = [];
        for (let i = 0; i < 110; i++) {
          const t0 = performance.now();
          await run('wasm', m.tfjs, data, n);
          if (i >= 10) tw.push(performance.now() - t0);
        }
        const q = (f: number) => (sorted[Math.floor((runs - 1) * f)] ?? 0).toFixed(2);
        console.log(
          `  ${v.key.padEnd(4)} batch ${n}: onnx session.run median ${median(ts).toFixed(2)} (p10 ${q(0.1)}, p90 ${q(0.9)})` +
            `   tfjs-wasm 1 thread predict median ${median(tw).toFixed(2)}`,
        );
      }
    }
  }

  for (const v of VARIANTS) {
    models[v.key].tfjs.dispose();
    await models[v.key].onnx.release();
  }
}

async function writeReference(
  cases: Map<string, { image: Image; box: Box }>,
  models: Record<VariantKey, { tfjs: MiniFasNet; onnx: OrtSession }>,
  run: (backend: 'cpu', model: MiniFasNet, data: Float32Array, n: number) => Promise<number[][]>,
) {
  const picks = [
    {
      key: 'test/fixtures/faces/F-spoof/minivision-ai__Silent-Face-Anti-Spoofing__image_F1.jpg#hand',
      scale: 2.7,
      png: 'silent-face_image_F1_scale2.7.png',
      note: 'Silent-Face sample image_F1 (printed photo attack, Apache-2.0), face box picked by eye, enlarged 2.7x',
    },
    {
      key: 'test/fixtures/faces/F-spoof/minivision-ai__Silent-Face-Anti-Spoofing__image_T1.jpg#hand',
      scale: 4.0,
      png: 'silent-face_image_T1_scale4.0.png',
      note: 'Silent-Face sample image_T1 (live face, Apache-2.0), face box picked by eye, enlarged 4.0x',
    },
    {
      key: 'test/fixtures/faces/A-single/yakhyo__uniface__src_man2.jpg',
      scale: 2.7,
      png: 'uniface_src_man2_scale2.7.png',
      note: 'genuine portrait (yakhyo/uniface, MIT) decoded at 683x1024 (long side 1024), face box picked by eye, enlarged 2.7x',
      box: { x: 228, y: 356, width: 263, height: 284 },
    },
  ];
  mkdirSync(refDir, { recursive: true });
  const out: unknown[] = [];
  let worst = 0;
  for (const p of picks) {
    const entry = [...cases].find(([k]) => k === p.key || k.startsWith(`${p.key}#`))?.[1];
    if (!entry) throw new Error(`reference photo not processed: ${p.key}`);
    const box = p.box ?? entry.box;
    const { image } = entry;
    const rgb = crop(image, box, p.scale, false);
    const png = await sharp(Buffer.from(Uint8Array.from(rgb)), { raw: { width: 80, height: 80, channels: 3 } })
      .png({ compressionLevel: 9, adaptiveFiltering: false, palette: false })
      .toBuffer();
    writeFileSync(join(refDir, p.png), png);
    // read the PNG back: the model input is its pixels with R and B swapped
    const back = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    if (back.info.width !== 80 || back.info.height !== 80 || back.info.channels !== 3) throw new Error('PNG size');
    const bgr = new Float32Array(80 * 80 * 3);
    for (let i = 0; i < 80 * 80 * 3; i++) {
      if (back.data[i] !== rgb[i]) throw new Error('PNG round trip is not lossless');
      bgr[i] = back.data[i - (i % 3) + 2 - (i % 3)] ?? 0;
    }
    const outputs: Record<string, number[]> = {};
    for (const v of VARIANTS) {
      const ref = (await run('cpu', models[v.key].tfjs, bgr, 1))[0] ?? [];
      const onx = (await onnxRun(models[v.key].onnx, bgr, 1))[0] ?? [];
      worst = Math.max(worst, maxAbs([ref], [onx]));
      outputs[v.key] = ref.map((x) => Number(x.toPrecision(9)));
    }
    out.push({
      png: p.png,
      source: p.key.replace(/#.*$/, ''),
      note: p.note,
      faceBox: {
        x: Math.round(box.x),
        y: Math.round(box.y),
        width: Math.round(box.width),
        height: Math.round(box.height),
      },
      cropScale: p.scale,
      outputs,
    });
  }
  const doc = {
    model:
      'MiniFASNet V2 (2.7_80x80_MiniFASNetV2) and V1SE (4_0_0_80x80_MiniFASNetV1SE) from minivision-ai/Silent-Face-Anti-Spoofing ' +
      '(Apache-2.0): ../../minifasnet/minifasnet_v2.onnx and minifasnet_v1se.onnx (source weights: the .safetensors files beside them)',
    // the port's path as it was when these outputs were first written (it now lives in scripts/models/minifasnet-tfjs/);
    // kept so that a rerun reproduces the committed outputs.json byte for byte
    reference:
      'outputs of the TensorFlow.js port of the original weights (scripts/models/minifasnet-tfjs/model.ts) on ' +
      '@tensorflow/tfjs 4.22.0 cpu backend, on exactly these PNG pixels; written by scripts/models/verify_minifasnet_onnx.ts --write-reference',
    input: {
      name: 'input',
      layout: 'NHWC',
      channelOrder: 'BGR',
      range: '0-255',
      shape: [1, 80, 80, 3],
      dtype: 'float32',
    },
    png: 'each PNG is an ordinary 80x80 8-bit RGB image; the model input is its pixels with R and B swapped (BGR), float32, 0-255, not normalised',
    output: { name: 'probs', shape: [1, 3], meaning: 'softmax over 3 classes; index 1 = real' },
    tolerance: { abs: 1e-4 },
    cases: out,
  };
  writeFileSync(join(refDir, 'outputs.json'), `${JSON.stringify(doc, null, 2)}\n`);
  console.log(
    `\nwrote ${relative(root, refDir)} (ONNX vs reference on the PNGs: max |diff| ${worst.toExponential(3)})`,
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
