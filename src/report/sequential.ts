/**
 * Sequential comparisons: run seeds in batches and, after each batch (a "look"), decide "higher", "lower" or
 * (with a margin D) "equivalent within ±D", or go on, with the type-I error controlled over all looks.
 *
 * The rule (docs/reports.md, "Sequential comparisons"): look k, after n_k paired seeds, spends
 * α_k = α*(n_k/N) − α*(n_{k−1}/N) of the total α by the O'Brien–Fleming-type spending function of Lan & DeMets
 * (1983), α*(t) = 2 − 2Φ(z_{1−α/2}/√t), which keeps early looks strict and leaves most of α for the last; and
 * applies at that level the exact tests of a fixed design:
 *
 * - **higher / lower**: the two-sided paired t-test at level α_k (its 1 − α_k interval excludes zero);
 * - **equivalent within ±D**: two one-sided paired t-tests (TOST, Schuirmann 1987) at level α_k each (the
 *   1 − 2α_k interval lies inside (−D, D)).
 *
 * Each look's tests are exact for normal paired differences, and the union bound over looks gives the control:
 * under no difference, P(some look says higher or lower) ≤ Σ α_k = α; when |δ| ≥ D, P(some look says
 * equivalent) ≤ α. (The bound is conservative: it ignores the correlation between looks, which an exact group
 * sequential boundary would spend; the simulation tests measure the actual rates.) The power of a design, and the
 * seeds it uses on average, come from a seeded simulation (`designPower`), stated beside a fixed design's.
 *
 * Pure: differences in, verdicts out.
 *
 * @module
 */
// @ts-types="npm:@stdlib/stats-base-dists-t-quantile@0.2.3"
import tQuantile from "@stdlib/stats-base-dists-t-quantile";
// @ts-types="npm:@stdlib/stats-base-dists-normal-cdf@0.3.1"
import normalCdf from "@stdlib/stats-base-dists-normal-cdf";
import { Rng } from "../rng.ts";
import { pairedTPower } from "./stats.ts";

/** A sequential design. */
export interface SequentialDesign {
  /** Total type-I error over all looks (default 0.05). */
  readonly alpha: number;
  /** Seeds added per look. */
  readonly batch: number;
  /** The most seeds: the last look. */
  readonly maxSeeds: number;
  /** Equivalence margin in the metric's units (F1 fractions; absent: no equivalence verdict). */
  readonly margin?: number;
}

/** A look's verdict; `continue` before the last look, `undecided` at it. */
export type SequentialVerdict = "higher" | "lower" | "equivalent" | "continue" | "undecided";

/** What one look saw and decided. */
export interface Look {
  /** Paired seeds at this look. */
  readonly n: number;
  /** α spent at this look. */
  readonly alpha: number;
  /** Mean of the paired differences so far. */
  readonly mean: number;
  /** Lower end of the 1 − α_k interval (the two-sided test's). */
  readonly low: number;
  /** Upper end of the 1 − α_k interval. */
  readonly high: number;
  /** What this look decided. */
  readonly verdict: SequentialVerdict;
}

/** The first look has at least this many seeds (a t-test on fewer has 1 degree of freedom). */
export const MIN_FIRST_LOOK = 3;

/**
 * The seeds at each look: the batch, twice it, … up to `maxSeeds` (the last look may be smaller); the first look
 * has at least {@linkcode MIN_FIRST_LOOK} seeds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { looks } from "./sequential.ts";
 * assert.deepEqual(looks({ batch: 5, maxSeeds: 22 }), [5, 10, 15, 20, 22]);
 * assert.deepEqual(looks({ batch: 1, maxSeeds: 5 }), [3, 4, 5]);
 * ```
 */
export function looks(d: Pick<SequentialDesign, "batch" | "maxSeeds">): number[] {
  const out: number[] = [];
  for (let n = Math.max(d.batch, MIN_FIRST_LOOK); n < d.maxSeeds; n += d.batch) {
    if (out.length === 0 || n > out[out.length - 1]!) out.push(n);
  }
  if (out[out.length - 1] !== d.maxSeeds) out.push(d.maxSeeds);
  return out;
}

/** Φ⁻¹(p) by bisection on Φ (to 1e-12). */
function normalQuantile(p: number): number {
  let lo = -40, hi = 40;
  for (let i = 0; i < 200 && hi - lo > 1e-12; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid, 0, 1) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * The α each look spends: increments of α*(t) = 2 − 2Φ(z_{1−α/2}/√t) at t = n_k / N; they sum to α.
 *
 * @example
 * ```ts
 * import { spending } from "./sequential.ts";
 * const a = spending({ alpha: 0.05, batch: 5, maxSeeds: 20 });
 * console.assert(a.length === 4 && Math.abs(a.reduce((s, x) => s + x, 0) - 0.05) < 1e-12);
 * console.assert(a[0]! < 0.0001 && a[0]! < a[1]! && a[1]! < a[2]!);
 * ```
 */
export function spending(d: SequentialDesign): number[] {
  const z = normalQuantile(1 - d.alpha / 2);
  const spent = (t: number) => (t >= 1 ? d.alpha : 2 - 2 * normalCdf(z / Math.sqrt(t), 0, 1));
  let before = 0;
  return looks(d).map((n) => {
    const now = spent(n / d.maxSeeds);
    const a = Math.max(0, now - before);
    before = now;
    return a;
  });
}

/** Critical values per look: two-sided t at α_k, one-sided t at α_k (TOST). */
interface Boundaries {
  readonly n: number[];
  readonly alpha: number[];
  readonly twoSided: number[];
  readonly oneSided: number[];
}

function boundaries(d: SequentialDesign): Boundaries {
  const n = looks(d), alpha = spending(d);
  // A look that spends (almost) nothing cannot decide: an infinite critical value.
  const q = (p: number, df: number) => (p <= 0 ? Infinity : tQuantile(1 - p, df));
  return {
    n,
    alpha,
    twoSided: n.map((k, i) => q(alpha[i]! / 2, k - 1)),
    oneSided: n.map((k, i) => q(alpha[i]!, k - 1)),
  };
}

/** The verdict at one look from the first `n` differences' mean and sd. */
function decide(
  mean: number,
  sd: number,
  n: number,
  two: number,
  one: number,
  margin: number | undefined,
  last: boolean,
): { verdict: SequentialVerdict; low: number; high: number } {
  const se = sd / Math.sqrt(n);
  const low = mean - two * se, high = mean + two * se;
  if (se === 0) {
    // Identical differences: the sign decides, or equivalence when inside the margin.
    if (mean > 0 && (margin === undefined || mean >= margin)) return { verdict: "higher", low, high };
    if (mean < 0 && (margin === undefined || -mean >= margin)) return { verdict: "lower", low, high };
    if (margin !== undefined && Math.abs(mean) < margin) return { verdict: "equivalent", low, high };
    return { verdict: last ? "undecided" : "continue", low, high };
  }
  if (low > 0) return { verdict: "higher", low, high };
  if (high < 0) return { verdict: "lower", low, high };
  if (margin !== undefined && mean - one * se > -margin && mean + one * se < margin) {
    return { verdict: "equivalent", low, high };
  }
  return { verdict: last ? "undecided" : "continue", low, high };
}

/**
 * Apply the rule to the paired differences `diffs` (arm − baseline, in seed order): every look the data reach,
 * until one decides. With fewer differences than the next look, the last entry's verdict is `continue`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sequentialLooks } from "./sequential.ts";
 * const design = { alpha: 0.05, batch: 5, maxSeeds: 20 };
 * // A clear loss is decided at the first look, though it spends only α ≈ 0.00009 there.
 * const lower = sequentialLooks([-3, -2.5, -3.2, -2.8, -3.1, -2.9, -3.3, -2.7, -3, -3.05], design);
 * assert.deepEqual(lower.map((l) => [l.n, l.verdict]), [[5, "lower"]]);
 * // A noisy one needs more looks.
 * const noisy = sequentialLooks([-3, 1, -2, -4, 0.5, -3, -1, -2.5, -1.5, -3.5, -2, -1, -3, -2, -2.2], design);
 * assert.deepEqual(noisy.map((l) => [l.n, l.verdict]), [[5, "continue"], [10, "continue"], [15, "lower"]]);
 * // Noise around zero with a margin of 1: equivalent once the interval is narrow enough, else undecided.
 * const d = Array.from({ length: 20 }, (_, i) => (i % 2 ? 0.1 : -0.1));
 * assert.equal(sequentialLooks(d, { ...design, margin: 1 }).at(-1)!.verdict, "equivalent");
 * assert.equal(sequentialLooks(d, design).at(-1)!.verdict, "undecided");
 * ```
 */
export function sequentialLooks(diffs: readonly number[], d: SequentialDesign): Look[] {
  return looksOf(diffs, d, boundaries(d));
}

function looksOf(diffs: readonly number[], d: SequentialDesign, b: Boundaries): Look[] {
  const out: Look[] = [];
  let sum = 0, sumSq = 0, used = 0;
  for (let k = 0; k < b.n.length; k++) {
    const n = b.n[k]!;
    if (diffs.length < n) break;
    for (; used < n; used++) {
      sum += diffs[used]!;
      sumSq += diffs[used]! * diffs[used]!;
    }
    const mean = sum / n;
    const sd = Math.sqrt(Math.max(0, (sumSq - n * mean * mean) / (n - 1)));
    const last = k === b.n.length - 1;
    const r = decide(mean, sd, n, b.twoSided[k]!, b.oneSided[k]!, d.margin, last);
    out.push({ n, alpha: b.alpha[k]!, mean, low: r.low, high: r.high, verdict: r.verdict });
    if (r.verdict !== "continue") break;
  }
  return out;
}

/** The operating characteristics of a design at one true effect, by simulation. */
export interface DesignPower {
  /** Standardised effect δ/σ simulated. */
  readonly effect: number;
  /** Rates of each final verdict. */
  readonly rates: Readonly<Record<"higher" | "lower" | "equivalent" | "undecided", number>>;
  /** Mean seeds used. */
  readonly meanSeeds: number;
  /** Simulated runs. */
  readonly simulations: number;
}

/**
 * Simulate the design at standardised effect `effect` (= δ/σ of the paired differences; the rule is
 * scale-free, so σ = 1): normal differences, `simulations` runs from a seeded stream.
 *
 * @example
 * ```ts
 * import { designPower } from "./sequential.ts";
 * const null0 = designPower({ alpha: 0.05, batch: 5, maxSeeds: 30 }, 0, 2000, 1);
 * console.assert(null0.rates.higher + null0.rates.lower < 0.05 + 3 * Math.sqrt(0.05 * 0.95 / 2000));
 * ```
 */
export function designPower(d: SequentialDesign, effect: number, simulations = 4000, seed = 0): DesignPower {
  const b = boundaries(d);
  const rng = Rng.root(seed).fork(`sequential/${effect}`);
  const counts = { higher: 0, lower: 0, equivalent: 0, undecided: 0 };
  let seeds = 0;
  const diffs = new Array<number>(d.maxSeeds);
  // The margin is in the differences' units; with σ = 1 it is D/σ: the caller passes a standardised design.
  for (let s = 0; s < simulations; s++) {
    for (let i = 0; i < d.maxSeeds; i++) diffs[i] = effect + rng.normal();
    const l = looksOf(diffs, d, b).at(-1)!;
    const v = l.verdict === "continue" ? "undecided" : l.verdict;
    counts[v]++;
    seeds += l.n;
  }
  const rate = (x: number) => x / simulations;
  return {
    effect,
    rates: {
      higher: rate(counts.higher),
      lower: rate(counts.lower),
      equivalent: rate(counts.equivalent),
      undecided: rate(counts.undecided),
    },
    meanSeeds: seeds / simulations,
    simulations,
  };
}

/**
 * The standardised effect δ/σ > 0 at which the design says "higher" with probability `power` (by simulation and
 * bisection), with the seeds it then uses on average, and the seeds a fixed design (one paired t-test at α after
 * all of them) needs for the same power at that effect.
 *
 * @example
 * ```ts
 * import { poweredEffect } from "./sequential.ts";
 * const p = poweredEffect({ alpha: 0.05, batch: 5, maxSeeds: 30 }, 0.8, 1000);
 * console.assert(p.effect > 0.4 && p.effect < 0.8 && p.meanSeeds < 30 && p.fixedSeeds !== null);
 * ```
 */
export function poweredEffect(
  d: SequentialDesign,
  power = 0.8,
  simulations = 2000,
): { effect: number; meanSeeds: number; fixedSeeds: number | null } {
  const plain = { alpha: d.alpha, batch: d.batch, maxSeeds: d.maxSeeds };
  let lo = 0, hi = 4;
  for (let i = 0; i < 18; i++) {
    const mid = (lo + hi) / 2;
    if (designPower(plain, mid, simulations, 7).rates.higher >= power) hi = mid;
    else lo = mid;
  }
  const effect = hi;
  const meanSeeds = designPower(plain, effect, simulations, 8).meanSeeds;
  let fixed: number | null = null;
  for (let n = 2; n <= 100_000; n++) {
    if (pairedTPower(n, effect, d.alpha) >= power) {
      fixed = n;
      break;
    }
    if (n > 64) n = Math.floor(n * 1.05);
  }
  return { effect, meanSeeds, fixedSeeds: fixed };
}
