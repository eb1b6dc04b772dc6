/**
 * The metrics the AL literature reports beside the rounds-average and AUBC, per scenario and arm against the
 * baseline, paired by seed (`field_metrics.csv`, `compare --json`, the report):
 *
 * - **label efficiency**: per seed, the labelled count at which the arm's macro-F1 curve (linear between rounds)
 *   first reaches the baseline's final macro F1, as a fraction of the baseline's final labelled count (below 1:
 *   the arm needs fewer labels; Kath et al. argue this is steadier than accuracy gaps). A seed whose arm never
 *   reaches it has no fraction and is counted apart (`not_reached`).
 * - **early and late rounds**: the paired macro-F1 difference averaged over the first half of rounds 1…T and
 *   over the second half (T odd: the middle round in the second), since AL often loses early and wins late.
 * - **rare classes**: in imbalance scenarios, the paired difference of the mean per-class F1 over the classes
 *   that seed's split made rare (`split.removedClasses`), averaged over rounds 1…T, beside the macro gain; an
 *   undefined per-class F1 (no positives and no predictions) is left out of that mean.
 *
 * Each quantity comes with n, its mean, sd and 95% t-interval over seeds. Pure.
 *
 * @module
 */
import type { CellRecord } from "../records/records.ts";
import { pairedT } from "./stats.ts";

/** One row of `field_metrics.csv` (F1 quantities in F1 units; label efficiency a fraction of labels). */
export interface FieldMetricRow {
  /** The scenario id. */
  scenario: string;
  /** The compared arm. */
  arm: string;
  /** The baseline arm. */
  baseline: string;
  /** `label_efficiency`, `early_rounds`, `late_rounds` or `rare_classes`. */
  quantity: "label_efficiency" | "early_rounds" | "late_rounds" | "rare_classes";
  /** Seeds with a value. */
  n: number;
  /** label_efficiency: the mean fraction; else the mean paired difference arm − baseline. */
  mean: number;
  /** Its standard deviation over seeds. */
  sd: number;
  /** Lower end of the 95% t-interval over seeds (NaN with one seed). */
  ci_low: number;
  /** Upper end of the 95% t-interval over seeds (NaN with one seed). */
  ci_high: number;
  /** label_efficiency: seeds whose arm never reached the baseline's final score (else 0). */
  not_reached: number;
  /** The rounds the quantity averages (`1-10`, `11-20`), or the rare classes' count per seed (`3`). */
  over: string;
}

/** What the field metrics read of a cell record. */
export type FieldRecord = Pick<
  CellRecord,
  "scenario" | "arm" | "seed" | "complete" | "iterations" | "classNames" | "split"
>;

/**
 * The labelled count at which the curve (`labelled`, `score`, linear between points) first reaches `target`;
 * null when it never does.
 *
 * @example
 * ```ts
 * import { labelsToScore } from "./field_metrics.ts";
 * console.assert(labelsToScore([40, 60, 80], [0.2, 0.4, 0.6], 0.5) === 70);
 * console.assert(labelsToScore([40, 60], [0.5, 0.6], 0.4) === 40 && labelsToScore([40, 60], [0.1, 0.2], 0.5) === null);
 * ```
 */
export function labelsToScore(
  labelled: readonly number[],
  score: readonly number[],
  target: number,
): number | null {
  for (let i = 0; i < score.length; i++) {
    if (score[i]! >= target) {
      if (i === 0) return labelled[0]!;
      const f = (target - score[i - 1]!) / (score[i]! - score[i - 1]!);
      return labelled[i - 1]! + f * (labelled[i]! - labelled[i - 1]!);
    }
  }
  return null;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function row(
  base: Pick<FieldMetricRow, "scenario" | "arm" | "baseline" | "quantity" | "over">,
  values: readonly number[],
  notReached = 0,
): FieldMetricRow {
  const t = values.length ? pairedT(values) : { mean: NaN, sd: NaN, low: NaN, high: NaN };
  return {
    ...base,
    n: values.length,
    mean: t.mean,
    sd: t.sd,
    ci_low: t.low,
    ci_high: t.high,
    not_reached: notReached,
  };
}

/**
 * Every field metric of every scenario and non-baseline arm, from complete records paired by seed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fieldMetricRows } from "./field_metrics.ts";
 * const rec = (arm: string, seed: number, macro: number[]) => ({ scenario: "s", arm, seed, complete: true,
 *   classNames: ["a", "b"], iterations: macro.map((m, t) => ({ iteration: t, labelled: 40 + 20 * t,
 *     test: { macroF1: m, perClassF1: [m, m] } })) });
 * const records = [rec("random", 0, [0.2, 0.3, 0.4, 0.5]), rec("q", 0, [0.2, 0.5, 0.5, 0.6])];
 * const rows = fieldMetricRows(records as never, () => "random");
 * const eff = rows.find((r) => r.quantity === "label_efficiency")!;
 * // The baseline ends at 0.5 with 100 labels; q reaches 0.5 at 60: a fraction of 0.6.
 * assert.equal(eff.mean, 0.6);
 * assert.deepEqual(rows.filter((r) => r.quantity !== "label_efficiency").map((r) => [r.quantity, r.over]),
 *   [["early_rounds", "1-1"], ["late_rounds", "2-3"]]);
 * ```
 */
export function fieldMetricRows(
  records: readonly FieldRecord[],
  baselineOf: (scenario: string) => string,
): FieldMetricRow[] {
  const done = records.filter((r) => r.complete);
  const out: FieldMetricRow[] = [];
  const scenarios = [...new Set(done.map((r) => r.scenario))];
  for (const scenario of scenarios) {
    const baseline = baselineOf(scenario);
    const of = (arm: string) =>
      new Map(done.filter((r) => r.scenario === scenario && r.arm === arm).map((r) => [r.seed, r]));
    const base = of(baseline);
    const arms = [...new Set(done.filter((r) => r.scenario === scenario).map((r) => r.arm))].filter((a) =>
      a !== baseline
    );
    for (const arm of arms) {
      const mine = of(arm);
      const seeds = [...mine.keys()].filter((s) => base.has(s)).sort((a, b) => a - b);
      if (!seeds.length) continue;
      const key = { scenario, arm, baseline };
      // Label efficiency.
      const fractions: number[] = [];
      let missed = 0;
      for (const s of seeds) {
        const a = mine.get(s)!, b = base.get(s)!;
        const last = b.iterations.at(-1)!;
        const reach = labelsToScore(
          a.iterations.map((i) => i.labelled),
          a.iterations.map((i) => i.test.macroF1),
          last.test.macroF1,
        );
        if (reach === null) missed++;
        else fractions.push(reach / last.labelled);
      }
      out.push(row({ ...key, quantity: "label_efficiency", over: "final" }, fractions, missed));
      // Early and late halves of rounds 1…T, by round index.
      const T = Math.min(
        ...seeds.map((s) => Math.min(mine.get(s)!.iterations.length, base.get(s)!.iterations.length) - 1),
      );
      if (T >= 2) {
        const half = Math.floor(T / 2);
        for (
          const [quantity, from, to] of [["early_rounds", 1, half], ["late_rounds", half + 1, T]] as const
        ) {
          const diffs = seeds.map((s) => {
            const a = mine.get(s)!.iterations, b = base.get(s)!.iterations;
            const ts = Array.from({ length: to - from + 1 }, (_, i) => from + i);
            return mean(ts.map((t) => a[t]!.test.macroF1 - b[t]!.test.macroF1));
          });
          out.push(row({ ...key, quantity, over: `${from}-${to}` }, diffs));
        }
      }
      // The classes each seed's split made rare.
      const rare: number[] = [];
      let count = 0;
      for (const s of seeds) {
        const a = mine.get(s)!, b = base.get(s)!;
        const names = a.split?.removedClasses ?? [];
        if (!names.length || T < 1) continue;
        count = names.length;
        const idx = names.map((n) => a.classNames.indexOf(n)).filter((i) => i >= 0);
        const rareMean = (its: FieldRecord["iterations"]) => {
          const perRound = its.filter((i) => i.iteration >= 1).map((i) => {
            const v = idx.map((c) => i.test.perClassF1[c]).filter((x): x is number => typeof x === "number");
            return v.length ? mean(v) : NaN;
          }).filter((x) => Number.isFinite(x));
          return perRound.length ? mean(perRound) : NaN;
        };
        const d = rareMean(a.iterations) - rareMean(b.iterations);
        if (Number.isFinite(d)) rare.push(d);
      }
      if (rare.length) out.push(row({ ...key, quantity: "rare_classes", over: String(count) }, rare));
    }
  }
  return out;
}
