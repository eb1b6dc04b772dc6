/**
 * The query-function conformance suite: properties every query function must have, runnable against built-ins
 * and against a user's own module (`deno task test-query ./my_query.ts`).
 *
 * 1. It selects exactly `min(b, |U|)` distinct ids, all from the unlabelled pool.
 * 2. The same seed gives the same selection.
 * 3. `b ≥ |U|` selects the whole pool.
 * 4. It cannot see hidden labels: its input is a frozen object with no label field, and reading any property the
 *    interface does not define throws.
 * 5. It works at N = 100,000 without quadratic memory (the resident set grows by less than 2 GiB, where an
 *    N × N float matrix would need 40 GB).
 * 6. Its `needs` declaration is honoured: every check hands it only the model outputs it declares (as the AL loop
 *    does), so reading an undeclared one fails; a function declaring `needs: []` is called with ids alone — no
 *    probabilities, no features — and still selects correctly.
 * 7. It declares its options ({@linkcode QueryFunction.optionSchema}; `{}` for none): each has a known type, a
 *    description and a default that satisfies its own bounds, `defaults` (if given) equals the schema's defaults,
 *    and options with an unknown key or a wrong type are rejected. A function without a schema fails this check
 *    only: runs still accept it, passing its options through unchecked with a warning.
 *
 * @module
 */
import { Rng } from "../rng.ts";
import { guardedInput } from "./guard.ts";
import {
  ALL_MODEL_OUTPUTS,
  checkQueryOptions,
  checkQueryResult,
  declaredNeeds,
  type ModelView,
  type QueryFunction,
  type QueryInput,
  restrictView,
  schemaDefaults,
} from "./query.ts";

/**
 * A seeded synthetic view: clustered features, probabilities spread around 0.5.
 *
 * @example
 * ```ts
 * import { syntheticView } from "./conformance.ts";
 * const v = syntheticView(10, 3, 4, 0);
 * console.assert(v.ids.length === 10 && v.probs.length === 30 && v.features.length === 40);
 * ```
 */
export function syntheticView(n: number, c: number, d: number, seed: number, prefix = "u"): ModelView {
  const rng = Rng.root(seed).fork("query-conformance");
  const centres = Array.from({ length: 8 }, () => Array.from({ length: d }, () => rng.normal(0, 3)));
  const features = new Float32Array(n * d), probs = new Float32Array(n * c);
  for (let i = 0; i < n; i++) {
    const centre = centres[i % 8]!;
    for (let k = 0; k < d; k++) features[i * d + k] = centre[k]! + rng.normal();
    for (let j = 0; j < c; j++) probs[i * c + j] = 1 / (1 + Math.exp(-rng.normal(0, 2)));
  }
  return { ids: Array.from({ length: n }, (_, i) => `${prefix}${i}`), probs, features };
}

/** A synthetic view cut down to what `fn` declares in `needs`, as the AL loop hands it. */
function declaredView(fn: QueryFunction, v: ModelView): ModelView {
  return restrictView(fn.name, v.ids, declaredNeeds(fn), v);
}

function makeInput(fn: QueryFunction, n: number, b: number, seed: number, c = 17, d = 16): QueryInput {
  return guardedInput({
    unlabelled: declaredView(fn, syntheticView(n, c, d, seed)),
    ...(fn.needsLabelled
      ? {
        labelled: declaredView(
          fn,
          syntheticView(Math.min(200, Math.max(1, Math.floor(n / 10))), c, d, seed + 1, "l"),
        ),
      }
      : {}),
    numClasses: c,
    featureDim: d,
    budget: b,
    rng: Rng.root(seed).fork("query"),
    options: checkQueryOptions(fn, {}).values,
  });
}

/** A value of the wrong type for an option of type `type`. */
function wrongValue(type: string): unknown {
  return type === "boolean" ? 1 : type === "string" ? 1 : "1";
}

/** Problems of a function's option schema itself, or of how it rejects bad options. */
function optionSchemaProblems(fn: QueryFunction): string[] {
  const schema = fn.optionSchema;
  if (!schema || typeof schema !== "object") {
    return [
      "declares no optionSchema, so unknown or mistyped options would pass unchecked; declare one " +
      "(optionSchema: {} for a function without options)",
    ];
  }
  const problems: string[] = [];
  for (const [key, spec] of Object.entries(schema)) {
    if (!["number", "integer", "boolean", "string"].includes(spec?.type)) {
      problems.push(
        `option ${key}: type must be number, integer, boolean or string; got ${JSON.stringify(spec?.type)}`,
      );
      continue;
    }
    if (typeof spec.description !== "string" || !spec.description.trim()) {
      problems.push(`option ${key}: no description`);
    }
    if (spec.default !== undefined) {
      const own = checkQueryOptions(fn, { [key]: spec.default }).problems;
      if (own.length) problems.push(`option ${key}: its default does not satisfy its own schema (${own[0]})`);
    }
    if (!checkQueryOptions(fn, { [key]: wrongValue(spec.type) }).problems.length) {
      problems.push(`option ${key}: a ${typeof wrongValue(spec.type)} was accepted for a ${spec.type}`);
    }
  }
  const unknown = "__not_an_option__";
  if (!checkQueryOptions(fn, { [unknown]: 1 }).problems.some((p) => p.includes(unknown))) {
    problems.push(`an unknown option ${JSON.stringify(unknown)} was accepted`);
  }
  if (fn.defaults !== undefined) {
    const want = schemaDefaults(schema), got = fn.defaults;
    const same = Object.keys(want).length === Object.keys(got).length &&
      Object.entries(want).every(([k, v]) => Object.is(got[k], v));
    if (!same) {
      problems.push(
        `defaults ${JSON.stringify(got)} differ from the schema's defaults ${JSON.stringify(want)} ` +
          "(give defaults: schemaDefaults(schema), or leave defaults out)",
      );
    }
  }
  return problems;
}

/** Whether `view[key]` can be read (an undeclared output throws). */
function readable(view: ModelView, key: keyof ModelView): boolean {
  try {
    return view[key] instanceof Float32Array;
  } catch {
    return false;
  }
}

/** One named property check. */
export interface ConformanceCheck {
  /** What the check asserts. */
  readonly name: string;
  /** Runs it; rejects with a message naming the function when the property does not hold. */
  readonly run: () => Promise<void>;
}

/**
 * The suite's checks as plain functions that throw on a violation.
 *
 * @example
 * ```ts
 * import { conformanceChecks } from "./conformance.ts";
 * import { random } from "./query/random.ts";
 * for (const c of conformanceChecks(random, { largeN: 1000 })) await c.run();
 * ```
 */
export function conformanceChecks(fn: QueryFunction, opts: { largeN?: number } = {}): ConformanceCheck[] {
  const largeN = opts.largeN ?? 100_000;
  return [
    {
      name: "selects exactly b distinct unlabelled ids",
      run: async () => {
        for (const [n, b] of [[50, 5], [200, 20], [31, 30]] as const) {
          const input = makeInput(fn, n, b, n);
          checkQueryResult(fn.name, await fn.select(input), input.unlabelled.ids, b);
        }
      },
    },
    {
      name: "is deterministic for a seed",
      run: async () => {
        const a = await fn.select(makeInput(fn, 120, 10, 7)), b = await fn.select(makeInput(fn, 120, 10, 7));
        if (a.selected.join() !== b.selected.join()) {
          throw new Error(`${fn.name}: two runs with one seed differ`);
        }
      },
    },
    {
      name: "selects the whole pool when b >= |U|",
      run: async () => {
        for (const b of [12, 40]) {
          const input = makeInput(fn, 12, b, 3);
          checkQueryResult(fn.name, await fn.select(input), input.unlabelled.ids, b);
        }
      },
    },
    {
      name: "cannot read hidden labels",
      run: async () => {
        // The input is guarded: reading any field it does not have (such as `labels`, on it or its views)
        // throws, so a function that looks for labels fails here.
        await fn.select(makeInput(fn, 40, 4, 11));
      },
    },
    {
      name: "reads only the model outputs it declares in needs",
      run: async () => {
        const needs = declaredNeeds(fn); // throws on an unknown output name
        for (const [n, b] of [[60, 6], [9, 20]] as const) {
          const input = makeInput(fn, n, b, 17 + n);
          for (const key of ALL_MODEL_OUTPUTS) {
            if (readable(input.unlabelled, key) !== needs.has(key)) {
              throw new Error(
                `${fn.name}: the input ${needs.has(key) ? "lacks" : "has"} ${key} against its needs`,
              );
            }
          }
          // Reading an undeclared output throws inside select, naming the output to declare.
          checkQueryResult(fn.name, await fn.select(input), input.unlabelled.ids, b);
        }
      },
    },
    {
      name: "declares its options; unknown keys and wrong types are rejected",
      run: () => {
        const problems = optionSchemaProblems(fn);
        return problems.length
          ? Promise.reject(new Error(`${fn.name}: ${problems.join("; ")}`))
          : Promise.resolve();
      },
    },
    {
      name: `works for N = ${largeN} without quadratic memory`,
      run: async () => {
        const input = makeInput(fn, largeN, 20, 5, 17, 16);
        const before = Deno.memoryUsage().rss;
        const r = await fn.select(input);
        const grown = Deno.memoryUsage().rss - before;
        checkQueryResult(fn.name, r, input.unlabelled.ids, 20);
        if (grown > 2 * 2 ** 30) {
          throw new Error(`${fn.name}: memory grew by ${(grown / 2 ** 30).toFixed(1)} GiB at N = ${largeN}`);
        }
      },
    },
  ];
}

/**
 * Run the suite as test steps.
 *
 * @example
 * ```ts ignore
 * import { queryConformance } from "./conformance.ts";
 * Deno.test("my query", (t) => queryConformance(myQuery, t));
 * ```
 */
export async function queryConformance(
  fn: QueryFunction,
  t: Deno.TestContext,
  opts: { largeN?: number } = {},
) {
  for (const check of conformanceChecks(fn, opts)) await t.step(check.name, check.run);
}
