/**
 * `coreset`: greedy k-center on penultimate features (Sener & Savarese 2018): repeatedly pick the unlabelled
 * sample farthest from its nearest labelled-or-picked sample. O(b·N·D) time, O(N) memory.
 *
 * @module
 */
import type { QueryFunction } from "../query.ts";

/**
 * Greedy core-set.
 *
 * @example
 * ```ts
 * import { Rng } from "../../rng.ts";
 * import { coreset } from "./coreset.ts";
 * const view = (ids: string[], f: number[]) => ({ ids, probs: new Float32Array(ids.length), features: new Float32Array(f) });
 * const r = await coreset.select({ unlabelled: view(["a", "b"], [1, 9]), labelled: view(["l"], [0]),
 *   numClasses: 1, featureDim: 1, budget: 1, rng: Rng.root(0), options: {} });
 * console.assert(r.selected[0] === "b");
 * ```
 */
export const coreset: QueryFunction = {
  name: "coreset",
  description: "greedy k-center on penultimate features, starting from the labelled set",
  needsLabelled: true,
  needs: ["features"],
  select({ unlabelled, labelled, featureDim: d, budget, rng }) {
    const n = unlabelled.ids.length, b = Math.min(budget, n);
    const f = unlabelled.features;
    const nearest = new Float64Array(n).fill(Infinity);
    const update = (src: Float32Array, j: number) => {
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let k = 0; k < d; k++) {
          const t = f[i * d + k]! - src[j * d + k]!;
          s += t * t;
        }
        if (s < nearest[i]!) nearest[i] = s;
      }
    };
    const m = labelled?.ids.length ?? 0;
    for (let j = 0; j < m; j++) update(labelled!.features, j);
    const chosen = new Uint8Array(n);
    const picks: number[] = [];
    if (m === 0) {
      const start = rng.int(n); // no labelled set: start anywhere (seeded)
      picks.push(start);
      chosen[start] = 1;
      update(f, start);
    }
    while (picks.length < b) {
      let far = -1;
      for (let i = 0; i < n; i++) if (!chosen[i] && (far < 0 || nearest[i]! > nearest[far]!)) far = i;
      picks.push(far);
      chosen[far] = 1;
      update(f, far);
    }
    return { selected: picks.map((i) => unlabelled.ids[i]!) };
  },
};
