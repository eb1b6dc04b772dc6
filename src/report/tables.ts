/**
 * From cell records to tidy tables: learning curves, per-class scores, summaries and paired statistics. Plain
 * data in, plain rows out (no tensors, no files).
 *
 * @module
 */
import type { CellRecord } from "../records/records.ts";
import {
  areaUnderBudgetCurve,
  holmAdjust,
  labelsToReach,
  pairedComparison,
  seedsForPower,
  wilcoxonFloor,
} from "./stats.ts";

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
  /** Seconds fine-tuning. */
  readonly finetune: number;
  /** Seconds of inference (test set, pool, labelled set). */
  readonly inference: number;
  /** Seconds in query functions. */
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

/**
 * One row of `queried_classes.csv`: what an arm queried of one class in a scenario, over its query rounds. Counts
 * are positives (labelled images carrying the class), never F1.
 */
export interface QueriedClassRow {
  scenario: string;
  arm: string;
  class: string;
  /** Complete cells (seeds) averaged. */
  seeds: number;
  /** Query rounds T of the cells (complete cells of a scenario share it; the largest if they do not). */
  rounds: number;
  /** Per seed: positives of the class added to the labelled set over rounds 1…T; mean over seeds. */
  queried_positives_mean: number;
  /** Their sd over seeds (0 with one seed). */
  queried_positives_sd: number;
  /** Per seed: positives added divided by the seed's rounds; mean over seeds. */
  queried_positives_per_round: number;
  /** `queried_positives_mean` over only the seeds whose split made this class rare; empty when there are none. */
  queried_positives_mean_when_rare: number | null;
  /**
   * Seeds whose split made this class rare (removed pool samples of it: `split.removedClasses` of the cell
   * record); empty when no cell of the group records its split.
   */
  rare_in_seeds: number | null;
}

/**
 * The class histogram of what each arm queried: per complete cell, the positives per class added between
 * consecutive rounds (`classCounts` of round t minus round t − 1, summed over t = 1…T), then per scenario, arm and
 * class the mean and sd over seeds. Class names are the records' `classNames` (as in `per_class.csv`); cells
 * with only their initial round have queried nothing and give no rows.
 *
 * @example
 * ```ts
 * import { queriedClassRows } from "./tables.ts";
 * const its = [{ classCounts: [2, 0] }, { classCounts: [3, 1] }, { classCounts: [3, 4] }];
 * const cell = { scenario: "s", arm: "al", seed: 0, complete: true, classNames: ["a", "b"], iterations: its };
 * const rows = queriedClassRows([cell as never]);
 * console.assert(rows.map((r) => r.queried_positives_mean).join() === "1,4");
 * console.assert(rows[1]!.queried_positives_per_round === 2 && rows[1]!.rare_in_seeds === null);
 * ```
 */
export function queriedClassRows(records: readonly CellRecord[]): QueriedClassRow[] {
  const rows: QueriedClassRow[] = [];
  const cells = records.filter((r) => r.complete && r.iterations.length >= 2);
  for (const [, group] of groupBy(cells, (r) => `${r.scenario}\u0000${r.arm}`)) {
    const first = group[0]!;
    const recordsSplit = group.some((c) => c.split !== undefined);
    const added = group.map((c) => {
      const sum = c.classNames.map(() => 0);
      for (let t = 1; t < c.iterations.length; t++) {
        const now = c.iterations[t]!.classCounts, before = c.iterations[t - 1]!.classCounts;
        for (let j = 0; j < sum.length; j++) sum[j]! += now[j]! - before[j]!;
      }
      return { sum, rounds: c.iterations.length - 1 };
    });
    first.classNames.forEach((name, j) => {
      const totals = added.map((a) => a.sum[j]!);
      const rare = group.flatMap((c, i) => (c.split?.removedClasses.includes(name) ? [i] : []));
      rows.push({
        scenario: first.scenario,
        arm: first.arm,
        class: name,
        seeds: group.length,
        rounds: Math.max(...added.map((a) => a.rounds)),
        queried_positives_mean: mean(totals),
        queried_positives_sd: sd(totals),
        queried_positives_per_round: mean(added.map((a) => a.sum[j]! / a.rounds)),
        queried_positives_mean_when_rare: rare.length ? mean(rare.map((i) => totals[i]!)) : null,
        rare_in_seeds: recordsSplit ? rare.length : null,
      });
    });
  }
  return rows;
}

type Iteration = CellRecord["iterations"][number];

/** The two metrics every table carries. */
export const METRICS = ["macro_f1", "micro_f1"] as const;
/** `macro_f1` or `micro_f1`. */
export type Metric = typeof METRICS[number];

const score = (metric: Metric) => (it: Iteration): number =>
  metric === "micro_f1" ? it.test.microF1 : it.test.macroF1;

/**
 * The AL rounds t = 1…T of a curve: the initial point (t = 0) is left out of every average, because every arm
 * shares it by construction (same initial set, same training stream); a curve with only its initial point keeps it.
 *
 * @example
 * ```ts
 * import { roundsAfterInitial } from "./tables.ts";
 * const its = [{ iteration: 0 }, { iteration: 1 }, { iteration: 2 }];
 * console.assert(roundsAfterInitial(its).length === 2);
 * console.assert(roundsAfterInitial([{ iteration: 0 }]).length === 1);
 * ```
 */
export function roundsAfterInitial<T extends { iteration: number }>(its: readonly T[]): T[] {
  const rounds = its.filter((it) => it.iteration >= 1);
  return rounds.length ? rounds : [...its];
}

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
  /** Fig. 2: per seed, macro F1 averaged over the AL rounds t = 1…T; then mean and sd over seeds. */
  avg_macro_f1_mean: number;
  avg_macro_f1_sd: number;
  /** The same for micro F1. */
  avg_micro_f1_mean: number;
  avg_micro_f1_sd: number;
  aubc_macro_f1_mean: number;
  aubc_micro_f1_mean: number;
  /** Smallest labelled count whose mean macro F1 reaches the baseline's final mean macro F1. */
  labels_to_reach_baseline: number | null;
  /** The same for micro F1. */
  labels_to_reach_baseline_micro: number | null;
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
function meanCurve(cells: readonly CellRecord[], pick: (it: Iteration) => number) {
  const n = Math.min(...cells.map((c) => c.iterations.length));
  const labelled: number[] = [], score: number[] = [];
  for (let i = 0; i < n; i++) {
    labelled.push(cells[0]!.iterations[i]!.labelled);
    score.push(mean(cells.map((c) => pick(c.iterations[i]!))));
  }
  return { labelled, score };
}

/** Per seed: the metric averaged over rounds t = 1…T of the first `iterations` points. */
const roundAverage = (c: CellRecord, metric: Metric, iterations = c.iterations.length) =>
  mean(roundsAfterInitial(c.iterations.slice(0, iterations)).map(score(metric)));

/** Per seed: the area under the metric's whole budget curve (initial point included) of the first `iterations`. */
const aubcOf = (c: CellRecord, metric: Metric, iterations = c.iterations.length) => {
  const its = c.iterations.slice(0, iterations);
  return areaUnderBudgetCurve(its.map((it) => it.labelled), its.map(score(metric)));
};

/**
 * Per scenario and arm: final scores, the Fig. 2 averages over rounds t = 1…T, AUBC, and labels needed to reach
 * the baseline, for macro and micro F1. Only complete cells count.
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
    const toReach = (armCells: readonly CellRecord[], metric: Metric) => {
      if (!base) return null;
      const target = meanCurve(base, score(metric)).score.at(-1)!;
      const curve = meanCurve(armCells, score(metric));
      return labelsToReach(curve.labelled, curve.score, target);
    };
    for (const [arm, armCells] of arms) {
      const finals = armCells.map((c) => c.iterations[c.iterations.length - 1]!);
      const avg = (metric: Metric) => armCells.map((c) => roundAverage(c, metric));
      rows.push({
        scenario,
        arm,
        seeds: armCells.length,
        final_labelled: finals[0]!.labelled,
        final_micro_f1_mean: mean(finals.map((f) => f.test.microF1)),
        final_micro_f1_sd: sd(finals.map((f) => f.test.microF1)),
        final_macro_f1_mean: mean(finals.map((f) => f.test.macroF1)),
        final_macro_f1_sd: sd(finals.map((f) => f.test.macroF1)),
        avg_macro_f1_mean: mean(avg("macro_f1")),
        avg_macro_f1_sd: sd(avg("macro_f1")),
        avg_micro_f1_mean: mean(avg("micro_f1")),
        avg_micro_f1_sd: sd(avg("micro_f1")),
        aubc_macro_f1_mean: mean(armCells.map((c) => aubcOf(c, "macro_f1"))),
        aubc_micro_f1_mean: mean(armCells.map((c) => aubcOf(c, "micro_f1"))),
        labels_to_reach_baseline: toReach(armCells, "macro_f1"),
        labels_to_reach_baseline_micro: toReach(armCells, "micro_f1"),
      });
    }
  }
  return rows;
}

/** One row of `stats.csv` (or `gain_change.csv`): a paired comparison over seeds. */
export interface StatsRow {
  scenario: string;
  arm: string;
  baseline: string;
  /**
   * `labelled=<n>` for one budget, `average` for the mean over rounds t = 1…T (Fig. 2's quantity), `aubc` for the
   * area under the whole budget curve.
   */
  at: string;
  metric: Metric;
  /** Seeds paired. */
  n: number;
  /** Mean of the paired differences (F1 units, arm − baseline). */
  mean_diff: number;
  /** Their standard deviation over seeds. */
  sd_diff: number;
  ci_low: number;
  ci_high: number;
  t_p: number;
  /** Per-budget rows: the t-test p adjusted by Holm over rounds t = 1…T of this scenario, arm and metric. */
  holm_t_p: number | null;
  wilcoxon_p: number;
  /** The smallest p the exact Wilcoxon test can give with these pairs (2 / 2ⁿ). */
  wilcoxon_floor: number;
  /** Seeds a paired t-test needs for 80% power at the observed effect (mean / sd); empty when undefined. */
  seeds_for_80_power: number | null;
}

function statsRow(
  head: Pick<StatsRow, "scenario" | "arm" | "baseline" | "at" | "metric">,
  arm: readonly number[],
  base: readonly number[],
): StatsRow {
  const r = pairedComparison(arm, base);
  const nonZero = arm.filter((v, i) => v !== base[i]).length;
  return {
    scenario: head.scenario,
    arm: head.arm,
    baseline: head.baseline,
    at: head.at,
    metric: head.metric,
    n: r.n,
    mean_diff: r.mean,
    sd_diff: r.sd,
    ci_low: r.ciLow,
    ci_high: r.ciHigh,
    t_p: r.tPValue,
    holm_t_p: null,
    wilcoxon_p: r.wilcoxonPValue,
    wilcoxon_floor: wilcoxonFloor(nonZero),
    seeds_for_80_power: seedsForPower(r.mean, r.sd),
  };
}

/** The baseline's cells by seed and, per other arm, its cells paired with them (ascending seeds). */
function pairedArms(cells: readonly CellRecord[], baseline: string) {
  const base = new Map(cells.filter((c) => c.arm === baseline).map((c) => [c.seed, c]));
  const arms: { arm: string; pairs: [CellRecord, CellRecord][]; iterations: number }[] = [];
  if (base.size === 0) return arms;
  for (const [arm, armCells] of groupBy(cells.filter((c) => c.arm !== baseline), (r) => r.arm)) {
    const pairs = armCells.filter((c) => base.has(c.seed)).sort((a, b) => a.seed - b.seed)
      .map((c) => [c, base.get(c.seed)!] as [CellRecord, CellRecord]);
    if (!pairs.length) continue;
    const iterations = Math.min(...pairs.flatMap(([a, b]) => [a.iterations.length, b.iterations.length]));
    arms.push({ arm, pairs, iterations });
  }
  return arms;
}

/**
 * Paired arm − baseline differences per budget, averaged over rounds t = 1…T and on the area under the budget
 * curve, for macro and micro F1, each with its interval, tests, Wilcoxon floor and the seeds 80% power would need.
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
    for (const { arm, pairs, iterations } of pairedArms(cells, baseline)) {
      for (const metric of METRICS) {
        const head = { scenario, arm, baseline, metric };
        const val = score(metric);
        const budgets: StatsRow[] = [];
        for (let i = 0; i < iterations; i++) {
          budgets.push(statsRow(
            { ...head, at: `labelled=${pairs[0]![0].iterations[i]!.labelled}` },
            pairs.map(([a]) => val(a.iterations[i]!)),
            pairs.map(([, b]) => val(b.iterations[i]!)),
          ));
        }
        const family = budgets.map((r, i) => (pairs[0]![0].iterations[i]!.iteration >= 1 ? r.t_p : NaN));
        holmAdjust(family).forEach((p, i) => (budgets[i]!.holm_t_p = Number.isNaN(p) ? null : p));
        rows.push(...budgets);
        rows.push(statsRow(
          { ...head, at: "average" },
          pairs.map(([a]) => roundAverage(a, metric, iterations)),
          pairs.map(([, b]) => roundAverage(b, metric, iterations)),
        ));
        rows.push(statsRow(
          { ...head, at: "aubc" },
          pairs.map(([a]) => aubcOf(a, metric, iterations)),
          pairs.map(([, b]) => aubcOf(b, metric, iterations)),
        ));
      }
    }
  }
  return rows;
}

/** One row of `gain_change.csv`: how an arm's paired gain over rounds 1…T changes from one scenario to another. */
export interface GainChangeRow extends Omit<StatsRow, "at" | "holm_t_p"> {
  /** The scenario the change is measured from (the first of its family). */
  reference: string;
}

/**
 * The change in paired gain between scenarios: per arm and metric, for each scenario after the first of its
 * family (`name` before the `/`), the per-seed difference (arm − baseline averaged over rounds 1…T in this
 * scenario) − (the same in the reference scenario), paired by seed. The paper's claim that the gain grows with
 * imbalance is Scenario 3 − Scenario 1 > 0. `order` lists scenario ids in their scenario-file order.
 *
 * @example
 * ```ts
 * import { gainChangeRows } from "./tables.ts";
 * console.assert(gainChangeRows([], () => "random", []).length === 0);
 * ```
 */
export function gainChangeRows(
  records: readonly CellRecord[],
  baselineOf: (scenario: string) => string,
  order: readonly string[],
): GainChangeRow[] {
  const complete = records.filter((r) => r.complete);
  const byScenario = groupBy(complete, (r) => r.scenario);
  const ids = [...byScenario.keys()].sort((a, b) => rank(order, a) - rank(order, b));
  const gains = new Map<string, Map<string, Map<number, number>>>(); // scenario → arm/metric → seed → gain
  for (const id of ids) {
    const m = new Map<string, Map<number, number>>();
    for (const { arm, pairs, iterations } of pairedArms(byScenario.get(id)!, baselineOf(id))) {
      for (const metric of METRICS) {
        m.set(
          `${arm}\u0000${metric}`,
          new Map(pairs.map(([a, b]) => [
            a.seed,
            roundAverage(a, metric, iterations) - roundAverage(b, metric, iterations),
          ])),
        );
      }
    }
    gains.set(id, m);
  }
  const rows: GainChangeRow[] = [];
  for (const [, family] of groupBy(ids, (id) => id.split("/")[0]!)) {
    const reference = family[0]!;
    for (const scenario of family.slice(1)) {
      if (baselineOf(scenario) !== baselineOf(reference)) continue;
      for (const [key, now] of gains.get(scenario)!) {
        const before = gains.get(reference)!.get(key);
        if (!before) continue;
        const seeds = [...now.keys()].filter((s) => before.has(s)).sort((a, b) => a - b);
        if (!seeds.length) continue;
        const [arm, metric] = key.split("\u0000") as [string, Metric];
        const { at: _at, holm_t_p: _h, ...row } = statsRow(
          { scenario, arm, baseline: baselineOf(scenario), at: "average", metric },
          seeds.map((s) => now.get(s)!),
          seeds.map((s) => before.get(s)!),
        );
        const { scenario: _s, ...rest } = row;
        rows.push({ scenario, reference, ...rest });
      }
    }
  }
  return rows;
}

const rank = (order: readonly string[], id: string) => {
  const i = order.indexOf(id);
  return i < 0 ? order.length : i;
};
