/**
 * Vega-Lite specifications of the report's figures, with their data inlined (so each `.vl.json` file opens by
 * itself in the Vega editor).
 *
 * @module
 */
import type { CurveRow, PerClassRow } from "./tables.ts";

/** A Vega-Lite top-level spec (kept loose: vega-lite validates it when compiling). */
export type VegaLiteSpec = Record<string, unknown>;

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/**
 * Fig. 1: micro and macro F1 against the number of labelled samples, mean over seeds with a ±1 standard
 * deviation band per arm; one row per scenario.
 *
 * @example
 * ```ts
 * import { learningCurveSpec } from "./specs.ts";
 * console.assert("facet" in learningCurveSpec([]));
 * ```
 */
export function learningCurveSpec(rows: readonly CurveRow[]): VegaLiteSpec {
  const values = rows.flatMap((r) => [
    {
      scenario: r.scenario,
      arm: r.arm,
      seed: r.seed,
      labelled: r.labelled,
      metric: "micro F1",
      value: r.micro_f1,
    },
    {
      scenario: r.scenario,
      arm: r.arm,
      seed: r.seed,
      labelled: r.labelled,
      metric: "macro F1",
      value: r.macro_f1,
    },
  ]);
  return {
    $schema: SCHEMA,
    title: "F1 vs number of labelled samples (mean ± 1 sd over seeds)",
    data: { values },
    facet: {
      row: { field: "scenario", type: "nominal", title: null },
      column: { field: "metric", type: "nominal", title: null, sort: ["micro F1", "macro F1"] },
    },
    spec: {
      width: 300,
      height: 200,
      layer: [
        {
          mark: { type: "errorband", extent: "stdev", opacity: 0.25 },
          encoding: {
            x: { field: "labelled", type: "quantitative", title: "labelled samples" },
            y: { field: "value", type: "quantitative", title: "F1", scale: { zero: false } },
            color: { field: "arm", type: "nominal" },
          },
        },
        {
          mark: { type: "line", point: true },
          encoding: {
            x: { field: "labelled", type: "quantitative" },
            y: { aggregate: "mean", field: "value", type: "quantitative" },
            color: { field: "arm", type: "nominal", title: "arm" },
          },
        },
      ],
    },
    resolve: { scale: { y: "independent" } },
  };
}

/**
 * Fig. 2: per scenario, macro F1 averaged over the AL iterations (per seed), mean over seeds with ±1 sd error
 * bars, per arm.
 *
 * @example
 * ```ts
 * import { scenarioAverageSpec } from "./specs.ts";
 * console.assert("layer" in scenarioAverageSpec([]));
 * ```
 */
export function scenarioAverageSpec(rows: readonly CurveRow[]): VegaLiteSpec {
  const per = new Map<string, { scenario: string; arm: string; seed: number; sum: number; n: number }>();
  for (const r of rows) {
    const k = `${r.scenario}\u0000${r.arm}\u0000${r.seed}`;
    const e = per.get(k) ?? { scenario: r.scenario, arm: r.arm, seed: r.seed, sum: 0, n: 0 };
    e.sum += r.macro_f1;
    e.n++;
    per.set(k, e);
  }
  const values = [...per.values()].map((e) => ({
    scenario: e.scenario,
    arm: e.arm,
    seed: e.seed,
    avg_macro_f1: e.sum / e.n,
  }));
  return {
    $schema: SCHEMA,
    title: "Macro F1 averaged over the AL iterations (mean ± 1 sd over seeds)",
    data: { values },
    width: { step: 40 },
    height: 240,
    encoding: {
      x: { field: "scenario", type: "nominal", title: null },
      xOffset: { field: "arm", type: "nominal" },
      color: { field: "arm", type: "nominal" },
    },
    layer: [
      {
        mark: "bar",
        encoding: {
          y: {
            aggregate: "mean",
            field: "avg_macro_f1",
            type: "quantitative",
            title: "mean macro F1",
            scale: { zero: false },
          },
        },
      },
      {
        mark: { type: "errorbar", extent: "stdev" },
        encoding: { y: { field: "avg_macro_f1", type: "quantitative" } },
      },
    ],
  };
}

/**
 * Fig. 3: per class, F1 at the last iteration and the labelled set's positives, per arm (means over seeds).
 *
 * @example
 * ```ts
 * import { perClassSpec } from "./specs.ts";
 * console.assert("vconcat" in perClassSpec([]));
 * ```
 */
export function perClassSpec(rows: readonly PerClassRow[]): VegaLiteSpec {
  const bars = (field: string, title: string) => ({
    width: { step: 12 },
    height: 160,
    mark: "bar",
    encoding: {
      x: { field: "class", type: "nominal", title: null },
      xOffset: { field: "arm", type: "nominal" },
      y: { aggregate: "mean", field, type: "quantitative", title },
      color: { field: "arm", type: "nominal" },
      row: { field: "scenario", type: "nominal", title: null },
    },
  });
  return {
    $schema: SCHEMA,
    title: "Per class at the last iteration (mean over seeds)",
    data: { values: rows.map((r) => ({ ...r, f1: r.f1 ?? 0 })) },
    vconcat: [bars("f1", "F1"), bars("labelled_positives", "labelled positives")],
  };
}
