/**
 * The `QueryFunction` interface: how an active-learning strategy picks the next `b` samples to label.
 *
 * A query function sees plain arrays computed once per iteration, in inference mode and without augmentation:
 * the model's class probabilities and penultimate features for every unlabelled sample (and, when it asks, for the
 * labelled ones), their ids, the budget, a seeded stream and its options. It never sees labels: the input type
 * has no field for them, and the loop builds it from the model's outputs alone. It returns exactly `b` distinct
 * unlabelled ids (all of them when fewer remain), optionally with per-sample scores and cluster assignments.
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
  /** Pick samples. */
  select(input: QueryInput): QueryResult | Promise<QueryResult>;
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
