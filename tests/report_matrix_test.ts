/**
 * The report that answers first (issue #29, item 4): the summary matrix, the conclusions grouped by arm, the
 * paper's published values as a reference layer, and the class histogram of what each arm queried — each against
 * numbers worked out here by hand from hand-made tables and records, never by the report code.
 */
import assert from "node:assert/strict";
import { CHROMIUM, dumpDom } from "./chromium.ts";
import type { CellRecord } from "../src/records/records.ts";
import type { StatsRow } from "../src/report/tables.ts";
import { queriedClassRows } from "../src/report/tables.ts";
import { FINDING_MARK, summaryMatrix } from "../src/report/matrix.ts";
import { buildReport } from "../src/report/build.ts";
import { escapeHtml, reportHtml } from "../src/report/html.ts";
import { learningCurveSpec, queriedClassSpec, scenarioAverageSpec } from "../src/report/specs.ts";
import { PAPER_LABEL } from "../src/report/paper.ts";
import { csv } from "../src/report/report.ts";
import { renderSvg } from "../src/report/render.ts";
import { loadScenarioFile, type ResolvedScenario } from "../src/scenario/load.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const close = (a: number, b: number, what: string, eps = 1e-12) =>
  assert.ok(Math.abs(a - b) < eps, `${what}: ${a} vs ${b}`);

/** A stats.csv row with only what the matrix reads filled in by the caller. */
function stat(
  scenario: string,
  arm: string,
  at: string,
  metric: "macro_f1" | "micro_f1",
  n: number,
  mean: number,
  low: number,
  high: number,
  sd = 0.01,
): StatsRow {
  return {
    scenario,
    arm,
    baseline: "random",
    at,
    metric,
    n,
    mean_diff: mean,
    sd_diff: sd,
    ci_low: low,
    ci_high: high,
    t_p: 0.5,
    holm_t_p: null,
    wilcoxon_p: 0.5,
    wilcoxon_floor: 0.5,
    seeds_for_80_power: null,
  };
}

Deno.test("matrix: gains in points with their interval and the verdict's mark, per arm, scenario and metric", () => {
  const rows = [
    stat("f/s1", "alpha", "labelled=60", "macro_f1", 5, 0.5, 0.4, 0.6), // per budget: not in the matrix
    stat("f/s1", "alpha", "average", "macro_f1", 5, 0.021, 0.004, 0.038), // higher
    stat("f/s1", "alpha", "average", "micro_f1", 5, -0.012, -0.02, -0.005), // lower
    stat("f/s3", "alpha", "average", "macro_f1", 5, 0.005, -0.003, 0.013), // no evidence
    stat("f/s3", "alpha", "average", "micro_f1", 3, 0, 0, 0, 0), // identical in every seed
    stat("f/s1", "alpha", "aubc", "macro_f1", 5, 0.03, 0.01, 0.05),
    stat("f/s1", "beta", "average", "macro_f1", 1, 0.01, NaN, NaN, NaN), // one seed: direction only
  ];
  // The scenario file lists s3 first: its columns come first, whatever order the rows are in.
  const m = summaryMatrix(rows, ["f/s3", "f/s1"]);
  assert.deepEqual(m.columns.map((c) => `${c.scenario}:${c.metric}`), [
    "f/s3:macro_f1",
    "f/s3:micro_f1",
    "f/s1:macro_f1",
    "f/s1:micro_f1",
  ]);
  const show = (r: (typeof m.rows)[number]) =>
    [r.arm, r.at, ...r.cells.map((c) => (c ? `${c.mark} ${c.text}` : "-"))].join(" | ");
  assert.deepEqual(m.rows.map(show), [
    "alpha | average | ≈ +0.50 [−0.30, +1.30] | = 0.00 [0.00, 0.00] | ▲ +2.10 [+0.40, +3.80] | ▼ −1.20 [−2.00, −0.50]",
    "alpha | aubc | - | - | ▲ +3.00 [+1.00, +5.00] | -",
    "beta | average | - | - | · +1.00 (1 seed) | -",
  ]);
  assert.deepEqual(m.rows[0]!.cells.map((c) => c!.finding), ["no-evidence", "identical", "higher", "lower"]);
  assert.equal(m.rows[2]!.cells[2]!.finding, "direction-only");
  assert.deepEqual(m.rows.map((r) => r.baselines), [["random"], ["random"], ["random"]]);
  // Each finding has its own mark, the five of the legend.
  assert.deepEqual(Object.values(FINDING_MARK), ["▲", "▼", "≈", "=", "·"]);
  // Without any average or AUBC row (no paired comparison yet), an empty matrix.
  assert.deepEqual(summaryMatrix([rows[0]!]), { columns: [], rows: [] });
});

/** A complete cell: macro/micro F1 per round, labelled 40, 60, …, and class counts per round (two classes). */
function cell(
  scenario: string,
  arm: string,
  seed: number,
  macro: number[],
  micro: number[],
  counts?: number[][],
  removedClasses?: string[],
): CellRecord {
  return {
    format: "albench-cell-v1",
    key: `${scenario}/${arm}/seed-${seed}`,
    scenario,
    scenarioHash: "h",
    arm,
    query: arm,
    seed,
    classNames: ["a", "b"],
    pretrainKey: null,
    environment: {},
    complete: true,
    ...(removedClasses ? { split: { removedClasses } } : {}),
    iterations: macro.map((m, t) => ({
      iteration: t,
      labelled: 40 + 20 * t,
      selected: [],
      test: { microF1: micro[t]!, macroF1: m, mAP: 0, perClassF1: [m, m] },
      classCounts: counts?.[t] ?? [1, 1],
      trainLoss: 0,
      seconds: { finetune: 1, inference: 1, query: 0 },
    })),
  } as unknown as CellRecord;
}

Deno.test("conclusions: grouped by arm with the sentences unchanged, gain changes in a group of their own", () => {
  const s1 = "fam/s1", s3 = "fam/s3";
  const flat = [0.2, 0.4, 0.5], up = [0.2, 0.5, 0.7];
  const records = [s1, s3].flatMap((s) =>
    [0, 1].flatMap((seed) => [
      cell(s, "random", seed, flat, flat),
      cell(s, "alpha", seed, up, flat),
      cell(s, "beta", seed, flat, up),
    ])
  );
  const model = buildReport(records, [], records.map((r) => r.key));
  const groups = model.conclusionGroups;
  assert.deepEqual(groups.map((g) => g.heading), [
    "alpha − random",
    "beta − random",
    "Change in gain between scenarios",
  ]);
  // Every sentence of the flat list appears once, in exactly one group, word for word.
  assert.deepEqual([...groups.flatMap((g) => g.sentences)].sort(), [...model.conclusions].sort());
  // An arm's group holds its four comparisons (2 scenarios × 2 metrics), scenario first, and only its own.
  for (const [i, arm] of ["alpha", "beta"].entries()) {
    const g = groups[i]!;
    assert.equal(g.sentences.length, 4);
    assert.ok(
      g.sentences.every((s) => s.includes(`${arm} `) && !s.includes(arm === "alpha" ? "beta" : "alpha")),
    );
    assert.deepEqual(g.sentences.map((s) => s.slice(0, 6)), ["fam/s1", "fam/s1", "fam/s3", "fam/s3"]);
    assert.deepEqual(g.sentences.map((s) => /macro F1/.test(s)), [true, false, true, false]);
  }
  // alpha's macro gain: per seed (0.6 − 0.45) = +15 points in both seeds → higher; its micro is identical.
  assert.match(
    groups[0]!.sentences[0]!,
    /^fam\/s1: alpha is higher than random in macro F1 averaged over rounds 1–2/,
  );
  assert.match(groups[0]!.sentences[1]!, /^fam\/s1: alpha and random are identical in micro F1/);
  assert.ok(groups[2]!.sentences.every((s) => /(changes from|same in) fam\/s1 (to|and) fam\/s3/.test(s)));
  assert.equal(groups[2]!.sentences.length, 4);
  // The page shows one heading and list per group, in that order, after the matrix.
  const html = reportHtml(model, { scenarios: [], svgs: model.figures.map(() => "<svg></svg>") });
  const at = (s: string) => html.indexOf(s);
  assert.ok(at('id="summary-matrix"') > 0 && at('id="summary-matrix"') < at("<h2>Conclusions</h2>"));
  assert.ok(at("<h2>Conclusions</h2>") < at("<h3>alpha − random</h3>"));
  assert.ok(at("<h3>alpha − random</h3>") < at("<h3>beta − random</h3>"));
  assert.ok(at("<h3>beta − random</h3>") < at("<h3>Change in gain between scenarios</h3>"));
  assert.ok(at("<h3>alpha − random</h3>") < at(groups[0]!.sentences[0]!.slice(0, 40)));
  // The first sentence comes after the matrix and its legend.
  const firstLi = at('<ul class="conclusions"><li>');
  assert.ok(at("▲ higher: the paired 95% interval lies above zero") < firstLi);
});

/** Cells of one scenario: mge-clustering and random, two seeds, rounds 0…8 (40…200 labels). */
function ucmScenarioCells(scenario: string, rounds = 8): CellRecord[] {
  const curve = (start: number, step: number, shift: number) =>
    Array.from({ length: rounds + 1 }, (_, t) => start + (t === 0 ? 0 : step * t + shift));
  return [0, 1].flatMap((seed) => [
    cell(scenario, "mge-clustering", seed, curve(0.3, 0.05, 0.02 * seed), curve(0.5, 0.03, 0.01 * seed)),
    cell(scenario, "random", seed, curve(0.3, 0.05, 0), curve(0.5, 0.03, 0)),
  ]);
}

type Spec = Record<string, unknown>;
type Values = { values: Record<string, unknown>[] };

/** Every `data.values` row of a spec, wherever it sits, with `paper` set. */
function paperRows(spec: unknown): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const walk = (x: unknown) => {
    if (Array.isArray(x)) return x.forEach(walk);
    if (x && typeof x === "object") {
      const o = x as Spec;
      if (o.data && Array.isArray((o.data as Values).values)) {
        out.push(...(o.data as Values).values.filter((v) => v.paper !== undefined));
      }
      Object.values(o).forEach(walk);
    }
  };
  walk(spec);
  return out;
}

Deno.test("paper layer: present for UCMerced Fig. 1/Fig. 2 scenarios, absent for the synthetic one", async () => {
  // The real scenario files: UCMerced Scenarios 1–3 (cpu-fig2) and the synthetic default, decided by their content.
  const ucm = await loadScenarioFile(`${ROOT}scenarios/cpu/fig2.json`);
  const synthetic = await loadScenarioFile(`${ROOT}scenarios/default.json`);
  assert.deepEqual(ucm.map((s) => s.scenario.imbalance?.removePerClass), [0, 20, 40]);
  const records = ucm.flatMap((s) => ucmScenarioCells(s.id));
  const model = buildReport(records, ucm, records.map((r) => r.key));
  const s1 = ucm[0]!, s3 = ucm[2]!;

  // Fig. 1: the paper's values at 180 labels, for both arms and metrics, in Scenario 1's row only.
  const fig1 = model.figures.find((f) => f.name === "fig1_learning_curves")!.spec;
  const points = paperRows(fig1).map((v) =>
    `${String(v.scenario).split("\n")[0]} ${v.arm} ${v.paper_labelled} ${v.paper_value} ${v.paper}`
  );
  assert.deepEqual(points.sort(), [
    `scenario-1 mge-clustering 180 0.8174 ${PAPER_LABEL}`,
    `scenario-1 mge-clustering 180 0.818 ${PAPER_LABEL}`,
    `scenario-1 random 180 0.798 ${PAPER_LABEL}`,
    `scenario-1 random 180 0.8039 ${PAPER_LABEL}`,
  ]);
  // Macro values in the macro panel, micro in the micro panel.
  const panels = (fig1 as { hconcat: { data: Values }[] }).hconcat;
  assert.deepEqual(paperRows(panels[0]).map((v) => v.paper_value).sort(), [0.798, 0.818]);
  assert.deepEqual(paperRows(panels[1]).map((v) => v.paper_value).sort(), [0.8039, 0.8174]);

  // Fig. 2: +1.6 points (Scenario 1) and +4.0 (Scenario 3) beside mge-clustering − random, macro F1 only.
  const fig2 = model.figures.find((f) => f.name === "fig2_scenarios")!.spec as {
    vconcat: { hconcat: unknown[] }[];
  };
  const gains = (row: number) =>
    paperRows(fig2.vconcat[row]!.hconcat[1]).map((v) =>
      `${String(v.scenario).split("\n")[0]} ${v.arm} ${(v.mean as number).toFixed(10)}`
    );
  assert.deepEqual(gains(0), [
    "scenario-1 mge-clustering − random 1.6000000000",
    "scenario-3 mge-clustering − random 4.0000000000",
  ]);
  assert.deepEqual(gains(1), []);
  assert.deepEqual(paperRows(fig2.vconcat[0]!.hconcat[0]), [], "no paper value on the arms' own panel");

  // The table beside albench's numbers, by hand. At 180 labels (t = 7) mge macro per seed: 0.3 + 0.35 + 0.02·seed
  // = 0.65, 0.67 → mean 0.66, sd √0.0002, se 0.01, t(0.975, 1) = tan(0.475π).
  const rows = model.paper!.rows;
  const macroMge = rows.find((r) =>
    r.figure === 1 && r.arm === "mge-clustering" && /macro/.test(r.quantity)
  )!;
  assert.equal(macroMge.paper, 0.818);
  close(macroMge.albench!.mean, 0.66, "albench macro at 180");
  const q = Math.tan(0.475 * Math.PI);
  close(macroMge.albench!.low, 0.66 - q * 0.01, "its CI low", 1e-9);
  assert.equal(macroMge.withinCi, macroMge.albench!.low <= 0.818 && 0.818 <= macroMge.albench!.high);
  // Random is the same in both seeds (0.65): a zero-width interval that does not hold 0.798.
  const macroRandom = rows.find((r) => r.figure === 1 && r.arm === "random" && /macro/.test(r.quantity))!;
  close(macroRandom.albench!.mean, 0.65, "random macro at 180");
  assert.equal(macroRandom.withinCi, false);
  // Fig. 2 rows: the per-seed gain averaged over rounds 1…8 is 0.02·seed (0, 0.02) → mean +1 point.
  const gainRows = rows.filter((r) => r.figure === 2);
  assert.deepEqual(gainRows.map((r) => [r.scenario, r.arm, r.paper]), [
    [s1.id, "mge-clustering − random", 0.016],
    [s3.id, "mge-clustering − random", 0.04],
  ]);
  close(gainRows[0]!.albench!.mean, 0.01, "albench gain");
  assert.equal(gainRows[0]!.albench!.n, 2);
  // The words: what the paper reported, that the regime differs, and how, read off the scenario.
  const html = reportHtml(model, { scenarios: ucm, svgs: model.figures.map(() => "<svg></svg>") });
  assert.ok(html.includes("<h2>The paper's published values</h2>"));
  assert.ok(html.includes("This run's regime differs: the densenet-cpu network"));
  assert.match(model.paper!.note, /the densenet-cpu network instead of DenseNet121; 32 px instead of 256 px/);
  assert.match(model.paper!.note, /a reference, not a target/);
  assert.ok(!/agree|reproduc/i.test(model.paper!.note), model.paper!.note);
  assert.ok(html.indexOf("The paper") < html.indexOf("<h2>Figures</h2>"));

  // The paper's marks compile and render without a Vega-Lite warning, labelled in a legend.
  const warnings: unknown[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => void warnings.push(a);
  let svgs: string[];
  try {
    svgs = [await renderSvg(fig1), await renderSvg(fig2)];
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(warnings, []);
  assert.ok(svgs.every((s) => s.includes(PAPER_LABEL)));

  // The synthetic default: no paper anywhere, figure specs exactly those without a paper layer.
  const synthRecords = synthetic.flatMap((s) => ucmScenarioCells(s.id));
  const plain = buildReport(synthRecords, synthetic, synthRecords.map((r) => r.key));
  assert.equal(plain.paper, null);
  assert.deepEqual(plain.figures[0]!.spec, learningCurveSpec(plain.curves, plain.labels));
  assert.deepEqual(plain.figures[1]!.spec, scenarioAverageSpec(plain.curves, plain.stats, plain.labels));
  assert.deepEqual(plain.figures.flatMap((f) => paperRows(f.spec)), []);
  const plainHtml = reportHtml(plain, { scenarios: synthetic, svgs: plain.figures.map(() => "<svg></svg>") });
  assert.ok(!/published values|DenseNet121|paper-reference/.test(plainHtml));
  assert.ok(!plain.figures.some((f) => f.caption.includes("paper")));

  // A UCMerced Scenario 1 whose curves stop before 180 labels: no marks on Fig. 1, "not measured" in the table.
  const short = ucmScenarioCells(s1.id, 6); // 40…160 labels
  const early = buildReport(short, [s1], short.map((r) => r.key));
  assert.deepEqual(paperRows(early.figures[0]!.spec), []);
  assert.ok(early.paper!.rows.filter((r) => r.figure === 1).every((r) => r.albench === null));
  // Not the paper's arms (the baseline does not query random): nothing.
  const renamed = {
    ...s1,
    scenario: { ...s1.scenario, arms: s1.scenario.arms.map((a) => ({ ...a, query: "coreset" })) },
  };
  assert.equal(buildReport(records, [renamed as ResolvedScenario], []).paper, null);
});

Deno.test("queried classes: positives added between rounds, per class, mean and sd over seeds, rare classes marked", () => {
  // Seed 0: counts (1, 0) → (2, 1) → (4, 1): added a 1 + 2 = 3, b 1 + 0 = 1. Split made b rare.
  // Seed 1: counts (0, 1) → (0, 3) → (1, 3): added a 1, b 2. Split made a and b rare.
  const recs = [
    cell("s", "al", 0, [0, 0, 0], [0, 0, 0], [[1, 0], [2, 1], [4, 1]], ["b"]),
    cell("s", "al", 1, [0, 0, 0], [0, 0, 0], [[0, 1], [0, 3], [1, 3]], ["a", "b"]),
    // Incomplete: left out.
    { ...cell("s", "al", 2, [0, 0], [0, 0], [[0, 0], [9, 9]], []), complete: false } as CellRecord,
    // Another arm without split records: rare unknown.
    cell("s", "random", 0, [0, 0], [0, 0], [[1, 1], [3, 2]]),
  ];
  const rows = queriedClassRows(recs);
  const show = rows.map((r) =>
    [
      r.arm,
      r.class,
      r.seeds,
      r.rounds,
      r.queried_positives_mean,
      r.queried_positives_sd.toFixed(6),
      r.queried_positives_per_round,
      r.queried_positives_mean_when_rare,
      r.rare_in_seeds,
    ].join(" ")
  );
  assert.deepEqual(show, [
    // a: (3, 1) → mean 2, sd √2; per round (1.5, 0.5) → 1; rare in seed 1 only, where 1 was queried.
    `al a 2 2 2 ${Math.SQRT2.toFixed(6)} 1 1 1`,
    // b: (1, 2) → mean 1.5, sd √0.5; per round 0.75; rare in both.
    `al b 2 2 1.5 ${Math.sqrt(0.5).toFixed(6)} 0.75 1.5 2`,
    "random a 1 1 2 0.000000 2  ",
    "random b 1 1 1 0.000000 1  ",
  ]);
  // The CSV: the documented columns, empty fields for unknown.
  const text = csv(rows);
  assert.equal(
    text.split("\n")[0],
    "scenario,arm,class,seeds,rounds,queried_positives_mean,queried_positives_sd,queried_positives_per_round," +
      "queried_positives_mean_when_rare,rare_in_seeds",
  );
  assert.ok(text.includes("\ns,random,b,1,1,1,0,1,,\n"), text);
  // The figure marks exactly the classes a split made rare, with the share of seeds.
  const spec = queriedClassSpec(rows) as { data: Values };
  assert.deepEqual(spec.data.values.map((v) => v.rare), [
    "made rare in 1 of 2 seeds",
    "made rare in 2 of 2 seeds",
    null,
    null,
  ]);
  // Bars start at zero (a bar mark with no zero: false), and the sd whisker never goes below zero.
  assert.ok(!JSON.stringify(spec).includes('"zero":false'));
  assert.deepEqual(spec.data.values.map((v) => v.low), [2 - Math.SQRT2, 1.5 - Math.sqrt(0.5), 2, 1]);
  // A model built from them carries the rows and Fig. 5.
  const model = buildReport(recs, [], []);
  assert.deepEqual(model.queried, rows);
  assert.ok(model.figures.some((f) => f.name === "fig5_queried_classes"));
  assert.equal(queriedClassRows([cell("s", "al", 0, [0], [0])]).length, 0, "no round queried: no rows");
});

Deno.test("index.html: the summary matrix comes before the first sentence, in headless Chromium where it is", async () => {
  const records = [0, 1].flatMap((seed) => [
    cell("f/s1", "random", seed, [0.2, 0.4, 0.5], [0.3, 0.5, 0.6]),
    cell("f/s1", "alpha", seed, [0.2, 0.5, 0.7], [0.3, 0.5, 0.6]),
  ]);
  const model = buildReport(records, [], records.map((r) => r.key));
  const html = reportHtml(model, { scenarios: [], svgs: model.figures.map(() => "<svg></svg>") });
  // As text: the matrix table, then the Conclusions heading, then the first sentence.
  assert.ok(html.indexOf('<table id="summary-matrix">') < html.indexOf("<h2>Conclusions</h2>"));
  assert.ok(html.indexOf("<h2>Conclusions</h2>") < html.indexOf(escapeHtml(model.conclusions[0]!)));
  if (!CHROMIUM) {
    console.log(
      "note: headless-Chromium DOM check skipped: Debian's chromium is not installed (.ci/run installs it)",
    );
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "albench-matrix-" });
  try {
    const probe = `<script>
const m = document.getElementById("summary-matrix");
const h = [...document.querySelectorAll("h2")].find((x) => x.textContent === "Conclusions");
const li = document.querySelector("ul.conclusions li");
const before = (a, b) => !!(a && b && (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING));
const cells = m ? [...m.querySelectorAll("tbody td.g")].map((td) => td.textContent) : [];
document.title = "probe " + JSON.stringify({ matrix: !!m, beforeHeading: before(m, h), beforeSentence: before(m, li), cells });
</script>`;
    await Deno.writeTextFile(`${dir}/index.html`, html.replace("</body>", `${probe}</body>`));
    const dom = await dumpDom(`${dir}/index.html`);
    const title = dom.match(/<title>probe (.*?)<\/title>/)?.[1];
    assert.ok(title, "the probe ran");
    const found = JSON.parse(title.replaceAll("&quot;", '"'));
    assert.equal(found.matrix, true);
    assert.equal(found.beforeHeading, true);
    assert.equal(found.beforeSentence, true);
    // Macro per seed over rounds 1–2: alpha 0.6, random 0.45 → +15 points in both seeds (a zero-width interval
    // above zero); AUBC over 40…80: alpha (0.35·20 + 0.6·20)/40 = 0.475, random (0.3·20 + 0.45·20)/40 = 0.375 →
    // +10 points; micro identical.
    assert.deepEqual(found.cells, [
      "▲ +15.00 [+15.00, +15.00]",
      "= 0.00 [0.00, 0.00]",
      "▲ +10.00 [+10.00, +10.00]",
      "= 0.00 [0.00, 0.00]",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
