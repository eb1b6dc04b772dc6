/**
 * `random`: b unlabelled samples uniformly without replacement (the paper's baseline).
 *
 * @module
 */
import type { QueryFunction } from "../query.ts";

/**
 * Uniform random sampling.
 *
 * @example
 * ```ts
 * import { Rng } from "../../rng.ts";
 * import { random } from "./random.ts";
 * const r = random.select({ unlabelled: { ids: ["a", "b", "c"], probs: new Float32Array(3), features: new Float32Array(3) },
 *   numClasses: 1, featureDim: 1, budget: 2, rng: Rng.root(0), options: {} });
 * console.assert((r as { selected: string[] }).selected.length === 2);
 * ```
 */
export const random: QueryFunction = {
  name: "random",
  optionSchema: {},
  description: "b unlabelled samples drawn uniformly without replacement",
  // Only ids: the loop runs no inference for this arm.
  needs: [],
  select({ unlabelled, budget, rng }) {
    return { selected: rng.sample(unlabelled.ids, Math.min(budget, unlabelled.ids.length)) };
  },
};
