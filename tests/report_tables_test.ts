/**
 * The report's numbers against independent computations: tables from hand-made records (values chosen so every
 * expected number is worked out here by hand or by plain loops, not by the report code), the figure specs' honesty
 * rules, and the hedging rules of the words.
 */
import assert from "node:assert/strict";
import type { CellRecord } from "../src/records/records.ts";
import { gainChangeRows, roundsAfterInitial, statsRows, summaryRows } from "../src/report/tables.ts";
import { buildReport, scenarioLabel } from "../src/report/build.ts";
import { holmAdjust, pairedTPower, seedsForPower } from "../src/report/stats.ts";
import { comparisonSentence, findingOf, gainChangeSentence } from "../src/report/words.ts";
import { Rng } from "../src/rng.ts";

/** A complete cell whose macro F1 per round is `macro` and micro F1 is `micro` (labelled 40, 60, …). */
function cell(scenario: string, arm: string, seed: number, macro: number[], micro: number[]): CellRecord {
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
    iterations: macro.map((m, t) => ({
      iteration: t,
      labelled: 40 + 20 * t,
      selected: [],
      test: { microF1: micro[t]!, macroF1: m, mAP: 0, perClassF1: [m, m] },
      classCounts: [1, 1],
      trainLoss: 0,
      seconds: { finetune: 1, inference: 1, query: 0 },
    })),
  } as unknown as CellRecord;
}

// Two seeds, three evaluation points (t = 0, 1, 2). Round 0 is identical in both arms, as in a real run.
const S = "fam/s1";
const records = [
  cell(S, "al", 0, [0.2, 0.5, 0.7], [0.4, 0.5, 0.6]),
  cell(S, "al", 1, [0.3, 0.4, 0.8], [0.3, 0.6, 0.7]),
  cell(S, "random", 0, [0.2, 0.4, 0.6], [0.4, 0.6, 0.6]),
  cell(S, "random", 1, [0.3, 0.4, 0.6], [0.3, 0.6, 0.8]),
];
const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

Deno.test("tables: averages leave out the initial round; AUBC keeps the whole curve", () => {
  assert.deepEqual(roundsAfterInitial([{ iteration: 0 }, { iteration: 1 }]).map((x) => x.iteration), [1]);
  const rows = summaryRows(records, () => "random");
  const al = rows.find((r) => r.arm === "al")!, random = rows.find((r) => r.arm === "random")!;
  // Per seed over t = 1, 2: AL macro (0.5+0.7)/2 = 0.6 and (0.4+0.8)/2 = 0.6; random 0.5 and 0.5.
  close(al.avg_macro_f1_mean, 0.6, "AL avg macro");
  close(al.avg_macro_f1_sd, 0, "AL avg macro sd");
  close(random.avg_macro_f1_mean, 0.5, "random avg macro");
  // Micro: AL (0.55, 0.65) → mean 0.6, sd √0.005; random (0.6, 0.7) → 0.65.
  close(al.avg_micro_f1_mean, 0.6, "AL avg micro");
  close(al.avg_micro_f1_sd, Math.sqrt(0.005), "AL avg micro sd");
  close(random.avg_micro_f1_mean, 0.65, "random avg micro");
  // AUBC over 40…80 with the initial point: seed 0 AL macro ((0.2+0.5)/2·20 + (0.5+0.7)/2·20)/40 = 0.475.
  close(al.aubc_macro_f1_mean, (0.475 + ((0.3 + 0.4) / 2 + (0.4 + 0.8) / 2) / 2) / 2, "AL AUBC macro");
  // Random's final mean macro F1 is 0.6; AL's mean curve (0.25, 0.45, 0.75) reaches it at 80 labels.
  assert.equal(al.labels_to_reach_baseline, 80);
  // Random's final micro mean is 0.7; AL's mean micro curve (0.35, 0.55, 0.65) never reaches it.
  assert.equal(al.labels_to_reach_baseline_micro, null);
});

Deno.test("tables: paired statistics per budget, over rounds 1…T and AUBC, both metrics, with power and Holm", () => {
  const rows = statsRows(records, () => "random");
  assert.deepEqual(
    [...new Set(rows.map((r) => `${r.metric}:${r.at}`))],
    [
      "macro_f1:labelled=40",
      "macro_f1:labelled=60",
      "macro_f1:labelled=80",
      "macro_f1:average",
      "macro_f1:aubc",
      "micro_f1:labelled=40",
      "micro_f1:labelled=60",
      "micro_f1:labelled=80",
      "micro_f1:average",
      "micro_f1:aubc",
    ],
  );
  const at = (metric: string, where: string) => rows.find((r) => r.metric === metric && r.at === where)!;
  // Macro average: differences per seed 0.6 − 0.5 = 0.1 both (up to rounding): sd ≈ 0, the smallest n suffices.
  const avg = at("macro_f1", "average");
  close(avg.mean_diff, 0.1, "macro average diff");
  assert.ok(avg.sd_diff < 1e-12);
  assert.equal(avg.seeds_for_80_power, 2);
  // Micro average: per seed (0.55 − 0.6, 0.65 − 0.7) = (−0.05, −0.05).
  close(at("micro_f1", "average").mean_diff, -0.05, "micro average diff");
  // At 80 labels, macro: (0.1, 0.2): mean 0.15, sd √0.005, t = 0.15/(√0.005/√2) = 3, df 1 → p = 1 − 2·atan(3)/π.
  const b80 = at("macro_f1", "labelled=80");
  close(b80.mean_diff, 0.15, "diff at 80");
  close(b80.sd_diff, Math.sqrt(0.005), "sd at 80");
  assert.ok(Math.abs(b80.t_p - (1 - (2 * Math.atan(3)) / Math.PI)) < 1e-9);
  // Cauchy (df 1) quantile 0.975 is tan(0.475π): the interval is mean ± that × se.
  const half = Math.tan(0.475 * Math.PI) * (Math.sqrt(0.005) / Math.sqrt(2));
  assert.ok(Math.abs(b80.ci_low - (0.15 - half)) < 1e-9 && Math.abs(b80.ci_high - (0.15 + half)) < 1e-9);
  assert.equal(b80.wilcoxon_floor, 0.5);
  // The initial round is outside the Holm family; in the family {60, 80}, p(60) = 0.5 (t = 1) > p(80), so
  // Holm doubles the smaller one.
  assert.ok(Math.abs(at("macro_f1", "labelled=60").t_p - 0.5) < 1e-9);
  assert.equal(at("macro_f1", "labelled=40").holm_t_p, null);
  assert.equal(b80.holm_t_p, Math.min(1, 2 * b80.t_p));
  assert.equal(at("macro_f1", "average").holm_t_p, null);
});

Deno.test("tables: the change in gain between scenarios is paired by seed", () => {
  const S3 = "fam/s3";
  const more = [
    ...records,
    cell(S3, "al", 0, [0.2, 0.6, 0.8], [0.4, 0.5, 0.6]), // gain over rounds: 0.7 − 0.5 = 0.2
    cell(S3, "al", 1, [0.3, 0.5, 0.8], [0.3, 0.6, 0.7]), // 0.65 − 0.5 = 0.15
    cell(S3, "random", 0, [0.2, 0.4, 0.6], [0.4, 0.6, 0.6]),
    cell(S3, "random", 1, [0.3, 0.4, 0.6], [0.3, 0.6, 0.8]),
  ];
  const rows = gainChangeRows(more, () => "random", [S, S3]);
  const macro = rows.find((r) => r.metric === "macro_f1")!;
  assert.equal(macro.scenario, S3);
  assert.equal(macro.reference, S);
  // Scenario 1 gains were (0.1, 0.1): changes (0.1, 0.05), mean 0.075.
  close(macro.mean_diff, 0.075, "change in gain");
  close(rows.find((r) => r.metric === "micro_f1")!.mean_diff, 0, "micro change");
  // The order of scenarios comes from the scenario file, not the alphabet.
  assert.equal(
    gainChangeRows(more, () => "random", [S3, S]).find((r) => r.metric === "macro_f1")!.reference,
    S3,
  );
});

Deno.test("stats: power and seeds for 80% power match published values and a simulation", () => {
  // G*Power (paired t, two-sided, α = 0.05, power 0.8): dz 0.2 → 199, 0.5 → 34, 0.8 → 15, 1.0 → 10.
  assert.deepEqual([0.2, 0.5, 0.8, 1].map((d) => seedsForPower(d, 1)), [199, 34, 15, 10]);
  assert.equal(seedsForPower(-0.5, 1), 34, "the sign of the effect does not matter");
  assert.equal(seedsForPower(1, 0), null);
  assert.equal(seedsForPower(NaN, 1), null);
  // Monte Carlo with our own seeded normals: share of |t| > t_crit(9) = 2.2622 with n = 10, d = 0.8.
  const rng = Rng.root(7).fork("power-check");
  let hits = 0;
  const reps = 20000;
  for (let r = 0; r < reps; r++) {
    const xs = Array.from({ length: 10 }, () => rng.normal(0.8, 1));
    const m = xs.reduce((a, b) => a + b, 0) / 10;
    const s = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / 9);
    if (Math.abs(m / (s / Math.sqrt(10))) > 2.2621571627982) hits++;
  }
  assert.ok(
    Math.abs(hits / reps - pairedTPower(10, 0.8)) < 0.012,
    `${hits / reps} vs ${pairedTPower(10, 0.8)}`,
  );
  assert.deepEqual(holmAdjust([0.04, NaN, 0.01]), [0.04, NaN, 0.02]);
});

Deno.test("words: the hedging rules decide the verbs", () => {
  const base = {
    n: 5,
    mean_diff: 0.026,
    sd_diff: 0.022,
    ci_low: 0.001,
    ci_high: 0.05,
    t_p: 0.04,
    seeds_for_80_power: 8,
  };
  assert.equal(findingOf(base), "higher");
  assert.match(
    comparisonSentence(base, "al", "random", "macro F1"),
    /^al is higher than random in macro F1, significant at the 5% level: \+2\.60 points \(95% CI \+0\.10 to \+5\.00, paired t p = 0\.040\), 5 seeds\.$/,
  );
  const lower = { ...base, mean_diff: -0.069, ci_low: -0.079, ci_high: -0.059, t_p: 0.00001 };
  assert.match(
    comparisonSentence(lower, "al", "random", "micro F1"),
    /al is lower than random .* p < 0\.001\)/,
  );
  const none = { ...base, ci_low: -0.002, t_p: 0.06 };
  const s = comparisonSentence(none, "al", "random", "macro F1");
  assert.match(s, /^No evidence of a difference between al and random in macro F1 with 5 seeds: /);
  assert.match(s, /80% power at this effect would need about 8 seeds\.$/);
  assert.ok(!/better|beats|higher/.test(s));
  const one = {
    n: 1,
    mean_diff: 0.01,
    sd_diff: NaN,
    ci_low: NaN,
    ci_high: NaN,
    t_p: NaN,
    seeds_for_80_power: null,
  };
  const o = comparisonSentence(one, "al", "random", "macro F1");
  assert.match(o, /direction only, no interval or test with n = 1\.$/);
  assert.ok(!o.includes("NaN"));
  assert.match(
    gainChangeSentence({ ...base }, "al", "random", "macro F1", "s1", "s3"),
    /^The gain of al over random in macro F1 grows from s1 to s3, significant at the 5% level/,
  );
});

/** Every (sub)spec whose mark is a bar. */
function barSpecs(spec: unknown): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const walk = (x: unknown) => {
    if (Array.isArray(x)) return x.forEach(walk);
    if (x && typeof x === "object") {
      const o = x as Record<string, unknown>;
      const mark = o.mark;
      if (
        mark === "bar" || (mark && typeof mark === "object" && (mark as { type?: string }).type === "bar")
      ) {
        out.push(o);
      }
      Object.values(o).forEach(walk);
    }
  };
  walk(spec);
  return out;
}

Deno.test("report model: bars start at zero, paired-difference and gain figures exist, words follow the numbers", () => {
  const model = buildReport(records, [], [...records.map((r) => r.key)]);
  const names = model.figures.map((f) => f.name);
  assert.deepEqual(names, [
    "fig1_learning_curves",
    "fig2_scenarios",
    "fig3_per_class",
    "fig4_paired_difference",
    "fig5_queried_classes",
  ]);
  for (const f of model.figures) {
    for (const b of barSpecs(f.spec)) {
      const y = (b.encoding as { y?: { scale?: { zero?: boolean } } } | undefined)?.y;
      assert.notEqual(y?.scale?.zero, false, `${f.name}: a bar chart must start at zero`);
    }
  }
  assert.ok(barSpecs(model.figures[2]!.spec).length > 0, "the per-class figure has bars (checked above)");
  // The gain panel draws the `average` rows in points, with their intervals.
  const gains = JSON.stringify(model.figures[1]!.spec);
  assert.ok(gains.includes('"al − random"') && gains.includes("paired gain"));
  const diff = model.figures[3]!.spec as { data: { values: { labelled: number; diff: number }[] } };
  assert.deepEqual(diff.data.values.filter((v) => v.labelled === 80).map((v) => Math.round(v.diff * 1e6)), [
    15000000,
    -5000000,
  ]);
  // Two seeds with the same difference (+10 points macro, −5 micro): the degenerate interval excludes zero.
  assert.match(model.conclusions[0]!, /al is higher than random in macro F1 averaged over rounds 1–2/);
  assert.match(model.conclusions[1]!, /al is lower than random in micro F1 averaged over rounds 1–2/);
  assert.ok(model.notes.some((n) => n.includes("cannot give p below 0.05")));
  assert.equal(
    scenarioLabel({ id: "f/s3", scenario: { imbalance: { removePerClass: 40, classes: 3 } } } as never),
    "s3\n40 removed from\neach of 3 classes",
  );
});
