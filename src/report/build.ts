/**
 * The report as data: from cell records and their scenarios to tables, figure specs, conclusions (sentences by
 * the hedging rules of `words.ts`) and the manifest. Pure: no files, no rendering — `report.ts` writes what this
 * builds and `html.ts` lays it out.
 *
 * @module
 */
import { type FieldMetricRow, fieldMetricRows } from "./field_metrics.ts";
import type { ResolvedScenario } from "../scenario/load.ts";
import { type CellRecord, MANIFEST_FORMAT, type ReportManifest } from "../records/records.ts";
import {
  type CurveRow,
  curveRows,
  type GainChangeRow,
  gainChangeRows,
  type PerClassRow,
  perClassRows,
  type QueriedClassRow,
  queriedClassRows,
  type StatsRow,
  statsRows,
  type SummaryRow,
  summaryRows,
  type WallTimes,
  wallTimes,
} from "./tables.ts";
import {
  learningCurveSpec,
  pairedDifferenceSpec,
  perClassSpec,
  queriedClassSpec,
  scenarioAverageSpec,
  type ScenarioLabels,
  type VegaLiteSpec,
} from "./specs.ts";
import { resultDigest } from "./digest.ts";
import { comparisonSentence, gainChangeSentence } from "./words.ts";
import { type SummaryMatrix, summaryMatrix } from "./matrix.ts";
import {
  paperComparison,
  type PaperComparisonRow,
  paperCurvePoints,
  paperGains,
  type PaperMatch,
  paperMatch,
  paperNote,
} from "./paper.ts";
import { type PickedImages, pickedImages } from "./thumbnails.ts";

/** A figure: file stem, spec and caption. */
export interface Figure {
  readonly name: string;
  readonly spec: VegaLiteSpec;
  readonly caption: string;
}

/** A group of conclusions: one arm's sentences, or the changes in gain between scenarios. */
export interface ConclusionGroup {
  /** The arm (`null` for the group of gain changes). */
  readonly arm: string | null;
  /** Its heading, e.g. `mge-clustering − random`. */
  readonly heading: string;
  readonly sentences: readonly string[];
}

/** The paper's published values beside albench's, where a scenario reproduces a paper figure. */
export interface PaperLayer {
  /** The scenarios the paper's values apply to. */
  readonly matches: readonly PaperMatch[];
  /** The paper's value beside albench's, per quantity. */
  readonly rows: readonly PaperComparisonRow[];
  /** Where the values come from, how the regime differs, how to read them. */
  readonly note: string;
}

/** Everything a report shows, computed from the records. */
export interface ReportModel {
  readonly curves: CurveRow[];
  readonly perClass: PerClassRow[];
  /** What each arm queried per class (`queried_classes.csv`). */
  readonly queried: QueriedClassRow[];
  /** Per scenario and arm, the ids its first query picked (the thumbnails' images; not in the digest). */
  readonly picked: PickedImages[];
  readonly summary: SummaryRow[];
  readonly stats: StatsRow[];
  readonly gainChange: GainChangeRow[];
  /** Label efficiency, early and late rounds, rare classes (`field_metrics.csv`). */
  readonly fieldMetrics: FieldMetricRow[];
  readonly figures: Figure[];
  /** Sentences generated from the statistics, by scenario then arm: what the report concludes. */
  readonly conclusions: string[];
  /** The same sentences grouped by arm (scenario, then metric within), the gain changes in a group of their own. */
  readonly conclusionGroups: ConclusionGroup[];
  /** The paired gains as a matrix: arms × (scenario, metric), with verdict marks. */
  readonly matrix: SummaryMatrix;
  /** The paper's values where a scenario reproduces a paper figure (`null`: none does). */
  readonly paper: PaperLayer | null;
  /** Caveats the reader needs beside the conclusions (test floors, multiplicity). */
  readonly notes: string[];
  /** Scenario id → a human label (variant and what was removed). */
  readonly labels: Record<string, string>;
  readonly digest: string;
  readonly wallTimes: WallTimes;
  readonly expected: readonly string[];
  readonly complete: number;
  readonly missing: string[];
  readonly manifest: ReportManifest;
}

/**
 * A scenario's human label, with line breaks before and in what was removed (axis labels split on it).
 *
 * @example
 * ```ts
 * import { scenarioLabel } from "./build.ts";
 * const s = { id: "cpu-fig2/scenario-2", scenario: { imbalance: { removePerClass: 20, classes: 3 } } };
 * console.assert(scenarioLabel(s as never) === "scenario-2\n20 removed from\neach of 3 classes");
 * console.assert(scenarioLabel({ id: "x", scenario: {} } as never) === "x");
 * ```
 */
export function scenarioLabel(s: Pick<ResolvedScenario, "id" | "scenario">): string {
  const name = s.id.includes("/") ? s.id.slice(s.id.indexOf("/") + 1) : s.id;
  const im = s.scenario.imbalance;
  if (!im) return name;
  const classes = im.classes ?? 3;
  return im.removePerClass === 0
    ? `${name}\nnone removed`
    : `${name}\n${im.removePerClass} removed from\neach of ${classes} class${classes === 1 ? "" : "es"}`;
}

const oneLine = (label: string) => {
  const [name, ...rest] = label.split("\n");
  return rest.length ? `${name} (${rest.join(" ")})` : name!;
};
const METRIC_WORD = { macro_f1: "macro F1", micro_f1: "micro F1" } as const;
const PAPER_CURVE_CAPTION =
  " Hollow diamonds: the paper's values at 180 labels (Möllenbrok & Demir, Fig. 1; " +
  "DenseNet121 at 256 px, 5 runs), in the arm's colour; a reference from another regime, not a target.";
const PAPER_GAIN_CAPTION =
  " Hollow black diamonds: the paper's macro-F1 gain of MGE+Clustering over random " +
  "averaged over 20 rounds (Möllenbrok & Demir, Fig. 2: +1.6 points in Scenario 1, +4.0 in Scenario 3; " +
  "DenseNet121 at 256 px), a reference from another regime.";

/** Rounds T per scenario: the largest iteration index in its curves. */
function roundsPerScenario(curves: readonly CurveRow[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of curves) m.set(r.scenario, Math.max(m.get(r.scenario) ?? 0, r.iteration));
  return m;
}

/** A conclusion and the arm (with its baseline) it is about; `gain` for a change in gain between scenarios. */
interface Conclusion {
  readonly arm: string;
  readonly baseline: string;
  readonly gain: boolean;
  readonly text: string;
}

function conclusionsOf(
  stats: readonly StatsRow[],
  gainChange: readonly GainChangeRow[],
  labels: ScenarioLabels,
  rounds: Map<string, number>,
): Conclusion[] {
  const out: Conclusion[] = [];
  for (const r of stats.filter((x) => x.at === "average")) {
    const T = rounds.get(r.scenario) ?? 0;
    const quantity = `${METRIC_WORD[r.metric]} averaged over rounds 1–${T}`;
    out.push({
      arm: r.arm,
      baseline: r.baseline,
      gain: false,
      text: `${oneLine(labels[r.scenario] ?? r.scenario)}: ${
        comparisonSentence(r, r.arm, r.baseline, quantity)
      }`,
    });
  }
  for (const r of gainChange) {
    out.push({
      arm: r.arm,
      baseline: r.baseline,
      gain: true,
      text: gainChangeSentence(
        r,
        r.arm,
        r.baseline,
        `${METRIC_WORD[r.metric]} (averaged over the rounds)`,
        oneLine(labels[r.reference] ?? r.reference),
        oneLine(labels[r.scenario] ?? r.scenario),
      ),
    });
  }
  return out;
}

/**
 * Conclusions grouped by arm, in the order arms first appear; within an arm, in the order given (scenario, then
 * metric). Gain changes form one last group of their own. The sentences are unchanged.
 *
 * @example
 * ```ts
 * import { groupConclusions } from "./build.ts";
 * const c = (arm: string, text: string, gain = false) => ({ arm, baseline: "random", gain, text });
 * const g = groupConclusions([c("a", "1"), c("b", "2"), c("a", "3"), c("a", "4", true)]);
 * console.assert(g.map((x) => `${x.heading}: ${x.sentences.join()}`).join(" | ") ===
 *   "a − random: 1,3 | b − random: 2 | Change in gain between scenarios: 4");
 * ```
 */
export function groupConclusions(
  conclusions: readonly { arm: string; baseline: string; gain: boolean; text: string }[],
): ConclusionGroup[] {
  const groups: ConclusionGroup[] = [];
  const byArm = new Map<string, { baselines: string[]; sentences: string[] }>();
  for (const c of conclusions.filter((x) => !x.gain)) {
    const g = byArm.get(c.arm) ?? { baselines: [], sentences: [] };
    if (!g.baselines.includes(c.baseline)) g.baselines.push(c.baseline);
    g.sentences.push(c.text);
    byArm.set(c.arm, g);
  }
  for (const [arm, g] of byArm) {
    groups.push({ arm, heading: `${arm} − ${g.baselines.join(" / ")}`, sentences: g.sentences });
  }
  const gains = conclusions.filter((x) => x.gain).map((x) => x.text);
  if (gains.length) groups.push({ arm: null, heading: "Change in gain between scenarios", sentences: gains });
  return groups;
}

function notesOf(stats: readonly StatsRow[], rounds: Map<string, number>): string[] {
  const notes: string[] = [];
  const averages = stats.filter((r) => r.at === "average");
  const floors = averages.filter((r) => r.n >= 2 && r.wilcoxon_floor > 0.05);
  if (floors.length) {
    const n = Math.max(...floors.map((r) => r.n));
    notes.push(
      `With ${n} seeds or fewer the exact Wilcoxon signed-rank test cannot give p below 0.05 (its smallest ` +
        `two-sided p is 2/2ⁿ: ${
          (2 / 2 ** n).toFixed(4)
        } with ${n} pairs), so its p-values here say nothing ` +
        `about significance; the conclusions use the paired t-interval.`,
    );
  }
  const T = Math.max(0, ...rounds.values());
  if (stats.some((r) => r.at.startsWith("labelled=")) && T > 1) {
    notes.push(
      `The per-budget comparisons (Fig. 4 and the labelled=… rows of stats.csv) test each of up to ${T} rounds ` +
        `per arm and metric: at the 5% level about one in twenty differs by chance, so a single budget's p-value ` +
        `is no finding; holm_t_p adjusts them (Holm) within each scenario, arm and metric. The conclusions rest ` +
        `on the averages over rounds, one test per scenario, arm and metric.`,
    );
  }
  if (averages.some((r) => r.n === 1)) {
    notes.push(
      "With one seed there is no interval and no test: only the direction of a difference is stated.",
    );
  }
  return notes;
}

/**
 * Build the report of `records`. `scenarios` (when known) give baselines, labels, scenario order and expected
 * cells (`expected` keys).
 *
 * @example
 * ```ts
 * import { buildReport } from "./build.ts";
 * const model = buildReport([], [], ["s/random/seed-0"]);
 * console.assert(model.missing.length === 1 && model.conclusions.length === 0);
 * // No paired comparison yet: the comparison figures (2 and 4) are left out, the learning curves stay.
 * console.assert(model.figures.map((f) => f.name).join() === "fig1_learning_curves,fig3_per_class");
 * ```
 */
export function buildReport(
  records: readonly CellRecord[],
  scenarios: readonly ResolvedScenario[],
  expected: readonly string[],
  environment?: Record<string, unknown>,
): ReportModel {
  const baselineOf = (id: string) => scenarios.find((s) => s.id === id)?.baseline ?? "random";
  const labels: Record<string, string> = Object.fromEntries(scenarios.map((s) => [s.id, scenarioLabel(s)]));
  const curves = curveRows(records), perClass = perClassRows(records), queried = queriedClassRows(records);
  const summary = summaryRows(records, baselineOf), stats = statsRows(records, baselineOf);
  const gainChange = gainChangeRows(records, baselineOf, scenarios.map((s) => s.id));
  const fieldMetrics = fieldMetricRows(records, baselineOf);
  const rounds = roundsPerScenario(curves);
  const done = new Set(records.filter((r) => r.complete).map((r) => r.key));
  const missing = expected.filter((k) => !done.has(k));
  const several = new Set(curves.map((r) => r.scenario)).size > 1;
  const matches = scenarios.map(paperMatch).filter((m): m is PaperMatch => m !== null);
  const paperRows = paperComparison(matches, curves, stats, rounds);
  const paper = paperRows.length ? { matches, rows: paperRows, note: paperNote(matches) } : null;
  const curvePoints = paperCurvePoints(matches), gains = paperGains(matches);
  const allFigures: Figure[] = [
    {
      name: "fig1_learning_curves",
      spec: learningCurveSpec(curves, labels, curvePoints),
      caption: "Fig. 1: macro and micro F1 against labelled samples, mean over seeds with a ±1 sd band." +
        (curvePoints.length ? PAPER_CURVE_CAPTION : ""),
    },
    {
      name: "fig2_scenarios",
      spec: scenarioAverageSpec(curves, stats, labels, gains),
      caption:
        `Fig. 2: F1 averaged over the AL rounds (the initial round, identical in every arm, left out)${
          several ? ", per scenario" : ""
        }: each arm's mean over seeds with its 95% CI (left), and the paired gain over the baseline with its 95% CI ` +
        "(right; an interval that crosses the dashed zero line is no evidence of a difference)." +
        (gains.some((g) =>
            stats.some((r) =>
              r.at === "average" && r.scenario === g.scenario && r.arm === g.arm &&
              r.baseline === g.baseline &&
              r.metric === g.metric
            )
          )
          ? PAPER_GAIN_CAPTION
          : ""),
    },
    {
      name: "fig3_per_class",
      spec: perClassSpec(perClass, labels),
      caption: "Fig. 3: per-class F1 and labelled positives at the last round, mean over seeds with ±1 sd.",
    },
    {
      name: "fig4_paired_difference",
      spec: pairedDifferenceSpec(stats, labels),
      caption:
        "Fig. 4: the paired difference arm − baseline at every budget, in F1 points, mean over seeds with " +
        "its 95% CI band (unadjusted for the many budgets; see the notes).",
    },
    {
      name: "fig5_queried_classes",
      spec: queriedClassSpec(queried, labels),
      caption:
        "Fig. 5: what each arm queried, per class: positives added to the labelled set over rounds 1…T, " +
        "mean over seeds with ±1 sd" +
        (queried.some((r) => (r.rare_in_seeds ?? 0) > 0)
          ? "; a red triangle marks a class the seed's split made rare (in how many seeds: its tooltip and " +
            "queried_classes.csv)."
          : "."),
    },
  ];
  // Figs. 2 and 4 draw paired comparisons with a baseline; with none (a single arm, or no baseline cell yet) they
  // would be empty, and Vega fails on them with a stack trace on stderr. Fig. 5 needs a queried round.
  const figures = allFigures.filter((f) =>
    (stats.length > 0 || (f.name !== "fig2_scenarios" && f.name !== "fig4_paired_difference")) &&
    (queried.length > 0 || f.name !== "fig5_queried_classes")
  );
  const seconds = wallTimes(records);
  const manifest: ReportManifest = {
    format: MANIFEST_FORMAT,
    scenarios: scenarios.map((s) => ({
      id: s.id,
      hash: s.hash,
      file: s.file ?? null,
      ...(s.overrides?.length ? { overrides: s.overrides } : {}),
      seeds: s.seeds,
      baseline: s.baseline,
    })),
    environment: environment ?? records[0]?.environment ?? null,
    cells: { expected: expected.length, complete: done.size, missing },
    pretrain: [
      ...new Map(records.filter((r) => r.pretrain).map((r) => [r.pretrain!.key, r.pretrain!])).values(),
    ],
    wallSeconds: {
      finetune: Math.round(seconds.finetune),
      inference: Math.round(seconds.inference),
      query: Math.round(seconds.query),
      // inference / (fine-tuning + inference), from the unrounded sums.
      inferenceShare: seconds.inferenceShare === null ? null : Number(seconds.inferenceShare.toFixed(4)),
    },
    digest: resultDigest(records),
  };
  const conclusions = conclusionsOf(stats, gainChange, labels, rounds);
  return {
    curves,
    perClass,
    queried,
    picked: pickedImages(records, undefined, scenarios.map((s) => s.id)),
    summary,
    stats,
    gainChange,
    fieldMetrics,
    figures,
    conclusions: conclusions.map((c) => c.text),
    conclusionGroups: groupConclusions(conclusions),
    matrix: summaryMatrix(stats, scenarios.map((s) => s.id)),
    paper,
    notes: notesOf(stats, rounds),
    labels,
    digest: manifest.digest,
    wallTimes: seconds,
    expected,
    complete: done.size,
    missing,
    manifest,
  };
}
