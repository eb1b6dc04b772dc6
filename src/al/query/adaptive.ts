/**
 * `adaptive`: max-margin uncertainty combined with label cardinality inconsistency (Li & Guo, "Active learning with
 * multi-label SVM classification", IJCAI 2013).
 *
 * ## The paper
 *
 * With one SVM per class and decision values f_j(x), the predicted label set is ŷ⁺(x) = {j : f_j(x) > 0} (ŷ⁻ the
 * rest). Two measures are combined (their eqs. 3–5):
 *
 *     separation margin  sep(x) = min_{j ∈ ŷ⁺} f_j(x) − max_{j ∈ ŷ⁻} f_j(x),   u(x) = 1 / sep(x)
 *     cardinality inconsistency  c(x) = ‖ |ŷ⁺(x)| − (1/|L|) Σ_{l ∈ L} |y_l| ‖₂
 *     q(x) = u(x)^β · c(x)^(1−β)
 *
 * and the samples with the largest q are queried. The paper's "adaptive" part picks β at each round from a grid
 * by retraining the classifier once per candidate β on the labelled set plus that β's choice with predicted
 * labels.
 *
 * ## Adaptation here (probabilities, no labels)
 *
 * - f_j(x) = logit(p_j(x)) (probabilities clamped to [1e-7, 1 − 1e-7]): the last layer's pre-activation, which
 *   is the decision value of a linear classifier on the penultimate features, as the SVM's f_j is on its input.
 *   ŷ⁺ = {j : p_j ≥ 0.5}.
 * - An empty ŷ⁺ takes the single most probable class, and an empty ŷ⁻ (every class positive) gives up its least
 *   probable one, so the margin is always between the m-th and (m+1)-th largest logits, m = |ŷ⁺| clipped to
 *   [1, C − 1]; with C = 1 the margin is |f_1|. sep is floored at 1e-12 so u stays finite.
 * - The labelled set's mean cardinality needs its labels, which a query function never sees. It is replaced by
 *   the mean predicted cardinality (p ≥ 0.5 count) of the labelled samples under the current model — which was
 *   trained on exactly those labels, so it approximates them; with no labelled samples, by the mean predicted
 *   cardinality of the pool.
 * - β is a fixed option (default 0.5, the middle of the paper's grid): the per-round choice of β needs a
 *   retraining per candidate, which a query function cannot do.
 * - |ŷ⁺(x)| in c(x) is the p ≥ 0.5 count, without the clipping used for the margin.
 *
 * O(N·C²) time, O(N) memory.
 *
 * @module
 */
import type { OptionSchema, QueryFunction } from "../query.ts";
import { schemaDefaults } from "../query.ts";
import { logit, predictedCardinality, scoresById, topByScore } from "./multilabel.ts";

/** Adaptive's options. */
export type AdaptiveOptions = {
  readonly beta?: number;
};

const ADAPTIVE_OPTIONS: OptionSchema = {
  beta: {
    type: "number",
    min: 0,
    max: 1,
    default: 0.5,
    description: "Weight β of the max-margin uncertainty against the cardinality inconsistency: " +
      "q = u^β · c^(1−β) (1: margin only, 0: cardinality only).",
  },
};

/**
 * Adaptive scores q = u^β · c^(1−β) of the rows of an `n × c` probability matrix, with `mu` the reference label
 * cardinality.
 *
 * @example
 * ```ts
 * import { adaptiveScores } from "./adaptive.ts";
 * // p = (0.8, 0.3): ŷ⁺ = {1}, sep = logit(0.8) − logit(0.3) = ln 4 + ln(7/3); μ = 2 → c = 1; β = 1 → q = 1/sep.
 * const q = adaptiveScores(new Float32Array([0.8, 0.3]), 1, 2, 2, 1);
 * console.assert(Math.abs(q[0]! - 1 / (Math.log(4) + Math.log(7 / 3))) < 1e-6);
 * ```
 */
export function adaptiveScores(
  probs: Float32Array,
  n: number,
  c: number,
  mu: number,
  beta: number,
): Float64Array {
  const out = new Float64Array(n);
  const cards = predictedCardinality(probs, n, c);
  for (let i = 0; i < n; i++) {
    const o = i * c;
    let sep: number;
    if (c === 1) sep = Math.abs(logit(probs[o]!));
    else {
      const m = Math.max(1, Math.min(c - 1, cards[i]!));
      // The m-th and (m+1)-th largest probabilities (logit is monotone).
      let mth = NaN, next = NaN;
      for (let j = 0; j < c; j++) {
        const pj = probs[o + j]!;
        let rank = 0;
        for (let k = 0; k < c; k++) {
          const pk = probs[o + k]!;
          if (pk > pj || (pk === pj && k < j)) rank++;
        }
        if (rank === m - 1) mth = pj;
        else if (rank === m) next = pj;
      }
      sep = logit(mth) - logit(next);
    }
    const u = 1 / Math.max(sep, 1e-12);
    const incons = Math.abs(cards[i]! - mu);
    out[i] = Math.pow(u, beta) * Math.pow(incons, 1 - beta);
  }
  return out;
}

/**
 * Adaptive (Li & Guo, IJCAI 2013) with a fixed β and the labelled set's predicted cardinality.
 *
 * @example
 * ```ts
 * import { Rng } from "../../rng.ts";
 * import { adaptive } from "./adaptive.ts";
 * const view = (ids: string[], p: number[]) => ({ ids, probs: new Float32Array(p), features: new Float32Array(ids.length) });
 * const r = await adaptive.select({
 *   unlabelled: view(["clear", "close"], [0.99, 0.01, 0.55, 0.45]), labelled: view(["l"], [0.9, 0.9]),
 *   numClasses: 2, featureDim: 1, budget: 1, rng: Rng.root(0), options: { beta: 0.5 },
 * });
 * console.assert(r.selected[0] === "close");
 * ```
 */
export const adaptive: QueryFunction<AdaptiveOptions> = {
  name: "adaptive",
  description: "Adaptive (Li & Guo 2013): max-margin uncertainty^β × label cardinality inconsistency^(1−β)",
  optionSchema: ADAPTIVE_OPTIONS,
  defaults: schemaDefaults(ADAPTIVE_OPTIONS),
  needs: ["probs"],
  needsLabelled: true,
  select({ unlabelled, labelled, numClasses: c, budget, options }) {
    const n = unlabelled.ids.length;
    const ref = labelled && labelled.ids.length ? labelled : unlabelled;
    const refCards = predictedCardinality(ref.probs, ref.ids.length, c);
    let mu = 0;
    for (const k of refCards) mu += k;
    mu /= Math.max(1, refCards.length);
    const scores = adaptiveScores(unlabelled.probs, n, c, mu, options.beta ?? 0.5);
    return {
      selected: topByScore(scores, budget).map((i) => unlabelled.ids[i]!),
      scores: scoresById(unlabelled.ids, scores),
      diagnostics: { meanLabelledCardinality: mu },
    };
  },
};
