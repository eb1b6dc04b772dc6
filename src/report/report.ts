/**
 * Writing a report from whatever cells a results folder holds: `curves.csv`, `per_class.csv`, `summary.csv`,
 * `stats.csv`, Vega-Lite specs (`*.vl.json`) rendered to SVG and PNG, a self-contained `index.html` (inline SVG,
 * tables, the scenarios; no network), and `manifest.json` with the result digest.
 *
 * @module
 */
import { stringify } from "csv-stringify/sync";
import { writeFileAtomic } from "../data/cache.ts";
import type { ResolvedScenario } from "../scenario/load.ts";
import { type CellRecord, readAllCells, type RunFile } from "../runner/store.ts";
import {
  curveRows,
  perClassRows,
  statsRows,
  summaryRows,
  type WallTimes,
  wallTimes,
  wallTimesLine,
} from "./tables.ts";
import { learningCurveSpec, perClassSpec, scenarioAverageSpec } from "./specs.ts";
import { renderSvg, svgToPng } from "./render.ts";
import { resultDigest } from "./digest.ts";

/** What the report found and wrote. */
export interface ReportResult {
  readonly digest: string;
  readonly cells: number;
  readonly complete: number;
  readonly missing: string[];
  readonly files: string[];
  /** Per scenario: arm − baseline macro-F1 gain averaged over the iterations, with its 95% CI. */
  readonly headline: string[];
  /** Summed AL phase wall times and the inference share (as in the manifest, unrounded). */
  readonly wallTimes: WallTimes;
}

function csv(rows: readonly object[]): string {
  if (!rows.length) return "";
  return stringify(rows as Record<string, unknown>[], {
    header: true,
    cast: { number: (v) => (Number.isFinite(v) ? String(v) : "") },
  });
}

const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function htmlTable(rows: readonly Record<string, unknown>[], digits = 4): string {
  if (!rows.length) return "<p>(none yet)</p>";
  const keys = Object.keys(rows[0]!);
  const cell = (
    v: unknown,
  ) => (typeof v === "number"
    ? (Number.isInteger(v) ? String(v) : v.toFixed(digits))
    : v === null
    ? "–"
    : escapeHtml(String(v)));
  return `<table><thead><tr>${keys.map((k) => `<th>${escapeHtml(k)}</th>`).join("")}</tr></thead><tbody>${
    rows.map((r) => `<tr>${keys.map((k) => `<td>${cell(r[k])}</td>`).join("")}</tr>`).join("")
  }</tbody></table>`;
}

/**
 * Write the report of `out`. `scenarios` (when known) give baselines, expected cells and the scenario text.
 *
 * @example
 * ```ts ignore
 * import { writeReport } from "./report.ts";
 * const r = await writeReport("reports/default", scenarios, expectedKeys);
 * ```
 */
export async function writeReport(
  out: string,
  scenarios: readonly ResolvedScenario[],
  expected: readonly string[],
  extra: { environment?: Record<string, unknown>; runFile?: RunFile | null } = {},
): Promise<ReportResult> {
  const records: CellRecord[] = await readAllCells(out);
  const baselineOf = (id: string) => scenarios.find((s) => s.id === id)?.baseline ?? "random";
  const curves = curveRows(records), perClass = perClassRows(records);
  const summary = summaryRows(records, baselineOf), stats = statsRows(records, baselineOf);
  const done = new Set(records.filter((r) => r.complete).map((r) => r.key));
  const missing = expected.filter((k) => !done.has(k));
  const files: string[] = [];
  const put = async (name: string, data: string | Uint8Array) => {
    await writeFileAtomic(`${out}/${name}`, data);
    files.push(name);
  };
  await put("curves.csv", csv(curves));
  await put("per_class.csv", csv(perClass));
  await put("summary.csv", csv(summary));
  await put("stats.csv", csv(stats));
  const figures = [
    {
      name: "fig1_learning_curves",
      spec: learningCurveSpec(curves),
      caption: "Fig. 1: F1 vs labelled samples.",
    },
    {
      name: "fig2_scenarios",
      spec: scenarioAverageSpec(curves),
      caption: "Fig. 2: macro F1 averaged over the AL iterations, per scenario.",
    },
    {
      name: "fig3_per_class",
      spec: perClassSpec(perClass),
      caption: "Per-class F1 and labelled positives at the last iteration.",
    },
  ];
  const svgs: string[] = [];
  for (const f of figures) {
    await put(`${f.name}.vl.json`, JSON.stringify(f.spec, null, 1));
    const svg = await renderSvg(f.spec);
    svgs.push(svg);
    await put(`${f.name}.svg`, svg);
    await put(`${f.name}.png`, await svgToPng(svg));
  }
  const headline: string[] = [];
  for (const s of scenarios) {
    for (
      const r of stats.filter((x) => x.scenario === s.id && x.at === "average" && x.metric === "macro_f1")
    ) {
      headline.push(
        `${s.id}: ${r.arm} − ${r.baseline} macro-F1 averaged over iterations ${
          (100 * r.mean_diff).toFixed(2)
        } points ` +
          `(95% CI ${(100 * r.ci_low).toFixed(2)} to ${
            (100 * r.ci_high).toFixed(2)
          }, n = ${r.n} seeds, paired t p = ${Number.isFinite(r.t_p) ? r.t_p.toFixed(3) : "n/a"})`,
      );
    }
  }
  const digest = resultDigest(records);
  const seconds = wallTimes(records);
  const manifest = {
    format: "albench-manifest-v1",
    scenarios: scenarios.map((s) => ({
      id: s.id,
      hash: s.hash,
      file: s.file ?? null,
      seeds: s.seeds,
      baseline: s.baseline,
    })),
    environment: extra.environment ?? records[0]?.environment ?? null,
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
    digest,
  };
  await put("manifest.json", JSON.stringify(manifest, null, 1));
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>albench report</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;font-size:12px;margin:1em 0}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#f4f4f4}pre{background:#f8f8f8;padding:1em;overflow:auto;font-size:11px}
figure{margin:1em 0}</style></head><body>
<h1>albench report</h1>
<p>${done.size} of ${expected.length} cells complete${
    missing.length
      ? `; missing: ${escapeHtml(missing.slice(0, 20).join(", "))}${missing.length > 20 ? " …" : ""}`
      : ""
  }.
Result digest <code>${digest}</code>. ${escapeHtml(wallTimesLine(seconds))}.</p>
${headline.length ? `<ul>${headline.map((h) => `<li>${escapeHtml(h)}</li>`).join("")}</ul>` : ""}
${
    figures.map((f, i) => `<figure>${svgs[i]}<figcaption>${escapeHtml(f.caption)}</figcaption></figure>`)
      .join("\n")
  }
<h2>Summary</h2>
<p>avg_macro_f1: per seed, macro F1 averaged over the AL iterations (Fig. 2), then mean and sd over seeds.
aubc: area under the macro-F1 vs labelled-samples curve divided by the labelled range (the curve's mean height).
labels_to_reach_baseline: the smallest number of labelled samples at which the arm's mean macro F1 reaches the
baseline's final mean macro F1.</p>
${htmlTable(summary as unknown as Record<string, unknown>[])}
<h2>Paired statistics (arm − baseline over seeds)</h2>
<p>95% CI from the t distribution; p-values of the paired t-test and the Wilcoxon signed-rank test (exact for up to 20 seeds).</p>
${htmlTable(stats.filter((r) => r.metric === "macro_f1") as unknown as Record<string, unknown>[])}
<h2>Scenarios</h2>
${
    scenarios.map((s) =>
      `<h3>${escapeHtml(s.id)} <small>(hash ${s.hash.slice(0, 12)})</small></h3><pre>${
        escapeHtml(JSON.stringify(s.scenario, null, 2))
      }</pre>`
    ).join("\n")
  }
<h2>Pre-training</h2>
${
    manifest.pretrain.length
      ? htmlTable(
        manifest.pretrain.map((p) => ({
          key: p.key.slice(0, 12),
          epochs: p.losses.length,
          first_loss: p.losses[0] ?? null,
          last_loss: p.losses.at(-1) ?? null,
          probe_mAP_random_init: p.probe.randomInitMap,
          probe_mAP_pretrained: p.probe.pretrainedMap,
        })),
      )
      : "<p>No pre-training in these scenarios.</p>"
  }
<p>Linear probe: logistic regression on frozen features, trained on half of the first seed's validation set and scored on the other half.</p>
<h2>Environment</h2><pre>${escapeHtml(JSON.stringify(manifest.environment, null, 2))}</pre>
</body></html>
`;
  await put("index.html", html);
  return { digest, cells: records.length, complete: done.size, missing, files, headline, wallTimes: seconds };
}
