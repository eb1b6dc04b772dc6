/**
 * A deliberately poor query function, for trying `deno task compare`: it picks the b unlabelled samples the model
 * is *most* sure about (every class probability far from 0.5), the opposite of uncertainty sampling, so it should
 * come out below random.
 *
 * `deno task compare scenarios/examples/most_confident.ts` compares it with random on the default scenario.
 *
 * @module
 */
import type { QueryFunction } from "../../mod.ts";

const mostConfident: QueryFunction = {
  name: "most-confident",
  description: "b samples whose least confident class probability is farthest from 0.5 (a poor strategy)",
  optionSchema: {},
  needs: ["probs"],
  select({ unlabelled, numClasses, budget }) {
    const n = unlabelled.ids.length;
    const confidence = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let least = Infinity;
      for (let j = 0; j < numClasses; j++) {
        least = Math.min(least, Math.abs(unlabelled.probs[i * numClasses + j]! - 0.5));
      }
      confidence[i] = least;
    }
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) =>
      confidence[b]! - confidence[a]! || a - b
    );
    return { selected: order.slice(0, Math.min(budget, n)).map((i) => unlabelled.ids[i]!) };
  },
};

export default mostConfident;
