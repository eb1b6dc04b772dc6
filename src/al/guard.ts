/**
 * The guard on a query function's input, in production (the plug-in sandbox wraps every call's input with it) and
 * in the conformance suite: a frozen input that throws when a function reads a field the interface does not
 * define, such as the labels of unlabelled samples. It sits beside the views it guards (`query.ts`).
 *
 * @module
 */
import type { ModelView, QueryInput } from "./query.ts";

const ALLOWED_KEYS = new Set([
  "unlabelled",
  "labelled",
  "numClasses",
  "featureDim",
  "budget",
  "rng",
  "options",
  "signal",
]);

/**
 * A frozen input that throws when a function reads anything the interface does not define (e.g. `labels`).
 *
 * @example
 * ```ts
 * import { Rng } from "../rng.ts";
 * import { syntheticView } from "./conformance.ts";
 * import { guardedInput } from "./guard.ts";
 * const input = guardedInput({ unlabelled: syntheticView(4, 2, 2, 0), numClasses: 2, featureDim: 2, budget: 1, rng: Rng.root(0), options: {} });
 * let threw = false;
 * try { (input as unknown as { labels: unknown }).labels; } catch { threw = true; }
 * console.assert(threw);
 * ```
 */
export function guardedInput(input: QueryInput): QueryInput {
  // A frozen view (such as restrictView's) is guarded as it is, so its undeclared outputs still throw when read.
  const guardView = (v: ModelView) =>
    new Proxy(Object.isFrozen(v) ? v : Object.freeze({ ...v }), {
      get(target, key) {
        if (
          typeof key === "string" && !["ids", "probs", "features"].includes(key) && !(key in Object.prototype)
        ) {
          throw new Error(
            `query input: no field ${JSON.stringify(key)} (labels of unlabelled samples are hidden)`,
          );
        }
        return Reflect.get(target, key);
      },
    });
  const base = Object.freeze({
    ...input,
    unlabelled: guardView(input.unlabelled),
    ...(input.labelled ? { labelled: guardView(input.labelled) } : {}),
  });
  return new Proxy(base, {
    get(target, key) {
      if (typeof key === "string" && !ALLOWED_KEYS.has(key) && !(key in Object.prototype) && key !== "then") {
        throw new Error(
          `query input: no field ${JSON.stringify(key)} (labels of unlabelled samples are hidden)`,
        );
      }
      return Reflect.get(target, key);
    },
  });
}
