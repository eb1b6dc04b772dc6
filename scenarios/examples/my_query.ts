/**
 * An example plug-in query function: "margin" sampling for multi-label outputs. It picks the b unlabelled samples
 * whose most uncertain class probability is closest to 0.5.
 *
 * Use it from a scenario arm as `{"name": "margin", "query": {"module": "./my_query.ts"}}` (the path is relative
 * to the scenario file), check it with `deno task test-query scenarios/examples/my_query.ts`, and run it with
 * `deno task query --fn scenarios/examples/my_query.ts --input FILE.json --b 20 --seed 0`.
 *
 * A query function gets model outputs only (probabilities and features of the unlabelled samples, or just those
 * it declares in `needs`), never their labels, and must return exactly b distinct unlabelled ids.
 *
 * @module
 */
import type { QueryFunction } from "../../mod.ts";

/** The options `select` reads, typed (a type alias matching `optionSchema`; optional keys with a fallback). */
type MarginOptions = { readonly centre?: number };

const margin: QueryFunction<MarginOptions> = {
  name: "margin",
  description: "b samples whose least confident class probability is closest to 0.5",
  // Every option with its type, bounds, default and meaning (`{}` for none). Scenario arms and `--options` are
  // checked against it before anything runs: an unknown key or a wrong type is an error naming the arm and key.
  optionSchema: {
    centre: {
      type: "number",
      min: 0,
      max: 1,
      default: 0.5,
      description: "The probability a class is least sure at; the margin is |p - centre|.",
    },
  },
  // The model outputs it reads; omit to get probabilities and features, or [] for a function of ids only.
  needs: ["probs"],
  select({ unlabelled, numClasses, budget, options }) {
    const n = unlabelled.ids.length, centre = options.centre ?? 0.5;
    const closeness = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let best = Infinity;
      for (let j = 0; j < numClasses; j++) {
        best = Math.min(best, Math.abs(unlabelled.probs[i * numClasses + j]! - centre));
      }
      closeness[i] = best;
    }
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) =>
      closeness[a]! - closeness[b]! || a - b
    );
    const selected = order.slice(0, Math.min(budget, n)).map((i) => unlabelled.ids[i]!);
    const scores: Record<string, number> = {};
    unlabelled.ids.forEach((id, i) => (scores[id] = 0.5 - closeness[i]!));
    return { selected, scores };
  },
};

export default margin;
