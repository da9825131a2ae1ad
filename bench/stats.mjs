// The arithmetic of bench/throughput.mjs, kept pure (no clock, no I/O) so that tests/unit/bench-stats.test.ts can
// check it: order statistics, a seeded bootstrap of a ratio (or difference) of medians over rounds, the ±3%
// "resolved" rule, the interleaved round schedule, and how many batches fill a round.

/** A seeded PRNG (mulberry32): the same seed gives the same stream, so a bootstrap interval is reproducible. */
export function rng(seed = 1) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function finite(xs, what) {
  if (!Array.isArray(xs) || xs.length === 0) throw new RangeError(`${what}: no values`);
  for (const x of xs) if (typeof x !== 'number' || !Number.isFinite(x)) throw new RangeError(`${what}: not a finite number: ${x}`);
}

/** Quantile with linear interpolation between order statistics (R's type 7, numpy's default); q in [0, 1]. */
export function quantile(xs, q) {
  finite(xs, 'quantile');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be in [0, 1], got ${q}`);
  const s = [...xs].sort((a, b) => a - b);
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo] + (h - lo) * (s[hi] - s[lo]);
}

export const median = (xs) => quantile(xs, 0.5);

/** Median and spread of one path's per-round figures. */
export function summarize(xs) {
  finite(xs, 'summarize');
  const q1 = quantile(xs, 0.25);
  const q3 = quantile(xs, 0.75);
  return {
    n: xs.length,
    median: median(xs),
    mean: xs.reduce((a, b) => a + b, 0) / xs.length,
    min: Math.min(...xs),
    max: Math.max(...xs),
    q1,
    q3,
    iqr: q3 - q1,
  };
}

/**
 * Percentile bootstrap of `statistic(...resampledSamples)`. `paired`: the samples are rounds of one interleaved run
 * (sample k's i-th value was measured in round i), so one set of round indices is drawn per replicate and a drift
 * common to the paths in a round cancels; otherwise each sample is resampled on its own.
 */
export function bootstrap(samples, statistic, { iterations = 10_000, seed = 1, level = 0.95, paired = true } = {}) {
  samples.forEach((s, i) => finite(s, `bootstrap sample ${i}`));
  if (!(level > 0 && level < 1)) throw new RangeError(`bootstrap: level must be in (0, 1), got ${level}`);
  if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError(`bootstrap: iterations must be a positive integer, got ${iterations}`);
  const n = samples[0].length;
  if (paired && samples.some((s) => s.length !== n)) throw new RangeError('bootstrap: paired samples need the same number of rounds');
  const rand = rng(seed);
  const draw = (len) => Array.from({ length: len }, () => Math.floor(rand() * len));
  const reps = new Array(iterations);
  for (let it = 0; it < iterations; it++) {
    let resampled;
    if (paired) {
      const idx = draw(n);
      resampled = samples.map((s) => idx.map((i) => s[i]));
    } else {
      resampled = samples.map((s) => draw(s.length).map((i) => s[i]));
    }
    reps[it] = statistic(...resampled);
  }
  const alpha = (1 - level) / 2;
  return { estimate: statistic(...samples), lo: quantile(reps, alpha), hi: quantile(reps, 1 - alpha), level, iterations, seed, paired };
}

/** Default tolerance of a quoted ratio: its 95% interval must lie within ±3% of it (issue 29). */
export const TOLERANCE = 0.03;
/** Fewest rounds per path before a figure may count as resolved (issue 29: at least 10). */
export const MIN_ROUNDS = 10;

/**
 * The resolution rule: an interval wider than ±tolerance around its estimate (on either side), or one from fewer
 * than minRounds rounds, is "not resolved" and must not be quoted as a result.
 */
export function resolution({ estimate, lo, hi }, n, { tolerance = TOLERANCE, minRounds = MIN_ROUNDS } = {}) {
  const halfWidth = Math.max(hi - estimate, estimate - lo) / Math.abs(estimate);
  const wide = !(halfWidth <= tolerance + 1e-12); // exactly ±tolerance passes, whatever the rounding
  const few = n < minRounds;
  const reasons = [];
  if (wide) reasons.push(`interval ±${(halfWidth * 100).toFixed(1)}% > ±${(tolerance * 100).toFixed(0)}%`);
  if (few) reasons.push(`${n} rounds < ${minRounds}`);
  return { halfWidth, resolved: !wide && !few, reason: reasons.join('; ') };
}

/** Ratio of medians (num / den, e.g. ours / plain tok/s per round) with its bootstrap interval and the ±3% rule. */
export function ratioOfMedians(num, den, opts = {}) {
  const ci = bootstrap([num, den], (a, b) => median(a) / median(b), { paired: num.length === den.length, ...opts });
  return { ratio: ci.estimate, ...ci, ...resolution(ci, Math.min(num.length, den.length), opts) };
}

/**
 * Median of the per-round ratios (num[i] / den[i], both measured in round i of one interleaved run) with its bootstrap
 * interval over rounds and the ±3% rule. The quoted figure for paired runs: a drift over the run (a host warming up,
 * clocks, another process) moves both paths of a round alike and cancels in each round's ratio, where a ratio of
 * medians still carries it.
 */
export function medianOfRatios(num, den, opts = {}) {
  if (num.length !== den.length) throw new RangeError('medianOfRatios: paired samples need the same number of rounds');
  const ratios = num.map((x, i) => x / den[i]);
  const ci = bootstrap([ratios], (r) => median(r), { ...opts, paired: true });
  return { ratio: ci.estimate, ...ci, ...resolution(ci, ratios.length, opts) };
}

/** Difference of medians (a - b, e.g. ours - plain single-request latency) with its bootstrap interval. */
export function diffOfMedians(a, b, opts = {}) {
  const ci = bootstrap([a, b], (x, y) => median(x) - median(y), { paired: a.length === b.length, ...opts });
  return { diff: ci.estimate, ...ci };
}

/** In-place Fisher-Yates with the given PRNG. */
function shuffle(xs, rand) {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/**
 * The order of the paths in each round. `rotate`: round r starts at path r mod k (a b c, b c a, c a b, ...), so each
 * path takes each position equally often over a multiple of k rounds; `random`: a seeded shuffle per round;
 * `fixed`: a b c every round.
 */
export function schedule(paths, rounds, { order = 'rotate', seed = 1 } = {}) {
  if (!Array.isArray(paths) || paths.length === 0) throw new RangeError('schedule: no paths');
  if (new Set(paths).size !== paths.length) throw new RangeError('schedule: a path is named twice');
  if (!Number.isInteger(rounds) || rounds < 0) throw new RangeError(`schedule: rounds must be a non-negative integer, got ${rounds}`);
  const rand = rng(seed);
  return Array.from({ length: rounds }, (_, r) => {
    if (order === 'fixed') return [...paths];
    if (order === 'rotate') return paths.map((_, i) => paths[(i + r) % paths.length]);
    if (order === 'random') return shuffle([...paths], rand);
    throw new RangeError(`schedule: unknown order ${order}`);
  });
}

/**
 * Batches per round so that a round lasts at least minSeconds: sized on the fastest path's warm-up batch, so every
 * path does the same work per round and none runs shorter than the minimum.
 */
export function repeatsFor(batchSeconds, minSeconds, { max = 10_000 } = {}) {
  const xs = Array.isArray(batchSeconds) ? batchSeconds : [batchSeconds];
  finite(xs, 'repeatsFor');
  if (xs.some((x) => x <= 0)) throw new RangeError('repeatsFor: batch times must be positive');
  if (!(minSeconds >= 0)) throw new RangeError(`repeatsFor: minSeconds must be >= 0, got ${minSeconds}`);
  return Math.min(max, Math.max(1, Math.ceil(minSeconds / Math.min(...xs))));
}
