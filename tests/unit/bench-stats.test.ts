// bench/stats.mjs: the arithmetic of bench/throughput.mjs (issue 29): order statistics, the seeded bootstrap of a
// ratio of medians over rounds, the ±3% rule, the interleaved schedule and the round sizing. Pure functions on
// fixed or seeded data: nothing here measures time.
import { describe, expect, it } from 'vitest';

import {
  bootstrap,
  diffOfMedians,
  median,
  medianOfRatios,
  quantile,
  ratioOfMedians,
  repeatsFor,
  resolution,
  rng,
  schedule,
  summarize,
} from '../../bench/stats.mjs';

/** Seeded normal deviates (Box-Muller) for synthetic rounds. */
function normals(seed: number, n: number, mean: number, sd: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => mean + sd * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}

describe('order statistics', () => {
  it('quantile interpolates linearly between order statistics (numpy default)', () => {
    expect(quantile([1, 2, 3, 4], 0.25)).toBeCloseTo(1.75, 12);
    expect(quantile([4, 1, 3, 2], 0.75)).toBeCloseTo(3.25, 12);
    expect(quantile([10, 20], 0.5)).toBe(15);
    expect(quantile([7], 0.9)).toBe(7);
    expect(quantile([1, 2, 3], 0)).toBe(1);
    expect(quantile([1, 2, 3], 1)).toBe(3);
  });

  it('median of odd and even counts, input left unsorted', () => {
    const xs = [3, 1, 2];
    expect(median(xs)).toBe(2);
    expect(xs).toEqual([3, 1, 2]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('summarize gives the median, min/max and IQR', () => {
    expect(summarize([5, 1, 4, 2, 3])).toEqual({ n: 5, median: 3, mean: 3, min: 1, max: 5, q1: 2, q3: 4, iqr: 2 });
  });

  it('refuses empty or non-finite input', () => {
    expect(() => median([])).toThrow(RangeError);
    expect(() => quantile([1, Number.NaN], 0.5)).toThrow(RangeError);
    expect(() => quantile([1, 2], 1.5)).toThrow(RangeError);
    expect(() => summarize([Infinity])).toThrow(RangeError);
  });
});

describe('seeded PRNG', () => {
  it('is reproducible and in [0, 1)', () => {
    const a = rng(42);
    const b = rng(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeCloseTo(0.5, 1);
    const c = rng(43);
    expect(Array.from({ length: 10 }, () => c())).not.toEqual(xs.slice(0, 10));
  });
});

describe('bootstrap of a ratio of medians', () => {
  it('is reproducible for a seed and the estimate is the plain ratio of medians', () => {
    const num = [100, 103, 98, 101, 99, 102, 100, 97, 104, 100];
    const den = [110, 108, 112, 109, 111, 110, 107, 113, 110, 109];
    const a = ratioOfMedians(num, den, { seed: 7 });
    const b = ratioOfMedians(num, den, { seed: 7 });
    expect(a).toEqual(b);
    expect(a.ratio).toBeCloseTo(median(num) / median(den), 12);
    expect(a.lo).toBeLessThanOrEqual(a.ratio);
    expect(a.hi).toBeGreaterThanOrEqual(a.ratio);
    expect(a.paired).toBe(true);
    expect(a.level).toBe(0.95);
  });

  it('constant rounds give a zero-width interval', () => {
    const r = ratioOfMedians(Array(12).fill(50), Array(12).fill(40));
    expect(r.ratio).toBe(1.25);
    expect(r.lo).toBe(1.25);
    expect(r.hi).toBe(1.25);
    expect(r.halfWidth).toBe(0);
    expect(r.resolved).toBe(true);
  });

  it('a tight run is resolved, a noisy one is flagged', () => {
    const tight = ratioOfMedians(normals(1, 15, 1000, 5), normals(2, 15, 1000, 5));
    expect(tight.halfWidth).toBeLessThan(0.03);
    expect(tight.resolved).toBe(true);
    expect(tight.reason).toBe('');
    const noisy = ratioOfMedians(normals(3, 15, 1000, 150), normals(4, 15, 1000, 150));
    expect(noisy.halfWidth).toBeGreaterThan(0.03);
    expect(noisy.resolved).toBe(false);
    expect(noisy.reason).toMatch(/^interval ±\d+\.\d% > ±3%$/);
  });

  it('fewer than 10 rounds are never resolved, however tight', () => {
    const r = ratioOfMedians([100, 100, 101], [100, 100, 100]);
    expect(r.halfWidth).toBeLessThan(0.03);
    expect(r.resolved).toBe(false);
    expect(r.reason).toBe('3 rounds < 10');
    expect(ratioOfMedians([100, 100, 101], [100, 100, 100], { minRounds: 3 }).resolved).toBe(true);
  });

  it('pairing by round cancels a drift common to both paths', () => {
    // Both paths slow down together over the run (a busy machine); ours is 5% faster within every round.
    const den = Array.from({ length: 20 }, (_, i) => 1000 - 20 * i);
    const num = den.map((x) => x * 1.05);
    const paired = ratioOfMedians(num, den);
    expect(paired.ratio).toBeCloseTo(1.05, 12);
    expect(paired.hi - paired.lo).toBeLessThan(1e-9);
    const unpaired = ratioOfMedians(num, den, { paired: false });
    expect(unpaired.hi - unpaired.lo).toBeGreaterThan(0.1);
    expect(unpaired.resolved).toBe(false);
  });

  it('covers the true ratio in most of many seeded synthetic runs', () => {
    // 200 runs of 15 rounds, true ratio 0.95, 4% noise per round: a 95% percentile interval of medians is a little
    // narrow at n = 15, so the bound is loose; the point is that it is neither always nor rarely right.
    let covered = 0;
    for (let k = 0; k < 200; k++) {
      const num = normals(1000 + k, 15, 950, 38);
      const den = normals(5000 + k, 15, 1000, 40);
      const r = ratioOfMedians(num, den, { iterations: 1000, seed: k });
      if (r.lo <= 0.95 && 0.95 <= r.hi) covered++;
    }
    expect(covered / 200).toBeGreaterThan(0.82);
    expect(covered / 200).toBeLessThan(0.995);
  });

  it('the interval narrows with more rounds', () => {
    const few = ratioOfMedians(normals(11, 10, 1000, 30), normals(12, 10, 1000, 30));
    const many = ratioOfMedians(normals(11, 160, 1000, 30), normals(12, 160, 1000, 30));
    expect(many.hi - many.lo).toBeLessThan((few.hi - few.lo) / 2);
  });

  it('paired samples must have the same number of rounds; unpaired ones need not', () => {
    expect(() => bootstrap([[1, 2], [1, 2, 3]], (a, b) => median(a!) / median(b!), { paired: true })).toThrow(RangeError);
    const r = ratioOfMedians([1, 2, 3], [1, 2, 3, 4]);
    expect(r.paired).toBe(false);
    expect(r.reason).toMatch(/3 rounds < 10/);
    expect(() => bootstrap([[1]], (a) => a![0]!, { level: 1 })).toThrow(RangeError);
    expect(() => bootstrap([[1]], (a) => a![0]!, { iterations: 0 })).toThrow(RangeError);
  });
});

describe('the ±3% rule', () => {
  it('takes the wider side of an asymmetric interval', () => {
    expect(resolution({ estimate: 1, lo: 0.99, hi: 1.02 }, 10)).toEqual({ halfWidth: 0.020000000000000018, resolved: true, reason: '' });
    const r = resolution({ estimate: 1, lo: 0.96, hi: 1.01 }, 10);
    expect(r.halfWidth).toBeCloseTo(0.04, 12);
    expect(r.resolved).toBe(false);
    expect(r.reason).toBe('interval ±4.0% > ±3%');
  });

  it('is relative to the estimate and accepts exactly ±3%', () => {
    expect(resolution({ estimate: 2, lo: 1.94, hi: 2.06 }, 10).resolved).toBe(true);
    expect(resolution({ estimate: 2, lo: 1.93, hi: 2.06 }, 10).resolved).toBe(false);
    expect(resolution({ estimate: 2, lo: 1.93, hi: 2.06 }, 10, { tolerance: 0.05 }).resolved).toBe(true);
  });

  it('names both reasons when both apply', () => {
    expect(resolution({ estimate: 1, lo: 0.5, hi: 1.5 }, 4).reason).toBe('interval ±50.0% > ±3%; 4 rounds < 10');
  });
});

describe('difference of medians', () => {
  it('ours - plain latency with its interval', () => {
    const ours = [0.172, 0.175, 0.171, 0.173, 0.174, 0.172, 0.176, 0.171, 0.173, 0.172];
    const plain = ours.map((x) => x - 0.004);
    const d = diffOfMedians(ours, plain);
    expect(d.diff).toBeCloseTo(0.004, 12);
    expect(d.lo).toBeCloseTo(0.004, 12);
    expect(d.hi).toBeCloseTo(0.004, 12);
  });
});

describe('round schedule', () => {
  const paths = ['plain', 'node', 'serve'];

  it('rotate: every round runs each path once, and each path takes each position once per 3 rounds', () => {
    const s = schedule(paths, 6);
    expect(s).toEqual([
      ['plain', 'node', 'serve'],
      ['node', 'serve', 'plain'],
      ['serve', 'plain', 'node'],
      ['plain', 'node', 'serve'],
      ['node', 'serve', 'plain'],
      ['serve', 'plain', 'node'],
    ]);
    for (const p of paths) {
      const positions = s.slice(0, 3).map((round) => round.indexOf(p)).sort();
      expect(positions).toEqual([0, 1, 2]);
    }
  });

  it('random: a seeded permutation per round, reproducible, not all alike', () => {
    const a = schedule(paths, 30, { order: 'random', seed: 5 });
    expect(a).toEqual(schedule(paths, 30, { order: 'random', seed: 5 }));
    expect(a).not.toEqual(schedule(paths, 30, { order: 'random', seed: 6 }));
    for (const round of a) expect([...round].sort()).toEqual([...paths].sort());
    expect(new Set(a.map((r) => r.join())).size).toBeGreaterThan(1);
    // each path leads at least once in 30 seeded rounds
    for (const p of paths) expect(a.some((r) => r[0] === p)).toBe(true);
  });

  it('fixed, a single path, zero rounds, and bad input', () => {
    expect(schedule(paths, 2, { order: 'fixed' })).toEqual([paths, paths]);
    expect(schedule(['node'], 3)).toEqual([['node'], ['node'], ['node']]);
    expect(schedule(paths, 0)).toEqual([]);
    expect(() => schedule([], 3)).toThrow(RangeError);
    expect(() => schedule(['a', 'a'], 3)).toThrow(RangeError);
    expect(() => schedule(paths, 1.5)).toThrow(RangeError);
    expect(() => schedule(paths, 3, { order: 'sideways' as 'fixed' })).toThrow(RangeError);
  });
});

describe('round sizing', () => {
  it('repeats the batch until the fastest path fills the minimum', () => {
    expect(repeatsFor([1.3, 1.4, 1.6], 5)).toBe(4);
    expect(repeatsFor(2.5, 5)).toBe(2);
    expect(repeatsFor(0.17, 5)).toBe(30);
    expect(repeatsFor([7, 9], 5)).toBe(1);
    expect(repeatsFor(1, 0)).toBe(1);
    expect(repeatsFor(1e-6, 5, { max: 100 })).toBe(100);
  });

  it('refuses non-positive batch times', () => {
    expect(() => repeatsFor([0], 5)).toThrow(RangeError);
    expect(() => repeatsFor([], 5)).toThrow(RangeError);
    expect(() => repeatsFor(1, -1)).toThrow(RangeError);
  });
});

describe('median of per-round ratios', () => {
  it('cancels a round-to-round swing common to the paths, which a ratio of medians keeps', () => {
    // Every round's speed swings ±15% for both paths alike (a host warming up, clocks); ours is 2% faster within a
    // round, give or take 0.5%.
    const swing = normals(21, 12, 1, 0.15);
    const [noiseDen, noiseNum] = [normals(22, 12, 0, 1), normals(23, 12, 0, 1)];
    const den = swing.map((f, i) => 1000 * f * (1 + 0.005 * (noiseDen[i] ?? 0)));
    const num = swing.map((f, i) => 1020 * f * (1 + 0.005 * (noiseNum[i] ?? 0)));
    const r = medianOfRatios(num, den, { seed: 3 });
    expect(r.ratio).toBeGreaterThan(1.01);
    expect(r.ratio).toBeLessThan(1.03);
    expect(r.lo).toBeLessThanOrEqual(r.ratio);
    expect(r.hi).toBeGreaterThanOrEqual(r.ratio);
    expect(r.resolved).toBe(true);
    expect(r.halfWidth).toBeLessThan(0.01);
    const rom = ratioOfMedians(num, den, { seed: 3 });
    expect(rom.halfWidth).toBeGreaterThan(r.halfWidth);
  });

  it('is the median of the ratios, reproducible for a seed, and needs paired rounds', () => {
    const r = medianOfRatios([110, 90, 200, 50], [100, 100, 100, 100], { seed: 5, minRounds: 4 });
    expect(r.ratio).toBeCloseTo(median([1.1, 0.9, 2, 0.5]), 12);
    expect(medianOfRatios([110, 90, 200, 50], [100, 100, 100, 100], { seed: 5, minRounds: 4 })).toEqual(r);
    expect(r.resolved).toBe(false);
    expect(() => medianOfRatios([1, 2], [1])).toThrow(RangeError);
    expect(medianOfRatios(Array(10).fill(105), Array(10).fill(100)).resolved).toBe(true);
  });
});
