// Types of bench/stats.mjs for tests/unit/bench-stats.test.ts.
export interface Interval {
  estimate: number;
  lo: number;
  hi: number;
  level: number;
  iterations: number;
  seed: number;
  paired: boolean;
}
export interface BootstrapOptions {
  iterations?: number;
  seed?: number;
  level?: number;
  paired?: boolean;
}
export interface ResolutionOptions {
  tolerance?: number;
  minRounds?: number;
}
export interface Resolution {
  halfWidth: number;
  resolved: boolean;
  reason: string;
}
export interface Summary {
  n: number;
  median: number;
  mean: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
  iqr: number;
}
export function rng(seed?: number): () => number;
export function quantile(xs: number[], q: number): number;
export function median(xs: number[]): number;
export function summarize(xs: number[]): Summary;
export function bootstrap(samples: number[][], statistic: (...resampled: number[][]) => number, opts?: BootstrapOptions): Interval;
export const TOLERANCE: number;
export const MIN_ROUNDS: number;
export function resolution(ci: { estimate: number; lo: number; hi: number }, n: number, opts?: ResolutionOptions): Resolution;
export function ratioOfMedians(num: number[], den: number[], opts?: BootstrapOptions & ResolutionOptions): Interval & Resolution & { ratio: number };
export function medianOfRatios(num: number[], den: number[], opts?: BootstrapOptions & ResolutionOptions): Interval & Resolution & { ratio: number };
export function diffOfMedians(a: number[], b: number[], opts?: BootstrapOptions): Interval & { diff: number };
export function schedule(paths: string[], rounds: number, opts?: { order?: 'rotate' | 'random' | 'fixed'; seed?: number }): string[][];
export function repeatsFor(batchSeconds: number | number[], minSeconds: number, opts?: { max?: number }): number;
