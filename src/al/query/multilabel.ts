/**
 * Helpers shared by the multi-label baselines (`mmc`, `adaptive`, `cvirs`): the model's predicted label set of a
 * sample (0.5 threshold, as the AL loop's metrics use), label cardinalities, and top-b selection by score.
 *
 * @module
 */

/** Probabilities are clamped to [ε, 1 − ε] before a logit, so every score stays finite. */
export const PROB_EPS = 1e-7;

/**
 * The logit log(p / (1 − p)) of a probability clamped to [1e-7, 1 − 1e-7]: the last layer's pre-activation,
 * i.e. the decision value of the linear classifier on penultimate features (|logit| ≤ 16.2).
 *
 * @example
 * ```ts
 * import { logit } from "./multilabel.ts";
 * console.assert(logit(0.5) === 0 && Number.isFinite(logit(1)));
 * ```
 */
export function logit(p: number): number {
  const q = Math.min(1 - PROB_EPS, Math.max(PROB_EPS, p));
  return Math.log(q / (1 - q));
}

/**
 * Number of classes with p ≥ 0.5 in each row of an `n × c` probability matrix.
 *
 * @example
 * ```ts
 * import { predictedCardinality } from "./multilabel.ts";
 * const k = predictedCardinality(new Float32Array([0.9, 0.6, 0.1, 0.2, 0.3, 0.4]), 2, 3);
 * console.assert(k[0] === 2 && k[1] === 0);
 * ```
 */
export function predictedCardinality(probs: Float32Array, n: number, c: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let k = 0;
    for (let j = 0; j < c; j++) if (probs[i * c + j]! >= 0.5) k++;
    out[i] = k;
  }
  return out;
}

/**
 * Positions of the `b` highest scores, highest first; equal scores in position order (a total order, so the
 * selection is deterministic).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { topByScore } from "./multilabel.ts";
 * assert.deepEqual(topByScore(new Float64Array([0.1, 0.9, 0.5, 0.9]), 3), [1, 3, 2]);
 * ```
 */
export function topByScore(scores: Float64Array, b: number): number[] {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((x, y) => scores[y]! - scores[x]! || x - y);
  return order.slice(0, Math.min(b, n));
}

/**
 * Scores by id, for a query result.
 *
 * @example
 * ```ts
 * import { scoresById } from "./multilabel.ts";
 * console.assert(scoresById(["a"], new Float64Array([2])).a === 2);
 * ```
 */
export function scoresById(ids: readonly string[], scores: Float64Array): Record<string, number> {
  const out: Record<string, number> = {};
  ids.forEach((id, i) => (out[id] = scores[i]!));
  return out;
}
