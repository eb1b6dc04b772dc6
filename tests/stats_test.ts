import assert from "node:assert/strict";
import {
  areaUnderBudgetCurve,
  labelsToReach,
  pairedComparison,
  pairedT,
  wilcoxonSignedRank,
} from "../src/report/stats.ts";
import { Rng } from "../src/rng.ts";

/** Student t density and CDF by Simpson integration: an implementation independent of @stdlib. */
function tPdf(x: number, nu: number): number {
  const lgamma = (z: number): number => {
    // Lanczos approximation.
    const g = 7,
      c = [
        0.99999999999980993,
        676.5203681218851,
        -1259.1392167224028,
        771.32342877765313,
        -176.61502916214059,
        12.507343278686905,
        -0.13857109526572012,
        9.9843695780195716e-6,
        1.5056327351493116e-7,
      ];
    if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lgamma(1 - z);
    z -= 1;
    let a = c[0]!;
    const t = z + g + 0.5;
    for (let i = 1; i < g + 2; i++) a += c[i]! / (z + i);
    return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
  };
  return Math.exp(
    lgamma((nu + 1) / 2) - lgamma(nu / 2) - 0.5 * Math.log(nu * Math.PI) -
      ((nu + 1) / 2) * Math.log(1 + (x * x) / nu),
  );
}
function tCdfSimpson(x: number, nu: number): number {
  const n = 20000, a = 0, b = Math.abs(x), h = (b - a) / n;
  let s = tPdf(a, nu) + tPdf(b, nu);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * tPdf(a + i * h, nu);
  const half = (s * h) / 3;
  return x >= 0 ? 0.5 + half : 0.5 - half;
}
function tQuantileBisect(p: number, nu: number): number {
  let lo = 0, hi = 50;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (tCdfSimpson(mid, nu) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

Deno.test("stats: paired t interval and p-value agree with an independent t distribution", () => {
  const rng = Rng.root(8);
  for (let trial = 0; trial < 6; trial++) {
    const n = 2 + rng.int(8);
    const d = Array.from({ length: n }, () => rng.normal(0.01, 0.02));
    const r = pairedT(d);
    const mean = d.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
    const se = sd / Math.sqrt(n), q = tQuantileBisect(0.975, n - 1);
    assert.ok(Math.abs(r.mean - mean) < 1e-12);
    assert.ok(Math.abs(r.low - (mean - q * se)) < 1e-6, `low ${r.low} vs ${mean - q * se}`);
    assert.ok(Math.abs(r.high - (mean + q * se)) < 1e-6);
    const p = 2 * (1 - tCdfSimpson(Math.abs(mean / se), n - 1));
    assert.ok(Math.abs(r.p - p) < 1e-6, `p ${r.p} vs ${p}`);
  }
  // Textbook: d = 1..5 -> t = 4.2426 on 4 df, p = 0.01324.
  assert.ok(Math.abs(pairedT([1, 2, 3, 4, 5]).p - 0.013236) < 1e-5);
  assert.deepEqual(pairedT([0.1, 0.1, 0.1]).p, 0);
  assert.deepEqual(pairedT([0, 0]).p, 1);
});

/** Exact two-sided Wilcoxon p by explicit enumeration of sign patterns. */
function wilcoxonBrute(d: number[]): number {
  const nz = d.filter((v) => v !== 0), n = nz.length;
  const abs = nz.map(Math.abs);
  const rank = abs.map((v) => {
    const less = abs.filter((w) => w < v).length, equal = abs.filter((w) => w === v).length;
    return less + (equal + 1) / 2;
  });
  const observed = nz.reduce((s, v, i) => s + (v > 0 ? rank[i]! : 0), 0);
  const total = (n * (n + 1)) / 2, centre = total / 2;
  let extreme = 0;
  for (let mask = 0; mask < 2 ** n; mask++) {
    let w = 0;
    for (let i = 0; i < n; i++) if (mask & (1 << i)) w += rank[i]!;
    if (Math.abs(w - centre) >= Math.abs(observed - centre) - 1e-9) extreme++;
  }
  return extreme / 2 ** n;
}

Deno.test("stats: exact Wilcoxon signed-rank matches brute-force enumeration, ties and zeros included", () => {
  const rng = Rng.root(9);
  for (let trial = 0; trial < 40; trial++) {
    const n = 1 + rng.int(12);
    const d = Array.from({ length: n }, () => Math.round(rng.normal(0.5, 2)));
    assert.ok(Math.abs(wilcoxonSignedRank(d) - wilcoxonBrute(d)) < 1e-12, `${d}`);
  }
  assert.equal(wilcoxonSignedRank([1, 2, 3, 4, 5]), 0.0625);
  assert.equal(wilcoxonSignedRank([0, 0]), 1);
});

Deno.test("stats: the normal approximation above 20 pairs is close to the exact distribution's tail", () => {
  // For n = 25 distinct |d| the exact p lies near the approximation: compare with a Monte Carlo estimate.
  const d = Array.from({ length: 25 }, (_, i) => (i % 3 === 0 ? -(i + 1) : i + 1));
  const approx = wilcoxonSignedRank(d);
  const rng = Rng.root(10);
  const ranks = d.map((_, i) => i + 1), total = (25 * 26) / 2;
  const w = d.reduce((s, v, i) => s + (v > 0 ? ranks[i]! : 0), 0);
  let extreme = 0;
  const trials = 100_000;
  for (let t = 0; t < trials; t++) {
    let s = 0;
    for (const r of ranks) if (rng.next() < 0.5) s += r;
    if (Math.abs(s - total / 2) >= Math.abs(w - total / 2)) extreme++;
  }
  assert.ok(Math.abs(approx - extreme / trials) < 0.01, `${approx} vs Monte Carlo ${extreme / trials}`);
});

Deno.test("stats: AUBC, labels to reach, and the paired comparison record", () => {
  assert.equal(areaUnderBudgetCurve([40, 60, 80], [0.5, 0.7, 0.7]), (0.6 * 20 + 0.7 * 20) / 40);
  assert.equal(areaUnderBudgetCurve([40], [0.3]), 0.3);
  assert.equal(labelsToReach([40, 60], [0.5, 0.6], 0.61), null);
  const r = pairedComparison([0.8, 0.7, 0.9], [0.7, 0.7, 0.8]);
  assert.equal(r.n, 3);
  assert.ok(Math.abs(r.mean - 0.2 / 3) < 1e-12);
  assert.ok(r.ciLow < r.mean && r.mean < r.ciHigh);
  assert.throws(() => pairedComparison([1], [1, 2]), /one value per seed/);
});
