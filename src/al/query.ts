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

/** The option values a function receives when it does not say more precisely (its type parameter). */
export type AnyOptions = Readonly<Record<string, unknown>>;

/** What a query function receives; `O` is the type of its options (see {@linkcode OptionSchema}). */
export interface QueryInput<O extends AnyOptions = AnyOptions> {
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
  /**
   * Options from the scenario arm, merged over the function's defaults. For a function with an
   * {@linkcode QueryFunction.optionSchema} they were checked against it before the run started, so they have the
   * declared types and bounds.
   */
  readonly options: O;
  /**
   * Aborted when the caller gives up on this call (its time limit passed). A function that holds outside
   * resources stops them (the Python bridge kills its process); others may ignore it.
   */
  readonly signal?: AbortSignal;
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

/**
 * One option of a query function: its type, default, bounds and meaning. `"integer"` is a number with no
 * fractional part; `values` lists the allowed strings of a `"string"` option. An option without `default` is
 * absent from the options unless the arm gives it.
 */
export interface OptionSpec {
  /** The value's type. */
  readonly type: "number" | "integer" | "boolean" | "string";
  /** What it does (shown by `deno task query --list` and in the scenario JSON Schema). */
  readonly description: string;
  /** The value used when the arm does not give one. */
  readonly default?: number | boolean | string;
  /** Smallest allowed value (numbers). */
  readonly min?: number;
  /** Largest allowed value (numbers). */
  readonly max?: number;
  /** The allowed values (strings). */
  readonly values?: readonly string[];
}

/**
 * A query function's options: option name → {@linkcode OptionSpec}. Scenario arms and `deno task query
 * --options` are checked against it before anything runs: unknown keys, wrong types and values out of bounds are
 * errors naming the key and listing the allowed ones. `{}` declares a function without options.
 */
export type OptionSchema = Readonly<Record<string, OptionSpec>>;

/**
 * An active-learning query strategy; `O` types the options it reads: a type alias (not an interface) such as
 * `{ readonly beta?: number }` matching its {@linkcode QueryFunction.optionSchema}. Keys are best optional with a
 * fallback in the code, so that calling `select` directly with `options: {}` also works; runs always pass the
 * defaults merged in.
 */
export interface QueryFunction<O extends AnyOptions = AnyOptions> {
  /** Stable name, used in reports. */
  readonly name: string;
  /** One-line description. */
  readonly description: string;
  /** Longer documentation, shown by `deno task query --fn … --help` (a Python plug-in's module docstring). */
  readonly doc?: string;
  /**
   * The options it accepts, with types, bounds, defaults and descriptions. Functions without one (older
   * plug-ins) still run: their options are passed through unchecked over {@linkcode QueryFunction.defaults}, and a
   * key not among those defaults is reported as a warning, not an error.
   */
  readonly optionSchema?: OptionSchema;
  /**
   * Defaults of the options. With an {@linkcode QueryFunction.optionSchema} they must equal its defaults (give
   * them with {@linkcode schemaDefaults}); without one they are the only record of the options.
   */
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
  select(input: QueryInput<O>): QueryResult | Promise<QueryResult>;
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
  // Scores and clusters, when given, are by unlabelled id and numeric: a foreign key or a string is a defect.
  for (const [field, integer] of [["scores", false], ["clusters", true]] as const) {
    const by = result[field] as unknown;
    if (by === undefined) continue;
    if (by === null || typeof by !== "object" || Array.isArray(by)) {
      throw new Error(
        `query function ${name} returned ${field} that is not an object by id (got ${
          Array.isArray(by) ? "an array" : JSON.stringify(by)
        }); give { id: number } for unlabelled ids, or leave ${field} out`,
      );
    }
    for (const [id, v] of Object.entries(by)) {
      if (!pool.has(id)) {
        throw new Error(
          `query function ${name} returned ${field} for ${JSON.stringify(id)}, which is not unlabelled; ` +
            `${field} are by unlabelled id`,
        );
      }
      if (typeof v !== "number" || !Number.isFinite(v) || (integer && !(Number.isInteger(v) && v >= 0))) {
        throw new Error(
          `query function ${name} returned ${field}[${JSON.stringify(id)}] = ${
            JSON.stringify(v)
          } (${typeof v}); ` +
            (integer ? "cluster indices are non-negative integers" : "scores must be finite numbers"),
        );
      }
    }
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

/**
 * The defaults an option schema declares, as a plain object (for {@linkcode QueryFunction.defaults}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { schemaDefaults } from "./query.ts";
 * assert.deepEqual(
 *   schemaDefaults({ k: { type: "integer", default: 3, description: "" }, m: { type: "number", description: "" } }),
 *   { k: 3 },
 * );
 * ```
 */
export function schemaDefaults(schema: OptionSchema): Record<string, number | boolean | string> {
  const out: Record<string, number | boolean | string> = {};
  for (const [key, spec] of Object.entries(schema)) if (spec.default !== undefined) out[key] = spec.default;
  return out;
}

/** The defaults a function runs with: its schema's when it has one, else its `defaults`. */
function defaultsOf(fn: QueryFunction): Record<string, unknown> {
  return fn.optionSchema ? schemaDefaults(fn.optionSchema) : { ...(fn.defaults ?? {}) };
}

/**
 * What a spec allows, in words: "a number >= 0 and <= 1", "true or false", "one of "a", "b"".
 *
 * @example
 * ```ts
 * import { describeOptionType } from "./query.ts";
 * console.assert(describeOptionType({ type: "integer", min: 1, description: "" }) === "an integer >= 1");
 * ```
 */
export function describeOptionType(spec: OptionSpec): string {
  if (spec.type === "boolean") return "true or false";
  if (spec.type === "string") {
    return spec.values ? `one of ${spec.values.map((v) => JSON.stringify(v)).join(", ")}` : "a string";
  }
  const bounds = [
    ...(spec.min !== undefined ? [`>= ${spec.min}`] : []),
    ...(spec.max !== undefined ? [`<= ${spec.max}`] : []),
  ];
  return `${spec.type === "integer" ? "an integer" : "a number"}${
    bounds.length ? ` ${bounds.join(" and ")}` : ""
  }`;
}

/** Why `value` does not satisfy `spec`, or null when it does. */
function optionProblem(spec: OptionSpec, value: unknown): string | null {
  const ok = spec.type === "boolean"
    ? typeof value === "boolean"
    : spec.type === "string"
    ? typeof value === "string" && (!spec.values || spec.values.includes(value))
    : typeof value === "number" && Number.isFinite(value) &&
      (spec.type === "number" || Number.isInteger(value)) &&
      (spec.min === undefined || value >= spec.min) && (spec.max === undefined || value <= spec.max);
  return ok ? null : `must be ${describeOptionType(spec)}; got ${JSON.stringify(value) ?? String(value)}`;
}

/**
 * Why a query function's own `optionSchema` cannot be right, or null: an unknown type, bounds that are not finite
 * numbers or that cross (min > max), a `values` list that is empty or not strings, or a default the schema itself
 * refuses. Checked when a plug-in loads, so a schema error is the plug-in's, named, not the arm's later.
 *
 * @example
 * ```ts
 * import { optionSchemaProblem } from "./query.ts";
 * console.assert(optionSchemaProblem({ k: { type: "integer", min: 5, max: 1, description: "" } })!.includes("min 5 > max 1"));
 * console.assert(optionSchemaProblem({ k: { type: "integer", min: 1, default: 0, description: "" } })!.includes("default"));
 * console.assert(optionSchemaProblem({ k: { type: "integer", min: 1, max: 9, default: 2, description: "" } }) === null);
 * ```
 */
export function optionSchemaProblem(schema: unknown): string | null {
  if (schema === undefined) return null;
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) {
    return `optionSchema must be an object of option specs; got ${JSON.stringify(schema)}`;
  }
  for (const [key, raw] of Object.entries(schema)) {
    const spec = raw as Partial<OptionSpec> | null;
    const at = `optionSchema.${key}`;
    if (spec === null || typeof spec !== "object") {
      return `${at} must be an object; got ${JSON.stringify(spec)}`;
    }
    if (!["number", "integer", "boolean", "string"].includes(spec.type as string)) {
      return `${at}.type must be "number", "integer", "boolean" or "string"; got ${
        JSON.stringify(spec.type)
      }`;
    }
    for (const bound of ["min", "max"] as const) {
      const v = spec[bound];
      if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v))) {
        return `${at}.${bound} must be a finite number; got ${JSON.stringify(v)}`;
      }
    }
    if (spec.min !== undefined && spec.max !== undefined && spec.min > spec.max) {
      return `${at}: min ${spec.min} > max ${spec.max}, so no value is allowed; swap or fix the bounds`;
    }
    if (
      spec.values !== undefined &&
      (!Array.isArray(spec.values) || !spec.values.length || spec.values.some((v) => typeof v !== "string"))
    ) {
      return `${at}.values must be a non-empty list of strings; got ${JSON.stringify(spec.values)}`;
    }
    if (spec.default !== undefined) {
      const why = optionProblem(spec as OptionSpec, spec.default);
      if (why) return `${at}.default ${why.replace(/^must/, "must itself")}`;
    }
  }
  return null;
}

/** The outcome of checking options against a function's schema. */
export interface CheckedOptions {
  /** The options the function runs with: its defaults, overridden by the given ones. */
  readonly values: Record<string, unknown>;
  /** Errors, each `<key>: <what is wrong>`: unknown keys, wrong types, values out of bounds. */
  readonly problems: readonly string[];
  /** For functions without a schema: keys passed through unchecked. */
  readonly warnings: readonly string[];
}

/**
 * Check options given to `fn` (a scenario arm's `options`, or `--options`) against its
 * {@linkcode QueryFunction.optionSchema}, and merge them over its defaults. Nothing throws; the caller reports
 * `problems` (prefixed with where the options came from) and `warnings`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkQueryOptions, type QueryFunction } from "./query.ts";
 * const fn: QueryFunction = {
 *   name: "f", description: "", select: () => ({ selected: [] }),
 *   optionSchema: { k: { type: "integer", min: 1, default: 2, description: "how many" } },
 * };
 * assert.deepEqual(checkQueryOptions(fn, { k: 5 }).values, { k: 5 });
 * assert.match(checkQueryOptions(fn, { kk: 5 }).problems[0]!, /unknown option "kk"; f's options are: k/);
 * assert.match(checkQueryOptions(fn, { k: 0.5 }).problems[0]!, /k: must be an integer >= 1; got 0.5/);
 * ```
 */
export function checkQueryOptions(
  fn: QueryFunction,
  given: Readonly<Record<string, unknown>>,
): CheckedOptions {
  const values = defaultsOf(fn);
  const problems: string[] = [], warnings: string[] = [];
  if (given === null || typeof given !== "object" || Array.isArray(given)) {
    return { values, problems: [`options must be an object; got ${JSON.stringify(given)}`], warnings };
  }
  const schema = fn.optionSchema;
  for (const [key, value] of Object.entries(given)) {
    if (!schema) {
      if (!(key in values)) {
        warnings.push(
          `${key}: passed unchecked to ${fn.name}, which declares no optionSchema (and no default for it)`,
        );
      }
      values[key] = value;
      continue;
    }
    const spec = Object.hasOwn(schema, key) ? schema[key] : undefined;
    if (!spec) {
      const keys = Object.keys(schema);
      problems.push(
        `unknown option ${JSON.stringify(key)}; ${fn.name}'s options are: ${
          keys.length ? keys.join(", ") : "none"
        }`,
      );
      continue;
    }
    const why = optionProblem(spec, value);
    if (why) problems.push(`${key}: ${why}`);
    else values[key] = value;
  }
  return { values, problems, warnings };
}

/**
 * {@linkcode checkQueryOptions}, throwing one error that lists every problem, prefixed with `where` (e.g.
 * `arms[1] "mge"`). Returns the merged options.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseQueryOptions, type QueryFunction } from "./query.ts";
 * const fn: QueryFunction = { name: "f", description: "", select: () => ({ selected: [] }), optionSchema: {} };
 * assert.throws(() => parseQueryOptions(fn, { x: 1 }, "--options"), /--options: unknown option "x"; f's options are: none/);
 * ```
 */
export function parseQueryOptions(
  fn: QueryFunction,
  given: Readonly<Record<string, unknown>>,
  where = "options",
): Record<string, unknown> {
  const checked = checkQueryOptions(fn, given);
  if (checked.problems.length) throw new Error(checked.problems.map((p) => `${where}: ${p}`).join("; "));
  return checked.values;
}

/**
 * The JSON Schema of a function's options object: one property per option with its type, bounds, default and
 * description, and no other keys allowed. A function without a schema gets `{"type": "object"}` (anything).
 *
 * @example
 * ```ts
 * import { optionsJsonSchema } from "./query.ts";
 * const s = optionsJsonSchema({ beta: { type: "number", min: 0, max: 1, default: 0.5, description: "weight" } });
 * console.assert(s.additionalProperties === false);
 * ```
 */
export function optionsJsonSchema(schema: OptionSchema | undefined): Record<string, unknown> {
  if (!schema) return { type: "object" };
  const properties: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) {
    properties[key] = {
      type: spec.type,
      ...(spec.min !== undefined ? { minimum: spec.min } : {}),
      ...(spec.max !== undefined ? { maximum: spec.max } : {}),
      ...(spec.values ? { enum: [...spec.values] } : {}),
      ...(spec.default !== undefined ? { default: spec.default } : {}),
      description: spec.description,
    };
  }
  return { type: "object", properties, additionalProperties: false };
}

/**
 * A function's options as text lines for `deno task query --list` / `--help`: name, type and bounds, default,
 * description.
 *
 * @example
 * ```ts
 * import { formatOptions } from "./query.ts";
 * const lines = formatOptions({ name: "f", description: "", select: () => ({ selected: [] }),
 *   optionSchema: { beta: { type: "number", min: 0, max: 1, default: 0.5, description: "weight" } } });
 * console.assert(lines[0]!.includes("beta") && lines[0]!.includes("default 0.5"));
 * ```
 */
export function formatOptions(fn: QueryFunction): string[] {
  if (!fn.optionSchema) {
    const d = fn.defaults ?? {};
    return [
      `(no optionSchema: options are passed unchecked${
        Object.keys(d).length ? `; defaults ${JSON.stringify(d)}` : ""
      })`,
    ];
  }
  const entries = Object.entries(fn.optionSchema);
  if (!entries.length) return ["(no options)"];
  return entries.map(([key, spec]) =>
    `${key}: ${describeOptionType(spec)}, ${
      spec.default === undefined ? "no default" : `default ${JSON.stringify(spec.default)}`
    }. ${spec.description}`
  );
}
