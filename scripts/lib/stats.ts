/**
 * Small statistics helpers for the evaluation command: Wilson score intervals for proportions, a seeded PRNG, a
 * percentile bootstrap, median/percentile, and presentation-attack error rates (APCER at a BPCER target, EER).
 * Dependency-free and deterministic (every random draw comes from a seeded generator).
 */

/** Two-sided 95 % normal quantile. */
export const Z95 = 1.959963984540054;

export interface Interval {
  lo: number;
  hi: number;
}

/**
 * Wilson score interval for k successes out of n trials (default 95 %). Returns rates in 0..1; for n = 0 the
 * interval is the whole range [0, 1].
 */
export function wilson(k: number, n: number, z = Z95): Interval {
  if (!(n > 0)) return { lo: 0, hi: 1 };
  if (k < 0 || k > n) throw new RangeError(`wilson: k=${k} outside 0..${n}`);
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // clamp: rounding can push the bounds a hair outside [0, 1] and k = 0 / k = n must give exactly 0 / 1
  return { lo: k === 0 ? 0 : Math.max(0, centre - half), hi: k === n ? 1 : Math.min(1, centre + half) };
}

/** mulberry32: a tiny, fast, seeded 32-bit PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A resample (with replacement, same size) of xs drawn with rng. */
export function resample<T>(xs: readonly T[], rng: () => number): T[] {
  const out = new Array<T>(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = xs[Math.floor(rng() * xs.length)] as T;
  return out;
}

/**
 * Percentile (0..100) of xs with linear interpolation between closest ranks (the "R-7" / numpy default rule).
 * NaN for an empty list.
 */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return percentileSorted(s, p);
}

/** percentile() on an already ascending-sorted list. */
export function percentileSorted(s: readonly number[], p: number): number {
  if (s.length === 0) return Number.NaN;
  const q = Math.min(100, Math.max(0, p)) / 100;
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = s[lo] as number;
  const b = s[hi] as number;
  return a + (b - a) * (pos - lo);
}

export const median = (xs: readonly number[]): number => percentile(xs, 50);

export interface BootstrapResult<R> {
  /** The statistic on the original samples. */
  value: R;
  /** Per-output 95 % percentile interval (NaN outputs of a round are skipped). */
  lo: R;
  hi: R;
  rounds: number;
}

/**
 * Percentile bootstrap. Each round resamples every group independently (with replacement, same size; e.g.
 * attacks and genuine separately) and computes stat on the resampled groups. stat returns a number or a record of
 * numbers; the interval is taken output by output at the (1 - level) / 2 and (1 + level) / 2 percentiles.
 */
export function bootstrap<T, R extends number | Record<string, number>>(
  groups: readonly (readonly T[])[],
  stat: (groups: T[][]) => R,
  opts: { rounds?: number; seed?: number; level?: number } = {},
): BootstrapResult<R> {
  const rounds = opts.rounds ?? 2000;
  const level = opts.level ?? 0.95;
  const rng = mulberry32(opts.seed ?? 1);
  const value = stat(groups.map((g) => [...g]));
  const draws: R[] = [];
  for (let r = 0; r < rounds; r++) draws.push(stat(groups.map((g) => resample(g, rng))));
  const loP = (100 * (1 - level)) / 2;
  const hiP = 100 - loP;
  const finite = (xs: number[]) => xs.filter((x) => Number.isFinite(x));
  if (typeof value === 'number') {
    const xs = finite(draws as number[]);
    return { value, lo: percentile(xs, loP) as R, hi: percentile(xs, hiP) as R, rounds };
  }
  const lo: Record<string, number> = {};
  const hi: Record<string, number> = {};
  for (const key of Object.keys(value)) {
    const xs = finite(draws.map((d) => (d as Record<string, number>)[key] as number));
    lo[key] = percentile(xs, loP);
    hi[key] = percentile(xs, hiP);
  }
  return { value, lo: lo as R, hi: hi as R, rounds };
}

// ---- presentation-attack detection error rates ----
// Scores are "liveness" scores: higher = more live. A photo is accepted as live when score >= threshold.
// APCER = attacks accepted / attacks; BPCER = genuine rejected / genuine.

export interface OperatingPoint {
  threshold: number;
  apcer: number;
  bpcer: number;
}

const countBelow = (sorted: readonly number[], t: number) => {
  // number of values < t in an ascending list (binary search)
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};

/** APCER and BPCER when photos with score >= threshold are accepted as live. */
export function errorRatesAt(
  attacks: readonly number[],
  genuine: readonly number[],
  threshold: number,
): OperatingPoint {
  const a = [...attacks].sort((x, y) => x - y);
  const g = [...genuine].sort((x, y) => x - y);
  return {
    threshold,
    apcer: a.length ? (a.length - countBelow(a, threshold)) / a.length : Number.NaN,
    bpcer: g.length ? countBelow(g, threshold) / g.length : Number.NaN,
  };
}

/**
 * The strictest threshold whose BPCER on the genuine scores is <= maxBpcer (so as many attacks as possible are
 * caught), and the APCER there. At most floor(maxBpcer * n) genuine photos may be rejected, so the threshold is
 * the (floor(maxBpcer * n) + 1)-th smallest genuine score (ties reject fewer). NaN rates when a set is empty.
 */
export function apcerAtBpcer(attacks: readonly number[], genuine: readonly number[], maxBpcer: number): OperatingPoint {
  if (genuine.length === 0 || attacks.length === 0)
    return { threshold: Number.NaN, apcer: Number.NaN, bpcer: Number.NaN };
  const g = [...genuine].sort((x, y) => x - y);
  // the small epsilon keeps 0.05 * 20 = 1 from becoming 0.9999999
  const allowed = Math.floor(maxBpcer * g.length + 1e-9);
  const threshold = g[Math.min(allowed, g.length - 1)] as number;
  const a = [...attacks].sort((x, y) => x - y);
  return {
    threshold,
    apcer: (a.length - countBelow(a, threshold)) / a.length,
    bpcer: countBelow(g, threshold) / g.length,
  };
}

/**
 * Equal error rate: over every candidate threshold (each distinct score, and one above the highest), the point
 * where |APCER - BPCER| is smallest; EER is the mean of the two there (ties: the lower mean).
 */
export function equalErrorRate(
  attacks: readonly number[],
  genuine: readonly number[],
): OperatingPoint & { eer: number } {
  if (genuine.length === 0 || attacks.length === 0)
    return { threshold: Number.NaN, apcer: Number.NaN, bpcer: Number.NaN, eer: Number.NaN };
  const a = [...attacks].sort((x, y) => x - y);
  const g = [...genuine].sort((x, y) => x - y);
  const candidates = [...new Set([...a, ...g])].sort((x, y) => x - y);
  candidates.push(Number.POSITIVE_INFINITY);
  let best: (OperatingPoint & { eer: number }) | null = null;
  let bestGap = Number.POSITIVE_INFINITY;
  for (const t of candidates) {
    const apcer = (a.length - countBelow(a, t)) / a.length;
    const bpcer = countBelow(g, t) / g.length;
    const gap = Math.abs(apcer - bpcer);
    const eer = (apcer + bpcer) / 2;
    if (gap < bestGap - 1e-12 || (Math.abs(gap - bestGap) <= 1e-12 && best && eer < best.eer)) {
      bestGap = gap;
      best = { threshold: t, apcer, bpcer, eer };
    }
  }
  return best as OperatingPoint & { eer: number };
}

// ---- formatting ----

/** "96.2 % (75/78, 95 % CI 89.3–98.7)" */
export function formatRate(k: number, n: number, digits = 1): string {
  if (n === 0) return 'n/a (0/0)';
  const { lo, hi } = wilson(k, n);
  const f = (x: number) => (100 * x).toFixed(digits);
  return `${f(k / n)} % (${k}/${n}, 95 % CI ${f(lo)}–${f(hi)})`;
}
