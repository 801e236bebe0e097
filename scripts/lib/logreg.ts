/**
 * Small, dependency-free training helpers for linear probes: L2-regularised logistic regression on standardised
 * features (full-batch gradient descent with Nesterov momentum), and grouped stratified k-fold cross-validation.
 */

export interface LinearProbe {
  mean: number[];
  std: number[];
  weights: number[];
  bias: number;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

export function standardiser(xs: number[][]): { mean: number[]; std: number[] } {
  const d = xs[0]?.length ?? 0;
  const mean = new Array<number>(d).fill(0);
  const std = new Array<number>(d).fill(0);
  for (const x of xs) for (let j = 0; j < d; j++) mean[j] = (mean[j] ?? 0) + (x[j] ?? 0) / xs.length;
  for (const x of xs)
    for (let j = 0; j < d; j++) std[j] = (std[j] ?? 0) + ((x[j] ?? 0) - (mean[j] ?? 0)) ** 2 / xs.length;
  for (let j = 0; j < d; j++) std[j] = Math.sqrt(std[j] ?? 0) + 1e-6;
  return { mean, std };
}

export function trainLogReg(
  xs: number[][],
  ys: number[],
  opts: { l2: number; iterations?: number; lr?: number; weights?: number[] } = { l2: 1 },
): LinearProbe {
  const { mean, std } = standardiser(xs);
  const n = xs.length;
  const d = mean.length;
  const z = xs.map((x) => x.map((v, j) => (v - (mean[j] ?? 0)) / (std[j] ?? 1)));
  const sw = opts.weights ?? ys.map(() => 1);
  const swSum = sw.reduce((a, b) => a + b, 0);
  let w = new Float64Array(d);
  let b = 0;
  let vw = new Float64Array(d);
  let vb = 0;
  const lr = opts.lr ?? 0.5;
  const iters = opts.iterations ?? 400;
  const mom = 0.9;
  for (let it = 0; it < iters; it++) {
    // Nesterov look-ahead
    const lw = new Float64Array(d);
    for (let j = 0; j < d; j++) lw[j] = (w[j] ?? 0) + mom * (vw[j] ?? 0);
    const lb = b + mom * vb;
    const gw = new Float64Array(d);
    let gb = 0;
    for (let i = 0; i < n; i++) {
      const zi = z[i] as number[];
      let s = lb;
      for (let j = 0; j < d; j++) s += (lw[j] ?? 0) * (zi[j] ?? 0);
      const e = ((sigmoid(s) - (ys[i] ?? 0)) * (sw[i] ?? 1)) / swSum;
      for (let j = 0; j < d; j++) gw[j] = (gw[j] ?? 0) + e * (zi[j] ?? 0);
      gb += e;
    }
    for (let j = 0; j < d; j++) gw[j] = (gw[j] ?? 0) + (opts.l2 / swSum) * (lw[j] ?? 0);
    const nvw = new Float64Array(d);
    for (let j = 0; j < d; j++) nvw[j] = mom * (vw[j] ?? 0) - lr * (gw[j] ?? 0);
    vw = nvw;
    vb = mom * vb - lr * gb;
    const nw = new Float64Array(d);
    for (let j = 0; j < d; j++) nw[j] = (w[j] ?? 0) + (vw[j] ?? 0);
    w = nw;
    b += vb;
  }
  return { mean, std, weights: Array.from(w), bias: b };
}

export function predict(p: LinearProbe, x: number[]): number {
  let s = p.bias;
  for (let j = 0; j < p.weights.length; j++)
    s += (p.weights[j] ?? 0) * (((x[j] ?? 0) - (p.mean[j] ?? 0)) / (p.std[j] ?? 1));
  return sigmoid(s);
}

/** Fold index per sample: whole groups go to one fold, folds balanced per class (deterministic). */
export function groupedFolds(groups: string[], ys: number[], k: number): number[] {
  const byGroup = new Map<string, number[]>();
  groups.forEach((g, i) => {
    const list = byGroup.get(g) ?? [];
    list.push(i);
    byGroup.set(g, list);
  });
  const fold = new Array<number>(groups.length).fill(0);
  const hash = (s: string) => {
    let h = 2166136261;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
    return h;
  };
  for (const cls of [0, 1]) {
    const gs = [...byGroup.entries()]
      .filter(([, idx]) => ys[idx[0] ?? 0] === cls)
      .sort((a, b) => hash(a[0]) - hash(b[0]));
    const counts = new Array<number>(k).fill(0);
    for (const [, idx] of gs) {
      let best = 0;
      for (let f = 1; f < k; f++) if ((counts[f] ?? 0) < (counts[best] ?? 0)) best = f;
      for (const i of idx) fold[i] = best;
      counts[best] = (counts[best] ?? 0) + idx.length;
    }
  }
  return fold;
}

/** Out-of-fold probabilities from k-fold cross-validation. */
export function crossValidate(
  xs: number[][],
  ys: number[],
  groups: string[],
  k: number,
  train: (xs: number[][], ys: number[]) => (x: number[]) => number,
): number[] {
  const fold = groupedFolds(groups, ys, k);
  const out = new Array<number>(xs.length).fill(0);
  for (let f = 0; f < k; f++) {
    const tr = xs.map((_, i) => i).filter((i) => fold[i] !== f);
    const model = train(
      tr.map((i) => xs[i] as number[]),
      tr.map((i) => ys[i] as number),
    );
    xs.forEach((x, i) => {
      if (fold[i] === f) out[i] = model(x);
    });
  }
  return out;
}
