/**
 * `uncertainty`: the b samples with the highest mean binary entropy over classes, a standard multi-label
 * uncertainty score (no diversity term).
 *
 * @module
 */
import type { QueryFunction } from "../query.ts";

/**
 * Mean binary entropy per sample, in nats.
 *
 * @example
 * ```ts
 * import { meanBinaryEntropy } from "./uncertainty.ts";
 * console.assert(Math.abs(meanBinaryEntropy(new Float32Array([0.5]), 1, 1)[0]! - Math.log(2)) < 1e-12);
 * ```
 */
export function meanBinaryEntropy(probs: Float32Array, n: number, c: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let h = 0;
    for (let j = 0; j < c; j++) {
      const p = Math.min(1 - 1e-7, Math.max(1e-7, probs[i * c + j]!));
      h -= p * Math.log(p) + (1 - p) * Math.log(1 - p);
    }
    out[i] = h / c;
  }
  return out;
}

/**
 * Top-b mean binary entropy.
 *
 * @example
 * ```ts
 * import { Rng } from "../../rng.ts";
 * import { uncertainty } from "./uncertainty.ts";
 * const r = await uncertainty.select({ unlabelled: { ids: ["a", "b"], probs: new Float32Array([0.99, 0.5]), features: new Float32Array(2) },
 *   numClasses: 1, featureDim: 1, budget: 1, rng: Rng.root(0), options: {} });
 * console.assert(r.selected[0] === "b");
 * ```
 */
export const uncertainty: QueryFunction = {
  name: "uncertainty",
  optionSchema: {},
  description: "top-b mean binary entropy of the class probabilities",
  needs: ["probs"],
  select({ unlabelled, numClasses, budget }) {
    const n = unlabelled.ids.length;
    const h = meanBinaryEntropy(unlabelled.probs, n, numClasses);
    const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => h[y]! - h[x]! || x - y);
    const scores: Record<string, number> = {};
    unlabelled.ids.forEach((id, i) => (scores[id] = h[i]!));
    return { selected: order.slice(0, Math.min(budget, n)).map((i) => unlabelled.ids[i]!), scores };
  },
};
