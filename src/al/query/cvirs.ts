/**
 * `cvirs`: Category Vector Inconsistency and Ranking of Scores (Reyes, Morell & Ventura, "Effective active learning
 * strategy for multi-label learning", Neurocomputing 273, 2018).
 *
 * ## The paper
 *
 * The score of an unlabelled x is the product of two measures:
 *
 * 1. Uncertainty by rank aggregation. Per class j, the pool is ranked by the margin
 *    m_j(x) = |P(y_j = 1 | x) − P(y_j = 0 | x)| (ascending: rank 1 is the least certain); the ranks are merged with
 *    a Borda count,
 *
 *        s(x) = Σ_{j=1..C} (|U| − r_j(x)) / (C · (|U| − 1))   ∈ [0, 1].
 *
 * 2. Category vector inconsistency: the mean distance between the predicted label vector ŷ(x) (threshold 0.5) and
 *    the label vectors y_l of the labelled set,
 *
 *        v(x) = (1/|L|) Σ_{l ∈ L} d(ŷ(x), y_l),
 *
 *    where, treating the C positions as paired observations of two binary variables with contingency counts
 *    a (1,1), b (0,1), c (1,0), d (0,0), d = 1 when the vectors differ everywhere (normalised Hamming distance
 *    1) and otherwise the normalised entropy distance (2·H(ŷ, y) − H(ŷ) − H(y)) / H(ŷ, y) (entropies in bits;
 *    0 when H(ŷ, y) = 0, i.e. both vectors constant and equal).
 *
 * The b samples with the largest s(x) · v(x) are queried.
 *
 * ## Adaptation here (probabilities, no labels)
 *
 * - P(y_j = 1 | x) = p_j(x), so m_j(x) = |2p_j(x) − 1|.
 * - Equal margins share a rank (1 + the number of strictly smaller margins); |U| = 1 gives s = 1.
 * - The labelled set's label vectors are hidden from a query function. They are replaced by the model's
 *   predicted vectors (p ≥ 0.5) for the labelled samples — the model was fitted to those labels, so this is its
 *   reconstruction of them. Without labelled samples v(x) = 1 (ranking only).
 *
 * Time O(C·N·log N + N·|L'|·⌈C/32⌉) with |L'| the distinct predicted labelled vectors (a lookup table over
 * (|ŷ|, |y|, a) for C ≤ 64); memory O(N·⌈C/32⌉).
 *
 * @module
 */
import type { QueryFunction } from "../query.ts";
import { scoresById, topByScore } from "./multilabel.ts";

/**
 * Borda-count uncertainty s(x) of each row: per class, rank by |2p − 1| ascending (ties share the lower rank),
 * then s = Σ_j (N − r_j) / (C (N − 1)).
 *
 * @example
 * ```ts
 * import { rankAggregation } from "./cvirs.ts";
 * // One class, margins 0.8, 0.2, 0.4 → ranks 3, 1, 2 → s = 0/2, 2/2, 1/2.
 * const s = rankAggregation(new Float32Array([0.9, 0.6, 0.3]), 3, 1);
 * console.assert(s[0] === 0 && s[1] === 1 && s[2] === 0.5);
 * ```
 */
export function rankAggregation(probs: Float32Array, n: number, c: number): Float64Array {
  const s = new Float64Array(n);
  if (n <= 1) return s.fill(1);
  const margin = new Float64Array(n), sorted = new Float64Array(n);
  for (let j = 0; j < c; j++) {
    for (let i = 0; i < n; i++) margin[i] = Math.abs(2 * probs[i * c + j]! - 1);
    sorted.set(margin);
    sorted.sort();
    for (let i = 0; i < n; i++) {
      // Number of strictly smaller margins: lower bound by binary search.
      const v = margin[i]!;
      let lo = 0, hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (sorted[mid]! < v) lo = mid + 1;
        else hi = mid;
      }
      s[i] = s[i]! + (n - (lo + 1));
    }
  }
  const denom = c * (n - 1);
  for (let i = 0; i < n; i++) s[i] = s[i]! / denom;
  return s;
}

/** −Σ q log₂ q over the counts (each divided by total), skipping zeros. */
function entropy(total: number, ...counts: number[]): number {
  let h = 0;
  for (const k of counts) if (k > 0) h -= (k / total) * Math.log2(k / total);
  return h;
}

/**
 * Reyes et al.'s distance between two binary label vectors of length `c`, from `kx` = |ŷ|, `ky` = |y| and `a` =
 * the positions where both are 1: 1 when they differ everywhere, else the normalised entropy distance.
 *
 * @example
 * ```ts
 * import { labelVectorDistance } from "./cvirs.ts";
 * console.assert(labelVectorDistance(2, 1, 1, 1) === 0); // equal vectors (1, 0) and (1, 0)
 * console.assert(labelVectorDistance(2, 1, 1, 0) === 1); // (1, 0) against (0, 1)
 * ```
 */
export function labelVectorDistance(c: number, kx: number, ky: number, a: number): number {
  const b = ky - a, cc = kx - a, d = c - kx - ky + a;
  if (b + cc === c) return 1;
  const joint = entropy(c, a, b, cc, d);
  if (joint === 0) return 0;
  const hx = entropy(c, kx, c - kx), hy = entropy(c, ky, c - ky);
  return Math.max(0, (2 * joint - hx - hy) / joint);
}

/** Population count of a 32-bit word. */
function popcount(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Row bitsets of `probs >= 0.5`, `words` 32-bit words per row, and each row's count of ones. */
function bitsets(probs: Float32Array, n: number, c: number, words: number) {
  const bits = new Uint32Array(n * words), ones = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < c; j++) {
      if (probs[i * c + j]! >= 0.5) {
        bits[i * words + (j >>> 5)]! |= 1 << (j & 31);
        ones[i]!++;
      }
    }
  }
  return { bits, ones };
}

/**
 * Category vector inconsistency v(x): the mean distance from each row's predicted vector (p ≥ 0.5) to the
 * reference vectors `ref` (an `r × c` probability matrix, thresholded the same way).
 *
 * @example
 * ```ts
 * import { vectorInconsistency } from "./cvirs.ts";
 * // x = (1, 0) against references (1, 0) [distance 0] and (0, 1) [distance 1]: v = 0.5.
 * const v = vectorInconsistency(new Float32Array([0.9, 0.1]), 1, new Float32Array([0.8, 0.2, 0.3, 0.7]), 2, 2);
 * console.assert(v[0] === 0.5);
 * ```
 */
export function vectorInconsistency(
  probs: Float32Array,
  n: number,
  ref: Float32Array,
  r: number,
  c: number,
): Float64Array {
  const out = new Float64Array(n);
  if (r === 0) return out.fill(1);
  const words = Math.max(1, Math.ceil(c / 32));
  const x = bitsets(probs, n, c, words), y = bitsets(ref, r, c, words);
  // Distinct reference vectors with their multiplicities.
  const groups = new Map<string, number>();
  const firstOf: number[] = [];
  for (let l = 0; l < r; l++) {
    const key = y.bits.subarray(l * words, (l + 1) * words).join(",");
    const seen = groups.get(key);
    if (seen === undefined) {
      groups.set(key, firstOf.length);
      firstOf.push(l);
    }
  }
  const weight = new Float64Array(firstOf.length);
  for (let l = 0; l < r; l++) {
    weight[groups.get(y.bits.subarray(l * words, (l + 1) * words).join(","))!]! += 1 / r;
  }
  const table = c <= 64 ? new Float64Array((c + 1) ** 3).fill(NaN) : null;
  const dist = (kx: number, ky: number, a: number) => {
    if (!table) return labelVectorDistance(c, kx, ky, a);
    const at = (kx * (c + 1) + ky) * (c + 1) + a;
    let v = table[at]!;
    if (Number.isNaN(v)) v = table[at] = labelVectorDistance(c, kx, ky, a);
    return v;
  };
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let g = 0; g < firstOf.length; g++) {
      const l = firstOf[g]!;
      let a = 0;
      for (let w = 0; w < words; w++) a += popcount(x.bits[i * words + w]! & y.bits[l * words + w]!);
      v += weight[g]! * dist(x.ones[i]!, y.ones[l]!, a);
    }
    out[i] = v;
  }
  return out;
}

/**
 * CVIRS (Reyes et al., 2018), with the labelled set's predicted label vectors in place of its labels.
 *
 * @example
 * ```ts
 * import { Rng } from "../../rng.ts";
 * import { cvirs } from "./cvirs.ts";
 * const view = (ids: string[], p: number[]) => ({ ids, probs: new Float32Array(p), features: new Float32Array(ids.length) });
 * const r = await cvirs.select({
 *   unlabelled: view(["like-L", "unlike-L"], [0.9, 0.2, 0.4, 0.6]), labelled: view(["l"], [0.9, 0.1]),
 *   numClasses: 2, featureDim: 1, budget: 1, rng: Rng.root(0), options: {},
 * });
 * console.assert(r.selected[0] === "unlike-L");
 * ```
 */
export const cvirs: QueryFunction = {
  name: "cvirs",
  description:
    "CVIRS (Reyes et al. 2018): Borda-ranked margins × label-vector inconsistency with the labelled set",
  optionSchema: {},
  needs: ["probs"],
  needsLabelled: true,
  select({ unlabelled, labelled, numClasses: c, budget }) {
    const n = unlabelled.ids.length;
    const s = rankAggregation(unlabelled.probs, n, c);
    const r = labelled?.ids.length ?? 0;
    const v = vectorInconsistency(unlabelled.probs, n, r ? labelled!.probs : new Float32Array(0), r, c);
    const scores = new Float64Array(n);
    for (let i = 0; i < n; i++) scores[i] = s[i]! * v[i]!;
    return {
      selected: topByScore(scores, budget).map((i) => unlabelled.ids[i]!),
      scores: scoresById(unlabelled.ids, scores),
    };
  },
};
