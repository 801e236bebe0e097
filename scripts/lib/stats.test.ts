import { describe, expect, it } from 'vitest';
import {
  apcerAtBpcer,
  bootstrap,
  equalErrorRate,
  errorRatesAt,
  formatRate,
  median,
  mulberry32,
  percentile,
  resample,
  wilson,
} from './stats.js';

describe('wilson', () => {
  it('matches the textbook values', () => {
    // 75/78: 96.2 %, 95 % CI 89.3–98.7 (the example of the evaluation issue)
    const w = wilson(75, 78);
    expect(w.lo).toBeCloseTo(0.8931, 3);
    expect(w.hi).toBeCloseTo(0.9868, 3);
    // 5/10: 0.2366–0.7634
    const h = wilson(5, 10);
    expect(h.lo).toBeCloseTo(0.2366, 4);
    expect(h.hi).toBeCloseTo(0.7634, 4);
  });

  it('gives exact 0 and 1 bounds at the extremes and never leaves [0, 1]', () => {
    expect(wilson(0, 12).lo).toBe(0);
    expect(wilson(0, 12).hi).toBeCloseTo(0.2425, 3);
    expect(wilson(12, 12).hi).toBe(1);
    expect(wilson(12, 12).lo).toBeCloseTo(0.7575, 3);
    for (let n = 1; n < 40; n++)
      for (let k = 0; k <= n; k++) {
        const { lo, hi } = wilson(k, n);
        expect(lo).toBeGreaterThanOrEqual(0);
        expect(hi).toBeLessThanOrEqual(1);
        expect(lo).toBeLessThanOrEqual(k / n);
        expect(hi).toBeGreaterThanOrEqual(k / n);
      }
  });

  it('is the whole range for n = 0 and rejects impossible counts', () => {
    expect(wilson(0, 0)).toEqual({ lo: 0, hi: 1 });
    expect(() => wilson(3, 2)).toThrow(RangeError);
  });

  it('formats a rate with its interval', () => {
    expect(formatRate(75, 78)).toBe('96.2 % (75/78, 95 % CI 89.3–98.7)');
    expect(formatRate(0, 0)).toBe('n/a (0/0)');
  });
});

describe('percentile and median', () => {
  it('interpolates between ranks', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(percentile([1, 2, 3, 4, 5], 0)).toBe(1);
    expect(percentile([1, 2, 3, 4, 5], 100)).toBe(5);
    expect(percentile([10, 20], 95)).toBeCloseTo(19.5, 10);
    expect(
      percentile(
        Array.from({ length: 101 }, (_, i) => i),
        95,
      ),
    ).toBe(95);
    expect(Number.isNaN(median([]))).toBe(true);
  });

  it('does not reorder its input', () => {
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });
});

describe('seeded PRNG and bootstrap', () => {
  it('is deterministic per seed and uniform-ish in [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 10000 }, () => a());
    expect(Array.from({ length: 10000 }, () => b())).toEqual(xs);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeCloseTo(0.5, 1);
    expect(mulberry32(43)()).not.toBe(mulberry32(42)());
  });

  it('resamples with replacement from the input only', () => {
    const r = resample([1, 2, 3], mulberry32(7));
    expect(r).toHaveLength(3);
    for (const x of r) expect([1, 2, 3]).toContain(x);
  });

  it('gives a reproducible interval that covers the value', () => {
    const rng = mulberry32(1);
    const xs = Array.from({ length: 200 }, () => rng());
    const mean = (g: number[][]) => (g[0] as number[]).reduce((s, x) => s + x, 0) / (g[0] as number[]).length;
    const b1 = bootstrap([xs], mean, { rounds: 500, seed: 9 });
    const b2 = bootstrap([xs], mean, { rounds: 500, seed: 9 });
    expect(b1).toEqual(b2);
    expect(b1.lo).toBeLessThan(b1.value);
    expect(b1.hi).toBeGreaterThan(b1.value);
    // standard error of a uniform mean with n = 200 is ~0.02: the 95 % interval is about +-0.04
    expect(b1.hi - b1.lo).toBeGreaterThan(0.05);
    expect(b1.hi - b1.lo).toBeLessThan(0.12);
  });

  it('takes records of statistics and resamples groups separately', () => {
    const b = bootstrap(
      [
        [0, 0, 0],
        [1, 1, 1, 1],
      ],
      (g) => ({ a: (g[0] as number[]).length, b: Math.max(...(g[1] as number[])) }),
      { rounds: 50, seed: 3 },
    );
    expect(b.value).toEqual({ a: 3, b: 1 });
    expect(b.lo).toEqual({ a: 3, b: 1 });
    expect(b.hi).toEqual({ a: 3, b: 1 });
  });
});

describe('APCER / BPCER / EER', () => {
  const genuine = [90, 80, 70, 60, 50, 45, 40, 30, 20, 10]; // 10 genuine
  const attacks = [5, 15, 25, 35, 55, 65]; // 6 attacks

  it('counts accepted attacks and rejected genuine at a threshold (accept when score >= threshold)', () => {
    expect(errorRatesAt(attacks, genuine, 50)).toEqual({ threshold: 50, apcer: 2 / 6, bpcer: 5 / 10 });
    expect(errorRatesAt(attacks, genuine, 0)).toEqual({ threshold: 0, apcer: 1, bpcer: 0 });
  });

  it('picks the strictest threshold within the BPCER budget', () => {
    // 10 % of 10 genuine: one may be rejected, so the threshold is the second-lowest genuine score
    expect(apcerAtBpcer(attacks, genuine, 0.1)).toEqual({ threshold: 20, apcer: 4 / 6, bpcer: 0.1 });
    // 5 % or 1 % of 10: none may be rejected
    expect(apcerAtBpcer(attacks, genuine, 0.05)).toEqual({ threshold: 10, apcer: 5 / 6, bpcer: 0 });
    expect(apcerAtBpcer(attacks, genuine, 0.01)).toEqual({ threshold: 10, apcer: 5 / 6, bpcer: 0 });
    // 50 %: five may be rejected
    expect(apcerAtBpcer(attacks, genuine, 0.5)).toEqual({ threshold: 50, apcer: 2 / 6, bpcer: 0.5 });
  });

  it('never exceeds the BPCER budget with tied scores', () => {
    const g = [10, 10, 10, 50, 60];
    const p = apcerAtBpcer([20], g, 0.2); // one rejection allowed, but the three 10s tie
    expect(p.bpcer).toBeLessThanOrEqual(0.2);
    expect(p.threshold).toBe(10);
  });

  it('finds the equal error rate', () => {
    // perfectly separated sets: EER 0
    expect(equalErrorRate([1, 2, 3], [7, 8, 9]).eer).toBe(0);
    // identical sets: EER 0.5 region (APCER = BPCER somewhere)
    const same = equalErrorRate([1, 2, 3, 4], [1, 2, 3, 4]);
    expect(same.eer).toBeCloseTo(0.5, 10);
    const e = equalErrorRate(attacks, genuine);
    expect(Math.abs(e.apcer - e.bpcer)).toBeLessThanOrEqual(0.2);
    expect(e.eer).toBeGreaterThan(0.2);
    expect(e.eer).toBeLessThan(0.5);
  });

  it('returns NaN for empty sets', () => {
    expect(Number.isNaN(apcerAtBpcer([], [1], 0.05).apcer)).toBe(true);
    expect(Number.isNaN(equalErrorRate([1], []).eer)).toBe(true);
  });
});
