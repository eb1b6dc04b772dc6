/**
 * `index.html` as a report a researcher reads: what the run concludes first — a matrix of every arm's paired gain
 * per scenario and metric with a mark for its verdict, then the sentences from the statistics grouped by arm, and
 * the paper's published values beside albench's where a scenario reproduces a paper figure — then the figures
 * with captions, compact tables of both metrics that fit the page, and the audit material
 * (per-budget statistics, pre-training, scenario files, environment) collapsed at the end. Self-contained: inline
 * SVG, no scripts, nothing fetched.
 *
 * @module
 */
import type { FieldMetricRow } from "./field_metrics.ts";
import type { ResolvedScenario } from "../scenario/load.ts";
import type { ReportModel } from "./build.ts";
import type { StatsRow } from "./tables.ts";
import { wallTimesLine } from "./tables.ts";
import { points, pText } from "./words.ts";
import { MATRIX_LEGEND, type MatrixCell } from "./matrix.ts";
import { paperRowText } from "./paper.ts";
import { MAX_THUMBNAILS, NO_DATASET_NOTE, noThumbnails, pngDataUrl, type Thumbnails } from "./thumbnails.ts";

/**
 * Escape text for HTML element content and attribute values.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./html.ts";
 * console.assert(escapeHtml(`<a href="x">&</a>`) === "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
 * ```
 */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

type Cell = string | number | null;

function table(
  head: readonly string[],
  rows: readonly (readonly Cell[])[],
  caption?: string,
  id?: string,
): string {
  if (!rows.length) return "<p>(none yet)</p>";
  const td = (v: Cell) => `<td>${v === null ? "–" : escapeHtml(String(v))}</td>`;
  return `<table${id ? ` id="${id}"` : ""}>${
    caption ? `<caption>${escapeHtml(caption)}</caption>` : ""
  }<thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>${
    rows.map((r) => `<tr>${r.map(td).join("")}</tr>`).join("")
  }</tbody></table>`;
}

const oneLine = (label: string) => label.replace("\n", " · ").replaceAll("\n", " ");
const pct = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(2) : "–");
const pm = (m: number, s: number) => `${pct(m)} ± ${pct(s)}`;
const ci = (r: Pick<StatsRow, "ci_low" | "ci_high">) =>
  Number.isFinite(r.ci_low) ? `${points(r.ci_low)} to ${points(r.ci_high)}` : "none (n = 1)";
const METRIC = { macro_f1: "macro", micro_f1: "micro" } as const;

function summaryTable(m: ReportModel): string {
  return table(
    [
      "scenario",
      "arm",
      "seeds",
      "labels",
      "final macro",
      "final micro",
      "avg macro",
      "avg micro",
      "reach macro",
    ],
    m.summary.map((r) => [
      oneLine(m.labels[r.scenario] ?? r.scenario),
      r.arm,
      r.seeds,
      r.final_labelled,
      pm(r.final_macro_f1_mean, r.final_macro_f1_sd),
      pm(r.final_micro_f1_mean, r.final_micro_f1_sd),
      pm(r.avg_macro_f1_mean, r.avg_macro_f1_sd),
      pm(r.avg_micro_f1_mean, r.avg_micro_f1_sd),
      r.labels_to_reach_baseline,
    ]),
    "F1 in %, mean ± sd over seeds. final: at the last round; avg: per seed averaged over rounds 1…T. " +
      "reach macro: the fewest labels at which the arm's mean macro F1 reaches the baseline's final one.",
  );
}

function statsTable(m: ReportModel, rows: readonly StatsRow[], caption: string): string {
  return table(
    ["scenario", "arm − baseline", "metric", "over", "diff", "95% CI", "t p", "Wilcoxon p", "seeds for 80%"],
    rows.map((r) => [
      oneLine(m.labels[r.scenario] ?? r.scenario),
      `${r.arm} − ${r.baseline}`,
      METRIC[r.metric],
      r.at === "average" ? "rounds 1…T" : r.at === "aubc" ? "AUBC" : r.at.replace("labelled=", "n = "),
      points(r.mean_diff),
      ci(r),
      pText(r.t_p),
      pText(r.wilcoxon_p),
      r.seeds_for_80_power,
    ]),
    caption,
  );
}

function gainChangeTable(m: ReportModel): string {
  if (!m.gainChange.length) return "";
  const name = (id: string) => m.labels[id]?.split("\n")[0] ?? id;
  return `<h3>Change in gain between scenarios</h3>${
    table(
      ["change", "arm − baseline", "metric", "diff", "95% CI", "t p", "seeds for 80%"],
      m.gainChange.map((r) => [
        `${name(r.scenario)} − ${name(r.reference)}`,
        `${r.arm} − ${r.baseline}`,
        METRIC[r.metric],
        points(r.mean_diff),
        ci(r),
        pText(r.t_p),
        r.seeds_for_80_power,
      ]),
      "Per seed: (gain averaged over rounds 1…T in the later scenario) − (the same in the first), in F1 points, " +
        "paired by seed. The paper's claim that the gain grows with imbalance is a positive change.",
    )
  }`;
}

const QUANTITY: Record<FieldMetricRow["quantity"], string> = {
  label_efficiency: "labels to reach the baseline's final macro F1 (fraction of its labels)",
  early_rounds: "macro F1, early rounds",
  late_rounds: "macro F1, late rounds",
  rare_classes: "F1 of the classes made rare",
};

function fieldMetricsTable(m: ReportModel): string {
  if (!m.fieldMetrics.length) return "";
  const name = (id: string) => m.labels[id]?.split("\n")[0] ?? id;
  return `<h3>Label efficiency, early and late rounds, rare classes</h3>${
    table(
      ["scenario", "arm − baseline", "quantity", "rounds", "value", "95% CI", "seeds"],
      m.fieldMetrics.map((r) => {
        const frac = r.quantity === "label_efficiency";
        const v = (x: number) => (Number.isFinite(x) ? (frac ? x.toFixed(2) : points(x)) : "n/a");
        return [
          name(r.scenario),
          `${r.arm} − ${r.baseline}`,
          QUANTITY[r.quantity],
          r.quantity === "rare_classes" ? `1…T, ${r.over} classes` : r.over,
          v(r.mean),
          Number.isFinite(r.ci_low) ? `${v(r.ci_low)} to ${v(r.ci_high)}` : "n/a",
          `${r.n}${r.not_reached ? ` (${r.not_reached} never reached)` : ""}`,
        ];
      }),
      "Label efficiency: per seed, the labels at which the arm's macro-F1 curve (linear between rounds) first " +
        "reaches the baseline's final macro F1, divided by the baseline's final labels (below 1: fewer labels); " +
        "seeds that never reach it are counted apart. Early/late: the paired macro-F1 difference averaged over the " +
        "first and second half of rounds 1…T, in points. Rare classes: the paired difference of the mean F1 of " +
        "the classes each seed's split made rare, rounds 1…T, in points. Intervals: 95% t over seeds.",
    )
  }`;
}

const FINDING_WORDS: Record<MatrixCell["finding"], string> = {
  higher: "higher: the 95% interval lies above zero",
  lower: "lower: the 95% interval lies below zero",
  "no-evidence": "no evidence of a difference: the 95% interval contains zero",
  identical: "identical in every seed",
  "direction-only": "direction only: no interval",
};

/** Rounds T per scenario: the largest iteration index in its curves. */
function roundsOf(m: ReportModel): Map<string, number> {
  const t = new Map<string, number>();
  for (const r of m.curves) t.set(r.scenario, Math.max(t.get(r.scenario) ?? 0, r.iteration));
  return t;
}

/** The summary matrix (`id="summary-matrix"`) and its legend; nothing without a paired comparison. */
function matrixSection(m: ReportModel): string {
  const { columns, rows } = m.matrix;
  if (!rows.length) return "";
  const scenarios = [...new Set(columns.map((c) => c.scenario))];
  const ts = new Set(scenarios.map((s) => roundsOf(m).get(s)));
  const over = ts.size === 1 && [...ts][0] !== undefined ? `rounds 1–${[...ts][0]}` : "rounds 1…T";
  const cell = (c: MatrixCell | null) => {
    if (!c) return `<td class="g">–</td>`;
    const [gain, ...interval] = c.text.split(" ");
    return `<td class="g f-${c.finding}" title="${
      escapeHtml(`${FINDING_WORDS[c.finding]}; ${c.n} seed${c.n === 1 ? "" : "s"}`)
    }"><span class="mk">${c.mark}</span> <span class="nw">${escapeHtml(gain!)}</span> <span class="ci">${
      escapeHtml(interval.join(" "))
    }</span></td>`;
  };
  const byArm = new Map<string, typeof rows[number][]>();
  for (const r of rows) byArm.set(r.arm, [...(byArm.get(r.arm) ?? []), r]);
  const body = [...byArm.values()].map((group) =>
    group.map((r, i) =>
      `<tr>${
        i === 0
          ? `<td${group.length > 1 ? ` rowspan="${group.length}"` : ""}>${
            escapeHtml(`${r.arm} − ${r.baselines.join(" / ")}`)
          }</td>`
          : ""
      }<td>${r.at === "average" ? over : "AUBC"}</td>${r.cells.map(cell).join("")}</tr>`
    ).join("")
  ).join("\n");
  const METRIC_HEAD = { macro_f1: "macro F1", micro_f1: "micro F1" } as const;
  return `<table id="summary-matrix"><caption>Paired gain arm − baseline in F1 points with its 95% interval, by ` +
    `scenario and metric. ${
      escapeHtml(over)
    }: per seed averaged over the AL rounds; AUBC: area under the whole ` +
    `budget curve. The sentences below say the same in words.</caption><thead><tr><th rowspan="2">arm − baseline` +
    `</th><th rowspan="2">F1 over</th>${
      scenarios.map((s) =>
        `<th colspan="${columns.filter((c) => c.scenario === s).length}">${
          escapeHtml(oneLine(m.labels[s] ?? s))
        }</th>`
      ).join("")
    }</tr><tr>${
      columns.map((c) => `<th>${METRIC_HEAD[c.metric]}</th>`).join("")
    }</tr></thead><tbody>${body}` +
    `</tbody></table>\n<p class="meta legend">${escapeHtml(MATRIX_LEGEND)}</p>`;
}

/** The conclusions, one heading and list per arm, then the changes in gain between scenarios. */
function conclusionsSection(m: ReportModel): string {
  if (!m.conclusionGroups.length) {
    return "<p>No paired comparison yet: the baseline and another arm need complete cells with the same seeds.</p>";
  }
  return m.conclusionGroups.map((g) =>
    `<h3>${escapeHtml(g.heading)}</h3>\n<ul class="conclusions">${
      g.sentences.map((c) => `<li>${escapeHtml(c)}</li>`).join("\n")
    }</ul>`
  ).join("\n");
}

/** The paper's published values beside albench's, where a scenario reproduces a paper figure. */
function paperSection(m: ReportModel): string {
  if (!m.paper) return "";
  const rows = m.paper.rows.map((r) => {
    const t = paperRowText(r);
    return [oneLine(m.labels[r.scenario] ?? r.scenario), r.arm, r.quantity, t.paper, t.albench, t.within];
  });
  return `<h2>The paper's published values</h2>\n${
    table(
      ["scenario", "arm", "quantity", "paper", "albench [95% CI]", "paper inside albench's CI"],
      rows,
      "F1 in %, gains in F1 points (both 100 × F1). albench: mean over seeds with the 95% t-interval (for a " +
        "gain, paired by seed).",
      "paper-reference",
    )
  }\n<p class="meta">${escapeHtml(m.paper.note)}</p>\n`;
}

/**
 * "What each arm picked first": per scenario and arm a row of thumbnails of its first query's picks, the id and
 * labels under each; a sentence for each scenario (or the whole section) without them.
 */
function thumbnailsSection(m: ReportModel, t: Thumbnails): string {
  const seeds = [...new Set(t.rows.map((r) => r.seed))];
  const intro = t.rows.length
    ? `<p class="meta">The images each arm's first query picked (after round 0) ${
      seeds.length === 1 ? `in seed ${seeds[0]}` : "in its first complete seed, named in its row"
    }, at most ${MAX_THUMBNAILS} in the order the query returned them, each with its id and labels. The class ` +
      "histogram of what each arm queried over all rounds is Fig. 5 and queried_classes.csv.</p>\n"
    : "";
  const rows = t.rows.map((r) => {
    const head = `<div class="pick-head">${escapeHtml(oneLine(m.labels[r.scenario] ?? r.scenario))}<br><b>${
      escapeHtml(r.arm)
    }</b> · seed ${r.seed} · ${r.thumbnails.length} of ${r.selected} picked</div>`;
    const figures = r.thumbnails.map((x) => {
      const words = `${x.id}: ${x.labels.length ? x.labels.join(", ") : "no labels"}`;
      return `<figure class="thumb" style="width:${Math.max(x.shown, 84)}px"><img src="${
        pngDataUrl(x.png)
      }" ` +
        `width="${x.shown}" height="${x.shown}" alt="${escapeHtml(words)}" title="${escapeHtml(words)}">` +
        `<figcaption><span class="tid">${escapeHtml(x.id)}</span><br>${
          escapeHtml(x.labels.join(", ") || "no labels")
        }</figcaption></figure>`;
    }).join("");
    return `<div class="picks">${head}${figures}</div>`;
  }).join("\n");
  return `<h2>What each arm picked first</h2>\n${intro}${rows}${rows ? "\n" : ""}${
    t.notes.map((n) => `<p class="meta">${escapeHtml(n)}</p>`).join("\n")
  }\n`;
}

function pretrainTable(m: ReportModel): string {
  if (!m.manifest.pretrain.length) return "<p>No pre-training in these scenarios.</p>";
  return table(
    [
      "key",
      "epochs",
      "first loss",
      "last loss",
      "probe mAP, random init",
      "probe mAP, pre-trained",
      "probe images",
    ],
    m.manifest.pretrain.map((p) => [
      p.key.slice(0, 12),
      p.losses.length,
      p.losses[0]?.toFixed(4) ?? null,
      p.losses.at(-1)?.toFixed(4) ?? null,
      p.probe.randomInitMap.toFixed(4),
      p.probe.pretrainedMap.toFixed(4),
      p.probe.images === undefined
        ? "seed 0's validation set (not checked against the archive)"
        : `${p.probe.images}, ${
          p.probe.heldOut ? "held out" : "in the BYOL archive"
        } (seed ${p.probe.valSeed})`,
    ]),
    "Linear probe: logistic regression on frozen features, trained on half of the probe images and scored on the " +
      "other half; the probe images are the validation images of the backbone's seed that were not in its " +
      "pre-training archive (held out), unless the archive is every image.",
  );
}

const STYLE = `body{font-family:"DejaVu Sans",sans-serif;margin:1.5em auto;max-width:1100px;padding:0 1em;
line-height:1.45;color:#222}h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:12.5px;margin:.6em 0 1.2em;max-width:100%}
caption{caption-side:bottom;text-align:left;font-size:12px;color:#555;padding-top:.3em}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right;overflow-wrap:anywhere}
th{background:#f4f4f4}td:first-child,td:nth-child(2){text-align:left}
figure{margin:1.2em 0}figure svg{max-width:100%;height:auto}figcaption{font-size:13px;color:#444}
pre{background:#f8f8f8;padding:1em;font-size:11px;white-space:pre-wrap;overflow-wrap:anywhere}
.conclusions li{margin:.35em 0}.meta{color:#555;font-size:13px;overflow-wrap:anywhere}
details{margin:.6em 0}summary{cursor:pointer;font-weight:bold}
#summary-matrix td,#summary-matrix th{overflow-wrap:normal}#summary-matrix th{text-align:center}
#summary-matrix th:first-child{text-align:left}#summary-matrix td.g{text-align:center}
#summary-matrix .nw{white-space:nowrap}#summary-matrix .ci{display:block}#summary-matrix .mk{font-weight:bold}
#summary-matrix td.f-higher{background:#e3f2e6}#summary-matrix td.f-lower{background:#fbe4e4}`;
/** Only on a page with the paper's values. */
const PAPER_STYLE = `
#paper-reference td{overflow-wrap:normal}#paper-reference td:nth-child(3){text-align:left}`;

/** Only on a page with thumbnails. */
const THUMB_STYLE = `
.picks{display:flex;flex-wrap:wrap;gap:6px;align-items:flex-start;margin:.5em 0;padding-top:.4em;
border-top:1px solid #eee}.pick-head{flex:0 0 12em;font-size:12.5px;overflow-wrap:anywhere}
figure.thumb{margin:0}figure.thumb img{display:block;image-rendering:pixelated;border:1px solid #ccc}
figure.thumb figcaption{font-size:10px;line-height:1.25;color:#444;overflow-wrap:anywhere}
.thumb .tid{color:#222}`;

/**
 * Everything the page needs that is not in the model: the scenarios' text, the figures' SVG (in order) and the
 * thumbnails of what each arm picked first (without them, the section says the datasets were not read).
 */
export interface HtmlInputs {
  readonly scenarios: readonly ResolvedScenario[];
  readonly svgs: readonly string[];
  readonly thumbnails?: Thumbnails;
  /** The sentence on the run's pre-registration (shown under the counts). */
  readonly preregistration?: string;
  /** The sequential design and its verdicts, one line each (shown before the conclusions). */
  readonly sequential?: readonly string[];
}

/**
 * The report page of `model`.
 *
 * @example
 * ```ts
 * import { buildReport } from "./build.ts";
 * import { reportHtml } from "./html.ts";
 * const model = buildReport([], [], []);
 * const html = reportHtml(model, { scenarios: [], svgs: model.figures.map(() => "<svg></svg>") });
 * console.assert(html.indexOf("Conclusions") < html.indexOf("<figure>"));
 * ```
 */
export function reportHtml(model: ReportModel, inputs: HtmlInputs): string {
  const m = model;
  const families = [...new Set(inputs.scenarios.map((s) => s.id.split("/")[0]!))];
  const missing = m.missing.length
    ? `; missing: ${escapeHtml(m.missing.slice(0, 12).join(", "))}${m.missing.length > 12 ? " …" : ""}`
    : "";
  const averages = m.stats.filter((r) => r.at === "average" || r.at === "aubc");
  const budgets = m.stats.filter((r) => r.at.startsWith("labelled="));
  const done = cellsLine(m.expected.length, m.missing.length, m.complete);
  const thumbs = inputs.thumbnails ?? noThumbnails(m.picked, NO_DATASET_NOTE);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>albench report${families.length ? `: ${escapeHtml(families.join(", "))}` : ""}</title>
<style>${STYLE}${m.paper ? PAPER_STYLE : ""}${thumbs.rows.length ? THUMB_STYLE : ""}</style></head><body>
<h1>albench report${families.length ? `: ${escapeHtml(families.join(", "))}` : ""}</h1>
<p class="meta">${done}${missing}. Result digest <code>${m.digest}</code>.
${escapeHtml(wallTimesLine(m.wallTimes))}.</p>
${
    inputs.preregistration
      ? `<p class="meta" id="preregistration">${escapeHtml(inputs.preregistration)}</p>\n`
      : ""
  }${
    inputs.sequential?.length
      ? `<h2>Sequential verdicts</h2>\n<ul id="sequential">${
        inputs.sequential.map((l) => `<li>${escapeHtml(l)}</li>`).join("")
      }</ul>\n<p class="meta">These verdicts hold the error rate over every look (docs/reports.md, "Sequential ` +
        `comparisons"); the fixed-sample intervals below treat the seeds run as if fixed in advance.</p>\n`
      : ""
  }${m.matrix.rows.length ? `<h2>Summary</h2>\n${matrixSection(m)}\n` : ""}<h2>Conclusions</h2>
${conclusionsSection(m)}
<p class="meta">Wording rules: an arm is called higher or lower than the baseline only when the paired 95% interval
over seeds excludes zero (significant at the 5% level); otherwise the report says there is no evidence of a
difference with that many seeds and gives the seeds a paired t-test would need for 80% power at the observed effect.
Averages leave out the initial round, where every arm is identical by construction.</p>
${m.notes.map((n) => `<p class="meta">${escapeHtml(n)}</p>`).join("\n")}
${paperSection(m)}<h2>Figures</h2>
${
    m.figures.map((f, i) =>
      `<figure>${inputs.svgs[i] ?? ""}<figcaption>${escapeHtml(f.caption)}</figcaption></figure>`
    ).join("\n")
  }
${thumbnailsSection(m, thumbs)}<h2>Tables</h2>
<h3>Per arm</h3>
${summaryTable(m)}
<h3>Paired differences to the baseline</h3>
${
    statsTable(
      m,
      averages,
      "In F1 points, arm − baseline, paired by seed. rounds 1…T: per seed averaged over the AL rounds; AUBC: area " +
        "under the whole budget curve over the labelled range. seeds for 80%: how many seeds a paired t-test " +
        "would need for 80% power if the true effect were the observed one.",
    )
  }
${gainChangeTable(m)}
${fieldMetricsTable(m)}
<details><summary>Every budget (${budgets.length} comparisons, unadjusted p; Holm-adjusted in stats.csv)</summary>
${statsTable(m, budgets, "In F1 points, arm − baseline at each labelled count.")}
</details>
<h2>Pre-training</h2>
${pretrainTable(m)}
<h2>Scenarios and environment</h2>
${
    inputs.scenarios.map((s) =>
      `<details><summary>${escapeHtml(s.id)} (hash ${s.hash.slice(0, 12)})</summary><pre>${
        escapeHtml(JSON.stringify(s.scenario, null, 2))
      }</pre></details>`
    ).join("\n")
  }
<details><summary>Environment</summary><pre>${
    escapeHtml(JSON.stringify(m.manifest.environment, null, 2))
  }</pre></details>
<p class="meta">Files: curves.csv, per_class.csv, queried_classes.csv, summary.csv, stats.csv, gain_change.csv,
manifest.json and each
figure as .vl.json (Vega-Lite, data inlined), .svg and .png.</p>
</body></html>
`;
}

/**
 * The report's count of cells: of the cells this run expects, how many are complete, and apart from them the
 * complete cells the folder holds from earlier runs (a second `compare` into a folder adds arms; "24 of 18" read
 * as a miscount).
 *
 * @example
 * ```ts
 * import { cellsLine } from "./html.ts";
 * console.assert(cellsLine(18, 0, 24) === "18 of 18 cells complete, and 6 more complete cells of earlier runs in this folder");
 * console.assert(cellsLine(4, 1, 3) === "3 of 4 cells complete");
 * console.assert(cellsLine(0, 0, 5) === "5 cells complete");
 * ```
 */
export function cellsLine(expected: number, missing: number, complete: number): string {
  if (expected === 0) return `${complete} cell${complete === 1 ? "" : "s"} complete`;
  const mine = expected - missing, others = complete - mine;
  return `${mine} of ${expected} cells complete` +
    (others > 0
      ? `, and ${others} more complete cell${others === 1 ? "" : "s"} of earlier runs in this folder`
      : "");
}
