/**
 * Sentences generated from paired statistics by fixed hedging rules, so a report's words cannot outrun its
 * numbers:
 *
 * - **significant at the 5% level**: n ≥ 2 and the paired 95% t-interval excludes zero — then, and only then, is
 *   an arm called "higher" or "lower" than the baseline;
 * - **no evidence of a difference with n seeds**: n ≥ 2 and the interval contains zero — the sentence gives the
 *   estimate, its interval, and the seeds 80% power would need at the observed effect;
 * - **direction only**: one seed, so no interval and no test — only the sign of the difference is stated.
 *
 * Differences are printed in F1 points (100 × F1 units), signed.
 *
 * @module
 */

/** What a sentence needs of a paired comparison (the fields of a `stats.csv` row, F1 units). */
export interface PairedNumbers {
  readonly n: number;
  readonly mean_diff: number;
  readonly sd_diff: number;
  readonly ci_low: number;
  readonly ci_high: number;
  readonly t_p: number;
  readonly seeds_for_80_power: number | null;
}

/** Which hedging rule applies. */
export type Finding = "higher" | "lower" | "no-evidence" | "identical" | "direction-only";

/**
 * The rule a comparison falls under.
 *
 * @example
 * ```ts
 * import { findingOf } from "./words.ts";
 * const row = { n: 5, mean_diff: 0.02, sd_diff: 0.01, ci_low: 0.008, ci_high: 0.032, t_p: 0.01, seeds_for_80_power: 5 };
 * console.assert(findingOf(row) === "higher");
 * console.assert(findingOf({ ...row, ci_low: -0.01 }) === "no-evidence");
 * console.assert(findingOf({ ...row, n: 1 }) === "direction-only");
 * ```
 */
export function findingOf(r: PairedNumbers): Finding {
  if (r.n < 2 || !Number.isFinite(r.ci_low) || !Number.isFinite(r.ci_high)) return "direction-only";
  if (r.mean_diff === 0 && r.sd_diff === 0) return "identical";
  if (r.ci_low > 0) return "higher";
  if (r.ci_high < 0) return "lower";
  return "no-evidence";
}

/**
 * A difference in F1 units as signed points with two decimals (a true minus sign).
 *
 * @example
 * ```ts
 * import { points } from "./words.ts";
 * console.assert(points(0.026) === "+2.60" && points(-0.0005) === "−0.05" && points(0) === "0.00");
 * ```
 */
export function points(x: number): string {
  const v = 100 * x;
  const s = Math.abs(v).toFixed(2);
  if (s === "0.00") return "0.00";
  return `${v > 0 ? "+" : "−"}${s}`;
}

/**
 * A p-value for people: three decimals, `< 0.001` below that, `n/a` when undefined.
 *
 * @example
 * ```ts
 * import { pText } from "./words.ts";
 * console.assert(pText(0.0625) === "0.063" && pText(0.0001) === "< 0.001" && pText(NaN) === "n/a");
 * ```
 */
export function pText(p: number): string {
  if (!Number.isFinite(p)) return "n/a";
  return p < 0.001 ? "< 0.001" : p.toFixed(3);
}

/**
 * `p = 0.060`, or `p < 0.001`.
 *
 * @example
 * ```ts
 * import { pEquals } from "./words.ts";
 * console.assert(pEquals(0.06) === "p = 0.060" && pEquals(0.00001) === "p < 0.001");
 * ```
 */
export function pEquals(p: number): string {
  const t = pText(p);
  return t.startsWith("<") ? `p ${t}` : `p = ${t}`;
}

const seedsWord = (n: number) => `${n} seed${n === 1 ? "" : "s"}`;

/** The estimate with its interval and test, e.g. `+2.60 points (95% CI −0.18 to +5.39, paired t p = 0.060)`. */
function estimate(r: PairedNumbers): string {
  return `${points(r.mean_diff)} points (95% CI ${points(r.ci_low)} to ${points(r.ci_high)}, paired t ${
    pEquals(r.t_p)
  })`;
}

function powerClause(r: PairedNumbers): string {
  if (r.seeds_for_80_power === null) return "";
  return `; 80% power at this effect would need about ${r.seeds_for_80_power} seeds`;
}

/**
 * One sentence on arm − baseline in `quantity` (e.g. "macro F1 averaged over rounds 1–20"), by the rules above.
 *
 * @example
 * ```ts
 * import { comparisonSentence } from "./words.ts";
 * const row = { n: 5, mean_diff: 0.026, sd_diff: 0.022, ci_low: -0.0018, ci_high: 0.0539, t_p: 0.06, seeds_for_80_power: 8 };
 * const s = comparisonSentence(row, "mge-clustering", "random", "macro F1 averaged over rounds 1–20");
 * console.assert(s.startsWith("No evidence of a difference between mge-clustering and random"), s);
 * console.assert(s.includes("with 5 seeds: +2.60 points (95% CI −0.18 to +5.39, paired t p = 0.060)"), s);
 * ```
 */
export function comparisonSentence(
  r: PairedNumbers,
  arm: string,
  baseline: string,
  quantity: string,
): string {
  switch (findingOf(r)) {
    case "higher":
    case "lower":
      return `${arm} is ${findingOf(r)} than ${baseline} in ${quantity}, significant at the 5% level: ${
        estimate(r)
      }, ${seedsWord(r.n)}.`;
    case "identical":
      return `${arm} and ${baseline} are identical in ${quantity} in all ${seedsWord(r.n)}.`;
    case "no-evidence":
      return `No evidence of a difference between ${arm} and ${baseline} in ${quantity} with ${
        seedsWord(r.n)
      }: ${estimate(r)}${powerClause(r)}.`;
    case "direction-only":
      return `${arm} − ${baseline} in ${quantity}: ${points(r.mean_diff)} points with ${
        seedsWord(r.n)
      }: direction only, no interval or test with n = ${r.n}.`;
  }
}

/**
 * One sentence on how an arm's gain over the baseline changes from scenario `from` to scenario `to`.
 *
 * @example
 * ```ts
 * import { gainChangeSentence } from "./words.ts";
 * const row = { n: 5, mean_diff: -0.011, sd_diff: 0.02, ci_low: -0.036, ci_high: 0.014, t_p: 0.29, seeds_for_80_power: 28 };
 * const s = gainChangeSentence(row, "mge-clustering", "random", "macro F1", "scenario-1", "scenario-3");
 * console.assert(s.startsWith("No evidence that the gain of mge-clustering over random in macro F1 changes from scenario-1 to scenario-3 with 5 seeds"), s);
 * ```
 */
export function gainChangeSentence(
  r: PairedNumbers,
  arm: string,
  baseline: string,
  metric: string,
  from: string,
  to: string,
): string {
  const gain = `the gain of ${arm} over ${baseline} in ${metric}`;
  switch (findingOf(r)) {
    case "higher":
    case "lower":
      return `${capitalise(gain)} ${
        findingOf(r) === "higher" ? "grows" : "shrinks"
      } from ${from} to ${to}, ` +
        `significant at the 5% level: ${estimate(r)}, ${seedsWord(r.n)}.`;
    case "identical":
      return `${capitalise(gain)} is the same in ${from} and ${to} in all ${seedsWord(r.n)}.`;
    case "no-evidence":
      return `No evidence that ${gain} changes from ${from} to ${to} with ${seedsWord(r.n)}: ${estimate(r)}${
        powerClause(r)
      }.`;
    case "direction-only":
      return `${capitalise(gain)} changes by ${points(r.mean_diff)} points from ${from} to ${to} with ${
        seedsWord(r.n)
      }: direction only, no interval or test with n = ${r.n}.`;
  }
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
