import assert from "node:assert/strict";
import { averagePrecision, f1Scores, meanAveragePrecision, threshold } from "../src/train/metrics.ts";
import { Rng } from "../src/rng.ts";

Deno.test("metrics: hand-worked F1 case", () => {
  // 3 samples x 3 classes.
  const yTrue = [1, 0, 1, 0, 1, 0, 1, 1, 0];
  const yPred = [1, 0, 0, 1, 1, 0, 1, 0, 0];
  // class 0: TP 2 FP 1 FN 0 -> 4/5; class 1: TP 1 FP 0 FN 1 -> 2/3; class 2: TP 0 FP 0 FN 1 -> 0.
  const s = f1Scores(yTrue, yPred, 3);
  assert.ok(Math.abs(s.perClass[0]! - 0.8) < 1e-12);
  assert.ok(Math.abs(s.perClass[1]! - 2 / 3) < 1e-12);
  assert.equal(s.perClass[2], 0);
  assert.ok(Math.abs(s.macro - (0.8 + 2 / 3) / 3) < 1e-12);
  // micro: TP 3, FP 1, FN 2 -> 6/9.
  assert.ok(Math.abs(s.micro - 6 / 9) < 1e-12);
});

Deno.test("metrics: a class with no positives and no predictions is undefined and left out of the macro mean", () => {
  const s = f1Scores([1, 0, 1, 0], [1, 0, 1, 0], 2);
  assert.ok(Number.isNaN(s.perClass[1]!));
  assert.equal(s.macro, 1);
  assert.throws(() => f1Scores([1, 0], [1], 2), /two row-major N x 2 arrays of equal length, got 2 and 1/);
});

/** Independent F1: precision and recall per class, harmonic mean. */
function bruteF1(yTrue: number[], yPred: number[], c: number) {
  const per: number[] = [];
  let TP = 0, P = 0, T = 0;
  for (let j = 0; j < c; j++) {
    let tp = 0, p = 0, t = 0;
    for (let i = 0; i < yTrue.length / c; i++) {
      const a = yTrue[i * c + j]!, b = yPred[i * c + j]!;
      tp += a * b;
      p += b;
      t += a;
    }
    TP += tp;
    P += p;
    T += t;
    if (p === 0 && t === 0) per.push(NaN);
    else {
      const prec = p ? tp / p : 0, rec = t ? tp / t : 0;
      per.push(prec + rec === 0 ? 0 : (2 * prec * rec) / (prec + rec));
    }
  }
  const defined = per.filter((v) => !Number.isNaN(v));
  const prec = P ? TP / P : 0, rec = T ? TP / T : 0;
  return {
    micro: prec + rec ? (2 * prec * rec) / (prec + rec) : 0,
    macro: defined.reduce((a, b) => a + b, 0) / defined.length,
    per,
  };
}

/** Independent AP: for every distinct threshold t, precision and recall of {s >= t}, O(n²). */
function bruteAp(scores: number[], truth: number[]): number {
  const ts = [...new Set(scores)].sort((a, b) => b - a);
  const pos = truth.reduce((a, b) => a + b, 0);
  let ap = 0, prevR = 0;
  for (const t of ts) {
    let tp = 0, n = 0;
    scores.forEach((s, i) => {
      if (s >= t) {
        n++;
        tp += truth[i]!;
      }
    });
    const r = tp / pos;
    ap += (r - prevR) * (tp / n);
    prevR = r;
  }
  return ap;
}

Deno.test("metrics: F1 and AP agree with brute-force reimplementations on random inputs", () => {
  const rng = Rng.root(5);
  for (let trial = 0; trial < 50; trial++) {
    const n = 1 + rng.int(40), c = 1 + rng.int(6);
    const yTrue = Array.from({ length: n * c }, () => (rng.next() < 0.3 ? 1 : 0));
    // Coarse scores make ties common.
    const scores = Array.from({ length: n * c }, () => Math.round(rng.next() * 10) / 10);
    const yPred = Array.from(threshold(scores));
    const got = f1Scores(yTrue, yPred, c), want = bruteF1(yTrue, yPred, c);
    assert.ok(Math.abs(got.micro - want.micro) < 1e-12);
    if (!Number.isNaN(want.macro)) assert.ok(Math.abs(got.macro - want.macro) < 1e-12);
    got.perClass.forEach((v, j) =>
      assert.ok(Number.isNaN(v) ? Number.isNaN(want.per[j]!) : Math.abs(v - want.per[j]!) < 1e-12)
    );
    const m = meanAveragePrecision(scores, yTrue, c);
    for (let j = 0; j < c; j++) {
      const s = Array.from({ length: n }, (_, i) => scores[i * c + j]!),
        t = Array.from({ length: n }, (_, i) => yTrue[i * c + j]!);
      const want = t.some((v) => v) ? bruteAp(s, t) : NaN;
      assert.ok(
        Number.isNaN(want) ? Number.isNaN(m.perClass[j]!) : Math.abs(m.perClass[j]! - want) < 1e-12,
        `trial ${trial}`,
      );
    }
  }
});

Deno.test("metrics: AP hand-worked with a tie", () => {
  // Scores 0.9 (pos), 0.5 (pos), 0.5 (neg), 0.1 (pos): thresholds 0.9 -> R 1/3 P 1; 0.5 -> R 2/3 P 2/3; 0.1 -> R 1 P 3/4.
  const ap = averagePrecision([0.9, 0.5, 0.5, 0.1], [1, 1, 0, 1]);
  assert.ok(Math.abs(ap - (1 / 3 + (1 / 3) * (2 / 3) + (1 / 3) * 0.75)) < 1e-12);
  assert.ok(Number.isNaN(averagePrecision([0.1], [0])));
});

Deno.test("metrics: a non-finite score is a RangeError naming where it is, never a hang", () => {
  // Before: meanAveragePrecision([NaN, 0.5], [1, 0], 1) never returned (NaN === NaN is false).
  assert.throws(
    () => meanAveragePrecision([NaN, 0.5], [1, 0], 1),
    /^RangeError: meanAveragePrecision: the score of row 0, class 0 is NaN; scores must be finite numbers/,
  );
  assert.throws(
    () => meanAveragePrecision([0.1, 0.2, 0.3, Infinity], [1, 0, 0, 1], 2),
    /the score of row 1, class 1 is Infinity/,
  );
  assert.throws(() => averagePrecision([0.3, NaN, 0.2], [1, 0, 1]), /averagePrecision: scores\[1\] is NaN/);
  assert.throws(() => averagePrecision([-Infinity, 0.2], [1, 0]), /scores\[0\] is -Infinity/);
  // Finite extremes still rank.
  assert.equal(averagePrecision([1, 0, Number.MAX_VALUE], [1, 0, 1]), 1);
});
