/**
 * `deno task query --fn NAME|MODULE [--options JSON] --input FILE.json --b N --seed S`: run a query function on
 * model outputs from elsewhere (for people with their own model). The input holds
 * `{"ids": [...], "probs": [[...]], "features": [[...]]}`; the output is
 * `{"selected": [ids], "scores": {id: score}, "clusters": {id: cluster}}` (scores and clusters where the function
 * has them).
 *
 * @module
 */
import { parseFlags, positiveInt, readJsonFile, timeoutSeconds } from "./args.ts";
import { MAX_SAMPLES } from "../scenario/schema.ts";
import { runMain, UsageError } from "./errors.ts";
import { Rng } from "../rng.ts";
import {
  checkQueryOptions,
  checkQueryResult,
  formatOptions,
  type ModelView,
  type QueryFunction,
} from "../al/query.ts";
import { BUILTIN_QUERY_FUNCTIONS } from "../al/query/registry.ts";
import { resolveQuery } from "../plugin/loader.ts";

/**
 * Seconds a query function may take here unless `--timeout` says otherwise: the same default as a run's
 * `al.queryTimeoutSeconds` (`DEFAULT_QUERY_TIMEOUT_SECONDS` in src/al/loop.ts, not imported: it would load tfjs).
 */
const DEFAULT_QUERY_TIMEOUT_SECONDS = 600;

/** The help text of `deno task query`. */
export const QUERY_HELP =
  `Usage: deno task query --fn NAME|MODULE --input FILE.json --b N [--seed S] [--options JSON] [--timeout S]
       deno task query --list                 every built-in with its options and defaults
       deno task query --fn NAME|MODULE --help   one function's options (a Python module: its docstring too)

  --fn NAME|MODULE  ${Object.keys(BUILTIN_QUERY_FUNCTIONS).join(", ")}, or a path to a module
                    exporting a QueryFunction, or to a Python module (.py) defining select
  --input FILE      JSON {"ids": [...], "probs": [[p per class], ...], "features": [[...], ...]} for the unlabelled
                    samples; add "labelled": {"ids", "probs", "features"} for functions that use it (coreset)
  --b N             how many to select
  --seed S          seed of the function's stream (default 0)
  --options JSON    options for the function, e.g. '{"mFactor": 5}'; checked against its option schema
                    (unknown keys and wrong types are errors)
  --timeout S       seconds the function may take before it is stopped (default ${DEFAULT_QUERY_TIMEOUT_SECONDS},
                    as al.queryTimeoutSeconds in a run)

Prints {"selected": [...], "scores": {...}, "clusters": {...}} on stdout.
`;

/**
 * A function's description and options as text (`--list`, `--fn NAME --help`).
 *
 * @example
 * ```ts
 * import { describeQuery } from "./query.ts";
 * import { mgeClustering } from "../al/query/mge_clustering.ts";
 * console.assert(describeQuery(mgeClustering).includes("mFactor: a number >= 1, default 10"));
 * ```
 */
export function describeQuery(fn: QueryFunction): string {
  const needs = fn.needs ? JSON.stringify(fn.needs) : '["probs", "features"] (undeclared)';
  return [
    `${fn.name}: ${fn.description}`,
    ...(fn.doc ? fn.doc.split("\n").slice(1).map((l) => `  ${l}`.trimEnd()) : []),
    `  reads ${needs}${fn.needsLabelled ? " and the labelled set's outputs" : ""}`,
    ...formatOptions(fn).map((l) => `  ${l}`),
  ].join("\n");
}

/** The largest `--input` file read (a million samples with a few hundred values each). */
const MAX_INPUT_BYTES = 2 ** 31;

function toView(raw: unknown, what: string): { view: ModelView; c: number; d: number } {
  const r = raw as { ids?: unknown; probs?: unknown; features?: unknown };
  if (!r || !Array.isArray(r.ids) || !Array.isArray(r.probs) || !Array.isArray(r.features)) {
    throw new UsageError(`${what}: expected {"ids": [...], "probs": [[...]], "features": [[...]]}`);
  }
  const n = r.ids.length;
  if (n === 0) throw new UsageError(`${what}: no samples (ids is empty); give at least one to select from`);
  if (r.probs.length !== n || r.features.length !== n) {
    throw new UsageError(
      `${what}: ids, probs and features must have one entry per sample; got ${n}, ${r.probs.length}, ${r.features.length}`,
    );
  }
  const first = new Map<string, number>();
  r.ids.forEach((id, i) => {
    if (typeof id !== "string") {
      throw new UsageError(`${what}: ids[${i}] must be a string; got ${JSON.stringify(id)} (${typeof id})`);
    }
    const earlier = first.get(id);
    if (earlier !== undefined) {
      throw new UsageError(
        `${what}: ids[${i}] ${JSON.stringify(id)} repeats ids[${earlier}]; every sample needs its own id`,
      );
    }
    first.set(id, i);
  });
  const ids = r.ids as string[];
  const c = (r.probs[0] as unknown[] | undefined)?.length ?? 0,
    d = (r.features[0] as unknown[] | undefined)?.length ?? 0;
  // Rows are the input's to get right: empty ones (no classes, no feature dimensions) are refused here, by name,
  // rather than blamed on the query function later.
  if (c === 0 || d === 0) {
    const field = c === 0 ? "probs" : "features";
    throw new UsageError(
      `${what}: ${field}[0] is ${
        JSON.stringify((r[field] as unknown[])[0] ?? null)
      }; each ${field} row needs ${
        field === "probs" ? "one probability per class" : "one value per feature dimension"
      } (at least one number)`,
    );
  }
  const flat = (rows: unknown[], width: number, field: string, probability: boolean) => {
    const out = new Float32Array(n * width);
    rows.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== width || row.some((v) => typeof v !== "number")) {
        const got = Array.isArray(row)
          ? row.some((v) => typeof v !== "number")
            ? `an entry that is not a number (${JSON.stringify(row.find((v) => typeof v !== "number"))})`
            : `${row.length} numbers`
          : JSON.stringify(row)?.slice(0, 40);
        throw new UsageError(
          `${what}: ${field}[${i}] must be a row of ${width} number${width === 1 ? "" : "s"}, as long as ` +
            `${field}[0]; got ${got}`,
        );
      }
      (row as number[]).forEach((v, j) => {
        // JSON has no NaN or Infinity, but 1e999 parses to Infinity.
        if (!Number.isFinite(v) || (probability && (v < 0 || v > 1))) {
          throw new UsageError(
            `${what}: row ${i} (id ${JSON.stringify(ids[i])}): ${field}[${i}][${j}] is ${v}; ` +
              (probability ? "probabilities must be numbers in [0, 1]" : "features must be finite numbers"),
          );
        }
      });
      out.set(row as number[], i * width);
    });
    return out;
  };
  return {
    view: {
      ids,
      probs: flat(r.probs, c, "probs", true),
      features: flat(r.features, d, "features", false),
    },
    c,
    d,
  };
}

/** A built-in by name or a plug-in by path; failures are usage errors. */
async function resolveFn(name: string): Promise<QueryFunction> {
  const isPath = /[/\\]|\.([jt]s|py)$/.test(name);
  try {
    return await resolveQuery(isPath ? { module: name } : name, Deno.cwd());
  } catch (e) {
    throw new UsageError((e as Error).message, 2, { cause: e });
  }
}

async function main(args: string[]): Promise<void> {
  const { values } = parseFlags(args, {
    fn: { type: "string" },
    input: { type: "string" },
    b: { type: "string" },
    seed: { type: "string" },
    options: { type: "string" },
    timeout: { type: "string" },
    debug: { type: "boolean" },
    help: { type: "boolean", short: "h" },
    list: { type: "boolean" },
  }, "query");
  if (values.list && values.fn) {
    // --list names one plug-in: it is listed as --help would.
    console.log(describeQuery(await resolveFn(values.fn)));
    return;
  }
  if (values.list) {
    console.log(Object.values(BUILTIN_QUERY_FUNCTIONS).map(describeQuery).join("\n\n"));
    return;
  }
  if (values.help && values.fn) {
    console.log(describeQuery(await resolveFn(values.fn)));
    return;
  }
  if (values.help) {
    console.log(QUERY_HELP);
    return;
  }
  if (!values.fn || !values.input || !values.b) {
    throw new UsageError("--fn, --input and --b are required (see --help)");
  }
  const b = positiveInt(values.b, "--b", MAX_SAMPLES, "the most samples a pool may hold");
  const seed = values.seed === undefined
    ? 0
    : positiveInt(values.seed, "--seed", Number.MAX_SAFE_INTEGER, "seeds are non-negative integers", 0);
  const timeout = timeoutSeconds(values.timeout, "--timeout", DEFAULT_QUERY_TIMEOUT_SECONDS);
  let options: Record<string, unknown> = {};
  if (values.options) {
    try {
      options = JSON.parse(values.options.replace(/^\uFEFF/, ""));
    } catch (e) {
      throw new UsageError(`--options is not valid JSON: ${(e as Error).message}`, 2, { cause: e });
    }
  }
  const raw = await readJsonFile(values.input, "--input", MAX_INPUT_BYTES) as Record<string, unknown>;
  const fn = await resolveFn(values.fn);
  const checked = checkQueryOptions(fn, options);
  if (checked.problems.length) {
    throw new UsageError(checked.problems.map((p) => `--options: ${p}`).join("\n"));
  }
  for (const w of checked.warnings) console.warn(`warning: --options: ${w}`);
  const { view, c, d } = toView(raw, values.input);
  const labelled = raw.labelled ? toView(raw.labelled, `${values.input} (labelled)`).view : undefined;
  // A function that never returns (even one spinning in its sandbox worker) is stopped at the limit: the process
  // exits with the message, which ends the worker.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() =>
      reject(
        new UsageError(
          `query function ${fn.name} did not return within the time limit of ${timeout} s (--timeout); ` +
            "raise the limit or make the function faster",
          1,
        ),
      ), timeout * 1000);
  });
  const result = await Promise.race([
    Promise.resolve(fn.select({
      unlabelled: view,
      ...(labelled ? { labelled } : {}),
      numClasses: c,
      featureDim: d,
      budget: b,
      rng: Rng.root(seed).fork("query"),
      options: checked.values,
    })),
    limit,
  ]).finally(() => clearTimeout(timer));
  checkQueryResult(fn.name, result, view.ids, b);
  for (const [id, score] of Object.entries(result.scores ?? {})) {
    if (typeof score !== "number" || !Number.isFinite(score)) {
      throw new Error(
        `query function ${fn.name} returned the score ${score} for ${
          JSON.stringify(id)
        }; scores must be finite numbers`,
      );
    }
  }
  console.log(JSON.stringify({
    selected: result.selected,
    ...(result.scores ? { scores: result.scores } : {}),
    ...(result.clusters ? { clusters: result.clusters } : {}),
  }));
}

if (import.meta.main) await runMain(main, Deno.args);
