/**
 * The `QueryFunction` interface: how an active-learning strategy picks the next `b` samples to label.
 *
 * A query function sees plain arrays computed once per iteration, in inference mode and without augmentation:
 * the model's class probabilities and penultimate features for every unlabelled sample (and, when it asks, for the
 * labelled ones), their ids, the budget, a seeded stream and its options. It never sees labels: the input type
 * has no field for them, and the loop builds it from the model's outputs alone. It returns exactly `b` distinct
 * unlabelled ids (all of them when fewer remain), optionally with per-sample scores and cluster assignments.
 *
 * A function declares the model outputs it reads in `needs` (default: probabilities and features). The loop
 * runs the model over the pool only for functions that need some output — `random` declares none and costs no
 * inference — and hands each function exactly what it declared: reading an undeclared output throws (see
 * {@linkcode restrictView}), so a wrong declaration fails loudly, in the conformance suite first.
 *
 * @module
 */
import type { Rng } from "../rng.ts";

/** Model outputs for a set of samples: row-major arrays. */
export interface ModelView {
  /** Sample ids, one per row. */
  readonly ids: readonly string[];
  /** `N × C` sigmoid probabilities. */
  readonly probs: Float32Array;
  /** `N × D` penultimate-layer features. */
  readonly features: Float32Array;
}

/** A model output a query function may read from its views. */
export type ModelOutput = "probs" | "features";

/** Every model output: what a function that does not declare `needs` gets. */
export const ALL_MODEL_OUTPUTS: readonly ModelOutput[] = Object.freeze(["probs", "features"]);

/** What a query function receives. */
export interface QueryInput {
  /** The unlabelled pool U. */
  readonly unlabelled: ModelView;
  /** The labelled set (model outputs only, no labels), present when the function sets `needsLabelled`. */
  readonly labelled?: ModelView;
  /** Number of classes C. */
  readonly numClasses: number;
  /** Feature size D. */
  readonly featureDim: number;
  /** b: how many to select. */
  readonly budget: number;
  /** The function's own seeded stream. */
  readonly rng: Rng;
  /** Options from the scenario arm, merged over the function's defaults. */
  readonly options: Readonly<Record<string, unknown>>;
}

/** What a query function returns. */
export interface QueryResult {
  /** Exactly `min(b, |U|)` distinct ids from `unlabelled.ids`. */
  readonly selected: string[];
  /** Optional per-sample scores (e.g. uncertainty), by id. */
  readonly scores?: Record<string, number>;
  /** Optional cluster index per id, for the samples that were clustered. */
  readonly clusters?: Record<string, number>;
  /** Free diagnostics for the report. */
  readonly diagnostics?: Record<string, unknown>;
}

/** An active-learning query strategy. */
export interface QueryFunction {
  /** Stable name, used in reports. */
  readonly name: string;
  /** One-line description. */
  readonly description: string;
  /** Defaults of the options, documented by the function. */
  readonly defaults?: Readonly<Record<string, unknown>>;
  /** Whether it needs the labelled set's model outputs (core-set does). */
  readonly needsLabelled?: boolean;
  /**
   * The model outputs it reads from its views (`unlabelled`, and `labelled` with `needsLabelled`); default
   * `["probs", "features"]`, so a function that says nothing gets everything. `[]` declares a function that looks
   * at ids only (`random`): the AL loop then runs no inference for it at all. Outputs it does not declare are
   * absent from its views (reading them throws).
   */
  readonly needs?: readonly ModelOutput[];
  /** Pick samples. */
  select(input: QueryInput): QueryResult | Promise<QueryResult>;
}

/**
 * The model outputs a function declared it reads (every output when it declares nothing), checked: an unknown
 * output name throws.
 *
 * @example
 * ```ts
 * import { declaredNeeds } from "./query.ts";
 * console.assert(declaredNeeds({ name: "f", description: "", select: () => ({ selected: [] }) }).size === 2);
 * console.assert(declaredNeeds({ name: "r", description: "", needs: [], select: () => ({ selected: [] }) }).size === 0);
 * ```
 */
export function declaredNeeds(fn: QueryFunction): ReadonlySet<ModelOutput> {
  const needs = fn.needs ?? ALL_MODEL_OUTPUTS;
  if (!Array.isArray(needs)) {
    throw new Error(`query function ${fn.name}: needs must be an array of "probs" / "features"`);
  }
  for (const n of needs) {
    if (!ALL_MODEL_OUTPUTS.includes(n)) {
      throw new Error(
        `query function ${fn.name}: unknown need ${JSON.stringify(n)}; the model outputs are ${
          ALL_MODEL_OUTPUTS.join(", ")
        }`,
      );
    }
  }
  return new Set(needs);
}

/**
 * The view a function gets: `ids` and the declared outputs as plain properties; reading an undeclared output
 * throws, naming the function and the declaration to fix. Declared outputs missing from `outputs` are an error
 * of the caller.
 *
 * @example
 * ```ts
 * import { restrictView } from "./query.ts";
 * const v = restrictView("random", ["a", "b"], new Set(), {});
 * let threw = false;
 * try { v.probs; } catch { threw = true; }
 * console.assert(v.ids.length === 2 && threw);
 * ```
 */
export function restrictView(
  name: string,
  ids: readonly string[],
  needs: ReadonlySet<ModelOutput>,
  outputs: { readonly probs?: Float32Array; readonly features?: Float32Array },
): ModelView {
  const view: Record<string, unknown> = { ids };
  for (const key of ALL_MODEL_OUTPUTS) {
    if (needs.has(key)) {
      if (!outputs[key]) throw new Error(`restrictView: ${name} needs ${key}, which was not computed`);
      view[key] = outputs[key];
    } else {
      Object.defineProperty(view, key, {
        enumerable: false,
        get() {
          throw new Error(
            `query function ${name} read ${key}, which it does not declare in needs ` +
              `(${JSON.stringify([...needs])}); add "${key}" to its needs`,
          );
        },
      });
    }
  }
  return Object.freeze(view) as unknown as ModelView;
}

/**
 * Check a result against the contract; throws naming the function and the violation.
 *
 * @example
 * ```ts
 * import { checkQueryResult } from "./query.ts";
 * checkQueryResult("f", { selected: ["a"] }, ["a", "b"], 1);
 * ```
 */
export function checkQueryResult(
  name: string,
  result: QueryResult,
  unlabelled: readonly string[],
  budget: number,
): void {
  const want = Math.min(budget, unlabelled.length);
  if (!result || !Array.isArray(result.selected)) {
    throw new Error(`query function ${name} returned no "selected" array`);
  }
  if (result.selected.length !== want) {
    throw new Error(
      `query function ${name} selected ${result.selected.length} samples; it must select exactly ${want}`,
    );
  }
  const pool = new Set(unlabelled), seen = new Set<string>();
  for (const id of result.selected) {
    if (!pool.has(id)) {
      throw new Error(`query function ${name} selected ${JSON.stringify(id)}, which is not unlabelled`);
    }
    if (seen.has(id)) throw new Error(`query function ${name} selected ${JSON.stringify(id)} twice`);
    seen.add(id);
  }
}

/**
 * Read a numeric option with a default and a range check.
 *
 * @example
 * ```ts
 * import { numberOption } from "./query.ts";
 * console.assert(numberOption({ m: 5 }, "m", 10, "f") === 5);
 * ```
 */
export function numberOption(
  options: Readonly<Record<string, unknown>>,
  key: string,
  fallback: number,
  fn: string,
  min = -Infinity,
): number {
  const v = options[key] ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min) {
    throw new Error(
      `query function ${fn}: option ${key} must be a number >= ${min}, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}
