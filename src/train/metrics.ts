/**
 * Multi-label metrics on plain arrays: F1 (micro, macro, per class) at a 0.5 threshold, and mean average precision.
 *
 * Conventions, stated once:
 * - Per-class F1 = 2·TP / (2·TP + FP + FN). A class with no positives and no predictions in the evaluated set
 *   (TP + FP + FN = 0) has an undefined F1: it is reported as `NaN` and left out of the macro average (the macro
 *   average is over classes that occur or are predicted). A class with positives and no true positive has F1 0.
 * - Micro F1 pools TP, FP and FN over all classes; 0 when the pool is empty.
 * - Average precision per class is Σₙ (Rₙ − Rₙ₋₁)·Pₙ over the distinct score thresholds in decreasing order
 *   (ties form one threshold), as scikit-learn's `average_precision_score`; classes without positives are left
 *   out of the mean (mAP).
 * - Scores must be finite. A `NaN` or ±`Infinity` score has no place in a ranking (a probability never is one; it
 *   means the model diverged), so {@linkcode averagePrecision} and {@linkcode meanAveragePrecision} throw a
 *   `RangeError` naming the first such entry instead of ranking it somewhere arbitrary (or, as `NaN`, never
 *   advancing past it). Callers that can meet diverged models check their outputs first and say which phase broke.
 *
 * @module
 */

/** F1 scores in [0, 1]. */
export interface F1Scores {
  /** Micro F1: from true/false positives and negatives pooled over classes. */
  readonly micro: number;
  /** Macro F1: the mean of the defined per-class F1 scores. */
  readonly macro: number;
  /** Per class; `NaN` where undefined (see module docs). */
  readonly perClass: number[];
}

/** 0/1 values, row-major `N × C`. */
export type Binary = ArrayLike<number>;

function checkShapes(a: ArrayLike<number>, b: ArrayLike<number>, numClasses: number, what: string): number {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new RangeError(`${what}: numClasses must be a positive integer, got ${numClasses}`);
  }
  if (a.length !== b.length || a.length % numClasses !== 0) {
    throw new RangeError(
      `${what}: expected two row-major N x ${numClasses} arrays of equal length, got ${a.length} and ${b.length}`,
    );
  }
  return a.length / numClasses;
}

/**
 * F1 scores of 0/1 predictions against 0/1 truth, both row-major `N × C`.
 *
 * @example
 * ```ts
 * import { f1Scores } from "./metrics.ts";
 * // Two samples, two classes: class 0 perfect, class 1 one FP.
 * const s = f1Scores([1, 0, 0, 0], [1, 0, 0, 1], 2);
 * console.assert(s.perClass[0] === 1 && s.perClass[1] === 0 && Math.abs(s.micro - 2 / 3) < 1e-12);
 * ```
 */
export function f1Scores(yTrue: Binary, yPred: Binary, numClasses: number): F1Scores {
  const n = checkShapes(yTrue, yPred, numClasses, "f1Scores");
  const tp = new Array<number>(numClasses).fill(0);
  const fp = new Array<number>(numClasses).fill(0);
  const fn = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < numClasses; j++) {
      const t = yTrue[i * numClasses + j]! > 0.5, p = yPred[i * numClasses + j]! > 0.5;
      if (t && p) tp[j]!++;
      else if (p) fp[j]!++;
      else if (t) fn[j]!++;
    }
  }
  const perClass = tp.map((t, j) => {
    const d = 2 * t + fp[j]! + fn[j]!;
    return d === 0 ? NaN : (2 * t) / d;
  });
  const defined = perClass.filter((v) => !Number.isNaN(v));
  const TP = tp.reduce((a, b) => a + b, 0),
    FP = fp.reduce((a, b) => a + b, 0),
    FN = fn.reduce((a, b) => a + b, 0);
  return {
    micro: 2 * TP + FP + FN === 0 ? 0 : (2 * TP) / (2 * TP + FP + FN),
    macro: defined.length ? defined.reduce((a, b) => a + b, 0) / defined.length : 0,
    perClass,
  };
}

/**
 * Threshold probabilities at 0.5 (p ≥ 0.5 is positive).
 *
 * @example
 * ```ts
 * import { threshold } from "./metrics.ts";
 * console.assert(threshold([0.2, 0.5, 0.9]).join() === "0,1,1");
 * ```
 */
export function threshold(probs: ArrayLike<number>, at = 0.5): Uint8Array {
  const out = new Uint8Array(probs.length);
  for (let i = 0; i < probs.length; i++) out[i] = probs[i]! >= at ? 1 : 0;
  return out;
}

/**
 * Average precision of one class from scores and 0/1 truth; `NaN` when there are no positives. Every score must be
 * finite: a `NaN` or ±`Infinity` throws a `RangeError` naming its index (see the module docs).
 *
 * @example
 * ```ts
 * import { averagePrecision } from "./metrics.ts";
 * console.assert(averagePrecision([0.9, 0.8, 0.1], [1, 0, 1]) === (1 + 2 / 3) / 2);
 * ```
 */
export function averagePrecision(scores: ArrayLike<number>, truth: ArrayLike<number>): number {
  const n = scores.length;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(scores[i]!)) {
      throw new RangeError(
        `averagePrecision: scores[${i}] is ${
          scores[i]
        }; scores must be finite numbers (a non-finite score means ` +
          "the model diverged)",
      );
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let positives = 0;
  for (let i = 0; i < n; i++) positives += truth[i]! > 0.5 ? 1 : 0;
  if (positives === 0) return NaN;
  let ap = 0, tp = 0, seen = 0, prevRecall = 0;
  for (let k = 0; k < n;) {
    // One threshold per distinct score: take all tied samples together.
    const s = scores[order[k]!]!;
    while (k < n && scores[order[k]!]! === s) {
      tp += truth[order[k]!]! > 0.5 ? 1 : 0;
      seen++;
      k++;
    }
    const recall = tp / positives;
    ap += (recall - prevRecall) * (tp / seen);
    prevRecall = recall;
  }
  return ap;
}

/**
 * Mean average precision over classes with at least one positive; scores and truth row-major `N × C`. Every score
 * must be finite: a `NaN` or ±`Infinity` throws a `RangeError` naming its row and class (see the module docs).
 *
 * @example
 * ```ts
 * import { meanAveragePrecision } from "./metrics.ts";
 * const m = meanAveragePrecision([0.9, 0.1, 0.2, 0.8], [1, 0, 0, 1], 2);
 * console.assert(m.map === 1 && m.perClass.length === 2);
 * ```
 */
export function meanAveragePrecision(
  scores: ArrayLike<number>,
  truth: ArrayLike<number>,
  numClasses: number,
): { map: number; perClass: number[] } {
  const n = checkShapes(scores, truth, numClasses, "meanAveragePrecision");
  for (let k = 0; k < scores.length; k++) {
    if (!Number.isFinite(scores[k]!)) {
      throw new RangeError(
        `meanAveragePrecision: the score of row ${Math.floor(k / numClasses)}, class ${k % numClasses} is ` +
          `${scores[k]}; scores must be finite numbers (a non-finite score means the model diverged)`,
      );
    }
  }
  const perClass: number[] = [];
  for (let j = 0; j < numClasses; j++) {
    const s = new Float64Array(n), t = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = scores[i * numClasses + j]!;
      t[i] = truth[i * numClasses + j]! > 0.5 ? 1 : 0;
    }
    perClass.push(averagePrecision(s, t));
  }
  const defined = perClass.filter((v) => !Number.isNaN(v));
  return { map: defined.length ? defined.reduce((a, b) => a + b, 0) / defined.length : 0, perClass };
}
