/**
 * Vega-Lite specifications of the report's figures, with their data inlined (so each `.vl.json` file opens by
 * itself in the Vega editor). Intervals are computed here (t-intervals over seeds), never by Vega's bootstrap, so
 * a figure is a pure function of the cells. Bars always start at zero; dot-and-interval plots are used where a
 * zero baseline would hide the differences.
 *
 * @module
 */
import type { CurveRow, Metric, PerClassRow, QueriedClassRow, StatsRow } from "./tables.ts";
import { pairedT } from "./stats.ts";
import { PAPER_LABEL, type PaperGain, type PaperPoint } from "./paper.ts";

/** A Vega-Lite top-level spec (kept loose: vega-lite validates it when compiling). */
export type VegaLiteSpec = Record<string, unknown>;

/** Human labels for scenario ids (e.g. `scenario-2\n20 removed from each of 3 classes`); ids label themselves. */
export type ScenarioLabels = Readonly<Record<string, string>>;

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
const METRIC_TITLE: Record<Metric, string> = { macro_f1: "macro F1", micro_f1: "micro F1" };
const label = (labels: ScenarioLabels, id: string) => labels[id] ?? id;
/** Axis labels may hold line breaks. */
const SPLIT_LINES = "split(datum.label, '\\n')";
/** The legend of line figures: a short line with a dot, as the curves are drawn (every layer must give the same, or Vega-Lite drops it). */
const LINE_LEGEND = {
  symbolType: "M-1,0L1,0M-0.35,0a0.35,0.35 0 1,0 0.7,0a0.35,0.35 0 1,0 -0.7,0",
  symbolStrokeWidth: 2,
  symbolOpacity: 1,
  labelLimit: 320,
};
/** Row headers of faceted figures: one line above each row's panels. */
const ROW_HEADER = {
  labelAngle: 0,
  labelOrient: "top",
  labelAnchor: "start",
  labelExpr: "replace(replace(datum.label, '\\n', ' · '), '\\n', ' ')",
  labelFontWeight: "bold",
  labelLimit: 400,
};

/**
 * Fig. 1: macro and micro F1 against labelled samples, mean over seeds (line with a marker per evaluation) and a
 * ±1 sd band; one column per metric whose panels (one per scenario) share a y scale; x starts at the first
 * labelled count. `paper` (see `paper.ts`) adds the paper's values as hollow diamonds in the arm's colour,
 * labelled {@linkcode PAPER_LABEL}, each only where its scenario's curve of that arm covers its labelled count;
 * without any, the spec is the same as without `paper`.
 *
 * @example
 * ```ts
 * import { learningCurveSpec } from "./specs.ts";
 * console.assert(Array.isArray(learningCurveSpec([]).hconcat));
 * const pt = { scenario: "s", arm: "random", metric: "macro_f1", labelled: 180, value: 0.798 } as const;
 * // No curve of s covers 180 labels: nothing is added.
 * console.assert(JSON.stringify(learningCurveSpec([], {}, [pt])) === JSON.stringify(learningCurveSpec([])));
 * ```
 */
export function learningCurveSpec(
  rows: readonly CurveRow[],
  labels: ScenarioLabels = {},
  paper: readonly PaperPoint[] = [],
): VegaLiteSpec {
  const xs = rows.map((r) => r.labelled);
  const domain = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  const covers = (p: PaperPoint) => {
    const own = rows.filter((r) => r.scenario === p.scenario && r.arm === p.arm).map((r) => r.labelled);
    return own.length > 0 && Math.min(...own) <= p.labelled && p.labelled <= Math.max(...own);
  };
  const shown = paper.filter(covers);
  // The paper's rows carry their own x and y fields: the curves' layers aggregate `labelled` and `value` and never
  // see them (a filter per layer would do the same, but makes Vega-Lite's optimiser warn on stderr).
  const paperLayer = (metric: Metric) => ({
    mark: { type: "point", filled: false, size: 90, strokeWidth: 2, opacity: 1 },
    encoding: {
      x: { field: "paper_labelled", type: "quantitative", title: "labelled samples" },
      y: { field: "paper_value", type: "quantitative", title: METRIC_TITLE[metric] },
      color: { field: "arm", type: "nominal", title: "arm", legend: LINE_LEGEND },
      shape: {
        field: "paper",
        type: "nominal",
        title: null,
        scale: { range: ["diamond"] },
        legend: { labelLimit: 320 },
      },
      tooltip: [
        { field: "paper", title: "source" },
        { field: "arm" },
        { field: "paper_labelled", title: "labelled" },
        { field: "paper_value", title: `${METRIC_TITLE[metric]} (paper)`, format: ".4f" },
      ],
    },
  });
  const panel = (metric: Metric) => ({
    title: METRIC_TITLE[metric],
    data: {
      values: [
        ...rows.map((r) => ({
          scenario: label(labels, r.scenario),
          arm: r.arm,
          seed: r.seed,
          labelled: r.labelled,
          value: r[metric],
        })),
        ...shown.filter((p) => p.metric === metric).map((p) => ({
          scenario: label(labels, p.scenario),
          arm: p.arm,
          paper_labelled: p.labelled,
          paper_value: p.value,
          paper: PAPER_LABEL,
        })),
      ],
    },
    facet: {
      row: { field: "scenario", type: "nominal", title: null, header: ROW_HEADER },
    },
    spec: {
      width: 320,
      height: 180,
      layer: [
        {
          mark: { type: "errorband", extent: "stdev", opacity: 0.2 },
          encoding: {
            x: { field: "labelled", type: "quantitative" },
            y: { field: "value", type: "quantitative", title: METRIC_TITLE[metric] },
            color: { field: "arm", type: "nominal", title: "arm", legend: LINE_LEGEND },
          },
        },
        {
          mark: { type: "line", point: true },
          encoding: {
            x: {
              field: "labelled",
              type: "quantitative",
              title: "labelled samples",
              scale: { domain, nice: false, zero: false },
            },
            y: {
              aggregate: "mean",
              field: "value",
              type: "quantitative",
              title: METRIC_TITLE[metric],
              scale: { zero: false },
            },
            color: {
              field: "arm",
              type: "nominal",
              title: "arm",
              legend: LINE_LEGEND,
            },
          },
        },
        ...(shown.some((p) => p.metric === metric) ? [paperLayer(metric)] : []),
      ],
    },
  });
  return {
    $schema: SCHEMA,
    title: "F1 against labelled samples (mean over seeds, band ±1 sd)",
    hconcat: [panel("macro_f1"), panel("micro_f1")],
    resolve: { scale: { y: "independent" } },
  };
}

/** Per seed: the metric averaged over rounds t = 1…T (the initial point left out). */
function seedAverages(rows: readonly CurveRow[], metric: Metric) {
  const per = new Map<string, { scenario: string; arm: string; sum: number; n: number }>();
  for (const r of rows) {
    if (r.iteration < 1) continue;
    const k = `${r.scenario}\u0000${r.arm}\u0000${r.seed}`;
    const e = per.get(k) ?? { scenario: r.scenario, arm: r.arm, sum: 0, n: 0 };
    e.sum += r[metric];
    e.n++;
    per.set(k, e);
  }
  const arms = new Map<string, { scenario: string; arm: string; values: number[] }>();
  for (const e of per.values()) {
    const k = `${e.scenario}\u0000${e.arm}`;
    const a = arms.get(k) ?? { scenario: e.scenario, arm: e.arm, values: [] };
    a.values.push(e.sum / e.n);
    arms.set(k, a);
  }
  return [...arms.values()];
}

const dotAndInterval = (x: string, xTitle: string | null, yTitle: string, offset: boolean) => [
  {
    mark: { type: "rule", strokeWidth: 2 },
    encoding: {
      x: { field: x, type: "nominal", title: xTitle, axis: { labelAngle: 0, labelExpr: SPLIT_LINES } },
      ...(offset ? { xOffset: { field: "arm", type: "nominal" } } : {}),
      y: { field: "low", type: "quantitative", title: yTitle, scale: { zero: false } },
      y2: { field: "high" },
      color: { field: "arm", type: "nominal" },
    },
  },
  {
    mark: { type: "point", filled: true, size: 70 },
    encoding: {
      x: { field: x, type: "nominal" },
      ...(offset ? { xOffset: { field: "arm", type: "nominal" } } : {}),
      y: { field: "mean", type: "quantitative" },
      color: { field: "arm", type: "nominal", legend: { labelLimit: 320 } },
      tooltip: [{ field: "mean" }, { field: "low" }, { field: "high" }, { field: "n", title: "seeds" }],
    },
  },
];

/**
 * Fig. 2: per scenario and metric, (left) each arm's F1 averaged over rounds 1…T, mean over seeds with its 95%
 * t-interval, as dots and intervals; (right) the paired gain arm − baseline in F1 points with its 95% CI and a
 * line at zero. `stats` are `stats.csv` rows (the `average` rows are drawn). `paper` (see `paper.ts`) adds the
 * paper's gains as hollow black diamonds labelled {@linkcode PAPER_LABEL} beside the comparisons they belong to;
 * a gain whose comparison has no `average` row is left out, and without any the spec is the same as without
 * `paper`.
 *
 * @example
 * ```ts
 * import { scenarioAverageSpec } from "./specs.ts";
 * console.assert(Array.isArray(scenarioAverageSpec([], []).vconcat));
 * const g = { scenario: "s", arm: "mge", baseline: "random", metric: "macro_f1", gain: 0.016 } as const;
 * console.assert(JSON.stringify(scenarioAverageSpec([], [], {}, [g])) === JSON.stringify(scenarioAverageSpec([], [])));
 * ```
 */
export function scenarioAverageSpec(
  rows: readonly CurveRow[],
  stats: readonly StatsRow[],
  labels: ScenarioLabels = {},
  paper: readonly PaperGain[] = [],
): VegaLiteSpec {
  const scenarios = new Set(rows.map((r) => r.scenario)).size;
  const rowFor = (metric: Metric) => {
    const means = seedAverages(rows, metric).map((a) => {
      const t = pairedT(a.values);
      return {
        scenario: label(labels, a.scenario),
        arm: a.arm,
        n: a.values.length,
        mean: t.mean,
        // F1 lies in [0, 1]: a t-interval of a few seeds can reach past it, which no F1 can (drawn clipped).
        low: Math.max(0, Number.isFinite(t.low) ? t.low : t.mean),
        high: Math.min(1, Number.isFinite(t.high) ? t.high : t.mean),
      };
    });
    const gains = stats.filter((s) => s.at === "average" && s.metric === metric).map((s) => ({
      scenario: label(labels, s.scenario),
      arm: `${s.arm} − ${s.baseline}`,
      n: s.n,
      mean: 100 * s.mean_diff,
      // A difference of two F1 values lies in [−100, 100] points.
      low: Math.max(-100, 100 * (Number.isFinite(s.ci_low) ? s.ci_low : s.mean_diff)),
      high: Math.min(100, 100 * (Number.isFinite(s.ci_high) ? s.ci_high : s.mean_diff)),
    }));
    const m = METRIC_TITLE[metric];
    const references = paper.filter((g) =>
      g.metric === metric &&
      stats.some((s) =>
        s.at === "average" && s.metric === metric && s.scenario === g.scenario && s.arm === g.arm &&
        s.baseline === g.baseline
      )
    ).map((g) => ({
      scenario: label(labels, g.scenario),
      arm: `${g.arm} − ${g.baseline}`,
      mean: 100 * g.gain,
      paper: PAPER_LABEL,
    }));
    const referenceLayer = {
      data: { values: references },
      mark: { type: "point", filled: false, size: 110, strokeWidth: 2, color: "#000", opacity: 1 },
      encoding: {
        x: { field: "scenario", type: "nominal" },
        xOffset: { field: "arm", type: "nominal" },
        y: { field: "mean", type: "quantitative" },
        shape: {
          field: "paper",
          type: "nominal",
          title: null,
          scale: { range: ["diamond"] },
          legend: { labelLimit: 320 },
        },
        tooltip: [
          { field: "paper", title: "source" },
          { field: "arm" },
          { field: "mean", title: `${m} gain, points (paper)`, format: ".1f" },
        ],
      },
    };
    return {
      hconcat: [
        {
          title: `${m}: each arm, mean over rounds 1…T (95% CI over seeds, clipped to [0, 1])`,
          data: { values: means },
          width: { step: 55 },
          height: 200,
          layer: dotAndInterval("scenario", null, `${m}, mean over rounds 1…T`, true),
        },
        {
          title: `${m}: paired gain over the baseline (95% CI)`,
          data: { values: gains },
          width: { step: 110 },
          height: 200,
          layer: [
            { mark: { type: "rule", strokeDash: [4, 3], color: "#555" }, encoding: { y: { datum: 0 } } },
            ...dotAndInterval("scenario", null, `${m} gain, points (arm − baseline)`, true),
            ...(references.length ? [referenceLayer] : []),
          ],
        },
      ],
      resolve: { scale: { color: "independent", y: "independent" } },
    };
  };
  return {
    $schema: SCHEMA,
    title: scenarios > 1
      ? "Scenarios compared: F1 averaged over the AL rounds (the initial round left out)"
      : "F1 averaged over the AL rounds (the initial round left out)",
    vconcat: [rowFor("macro_f1"), rowFor("micro_f1")],
  };
}

/**
 * The paired difference arm − baseline against labelled samples, in F1 points: mean over seeds and its 95% CI
 * band, a line at zero; one row per scenario, one column per metric. `stats` are `stats.csv` rows (the
 * `labelled=` rows are drawn).
 *
 * @example
 * ```ts
 * import { pairedDifferenceSpec } from "./specs.ts";
 * console.assert("facet" in pairedDifferenceSpec([]));
 * ```
 */
export function pairedDifferenceSpec(stats: readonly StatsRow[], labels: ScenarioLabels = {}): VegaLiteSpec {
  const values = stats.filter((s) => s.at.startsWith("labelled=")).map((s) => ({
    scenario: label(labels, s.scenario),
    metric: METRIC_TITLE[s.metric],
    comparison: `${s.arm} − ${s.baseline}`,
    labelled: Number(s.at.slice("labelled=".length)),
    n: s.n,
    diff: 100 * s.mean_diff,
    low: 100 * (Number.isFinite(s.ci_low) ? s.ci_low : s.mean_diff),
    high: 100 * (Number.isFinite(s.ci_high) ? s.ci_high : s.mean_diff),
  }));
  const xs = values.map((v) => v.labelled);
  const x = {
    field: "labelled",
    type: "quantitative",
    title: "labelled samples",
    scale: { domain: xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1], nice: false, zero: false },
  };
  return {
    $schema: SCHEMA,
    title: "Paired difference arm − baseline in F1 points (mean over seeds, band: 95% CI)",
    data: { values },
    facet: {
      row: { field: "scenario", type: "nominal", title: null, header: ROW_HEADER },
      column: { field: "metric", type: "nominal", title: null, sort: ["macro F1", "micro F1"] },
    },
    spec: {
      width: 300,
      height: 160,
      layer: [
        {
          mark: { type: "area", opacity: 0.25 },
          encoding: {
            x,
            y: { field: "low", type: "quantitative" },
            y2: { field: "high" },
            color: { field: "comparison", type: "nominal" },
          },
        },
        { mark: { type: "rule", strokeDash: [4, 3], color: "#555" }, encoding: { y: { datum: 0 } } },
        {
          mark: { type: "line", point: true },
          encoding: {
            x,
            y: { field: "diff", type: "quantitative", title: "difference, F1 points" },
            color: {
              field: "comparison",
              type: "nominal",
              title: "comparison",
              legend: LINE_LEGEND,
            },
          },
        },
      ],
    },
  };
}

/**
 * Per class at the last iteration: F1 and the labelled set's positives, per arm, as bars of the mean over seeds
 * (from zero) with ±1 sd error bars over seeds.
 *
 * @example
 * ```ts
 * import { perClassSpec } from "./specs.ts";
 * console.assert("hconcat" in perClassSpec([]));
 * ```
 */
export function perClassSpec(rows: readonly PerClassRow[], labels: ScenarioLabels = {}): VegaLiteSpec {
  const bars = (field: string, title: string, extra: object[] = []) => ({
    facet: {
      row: { field: "scenario", type: "nominal", title: null, header: ROW_HEADER },
    },
    spec: {
      width: { step: 12 },
      height: 140,
      encoding: {
        x: { field: "class", type: "nominal", title: null },
        xOffset: { field: "arm", type: "nominal" },
      },
      layer: [
        {
          mark: "bar",
          encoding: {
            y: { aggregate: "mean", field, type: "quantitative", title },
            color: { field: "arm", type: "nominal" },
          },
        },
        {
          mark: { type: "errorbar", extent: "stdev", color: "#222", thickness: 1 },
          encoding: { y: { field, type: "quantitative", title } },
        },
        ...extra,
      ],
    },
  });
  // An undefined F1 (no positives in the test set and none predicted) is not a zero: it stays out of the mean
  // and is marked with a cross on the axis, one per seed.
  const undefinedMarks = {
    mark: { type: "point", shape: "cross", color: "#b00020", size: 40 },
    encoding: {
      y: { field: "f1_undefined", type: "quantitative" },
      tooltip: [{ field: "arm" }, { field: "seed" }, { field: "class" }, { field: "f1_note", title: "F1" }],
    },
  };
  return {
    $schema: SCHEMA,
    title:
      "Per class at the last round (mean over seeds, ±1 sd; × F1 undefined in a seed, left out of the mean)",
    data: {
      values: rows.map((r) => ({
        ...r,
        scenario: label(labels, r.scenario),
        f1: r.f1,
        f1_undefined: r.f1 === null ? 0 : null,
        f1_note: r.f1 === null ? "undefined (no positives, none predicted)" : null,
      })),
    },
    hconcat: [bars("f1", "F1", [undefinedMarks]), bars("labelled_positives", "labelled positives")],
  };
}

/**
 * Fig. 5: what each arm queried, per class: positives added to the labelled set over rounds 1…T (bars of the mean
 * over seeds, from zero, with ±1 sd over seeds), one row per scenario, arms side by side. Where the records say
 * which classes a seed's split made rare (`rare_in_seeds` > 0), a red triangle over the bar marks them (its
 * tooltip: in how many of the seeds).
 *
 * @example
 * ```ts
 * import { queriedClassSpec } from "./specs.ts";
 * const row = { scenario: "s", arm: "al", class: "a", seeds: 2, rounds: 4, queried_positives_mean: 3,
 *   queried_positives_sd: 1, queried_positives_per_round: 0.75, queried_positives_mean_when_rare: 2,
 *   rare_in_seeds: 1 };
 * const spec = queriedClassSpec([row]);
 * console.assert(JSON.stringify(spec).includes("made rare in 1 of 2 seeds"));
 * console.assert(!JSON.stringify(queriedClassSpec([{ ...row, rare_in_seeds: 0 }])).includes("triangle"));
 * ```
 */
export function queriedClassSpec(
  rows: readonly QueriedClassRow[],
  labels: ScenarioLabels = {},
): VegaLiteSpec {
  const rare = rows.some((r) => (r.rare_in_seeds ?? 0) > 0);
  const y = "positives queried";
  return {
    $schema: SCHEMA,
    title: "Positives queried per class over rounds 1…T (mean over seeds, ±1 sd)" +
      (rare ? "; a red triangle marks a class the split made rare" : ""),
    data: {
      values: rows.map((r) => ({
        scenario: label(labels, r.scenario),
        arm: r.arm,
        class: r.class,
        seeds: r.seeds,
        mean: r.queried_positives_mean,
        low: Math.max(0, r.queried_positives_mean - r.queried_positives_sd),
        high: r.queried_positives_mean + r.queried_positives_sd,
        rare: (r.rare_in_seeds ?? 0) > 0 ? `made rare in ${r.rare_in_seeds} of ${r.seeds} seeds` : null,
        when_rare: r.queried_positives_mean_when_rare,
      })),
    },
    facet: {
      row: { field: "scenario", type: "nominal", title: null, header: ROW_HEADER },
    },
    spec: {
      width: { step: 12 },
      height: 140,
      encoding: {
        x: { field: "class", type: "nominal", title: null },
        xOffset: { field: "arm", type: "nominal" },
      },
      layer: [
        {
          mark: "bar",
          encoding: {
            y: { field: "mean", type: "quantitative", title: y },
            color: { field: "arm", type: "nominal" },
            tooltip: [
              { field: "arm" },
              { field: "class" },
              { field: "mean", title: "positives queried, mean", format: ".2f" },
              { field: "seeds" },
            ],
          },
        },
        {
          mark: { type: "rule", color: "#222" },
          encoding: { y: { field: "low", type: "quantitative", title: y }, y2: { field: "high" } },
        },
        ...(rare
          ? [{
            transform: [{ filter: "isValid(datum.rare)" }],
            mark: {
              type: "point",
              shape: "triangle-down",
              filled: true,
              color: "#b00020",
              size: 40,
              yOffset: -6,
            },
            encoding: {
              y: { field: "high", type: "quantitative", title: y },
              tooltip: [
                { field: "arm" },
                { field: "class" },
                { field: "rare", title: "imbalance" },
                { field: "when_rare", title: "positives queried in those seeds, mean", format: ".2f" },
              ],
            },
          }]
          : []),
      ],
    },
  };
}
