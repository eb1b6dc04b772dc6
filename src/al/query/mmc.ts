/**
 * `mmc`: Maximum loss reduction with Maximal Confidence (Yang, Sun, Wang, Chen & Wang, "Effective multi-label
 * active learning for text classification", KDD 2009).
 *
 * ## The paper
 *
 * With one binary SVM per class, f_j(x) ∈ [−1, 1], MMC selects the samples with the largest approximate expected
 * loss reduction (their eq. 6 with the bound of eq. 7):
 *
 *     score(x) = Σ_{j=1..C} (1 − ŷ_j(x) · f_j(x)) / 2
 *
 * where ŷ(x) ∈ {−1, +1}^C is the most confident label vector: the classes sorted by their (normalised) outputs,
 * the top m(x) set to +1 and the rest to −1, with the number of labels m(x) predicted by a logistic regression
 * trained on the labelled set (input: the sorted normalised outputs; target: each labelled sample's true number
 * of labels). The b highest scores are queried.
 *
 * ## Adaptation here (probabilities, no labels)
 *
 * - f_j(x) = 2·p_j(x) − 1: the sigmoid probability as a signed confidence in [−1, 1], the range the paper's
 *   bound assumes of an SVM output.
 * - m(x) cannot be learned as in the paper: a query function never sees labels, so there are no true label
 *   counts to regress on. It is taken from the model's own output instead — by default the expected number of
 *   labels under the model, m(x) = max(1, round(Σ_j p_j(x))) (option `cardinality: "expected"`), or the number of
 *   classes with p ≥ 0.5, at least 1 (`"threshold"`; then ŷ is the thresholded prediction and MMC reduces to a
 *   sum of per-class margins). The labelled set is not used.
 * - Ties between classes of equal probability go to the lower class index; ties between samples of equal score to
 *   the lower position.
 *
 * O(N·C²) time, O(N) memory.
 *
 * @module
 */
import type { OptionSchema, QueryFunction } from "../query.ts";
import { schemaDefaults } from "../query.ts";
import { scoresById, topByScore } from "./multilabel.ts";

/** MMC's options. */
export type MmcOptions = {
  readonly cardinality?: "expected" | "threshold";
};

const MMC_OPTIONS: OptionSchema = {
  cardinality: {
    type: "string",
    values: ["expected", "threshold"],
    default: "expected",
    description: "How m(x), the number of labels set to +1, is predicted without labels: round(Σ p) " +
      '("expected", at least 1) or the classes with p >= 0.5 ("threshold", at least 1).',
  },
};

/**
 * MMC scores of the rows of an `n × c` probability matrix: Σ_j (1 − ŷ_j (2p_j − 1)) / 2, with ŷ the top-m(x)
 * classes set to +1.
 *
 * @example
 * ```ts
 * import { mmcScores } from "./mmc.ts";
 * // p = (0.9, 0.4): Σp = 1.3 → m = 1, ŷ = (+1, −1): (1 − 0.8)/2 + (1 − 0.2)/2 = 0.5.
 * const s = mmcScores(new Float32Array([0.9, 0.4]), 1, 2, "expected");
 * console.assert(Math.abs(s[0]! - 0.5) < 1e-6);
 * ```
 */
export function mmcScores(
  probs: Float32Array,
  n: number,
  c: number,
  cardinality: "expected" | "threshold",
): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * c;
    let m = 0;
    if (cardinality === "expected") {
      let sum = 0;
      for (let j = 0; j < c; j++) sum += probs[o + j]!;
      m = Math.round(sum);
    } else {
      for (let j = 0; j < c; j++) if (probs[o + j]! >= 0.5) m++;
    }
    m = Math.max(1, Math.min(c, m));
    let s = 0;
    for (let j = 0; j < c; j++) {
      const pj = probs[o + j]!;
      // Rank of class j by probability, descending; equal probabilities by class index.
      let rank = 0;
      for (let k = 0; k < c; k++) {
        const pk = probs[o + k]!;
        if (pk > pj || (pk === pj && k < j)) rank++;
      }
      const y = rank < m ? 1 : -1;
      s += (1 - y * (2 * pj - 1)) / 2;
    }
    out[i] = s;
  }
  return out;
}

/**
 * MMC (Yang et al., KDD 2009), label cardinality predicted from the model's own probabilities.
 *
 * @example
 * ```ts
 * import { Rng } from "../../rng.ts";
 * import { mmc } from "./mmc.ts";
 * const r = await mmc.select({
 *   unlabelled: { ids: ["sure", "unsure"], probs: new Float32Array([0.99, 0.01, 0.6, 0.45]), features: new Float32Array(2) },
 *   numClasses: 2, featureDim: 1, budget: 1, rng: Rng.root(0), options: { cardinality: "expected" },
 * });
 * console.assert(r.selected[0] === "unsure");
 * ```
 */
export const mmc: QueryFunction<MmcOptions> = {
  name: "mmc",
  description: "MMC (Yang et al. 2009): max loss reduction with maximal confidence, cardinality from Σ p",
  optionSchema: MMC_OPTIONS,
  defaults: schemaDefaults(MMC_OPTIONS),
  needs: ["probs"],
  select({ unlabelled, numClasses, budget, options }) {
    const n = unlabelled.ids.length;
    const scores = mmcScores(unlabelled.probs, n, numClasses, options.cardinality ?? "expected");
    return {
      selected: topByScore(scores, budget).map((i) => unlabelled.ids[i]!),
      scores: scoresById(unlabelled.ids, scores),
    };
  },
};
