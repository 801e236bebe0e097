/**
 * Trains the "masked face" linear probe shipped in packages/face-engine/models/mask-probe.json.
 *
 *   pnpm exec tsx scripts/train-mask-probe.ts [masksDir]
 *
 * Data: masks/with_mask and masks/without_mask from chandrikadeb7/Face-Mask-Detection (MIT), default
 * ../shared/fixtures/masks (or /work/shared/fixtures/masks). Never point it at spoofs-research/ (research-only terms).
 *
 * Feature: the 1024-d faceres descriptor of the largest face of the normal detection pass, computed exactly as the
 * engine does at inference (embedding.ts: square crop 1.2x the detector box, 144x144). Photos where the normal
 * pass finds no face are skipped. Model: L2-regularised logistic regression on standardised features.
 *
 * Validation: exact duplicates (same bytes) and "copy" variants of one photo are grouped, and groups are assigned
 * to 5 folds stratified by class. The script reports 5-fold cross-validated accuracy / TPR / FPR over all photos,
 * then trains the shipped probe on folds 0-3 only, so that fold 4 stays unseen: its files are listed in the JSON
 * (training.heldOut) and scripts/eval.ts reports the obstruction figures on them separately.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMBEDDING_CROP, EMBEDDING_SIZE } from '../packages/face-engine/src/embedding.js';
import { getInternals } from '../packages/face-engine/src/engine.js';
import { runHuman, squarePadding, toDetectedFace } from '../packages/face-engine/src/faces.js';
import { createFaceEngine, decodeImage } from '../packages/face-engine/src/index.js';
import { crossValidate, groupedFolds, predict, trainLogReg } from './lib/logreg.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const L2 = 10;
const ITERATIONS = 300;
const K = 5;
const HELD_OUT_FOLD = 4;

async function main() {
  const dir =
    process.argv[2] ??
    [join(repoRoot, '..', 'shared', 'fixtures', 'masks'), '/work/shared/fixtures/masks'].find((p) => existsSync(p));
  if (!dir || !existsSync(dir)) throw new Error('masks folder not found');
  if (/spoofs-research/.test(resolve(dir))) throw new Error('refusing to train on spoofs-research');

  // the engine needs some probe file to start; a neutral one is enough to compute descriptors
  const tmp = mkdtempSync(join(tmpdir(), 'mask-probe-'));
  const neutral = join(tmp, 'neutral.json');
  writeFileSync(
    neutral,
    JSON.stringify({
      name: 'neutral',
      description: 'placeholder used while training',
      feature: { model: 'faceres', size: EMBEDDING_SIZE, crop: EMBEDDING_CROP, dims: 1024 },
      mean: new Array(1024).fill(0),
      std: new Array(1024).fill(1),
      weights: new Array(1024).fill(0),
      bias: 0,
      threshold: 0.5,
      training: {},
    }),
  );
  const engine = await createFaceEngine({ maskProbePath: neutral });
  const internals = getInternals(engine);

  const xs: number[][] = [];
  const ys: number[] = [];
  const groups: string[] = [];
  const files: string[] = [];
  const byHash = new Map<string, string>();
  let skipped = 0;
  for (const [sub, label] of [
    ['with_mask', 1],
    ['without_mask', 0],
  ] as const) {
    for (const f of readdirSync(join(dir, sub)).sort()) {
      if (!/\.(jpe?g|png|webp)$/i.test(f)) continue;
      const bytes = readFileSync(join(dir, sub, f));
      const image = await decodeImage(bytes);
      const r = await runHuman(
        engine,
        image,
        internals.detectConfig(internals.thresholds.faceMinConfidence),
        squarePadding(image, 0),
      );
      const faces = r.face
        .map((h) => toDetectedFace(image, h, [], 1))
        .sort((a, b) => b.boxPixels.width * b.boxPixels.height - a.boxPixels.width * a.boxPixels.height);
      const face = faces[0];
      if (!face) {
        skipped++;
        continue;
      }
      const hash = createHash('sha256').update(bytes).digest('hex');
      const stem = f.replace(/\.\w+$/, '').replace(/(_another)?_copy.*$/, '');
      const group = byHash.get(hash) ?? `${sub}:${stem}`;
      byHash.set(hash, group);
      xs.push(Array.from(internals.embed(image, face.boxPixels)));
      ys.push(label);
      groups.push(group);
      files.push(`${sub}/${f}`);
    }
  }
  await engine.dispose();
  const pos = ys.filter((y) => y === 1).length;
  console.log(
    `samples ${xs.length} (masked ${pos}, unmasked ${xs.length - pos}), groups ${new Set(groups).size}, no face ${skipped}`,
  );

  const fit = (a: number[][], b: number[]) => {
    const p = trainLogReg(a, b, { l2: L2, iterations: ITERATIONS });
    return (x: number[]) => predict(p, x);
  };
  const oof = crossValidate(xs, ys, groups, K, fit);
  const rates = (probs: number[], labels: number[]) => {
    const tp = probs.filter((p, i) => labels[i] === 1 && p >= 0.5).length;
    const fp = probs.filter((p, i) => labels[i] === 0 && p >= 0.5).length;
    const npos = labels.filter((y) => y === 1).length;
    const nneg = labels.length - npos;
    return {
      n: labels.length,
      accuracy: (tp + (nneg - fp)) / labels.length,
      tpr: npos ? tp / npos : 0,
      fpr: nneg ? fp / nneg : 0,
    };
  };
  const cv = rates(oof, ys);
  console.log(
    `${K}-fold grouped CV: accuracy ${(cv.accuracy * 100).toFixed(1)}%  TPR ${(cv.tpr * 100).toFixed(1)}%  FPR ${(cv.fpr * 100).toFixed(1)}%`,
  );

  const fold = groupedFolds(groups, ys, K);
  const tr = xs.map((_, i) => i).filter((i) => fold[i] !== HELD_OUT_FOLD);
  const ho = xs.map((_, i) => i).filter((i) => fold[i] === HELD_OUT_FOLD);
  const probe = trainLogReg(
    tr.map((i) => xs[i] as number[]),
    tr.map((i) => ys[i] as number),
    { l2: L2, iterations: ITERATIONS },
  );
  const held = rates(
    ho.map((i) => predict(probe, xs[i] as number[])),
    ho.map((i) => ys[i] as number),
  );
  const train = rates(
    tr.map((i) => predict(probe, xs[i] as number[])),
    tr.map((i) => ys[i] as number),
  );
  console.log(
    `shipped probe (folds != ${HELD_OUT_FOLD}): held-out fold accuracy ${(held.accuracy * 100).toFixed(1)}% (n=${held.n}), training accuracy ${(train.accuracy * 100).toFixed(1)}%`,
  );
  const r6 = (v: number) => Math.round(v * 1e6) / 1e6;
  const out = {
    name: 'mask-probe-v1',
    description:
      'Logistic regression "masked face" on the faceres descriptor (embedding.ts). Output >= threshold means a mask or covering over mouth/nose.',
    feature: {
      model: 'faceres (human 3.3.6, global_pooling/Mean)',
      size: EMBEDDING_SIZE,
      crop: EMBEDDING_CROP,
      dims: 1024,
    },
    mean: probe.mean.map(r6),
    std: probe.std.map(r6),
    weights: probe.weights.map(r6),
    bias: r6(probe.bias),
    threshold: 0.5,
    training: {
      date: new Date().toISOString().slice(0, 10),
      script: 'scripts/train-mask-probe.ts',
      data: 'masks/with_mask + masks/without_mask from chandrikadeb7/Face-Mask-Detection (MIT); faces found by the normal detection pass only',
      model: `L2-regularised logistic regression (l2=${L2}, ${ITERATIONS} Nesterov GD iterations, standardised features)`,
      crossValidation: { folds: K, grouping: 'identical bytes and copy-variants grouped', ...cv },
      heldOutFold: { fold: HELD_OUT_FOLD, ...held },
      trainingAccuracy: train.accuracy,
      trainedOn: tr.map((i) => files[i]),
      heldOut: ho.map((i) => files[i]),
    },
  };
  const target = join(repoRoot, 'packages', 'face-engine', 'models', 'mask-probe.json');
  writeFileSync(target, `${JSON.stringify(out)}\n`);
  console.log(`wrote ${target}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
