/**
 * `badge`: Batch Active learning by Diverse Gradient Embeddings (Ash et al. 2020): k-means++ seeding on the
 * last-layer gradient embeddings g = (p − ŷ) ⊗ h under pseudo-labels, which favours samples that are both
 * uncertain (long g) and different from each other.
 *
 * The embeddings (C·D values each) are never materialised: ‖g_i − g_j‖² = ‖a_i‖²‖h_i‖² + ‖a_j‖²‖h_j‖²
 * − 2(a_i·a_j)(h_i·h_j) with a = p − ŷ, so each seeding step costs O(N·(C + D)) time and O(N) memory.
 *
 * @module
 */
import type { QueryFunction } from "../query.ts";
import { residual } from "./gradient.ts";

/**
 * BADGE.
 *
 * @example
 * ```ts
 * import { Rng } from "../../rng.ts";
 * import { badge } from "./badge.ts";
 * const r = await badge.select({ unlabelled: { ids: ["a", "b", "c"], probs: new Float32Array([0.6, 0.4, 0.9]), features: new Float32Array([1, 2, 3]) },
 *   numClasses: 1, featureDim: 1, budget: 2, rng: Rng.root(0), options: {} });
 * console.assert(r.selected.length === 2);
 * ```
 */
export const badge: QueryFunction = {
  name: "badge",
  optionSchema: {},
  description: "k-means++ seeding on last-layer gradient embeddings under pseudo-labels",
  needs: ["probs", "features"],
  select({ unlabelled, numClasses: c, featureDim: d, budget, rng }) {
    const n = unlabelled.ids.length, b = Math.min(budget, n);
    const { probs, features } = unlabelled;
    const a2 = new Float64Array(n), h2 = new Float64Array(n), norm2 = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const r = residual(probs, i, c);
      a2[i] = r.reduce((s, v) => s + v * v, 0);
      let hh = 0;
      for (let k = 0; k < d; k++) hh += features[i * d + k]! ** 2;
      h2[i] = hh;
      norm2[i] = a2[i]! * hh;
    }
    // Residuals p − ŷ, computed once (the same doubles the pairwise loop computed each time).
    const res = new Float64Array(n * c);
    for (let t = 0; t < n * c; t++) {
      const p = probs[t]!;
      res[t] = p - (p >= 0.5 ? 1 : 0);
    }
    const dist = (i: number, j: number) => {
      let aa = 0, hh = 0;
      for (let q = 0; q < c; q++) aa += res[i * c + q]! * res[j * c + q]!;
      const io = i * d, jo = j * d;
      let k = 0;
      // Unrolled by four with the additions kept in order (the same sum, bit for bit).
      for (; k + 4 <= d; k += 4) {
        hh += features[io + k]! * features[jo + k]!;
        hh += features[io + k + 1]! * features[jo + k + 1]!;
        hh += features[io + k + 2]! * features[jo + k + 2]!;
        hh += features[io + k + 3]! * features[jo + k + 3]!;
      }
      for (; k < d; k++) hh += features[io + k]! * features[jo + k]!;
      return Math.max(0, norm2[i]! + norm2[j]! - 2 * aa * hh);
    };
    // BADGE starts from the largest gradient embedding, then samples ∝ D².
    let first = 0;
    for (let i = 1; i < n; i++) if (norm2[i]! > norm2[first]!) first = i;
    const chosen = new Uint8Array(n);
    const picks = [first];
    chosen[first] = 1;
    const best = new Float64Array(n).fill(Infinity);
    while (picks.length < b) {
      const last = picks[picks.length - 1]!;
      let total = 0;
      for (let i = 0; i < n; i++) {
        if (chosen[i]) continue;
        const dd = dist(i, last);
        if (dd < best[i]!) best[i] = dd;
        total += best[i]!;
      }
      let pick = -1;
      if (total > 0) {
        let r = rng.next() * total;
        for (let i = 0; i < n && pick < 0; i++) {
          if (chosen[i]) continue;
          r -= best[i]!;
          if (r < 0) pick = i;
        }
      }
      if (pick < 0) { for (let i = n - 1; i >= 0 && pick < 0; i--) if (!chosen[i]) pick = i; }
      chosen[pick] = 1;
      picks.push(pick);
    }
    const scores: Record<string, number> = {};
    unlabelled.ids.forEach((id, i) => (scores[id] = Math.sqrt(norm2[i]!)));
    return { selected: picks.map((i) => unlabelled.ids[i]!), scores };
  },
};
