/**
 * The summary matrix at the top of `index.html`: for every non-baseline arm, its paired gain over the baseline in
 * each scenario and headline metric (macro and micro F1 averaged over rounds 1…T, and the area under the budget
 * curve where `stats.csv` has it), in F1 points with the 95% interval and a mark for the hedging rule of
 * `words.ts` that applies. Pure: `stats.csv` rows in, cells as text out; `html.ts` lays it out.
 *
 * @module
 */
import type { Metric, StatsRow } from "./tables.ts";
import { METRICS } from "./tables.ts";
import { type Finding, findingOf, points } from "./words.ts";

/** The quantities the matrix shows, in this order: the average over rounds 1…T, then AUBC. */
export const MATRIX_QUANTITIES = ["average", "aubc"] as const;
/** `average` (over rounds 1…T) or `aubc` (area under the whole budget curve). */
export type MatrixQuantity = typeof MATRIX_QUANTITIES[number];

/** The mark of each hedging rule: ▲ higher, ▼ lower, ≈ no evidence, = identical, · direction only (1 seed). */
export const FINDING_MARK: Readonly<Record<Finding, string>> = {
  higher: "▲",
  lower: "▼",
  "no-evidence": "≈",
  identical: "=",
  "direction-only": "·",
};

/**
 * The legend printed under the matrix: every mark with its rule, and the unit.
 *
 * @example
 * ```ts
 * import { MATRIX_LEGEND } from "./matrix.ts";
 * console.assert(MATRIX_LEGEND.startsWith("▲ higher: the paired 95% interval lies above zero"));
 * ```
 */
export const MATRIX_LEGEND =
  "▲ higher: the paired 95% interval lies above zero; ▼ lower: it lies below zero; " +
  "≈ no evidence of a difference: it contains zero; = identical in every seed; " +
  "· direction only: one seed, no interval. Each cell: arm − baseline in F1 points (100 × F1), mean over seeds " +
  "paired by seed, [95% t-interval].";

/** One column: a scenario and a metric. */
export interface MatrixColumn {
  readonly scenario: string;
  readonly metric: Metric;
}

/** One cell: the gain as text, the rule that applies and its mark. */
export interface MatrixCell {
  /** e.g. `+2.10 [+0.40, +3.80]`; with one seed `+2.10 (1 seed)`. */
  readonly text: string;
  readonly finding: Finding;
  readonly mark: string;
  /** Seeds paired. */
  readonly n: number;
}

/** One row: an arm's gains over its baseline on one quantity, one cell per column (`null`: no comparison). */
export interface MatrixRow {
  readonly arm: string;
  /** The baselines it is compared with, in column order, without repeats (one in every ordinary run). */
  readonly baselines: readonly string[];
  readonly at: MatrixQuantity;
  readonly cells: readonly (MatrixCell | null)[];
}

/** The matrix: columns scenario × metric; rows arm × quantity, every quantity of an arm next to each other. */
export interface SummaryMatrix {
  readonly columns: readonly MatrixColumn[];
  readonly rows: readonly MatrixRow[];
}

/**
 * A paired gain as matrix text: signed points and the 95% interval, or the point estimate alone where there is
 * no interval.
 *
 * @example
 * ```ts
 * import { gainText } from "./matrix.ts";
 * console.assert(gainText({ n: 5, mean_diff: 0.021, ci_low: 0.004, ci_high: 0.038 }) === "+2.10 [+0.40, +3.80]");
 * console.assert(gainText({ n: 1, mean_diff: -0.01, ci_low: NaN, ci_high: NaN }) === "−1.00 (1 seed)");
 * ```
 */
export function gainText(r: Pick<StatsRow, "n" | "mean_diff" | "ci_low" | "ci_high">): string {
  if (!Number.isFinite(r.ci_low) || !Number.isFinite(r.ci_high)) {
    return `${points(r.mean_diff)} (${r.n} seed${r.n === 1 ? "" : "s"})`;
  }
  return `${points(r.mean_diff)} [${points(r.ci_low)}, ${points(r.ci_high)}]`;
}

const rank = (order: readonly string[], id: string) => {
  const i = order.indexOf(id);
  return i < 0 ? order.length : i;
};

/**
 * The summary matrix of `stats` (`stats.csv` rows; only its `average` and `aubc` rows are read). Scenarios follow
 * `order` (scenario ids in their file order; others after them, in the order the rows give), arms the order the
 * rows give; every scenario has a macro and a micro column; a quantity without any row (AUBC in older tables)
 * gets no rows, a missing comparison an empty (`null`) cell.
 *
 * @example
 * ```ts
 * import { summaryMatrix } from "./matrix.ts";
 * const row = { scenario: "s", arm: "al", baseline: "random", at: "average", metric: "macro_f1", n: 5,
 *   mean_diff: 0.021, sd_diff: 0.01, ci_low: 0.004, ci_high: 0.038, t_p: 0.02, seeds_for_80_power: 5 };
 * const m = summaryMatrix([row as never]);
 * // One scenario: a macro and a micro column; no micro row, so that cell is empty.
 * console.assert(m.columns.length === 2 && m.rows.length === 1 && m.rows[0]!.cells[1] === null);
 * console.assert(m.rows[0]!.cells[0]!.text === "+2.10 [+0.40, +3.80]" && m.rows[0]!.cells[0]!.mark === "▲");
 * ```
 */
export function summaryMatrix(stats: readonly StatsRow[], order: readonly string[] = []): SummaryMatrix {
  const rows = stats.filter((r) => (MATRIX_QUANTITIES as readonly string[]).includes(r.at));
  const seen = [...new Set(rows.map((r) => r.scenario))];
  const scenarios = seen.map((s, i) => ({ s, i }))
    .sort((a, b) => rank(order, a.s) - rank(order, b.s) || a.i - b.i).map((x) => x.s);
  const columns: MatrixColumn[] = scenarios.flatMap((scenario) =>
    METRICS.map((metric) => ({ scenario, metric }))
  );
  const arms = [...new Set(rows.map((r) => r.arm))];
  const out: MatrixRow[] = [];
  for (const arm of arms) {
    for (const at of MATRIX_QUANTITIES) {
      const mine = rows.filter((r) => r.arm === arm && r.at === at);
      if (!mine.length) continue;
      const found = columns.map((c) => mine.find((r) => r.scenario === c.scenario && r.metric === c.metric));
      out.push({
        arm,
        baselines: [...new Set(found.filter((r) => r !== undefined).map((r) => r.baseline))],
        at,
        cells: found.map((r) => {
          if (!r) return null;
          const finding = findingOf(r);
          return { text: gainText(r), finding, mark: FINDING_MARK[finding], n: r.n };
        }),
      });
    }
  }
  return { columns, rows: out };
}
