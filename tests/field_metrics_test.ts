/**
 * The field's metrics (issue #30, item 4) against hand computations: label efficiency, early and late rounds, the
 * classes each seed made rare; and that `compare`'s JSON and text carry them.
 */
import assert from "node:assert/strict";
import { fieldMetricRows, labelsToScore } from "../src/report/field_metrics.ts";
import { compareRecords, compareText } from "../src/report/compare.ts";

/** A complete record: macro F1 per round (labelled 40, 60, …) and per-class F1 rows for classes a, b, c. */
function rec(arm: string, seed: number, macro: number[], perClass: (number | null)[][], removed: string[]) {
  return {
    key: `s/${arm}/seed-${seed}`,
    scenario: "s",
    arm,
    seed,
    complete: true,
    classNames: ["a", "b", "c"],
    split: { removedClasses: removed },
    iterations: macro.map((m, t) => ({
      iteration: t,
      labelled: 40 + 20 * t,
      selected: [],
      classCounts: [0, 0, 0],
      trainLoss: 0,
      seconds: { finetune: 0, inference: 0, query: 0 },
      test: { macroF1: m, microF1: m, mAP: m, perClassF1: perClass[t]! },
    })),
  };
}

const RARE = [[0.1, 0.5, null], [0.2, 0.5, null], [0.3, 0.5, null], [0.4, 0.5, null], [0.5, 0.5, null]];
const RARE_Q = [[0.1, 0.5, null], [0.4, 0.5, null], [0.5, 0.5, null], [0.6, 0.5, null], [0.7, 0.5, null]];
// Two seeds, rounds 0…4 (T = 4): the baseline rises 0.1 a round to 0.6 at 120 labels.
const RECORDS = [
  rec("random", 0, [0.2, 0.3, 0.4, 0.5, 0.6], RARE, ["a"]),
  rec("q", 0, [0.2, 0.25, 0.5, 0.6, 0.7], RARE_Q, ["a"]),
  rec("random", 1, [0.2, 0.3, 0.4, 0.5, 0.6], RARE, ["a", "c"]),
  rec("q", 1, [0.2, 0.3, 0.35, 0.45, 0.55], RARE, ["a", "c"]),
];

Deno.test("field metrics: label efficiency, early and late rounds and rare classes, by hand", () => {
  assert.equal(labelsToScore([40, 60, 80], [0.3, 0.3, 0.9], 0.6), 70);
  const rows = fieldMetricRows(RECORDS as never, () => "random");
  const get = (q: string) => rows.find((r) => r.quantity === q)!;
  // Seed 0: q reaches the baseline's final 0.6 at round 3 (100 labels) → 100 / 120. Seed 1: never (0.55).
  const eff = get("label_efficiency");
  assert.equal(eff.n, 1);
  assert.ok(Math.abs(eff.mean - 100 / 120) < 1e-12);
  assert.equal(eff.not_reached, 1);
  // T = 4: early = rounds 1-2, late = rounds 3-4. Seed 0: early ((0.25−0.3) + (0.5−0.4)) / 2 = 0.025,
  // late ((0.6−0.5) + (0.7−0.6)) / 2 = 0.1. Seed 1: early (0 + (−0.05)) / 2 = −0.025, late −0.05.
  const early = get("early_rounds"), late = get("late_rounds");
  assert.deepEqual([early.over, late.over], ["1-2", "3-4"]);
  assert.ok(Math.abs(early.mean - 0) < 1e-12);
  assert.ok(Math.abs(late.mean - 0.025) < 1e-12);
  // sd of (0.1, −0.05) = 0.15 / √2; interval mean ± t(0.975, 1) · sd / √2.
  assert.ok(Math.abs(late.sd - 0.15 / Math.SQRT2) < 1e-12);
  assert.ok(Math.abs(late.ci_high - (0.025 + 12.706204736174707 * 0.075)) < 1e-9);
  // Rare classes: seed 0 made "a" rare: rounds 1-4, q (0.4, 0.5, 0.6, 0.7) vs random (0.2, 0.3, 0.4, 0.5): +0.2.
  // Seed 1 made "a" and "c" rare; c's F1 is undefined (null) and left out: a alone, identical arms: 0.
  const rare = get("rare_classes");
  assert.equal(rare.n, 2);
  assert.ok(Math.abs(rare.mean - 0.1) < 1e-12);
});

Deno.test("field metrics: compare's JSON and text carry them", () => {
  const r = compareRecords(RECORDS as never, "random", ["q"], ["s"]);
  const f = r.scenarios[0]!.arms[0]!.field;
  assert.ok(Math.abs(f.label_efficiency!.value! - 100 / 120) < 1e-12);
  assert.equal(f.label_efficiency!.notReached, 1);
  assert.deepEqual(f.label_efficiency!.ci, [null, null]);
  assert.ok(Math.abs(f.late_rounds!.value! - 0.025) < 1e-12);
  const text = compareText(r);
  assert.match(
    text,
    /labels to reach random's final macro F1, per seed: 0\.83 of its labels \(no interval; 1 seeds never reached it\)/,
  );
  assert.match(text, /macro F1 early rounds 0\.00 \(95% CI .* to .*\), late rounds \+2\.50 \(95% CI/);
  assert.match(text, /F1 of the classes made rare \+10\.00 \(95% CI/);
});
