/**
 * Sequential comparisons (issue #30): the spending arithmetic by hand, and the rule's error rates by simulation —
 * under no difference it says "higher" or "lower" at most α of the time (plus Monte-Carlo error), under the
 * effect its design powers it says "higher" at least 80% of the time, and when the true difference lies on the
 * margin it says "equivalent" at most α of the time.
 */
import assert from "node:assert/strict";
// @ts-types="npm:@stdlib/stats-base-dists-normal-cdf@0.3.1"
import normalCdf from "@stdlib/stats-base-dists-normal-cdf";
// @ts-types="npm:@stdlib/stats-base-dists-t-quantile@0.2.3"
import tQuantile from "@stdlib/stats-base-dists-t-quantile";
import {
  designPower,
  looks,
  MIN_FIRST_LOOK,
  poweredEffect,
  sequentialLooks,
  spending,
} from "../src/report/sequential.ts";
import { resolveScenarios, SEQUENTIAL_MIN_SEEDS } from "../src/scenario/load.ts";
import { Rng } from "../src/rng.ts";

const DESIGN = { alpha: 0.05, batch: 5, maxSeeds: 30 } as const;
/** Three standard errors of a rate p estimated from n runs. */
const mc = (p: number, n: number) => 3 * Math.sqrt((p * (1 - p)) / n);

Deno.test("sequential: looks every batch up to the most seeds, and O'Brien–Fleming-type spending by hand", () => {
  assert.deepEqual(looks(DESIGN), [5, 10, 15, 20, 25, 30]);
  const a = spending(DESIGN);
  // α*(t) = 2 − 2Φ(1.959964/√t): at t = 1/6 and 2/6, by hand with Φ.
  const z = 1.959963984540054;
  const star = (t: number) => 2 - 2 * normalCdf(z / Math.sqrt(t), 0, 1);
  assert.ok(Math.abs(a[0]! - star(1 / 6)) < 1e-9);
  assert.ok(Math.abs(a[1]! - (star(2 / 6) - star(1 / 6))) < 1e-9);
  assert.ok(Math.abs(a.reduce((s, x) => s + x, 0) - 0.05) < 1e-9);
  // Most of α is left for the last look.
  assert.ok(a[5]! > 0.015 && a[0]! < 1e-5);
});

Deno.test("sequential: a look decides exactly as a paired t-test at the α it spends", () => {
  // 30 differences; at the last look the two-sided test runs at α_6, so the interval is mean ± t(1 − α_6/2, 29)·se.
  const rng = Rng.root(3);
  const d = Array.from({ length: 30 }, () => 0.004 + 0.02 * rng.normal());
  const all = sequentialLooks(d, DESIGN);
  const last = all.at(-1)!;
  const mean = d.reduce((s, x) => s + x, 0) / 30;
  assert.ok(Math.abs(last.mean - mean) < 1e-12);
  assert.equal(last.n, 30);
  assert.ok(Math.abs(last.alpha - spending(DESIGN)[5]!) < 1e-15);
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / 29);
  const half = tQuantile(1 - last.alpha / 2, 29) * sd / Math.sqrt(30);
  assert.ok(Math.abs(last.low - (mean - half)) < 1e-12 && Math.abs(last.high - (mean + half)) < 1e-12);
  assert.equal(last.verdict, last.low > 0 ? "higher" : last.high < 0 ? "lower" : "undecided");
  // Fewer seeds than a look needs: that look is not taken yet.
  assert.deepEqual(sequentialLooks(d.slice(0, 7), DESIGN).map((l) => l.n), [5]);
  assert.equal(sequentialLooks(d.slice(0, 7), DESIGN)[0]!.verdict, "continue");
});

Deno.test("sequential: under no difference, 'higher' or 'lower' at most α of the time over all looks", () => {
  const n = 4000;
  const r = designPower(DESIGN, 0, n, 11);
  assert.ok(r.rates.higher + r.rates.lower <= 0.05 + mc(0.05, n), JSON.stringify(r.rates));
  // The rule is scale-free: raw differences with a real run's sd (4.1 points, the reference's S3 − S1) give the
  // same verdicts as standardised ones.
  const rng = Rng.root(12);
  let wrong = 0;
  for (let s = 0; s < 2000; s++) {
    const d = Array.from({ length: 30 }, () => 0.041 * rng.normal());
    const v = sequentialLooks(d, DESIGN).at(-1)!.verdict;
    if (v === "higher" || v === "lower") wrong++;
  }
  assert.ok(wrong / 2000 <= 0.05 + mc(0.05, 2000), `${wrong} of 2000`);
});

Deno.test("sequential: at the effect the design powers, 'higher' at least 80% of the time, on fewer seeds than a fixed design", () => {
  const p = poweredEffect(DESIGN, 0.8, 2000);
  // An independent simulation (another seed) at that effect.
  const n = 4000;
  const r = designPower(DESIGN, p.effect, n, 21);
  assert.ok(r.rates.higher >= 0.8 - mc(0.8, n), `${r.rates.higher} at effect ${p.effect}`);
  assert.ok(r.rates.lower <= 0.001, "the wrong sign");
  // Seeds used on average, against the fixed design with the same power at that effect.
  assert.ok(p.fixedSeeds !== null && p.meanSeeds < p.fixedSeeds, `${p.meanSeeds} vs ${p.fixedSeeds}`);
});

Deno.test("sequential: 'equivalent within ±D' at most α of the time when the true difference is D, often when it is 0", () => {
  const n = 4000;
  // Margin 0.5σ (standardised: σ = 1), true difference exactly on the margin.
  const edge = designPower({ ...DESIGN, margin: 0.5 }, 0.5, n, 31);
  assert.ok(edge.rates.equivalent <= 0.05 + mc(0.05, n), JSON.stringify(edge.rates));
  const zero = designPower({ ...DESIGN, margin: 0.75 }, 0, n, 32);
  assert.ok(zero.rates.equivalent > 0.5, JSON.stringify(zero.rates));
  assert.ok(zero.rates.higher + zero.rates.lower <= 0.05 + mc(0.05, n));
});

Deno.test("sequential: a scenario's field needs the seeds of the rule's first look; it is not part of the hash", () => {
  assert.equal(SEQUENTIAL_MIN_SEEDS, MIN_FIRST_LOOK);
  const base = {
    name: "s",
    dataset: { kind: "synthetic", size: 400, resolution: 16 },
    split: { val: 50, test: 50, pool: "rest" },
    model: { backbone: "small-cnn" },
    al: { initial: 20, batch: 10, iterations: 2 },
    arms: [{ name: "random", query: "random" }, { name: "u", query: "uncertainty" }],
    seeds: 6,
  };
  const [plain] = resolveScenarios(base, "s.json");
  const [seq] = resolveScenarios({ ...base, sequential: { batch: 3, margin: 2 } }, "s.json");
  assert.equal(seq!.hash, plain!.hash);
  assert.deepEqual(seq!.scenario.sequential, { batch: 3, margin: 2 });
  assert.deepEqual(resolveScenarios({ ...base, sequential: {} }, "s.json")[0]!.scenario.sequential, {
    batch: 5,
  });
  assert.throws(
    () => resolveScenarios({ ...base, seeds: [4, 9], sequential: {} }, "s.json"),
    /sequential: the first look needs at least 3 seeds and seeds gives 2/,
  );
});
