/**
 * From cell records to tidy tables: learning curves, per-class scores, summaries and paired statistics. Plain
 * data in, plain rows out (no tensors, no files).
 *
 * @module
 */
import type { CellRecord } from "../runner/store.ts";
import { areaUnderBudgetCurve, labelsToReach, pairedComparison } from "./stats.ts";

/** One row of `curves.csv`: a cell's iteration. */
export interface CurveRow {
  scenario: string;
  arm: string;
  seed: number;
  iteration: number;
  labelled: number;
  micro_f1: number;
  macro_f1: number;
  mAP: number;
  /** Validation scores: empty unless the scenario sets `al.validation` (records before that always have them). */
  val_micro_f1: number | null;
  val_macro_f1: number | null;
  train_loss: number;
  seconds_finetune: number;
  seconds_inference: number;
  seconds_query: number;
}

/**
 * Tidy learning-curve rows, sorted by scenario, arm, seed, iteration.
 *
 * @example
 * ```ts
 * import { curveRows } from "./tables.ts";
 * console.assert(curveRows([]).length === 0);
 * ```
 */
export function curveRows(records: readonly CellRecord[]): CurveRow[] {
  const rows: CurveRow[] = [];
  for (const r of records) {
    for (const it of r.iterations) {
      rows.push({
        scenario: r.scenario,
        arm: r.arm,
        seed: r.seed,
        iteration: it.iteration,
        labelled: it.labelled,
        micro_f1: it.test.microF1,
        macro_f1: it.test.macroF1,
        mAP: it.test.mAP,
        val_micro_f1: it.val?.microF1 ?? null,
        val_macro_f1: it.val?.macroF1 ?? null,
        train_loss: it.trainLoss,
        seconds_finetune: it.seconds.finetune,
        seconds_inference: it.seconds.inference,
        seconds_query: it.seconds.query,
      });
    }
  }
  const key = (x: CurveRow) =>
    [x.scenario, x.arm, String(x.seed).padStart(9, "0"), String(x.iteration).padStart(6, "0")].join("\u0000");
  return rows.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Summed wall-clock seconds of a run's AL phases, over every recorded iteration of every cell. */
export interface WallTimes {
  readonly finetune: number;
  readonly inference: number;
  readonly query: number;
  /** inference / (fine-tuning + inference): the share of the model's compute spent not training; `null` for none. */
  readonly inferenceShare: number | null;
}

/**
 * Sum the per-iteration wall times of fine-tuning, inference and query over `records`, and the inference share.
 *
 * @example
 * ```ts
 * import { wallTimes } from "./tables.ts";
 * const it = { seconds: { finetune: 3, inference: 1, query: 0 } };
 * const w = wallTimes([{ iterations: [it, it] }] as never);
 * console.assert(w.finetune === 6 && w.inference === 2 && w.inferenceShare === 0.25);
 * ```
 */
export function wallTimes(records: readonly CellRecord[]): WallTimes {
  let finetune = 0, inference = 0, query = 0;
  for (const r of records) {
    for (const it of r.iterations) {
      finetune += it.seconds.finetune;
      inference += it.seconds.inference;
      query += it.seconds.query;
    }
  }
  const model = finetune + inference;
  return { finetune, inference, query, inferenceShare: model > 0 ? inference / model : null };
}

/**
 * One line for people: the phases' wall times and the inference share.
 *
 * @example
 * ```ts
 * import { wallTimesLine } from "./tables.ts";
 * const line = wallTimesLine({ finetune: 9843, inference: 7606, query: 3, inferenceShare: 7606 / 17449 });
 * console.assert(line.includes("inference 7606 s (43.6% of fine-tuning + inference)"));
 * ```
 */
export function wallTimesLine(w: WallTimes): string {
  const s = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  const share = w.inferenceShare === null ? "n/a" : `${(100 * w.inferenceShare).toFixed(1)}%`;
  return `wall time: fine-tuning ${s(w.finetune)} s, inference ${s(w.inference)} s (${share} of ` +
    `fine-tuning + inference), query ${s(w.query)} s`;
}

/** One row of `per_class.csv`: final-iteration per-class F1 and labelled positives, per cell. */
export interface PerClassRow {
  scenario: string;
  arm: string;
  seed: number;
  class: string;
  f1: number | null;
  labelled_positives: number;
}

/**
 * Per-class F1 and labelled-set class counts at each cell's last recorded iteration.
 *
 * @example
 * ```ts
 * import { perClassRows } from "./tables.ts";
 * console.assert(perClassRows([]).length === 0);
 * ```
 */
export function perClassRows(records: readonly CellRecord[]): PerClassRow[] {
  return records.flatMap((r) => {
    const last = r.iterations[r.iterations.length - 1];
    if (!last) return [];
    return r.classNames.map((c, j) => ({
      scenario: r.scenario,
      arm: r.arm,
      seed: r.seed,
      class: c,
      f1: last.test.perClassF1[j] ?? null,
      labelled_positives: last.classCounts[j]!,
    }));
  });
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: readonly number[]) => {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
};

/** One row of `summary.csv`: an arm in a scenario, over seeds. */
export interface SummaryRow {
  scenario: string;
  arm: string;
  seeds: number;
  final_labelled: number;
  final_micro_f1_mean: number;
  final_micro_f1_sd: number;
  final_macro_f1_mean: number;
  final_macro_f1_sd: number;
  /** Fig. 2: per seed, macro F1 averaged over the AL iterations; then mean and sd over seeds. */
  avg_macro_f1_mean: number;
  avg_macro_f1_sd: number;
  aubc_macro_f1_mean: number;
  /** Smallest labelled count whose mean macro F1 reaches the baseline's final mean macro F1. */
  labels_to_reach_baseline: number | null;
}

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    if (!m.has(k)) m.set(k, []);
    m.get(k)!.push(x);
  }
  return m;
}

/** Mean curve of an arm: labelled counts and mean score per iteration over complete seeds. */
function meanCurve(cells: readonly CellRecord[], pick: (it: CellRecord["iterations"][number]) => number) {
  const n = Math.min(...cells.map((c) => c.iterations.length));
  const labelled: number[] = [], score: number[] = [];
  for (let i = 0; i < n; i++) {
    labelled.push(cells[0]!.iterations[i]!.labelled);
    score.push(mean(cells.map((c) => pick(c.iterations[i]!))));
  }
  return { labelled, score };
}

/**
 * Per scenario and arm: final scores, the Fig. 2 average, AUBC, and labels needed to reach the baseline.
 * Only complete cells count.
 *
 * @example
 * ```ts
 * import { summaryRows } from "./tables.ts";
 * console.assert(summaryRows([], () => "random").length === 0);
 * ```
 */
export function summaryRows(
  records: readonly CellRecord[],
  baselineOf: (scenario: string) => string,
): SummaryRow[] {
  const complete = records.filter((r) => r.complete);
  const rows: SummaryRow[] = [];
  for (const [scenario, cells] of groupBy(complete, (r) => r.scenario)) {
    const arms = groupBy(cells, (r) => r.arm);
    const base = arms.get(baselineOf(scenario));
    const target = base ? meanCurve(base, (it) => it.test.macroF1).score.at(-1)! : NaN;
    for (const [arm, armCells] of arms) {
      const finals = armCells.map((c) => c.iterations[c.iterations.length - 1]!);
      const avg = armCells.map((c) => mean(c.iterations.map((it) => it.test.macroF1)));
      const aubc = armCells.map((c) =>
        areaUnderBudgetCurve(c.iterations.map((it) => it.labelled), c.iterations.map((it) => it.test.macroF1))
      );
      const curve = meanCurve(armCells, (it) => it.test.macroF1);
      rows.push({
        scenario,
        arm,
        seeds: armCells.length,
        final_labelled: finals[0]!.labelled,
        final_micro_f1_mean: mean(finals.map((f) => f.test.microF1)),
        final_micro_f1_sd: sd(finals.map((f) => f.test.microF1)),
        final_macro_f1_mean: mean(finals.map((f) => f.test.macroF1)),
        final_macro_f1_sd: sd(finals.map((f) => f.test.macroF1)),
        avg_macro_f1_mean: mean(avg),
        avg_macro_f1_sd: sd(avg),
        aubc_macro_f1_mean: mean(aubc),
        labels_to_reach_baseline: Number.isNaN(target)
          ? null
          : labelsToReach(curve.labelled, curve.score, target),
      });
    }
  }
  return rows;
}

/** One row of `stats.csv`: arm minus baseline at one budget (or over the run), paired over seeds. */
export interface StatsRow {
  scenario: string;
  arm: string;
  baseline: string;
  /** `labelled=<n>` for one budget, `average` for the Fig. 2 average, `aubc` for the area under the curve. */
  at: string;
  metric: "micro_f1" | "macro_f1";
  n: number;
  mean_diff: number;
  ci_low: number;
  ci_high: number;
  t_p: number;
  wilcoxon_p: number;
}

/**
 * Paired arm − baseline differences per budget and over the run, on micro and macro F1.
 *
 * @example
 * ```ts
 * import { statsRows } from "./tables.ts";
 * console.assert(statsRows([], () => "random").length === 0);
 * ```
 */
export function statsRows(
  records: readonly CellRecord[],
  baselineOf: (scenario: string) => string,
): StatsRow[] {
  const rows: StatsRow[] = [];
  const complete = records.filter((r) => r.complete);
  for (const [scenario, cells] of groupBy(complete, (r) => r.scenario)) {
    const baseline = baselineOf(scenario);
    const base = new Map(cells.filter((c) => c.arm === baseline).map((c) => [c.seed, c]));
    if (base.size === 0) continue;
    for (const [arm, armCells] of groupBy(cells.filter((c) => c.arm !== baseline), (r) => r.arm)) {
      const pairs = armCells.filter((c) => base.has(c.seed)).sort((a, b) => a.seed - b.seed);
      if (!pairs.length) continue;
      const iterations = Math.min(
        ...pairs.map((c) => c.iterations.length),
        ...pairs.map((c) => base.get(c.seed)!.iterations.length),
      );
      for (const metric of ["micro_f1", "macro_f1"] as const) {
        const val = (
          it: CellRecord["iterations"][number],
        ) => (metric === "micro_f1" ? it.test.microF1 : it.test.macroF1);
        const push = (at: string, a: number[], b: number[]) => {
          const r = pairedComparison(a, b);
          rows.push({
            scenario,
            arm,
            baseline,
            at,
            metric,
            n: r.n,
            mean_diff: r.mean,
            ci_low: r.ciLow,
            ci_high: r.ciHigh,
            t_p: r.tPValue,
            wilcoxon_p: r.wilcoxonPValue,
          });
        };
        for (let i = 0; i < iterations; i++) {
          push(
            `labelled=${pairs[0]!.iterations[i]!.labelled}`,
            pairs.map((c) => val(c.iterations[i]!)),
            pairs.map((c) => val(base.get(c.seed)!.iterations[i]!)),
          );
        }
        const avg = (c: CellRecord) => mean(c.iterations.slice(0, iterations).map(val));
        push("average", pairs.map(avg), pairs.map((c) => avg(base.get(c.seed)!)));
        const aubc = (c: CellRecord) => {
          const its = c.iterations.slice(0, iterations);
          return areaUnderBudgetCurve(its.map((it) => it.labelled), its.map(val));
        };
        push("aubc", pairs.map(aubc), pairs.map((c) => aubc(base.get(c.seed)!)));
      }
    }
  }
  return rows;
}
