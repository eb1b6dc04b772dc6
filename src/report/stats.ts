/**
 * Paired statistics across seeds: "is my query function better than the baseline?"
 *
 * - Paired difference d_s = arm_s − baseline_s over the seeds both have, its mean, a 95% confidence interval
 *   mean ± t₀.₉₇₅,ₙ₋₁ · sd/√n, and the two-sided paired t-test p-value 2·(1 − T_{n−1}(|t|)), t = mean/(sd/√n).
 *   With sd = 0 the test is degenerate: p = 1 when the mean is 0, else 0, and the interval is the point.
 * - Wilcoxon signed-rank test on the same differences: zero differences dropped, tied |d| get average ranks,
 *   exact two-sided p-value by enumerating all 2ⁿ sign patterns for n ≤ 20, normal approximation with tie
 *   correction above.
 * - Power: the seeds a paired t-test at the 5% level (two-sided) needs for 80% power at an observed standardised
 *   effect d = mean/sd, from the exact power of the noncentral t distribution (integrated numerically), so a
 *   reader sees whether "no evidence" means "no effect" or "too few seeds".
 * - Holm's step-down adjustment of a family of p-values (every budget tested is one family).
 * - Area under the budget curve (AUBC): trapezoid area under score vs number of labelled samples, divided by the
 *   labelled-count range, i.e. the curve's mean height over the budget, on the score's own scale (0–1 for F1).
 *
 * @module
 */
// @ts-types="npm:@stdlib/stats-base-dists-t-cdf@0.2.3"
import tCdf from "@stdlib/stats-base-dists-t-cdf";
// @ts-types="npm:@stdlib/stats-base-dists-t-quantile@0.2.3"
import tQuantile from "@stdlib/stats-base-dists-t-quantile";
// @ts-types="npm:@stdlib/stats-base-dists-normal-cdf@0.3.1"
import normalCdf from "@stdlib/stats-base-dists-normal-cdf";

/** A paired comparison. */
export interface PairedResult {
  /** Pairs. */
  readonly n: number;
  /** Mean difference. */
  readonly mean: number;
  /** Standard deviation of the differences (NaN with one pair). */
  readonly sd: number;
  /** Lower end of the 95% t-interval (NaN with one pair). */
  readonly ciLow: number;
  /** Upper end of the 95% t-interval (NaN with one pair). */
  readonly ciHigh: number;
  /** Two-sided paired t-test p-value. */
  readonly tPValue: number;
  /** Two-sided Wilcoxon signed-rank p-value. */
  readonly wilcoxonPValue: number;
}

/**
 * Paired t statistics of differences `d` (needs n ≥ 2 for an interval; n = 1 gives NaN bounds and p).
 *
 * @example
 * ```ts
 * import { pairedT } from "./stats.ts";
 * const r = pairedT([1, 2, 3, 4, 5]);
 * console.assert(Math.abs(r.p - 0.01324) < 1e-4);
 * ```
 */
export function pairedT(
  d: readonly number[],
): { mean: number; sd: number; low: number; high: number; p: number } {
  const n = d.length;
  const mean = d.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, sd: NaN, low: NaN, high: NaN, p: NaN };
  const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  if (sd === 0) return { mean, sd, low: mean, high: mean, p: mean === 0 ? 1 : 0 };
  const se = sd / Math.sqrt(n);
  const q = tQuantile(0.975, n - 1);
  const t = mean / se;
  return { mean, sd, low: mean - q * se, high: mean + q * se, p: 2 * (1 - tCdf(Math.abs(t), n - 1)) };
}

/**
 * Two-sided Wilcoxon signed-rank p-value of differences `d`.
 *
 * @example
 * ```ts
 * import { wilcoxonSignedRank } from "./stats.ts";
 * console.assert(wilcoxonSignedRank([1, 2, 3, 4, 5]) === 0.0625);
 * ```
 */
export function wilcoxonSignedRank(d: readonly number[]): number {
  const nz = d.filter((v) => v !== 0);
  const n = nz.length;
  if (n === 0) return 1;
  // Average ranks of |d|.
  const order = nz.map((v, i) => [Math.abs(v), i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(n);
  let tieTerm = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && order[j + 1]![0] === order[i]![0]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]![1]] = avg;
    const tlen = j - i + 1;
    tieTerm += tlen ** 3 - tlen;
    i = j + 1;
  }
  const wPlus = nz.reduce((s, v, i) => s + (v > 0 ? ranks[i]! : 0), 0);
  const total = (n * (n + 1)) / 2;
  if (n <= 20) {
    // Exact: the distribution of W+ over all sign patterns (ranks may be halves, so count in doubled units).
    const doubled = ranks.map((r) => Math.round(r * 2));
    const max = doubled.reduce((a, b) => a + b, 0);
    let dist = new Float64Array(max + 1);
    dist[0] = 1;
    for (const r of doubled) {
      const next = new Float64Array(max + 1);
      for (let s = 0; s <= max; s++) {
        if (dist[s] === 0) continue;
        next[s] = next[s]! + dist[s]!;
        next[s + r] = next[s + r]! + dist[s]!;
      }
      dist = next;
    }
    const observed = Math.round(wPlus * 2), mirror = Math.round((total - wPlus) * 2);
    const lo = Math.min(observed, mirror), hi = Math.max(observed, mirror);
    let tail = 0;
    for (let s = 0; s <= max; s++) if (s <= lo || s >= hi) tail += dist[s]!;
    return Math.min(1, tail / 2 ** n);
  }
  const mean = total / 2;
  const variance = (n * (n + 1) * (2 * n + 1)) / 24 - tieTerm / 48;
  const z = (wPlus - mean) / Math.sqrt(variance);
  return Math.min(1, 2 * (1 - normalCdf(Math.abs(z), 0, 1)));
}

/**
 * Paired comparison of per-seed values (`arm[i]` and `baseline[i]` belong to the same seed).
 *
 * @example
 * ```ts
 * import { pairedComparison } from "./stats.ts";
 * const r = pairedComparison([0.8, 0.82, 0.81], [0.78, 0.8, 0.8]);
 * console.assert(r.n === 3 && r.mean > 0);
 * ```
 */
export function pairedComparison(arm: readonly number[], baseline: readonly number[]): PairedResult {
  if (arm.length !== baseline.length) {
    throw new RangeError("pairedComparison: arm and baseline need one value per seed each");
  }
  const d = arm.map((v, i) => v - baseline[i]!);
  const t = pairedT(d);
  return {
    n: d.length,
    mean: t.mean,
    sd: t.sd,
    ciLow: t.low,
    ciHigh: t.high,
    tPValue: t.p,
    wilcoxonPValue: wilcoxonSignedRank(d),
  };
}

/**
 * Area under the budget curve, normalised by the labelled-count range (the curve's mean height).
 *
 * @example
 * ```ts
 * import { areaUnderBudgetCurve } from "./stats.ts";
 * console.assert(areaUnderBudgetCurve([40, 60, 80], [0.5, 0.7, 0.7]) === 0.65);
 * ```
 */
export function areaUnderBudgetCurve(labelled: readonly number[], score: readonly number[]): number {
  if (labelled.length === 1) return score[0]!;
  let area = 0;
  for (let i = 1; i < labelled.length; i++) {
    area += ((score[i]! + score[i - 1]!) / 2) * (labelled[i]! - labelled[i - 1]!);
  }
  return area / (labelled[labelled.length - 1]! - labelled[0]!);
}

/**
 * The smallest labelled count at which `score` reaches `target`, or `null` if it never does.
 *
 * @example
 * ```ts
 * import { labelsToReach } from "./stats.ts";
 * console.assert(labelsToReach([40, 60, 80], [0.5, 0.7, 0.75], 0.7) === 60);
 * ```
 */
export function labelsToReach(
  labelled: readonly number[],
  score: readonly number[],
  target: number,
): number | null {
  for (let i = 0; i < labelled.length; i++) if (score[i]! >= target) return labelled[i]!;
  return null;
}

/**
 * The smallest two-sided p-value the exact Wilcoxon signed-rank test can give with `n` non-zero differences,
 * 2 / 2ⁿ (all signs alike, no ties): with 5 pairs it is 0.0625, so that test cannot reach the 5% level.
 *
 * @example
 * ```ts
 * import { wilcoxonFloor } from "./stats.ts";
 * console.assert(wilcoxonFloor(5) === 0.0625 && wilcoxonFloor(6) === 0.03125 && wilcoxonFloor(0) === 1);
 * ```
 */
export function wilcoxonFloor(n: number): number {
  return Math.min(1, 2 / 2 ** n);
}

/**
 * Power of the two-sided paired (one-sample) t-test at level `alpha` with `n` pairs when the true standardised
 * effect is `d` (mean difference over its sd): P(|T'| > t₁₋α/₂,ₙ₋₁) for T' noncentral t with n − 1 degrees of
 * freedom and noncentrality d·√n. Computed as E_U[Φ(λ − cU/√ν) + Φ(−λ − cU/√ν)] with U = √χ²_ν, integrated
 * numerically over U (trapezoid rule on a fine grid, the density normalised on that grid).
 *
 * @example
 * ```ts
 * import { pairedTPower } from "./stats.ts";
 * console.assert(Math.abs(pairedTPower(34, 0.5) - 0.808) < 0.002);
 * console.assert(Math.abs(pairedTPower(10, 0) - 0.05) < 1e-6);
 * ```
 */
export function pairedTPower(n: number, d: number, alpha = 0.05): number {
  if (!(n >= 2) || !Number.isFinite(d)) return NaN;
  const nu = n - 1, lambda = Math.abs(d) * Math.sqrt(n), c = tQuantile(1 - alpha / 2, nu);
  const centre = Math.sqrt(nu), lo = Math.max(0, centre - 12), hi = centre + 12, steps = 4000;
  const h = (hi - lo) / steps;
  let mass = 0, power = 0;
  for (let i = 0; i <= steps; i++) {
    const u = lo + i * h;
    // Density of U = sqrt(chi2_nu) up to a constant: u^(nu-1) exp(-u²/2), in log space around its mode.
    const logw = u > 0 ? (nu - 1) * Math.log(u / centre) - (u * u - nu) / 2 : (nu === 1 ? nu / 2 : -Infinity);
    const w = Math.exp(logw) * (i === 0 || i === steps ? 0.5 : 1);
    const s = (c * u) / centre;
    mass += w;
    power += w * (normalCdf(lambda - s, 0, 1) + normalCdf(-lambda - s, 0, 1));
  }
  return power / mass;
}

/**
 * How many seeds (pairs) a two-sided paired t-test at the 5% level needs for 80% power if the true effect were the
 * observed one, `mean / sd` of the differences; `null` when that is undefined (fewer than 2 seeds, sd 0, mean 0)
 * or more than a million.
 *
 * @example
 * ```ts
 * import { seedsForPower } from "./stats.ts";
 * console.assert(seedsForPower(0.5, 1) === 34 && seedsForPower(1, 1) === 10 && seedsForPower(0, 1) === null);
 * ```
 */
export function seedsForPower(mean: number, sd: number, power = 0.8, alpha = 0.05): number | null {
  if (!Number.isFinite(mean) || !Number.isFinite(sd) || sd <= 0 || mean === 0) return null;
  const d = Math.abs(mean) / sd;
  const enough = (n: number) => pairedTPower(n, d, alpha) >= power;
  let hi = 2;
  while (!enough(hi)) {
    if (hi >= 1_000_000) return null;
    hi = Math.min(1_000_000, hi * 2);
  }
  let lo = Math.max(2, Math.floor(hi / 2));
  if (enough(lo)) return lo;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (enough(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * Holm's step-down adjustment: adjusted p-values (same order as `p`) that control the family-wise error rate;
 * NaN entries stay NaN and are not counted in the family.
 *
 * @example
 * ```ts
 * import { holmAdjust } from "./stats.ts";
 * const a = holmAdjust([0.01, 0.04, 0.03]);
 * console.assert(a[0] === 0.03 && a[1] === 0.06 && a[2] === 0.06);
 * ```
 */
export function holmAdjust(p: readonly number[]): number[] {
  const idx = p.map((v, i) => [v, i] as const).filter(([v]) => Number.isFinite(v)).sort((a, b) =>
    a[0] - b[0]
  );
  const out = p.map(() => NaN);
  let running = 0;
  idx.forEach(([v, i], rank) => {
    running = Math.max(running, Math.min(1, (idx.length - rank) * v));
    out[i] = running;
  });
  return out;
}
