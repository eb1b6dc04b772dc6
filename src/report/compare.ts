/**
 * The answer `deno task compare` prints: per scenario and compared arm, the paired difference to the baseline in
 * macro and micro F1 (averaged over the AL rounds t = 1…T, and as AUBC), each with its 95% CI and paired t and
 * Wilcoxon p-values, the labels the arm needs to reach the baseline's final score, the seeds 80% power would
 * need at the observed effect, and one verdict sentence worded by the report's hedging rules. Pure: cell records
 * in, plain data and text out.
 *
 * @module
 */
import { type FieldMetricRow, fieldMetricRows } from "./field_metrics.ts";
import type { CellRecord } from "../records/records.ts";
import { type StatsRow, statsRows, summaryRows } from "./tables.ts";
import { comparisonSentence, points, pText } from "./words.ts";

/** One paired statistic (differences in F1 units, arm minus baseline). */
export interface PairedStat {
  /** Mean paired difference. */
  readonly diff: number;
  /** 95% t-interval; `null` bounds with one seed. */
  readonly ci: [number | null, number | null];
  /** Paired t-test p-value (`null` with one seed). */
  readonly p: number | null;
  /** Two-sided Wilcoxon signed-rank p-value. */
  readonly wilcoxonP: number;
  /** Seeds a paired t-test would need for 80% power at this effect (`null`: undefined). */
  readonly seedsFor80Power: number | null;
}

/** One metric's statistics. */
export interface MetricComparison {
  /** Per seed averaged over the AL rounds t = 1…T. */
  readonly average: PairedStat;
  /** Area under the whole budget curve. */
  readonly aubc: PairedStat;
}

/** One compared arm in one scenario. */
export interface ArmComparison {
  /** The compared arm. */
  readonly arm: string;
  /** Seeds paired with the baseline. */
  readonly seeds: number;
  /** Macro F1. */
  readonly macro: MetricComparison;
  /** Micro F1. */
  readonly micro: MetricComparison;
  /** The fewest labels at which the arm's mean macro F1 reaches the baseline's final mean macro F1 (`null`: never). */
  readonly labelsToBaseline: number | null;
  /** Seeds a paired t-test on the macro-F1 average would need for 80% power at the observed effect. */
  readonly seedsFor80Power: number | null;
  /** One sentence on the macro-F1 average and one on the micro-F1 average, by the hedging rules. */
  readonly verdict: string;
  /**
   * The field's metrics (`field_metrics.ts`): label efficiency (a fraction of the baseline's labels), the macro-F1
   * difference over the early and the late half of the rounds, and over the classes each seed made rare (F1
   * units); a quantity without data (too few rounds, no imbalance) is absent.
   */
  readonly field: Partial<Record<FieldMetricRow["quantity"], FieldStat>>;
}

/** One field metric over seeds. */
export interface FieldStat {
  /** The mean (label efficiency: a fraction of labels; else a difference in F1 units). */
  readonly value: number | null;
  /** 95% t-interval; `null` bounds with fewer than two seeds. */
  readonly ci: [number | null, number | null];
  /** Seeds with a value. */
  readonly seeds: number;
  /** Label efficiency: seeds that never reached the baseline's final score. */
  readonly notReached: number;
}

/** The units of {@linkcode CompareResult}'s numbers, stated in the JSON itself. */
export const COMPARE_UNITS = {
  diff: "F1 as a fraction (0 to 1); the console prints the same difference × 100, in points",
  ci: "as diff",
  p: "probability",
  labelsToBaseline: "labelled samples",
  field: "label_efficiency: a fraction of the baseline's final labelled count; the others as diff",
  seeds: "seeds",
} as const;

/** What `deno task compare --json` prints. */
export interface CompareResult {
  /** What each number is measured in (differences are fractions of F1, not points). */
  readonly units: typeof COMPARE_UNITS;
  /** The baseline arm. */
  readonly baseline: string;
  /** Per scenario, each compared arm. */
  readonly scenarios: { readonly scenario: string; readonly arms: ArmComparison[] }[];
}

const finite = (x: number) => (Number.isFinite(x) ? x : null);

function stat(r: StatsRow): PairedStat {
  return {
    diff: r.mean_diff,
    ci: [finite(r.ci_low), finite(r.ci_high)],
    p: finite(r.t_p),
    wilcoxonP: r.wilcoxon_p,
    seedsFor80Power: r.seeds_for_80_power,
  };
}

/**
 * Compare `arms` with `baseline` in every scenario of `records` (complete cells, paired by seed).
 *
 * @example
 * ```ts
 * import { compareRecords } from "./compare.ts";
 * const r = compareRecords([], "random", ["mine"], []);
 * console.assert(r.baseline === "random" && r.scenarios.length === 0);
 * ```
 */
export function compareRecords(
  records: readonly CellRecord[],
  baseline: string,
  arms: readonly string[],
  order: readonly string[],
): CompareResult {
  const stats = statsRows(records, () => baseline);
  const field = fieldMetricRows(records, () => baseline);
  const summary = summaryRows(records, () => baseline);
  const ids = [...new Set(records.map((r) => r.scenario))].sort((a, b) => rank(order, a) - rank(order, b));
  const scenarios = ids.map((scenario) => {
    const out: ArmComparison[] = [];
    for (const arm of arms) {
      const pick = (metric: string, at: string) =>
        stats.find((r) => r.scenario === scenario && r.arm === arm && r.metric === metric && r.at === at);
      const macroAvg = pick("macro_f1", "average"), microAvg = pick("micro_f1", "average");
      const macroAubc = pick("macro_f1", "aubc"), microAubc = pick("micro_f1", "aubc");
      if (!macroAvg || !microAvg || !macroAubc || !microAubc) continue;
      const T = Math.max(
        ...records.filter((r) => r.scenario === scenario).flatMap((r) => r.iterations)
          .map((it) => it.iteration),
      );
      const rounds = `averaged over rounds 1–${T}`;
      out.push({
        arm,
        seeds: macroAvg.n,
        macro: { average: stat(macroAvg), aubc: stat(macroAubc) },
        micro: { average: stat(microAvg), aubc: stat(microAubc) },
        labelsToBaseline: summary.find((s) =>
          s.scenario === scenario && s.arm === arm
        )?.labels_to_reach_baseline ??
          null,
        seedsFor80Power: macroAvg.seeds_for_80_power,
        verdict: `${comparisonSentence(macroAvg, arm, baseline, `macro F1 ${rounds}`)} ${
          comparisonSentence(microAvg, arm, baseline, `micro F1 ${rounds}`)
        }`,
        field: Object.fromEntries(
          field.filter((f) => f.scenario === scenario && f.arm === arm).map((f) => [
            f.quantity,
            {
              value: finite(f.mean),
              ci: [finite(f.ci_low), finite(f.ci_high)],
              seeds: f.n,
              notReached: f.not_reached,
            } satisfies FieldStat,
          ]),
        ),
      });
    }
    return { scenario, arms: out };
  }).filter((s) => s.arms.length > 0);
  return { units: COMPARE_UNITS, baseline, scenarios };
}

const rank = (order: readonly string[], id: string) => {
  const i = order.indexOf(id);
  return i < 0 ? order.length : i;
};

const interval = (s: PairedStat) =>
  s.ci[0] === null || s.ci[1] === null ? "no interval (n = 1)" : `${points(s.ci[0])} to ${points(s.ci[1])}`;

/**
 * The comparison for people: per scenario and arm, a block of lines (differences in F1 points).
 *
 * @example
 * ```ts
 * import { COMPARE_UNITS, compareText } from "./compare.ts";
 * console.assert(compareText({ units: COMPARE_UNITS, baseline: "random", scenarios: [] }).includes("no complete pairs"));
 * ```
 */
export function compareText(r: CompareResult): string {
  if (!r.scenarios.length) {
    return `no complete pairs of cells to compare with ${r.baseline} yet (each arm needs complete cells with the ` +
      "baseline's seeds)\n";
  }
  const lines: string[] = [];
  for (const s of r.scenarios) {
    lines.push(
      `${s.scenario} (against ${r.baseline}; differences in F1 points, arm − baseline, paired by seed)`,
    );
    for (const a of s.arms) {
      lines.push(`  ${a.arm} (${a.seeds} seeds)`);
      for (const [metric, m] of [["macro F1", a.macro], ["micro F1", a.micro]] as const) {
        for (const [what, st] of [["rounds average", m.average], ["AUBC", m.aubc]] as const) {
          lines.push(
            `    ${metric.padEnd(9)} ${what.padEnd(15)} ${points(st.diff).padStart(7)}  95% CI ${
              interval(st).padEnd(17)
            }  t p ${pText(st.p ?? NaN).padStart(7)}  Wilcoxon p ${pText(st.wilcoxonP)}`,
          );
        }
      }
      lines.push(
        `    labels to reach ${r.baseline}'s final macro F1: ${
          a.labelsToBaseline ?? "not reached"
        }; seeds for 80% ` +
          `power (macro average): ${a.seedsFor80Power ?? "n/a"}`,
      );
      const f = a.field,
        iv = (x: FieldStat, fmt: (v: number) => string) =>
          x.ci[0] === null || x.ci[1] === null ? "no interval" : `95% CI ${fmt(x.ci[0])} to ${fmt(x.ci[1])}`;
      const pts = (x: FieldStat) => `${x.value === null ? "n/a" : points(x.value)} (${iv(x, points)})`;
      const parts: string[] = [];
      if (f.label_efficiency) {
        const e = f.label_efficiency, two = (v: number) => v.toFixed(2);
        parts.push(
          `labels to reach ${r.baseline}'s final macro F1, per seed: ${
            e.value === null ? "n/a" : two(e.value)
          } of its ` +
            `labels (${iv(e, two)}${e.notReached ? `; ${e.notReached} seeds never reached it` : ""})`,
        );
      }
      if (f.early_rounds && f.late_rounds) {
        parts.push(`macro F1 early rounds ${pts(f.early_rounds)}, late rounds ${pts(f.late_rounds)}`);
      }
      if (f.rare_classes) parts.push(`F1 of the classes made rare ${pts(f.rare_classes)}`);
      for (const p of parts) lines.push(`    ${p}`);
      lines.push(`    verdict: ${a.verdict}`);
    }
  }
  return lines.join("\n") + "\n";
}
