/**
 * Loading scenario files: JSON parsing, schema validation, cross-field checks, variant expansion and hashing.
 *
 * Every problem is reported as `<file>: <field path>: <what is wrong>; got <value>`, all problems at once.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../canonical_json.ts";
import type { z } from "zod";
import { type Scenario, ScenarioFileSchema, ScenarioSchema } from "./schema.ts";
import { checkPoolArithmetic } from "../data/plan.ts";
import { BUILTIN_QUERY_FUNCTIONS } from "../al/query/registry.ts";
import { checkArmQueries } from "../plugin/loader.ts";
import { checkQueryOptions } from "../al/query.ts";
import { applyOverrides, type Override, parseOverrides } from "./overrides.ts";

/** Built-in query function names (plug-ins are named by `{"module": path}`). */
export const BUILTIN_QUERIES: readonly string[] = Object.freeze(Object.keys(BUILTIN_QUERY_FUNCTIONS));

/** A scenario ready to run: validated, defaults filled, with its identity. */
export interface ResolvedScenario {
  /** `name` or `name/variant`. */
  readonly id: string;
  /** The validated scenario (its `name` is the id). */
  readonly scenario: Scenario;
  /** SHA-256 of the canonical JSON of the scenario without `description` and `$schema`. */
  readonly hash: string;
  /** The seeds it runs. */
  readonly seeds: readonly number[];
  /** The baseline arm's name. */
  readonly baseline: string;
  /** Number of query rounds. */
  readonly iterations: number;
  /** The file it came from, when it came from one. */
  readonly file?: string;
  /** The `--set` overrides applied to the file, as given (absent when none). */
  readonly overrides?: readonly string[];
}

/** Invalid scenario: `problems` lists every finding; the message joins them. */
export class ScenarioError extends Error {
  /** Every problem found, each naming its field. */
  readonly problems: readonly string[];
  /** `source` names the file (or other origin) in the message. */
  constructor(source: string, problems: readonly string[]) {
    super(`${source} is not a valid scenario:\n  - ${problems.join("\n  - ")}`);
    this.name = "ScenarioError";
    this.problems = problems;
  }
}

function show(value: unknown): string {
  // JSON has no NaN or Infinity (1e999 parses to Infinity), and JSON.stringify would write them as null.
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  const s = JSON.stringify(value);
  if (s === undefined) return "nothing";
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function pathOf(path: readonly PropertyKey[]): string {
  return path.length === 0 ? "(top level)" : path.map((p) => (typeof p === "number" ? `[${p}]` : String(p)))
    .join(".").replace(/\.\[/g, "[");
}

function formatIssue(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[] = []): string {
  const path = pathOf([...prefix, ...issue.path]);
  const input = (issue as { input?: unknown }).input;
  if (issue.code === "unrecognized_keys") {
    return `${path}: unknown key${issue.keys.length > 1 ? "s" : ""} ${
      issue.keys.map((k) => show(k)).join(", ")
    }` +
      " (check the spelling; see scenarios/scenario.schema.json for the allowed keys)";
  }
  if (issue.code === "invalid_union" && "discriminator" in issue) {
    return `${path}: ${issue.message}; got ${
      show(
        input && typeof input === "object"
          ? (input as Record<string, unknown>)[String(issue.discriminator)]
          : input,
      )
    }`;
  }
  if (input === undefined && issue.code === "invalid_type") {
    return `${path}: required, ${issue.message.toLowerCase()}`;
  }
  return `${path}: ${issue.message}; got ${show(input)}`;
}

/**
 * The scenario's content hash: SHA-256 (hex) of its canonical JSON, without `description` and `$schema`, so that
 * editing prose does not orphan results.
 *
 * @example
 * ```ts
 * import { scenarioHash } from "./load.ts";
 * const h = scenarioHash({ name: "x", description: "a" } as never);
 * console.assert(h === scenarioHash({ name: "x", description: "b" } as never) && h.length === 64);
 * ```
 */
export function scenarioHash(s: Scenario): string {
  const { description: _d, $schema: _s, sequential: _q, ...rest } = s;
  return createHash("sha256").update(canonicalJson(rest)).digest("hex");
}

/** The fewest seeds of a sequential run's first look (report/sequential.ts's MIN_FIRST_LOOK; a test pins them equal). */
export const SEQUENTIAL_MIN_SEEDS = 3;

/** Cross-field checks the schema cannot express. Returns problems as `path: message`. */
function crossChecks(s: Scenario): string[] {
  const problems: string[] = [];
  const { al, split, dataset, imbalance, arms, finetune, pretrain } = s;
  if (s.sequential) {
    const count = typeof s.seeds === "number" ? s.seeds : s.seeds.length;
    if (count < SEQUENTIAL_MIN_SEEDS) {
      problems.push(
        `sequential: the first look needs at least ${SEQUENTIAL_MIN_SEEDS} seeds and seeds gives ${count}; raise ` +
          "seeds (the most the sequential run may use)",
      );
    } else if (s.sequential.batch > count) {
      problems.push(`sequential.batch: must be at most the seeds (${count}); got ${s.sequential.batch}`);
    }
  }
  if ((al.iterations === undefined) === (al.budget === undefined)) {
    problems.push(
      `al: give exactly one of iterations or budget; got ${
        al.iterations === undefined ? "neither" : `iterations ${al.iterations} and budget ${al.budget}`
      }`,
    );
  }
  if (al.budget !== undefined && al.budget <= al.initial) {
    problems.push(`al.budget: must exceed al.initial (${al.initial}); got ${al.budget}`);
  }
  const sizes = [split.val, split.test, ...(split.pool === "rest" ? [] : [split.pool])];
  if (sizes.every((v) => v < 1)) {
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total > 1 + 1e-9) problems.push(`split: fractions must sum to at most 1; got ${total}`);
  }
  if (dataset.kind === "synthetic") {
    const n = dataset.size;
    const count = (v: number) => (v < 1 ? Math.round(v * n) : v);
    const used = count(split.val) + count(split.test) + (split.pool === "rest" ? 0 : count(split.pool));
    if (used > n) problems.push(`split: val + test + pool = ${used} exceeds dataset.size ${n}`);
    const pool = split.pool === "rest" ? n - count(split.val) - count(split.test) : count(split.pool);
    if (al.initial > pool) problems.push(`al.initial: ${al.initial} exceeds the pool size ${pool}`);
    else {
      // Before imbalance removal; the plan checks again against each seed's pool after it.
      try {
        checkPoolArithmetic(al, pool, false);
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
  }
  if (imbalance) {
    if (imbalance.classes > imbalance.candidates.length) {
      problems.push(
        `imbalance.classes: cannot draw ${imbalance.classes} from ${imbalance.candidates.length} candidates`,
      );
    }
    const dup = imbalance.candidates.find((c, i) => imbalance.candidates.indexOf(c) !== i);
    if (dup) problems.push(`imbalance.candidates: ${show(dup)} is listed twice`);
    imbalance.forbiddenPairs.forEach(([a, b], i) => {
      if (a === b) {
        problems.push(
          `imbalance.forbiddenPairs[${i}]: a pair needs two different classes; got ${show([a, b])}`,
        );
      }
    });
  }
  const names = new Set<string>();
  arms.forEach((arm, i) => {
    if (names.has(arm.name)) problems.push(`arms[${i}].name: ${show(arm.name)} is used by an earlier arm`);
    names.add(arm.name);
    const builtin = typeof arm.query === "string" && Object.hasOwn(BUILTIN_QUERY_FUNCTIONS, arm.query)
      ? BUILTIN_QUERY_FUNCTIONS[arm.query]
      : undefined;
    if (builtin) {
      // Options of built-ins are checked here; plug-ins' by checkArmQueries once their modules are loaded.
      for (const p of checkQueryOptions(builtin, arm.options).problems) {
        problems.push(`arms[${i}].options: arm ${show(arm.name)} (${builtin.name}): ${p}`);
      }
    }
    if (typeof arm.query === "string" && !builtin) {
      problems.push(
        `arms[${i}].query: unknown query function ${show(arm.query)}; built-in ones are ${
          BUILTIN_QUERIES.join(", ")
        }` +
          ', or give {"module": "./my_query.ts"}',
      );
    }
  });
  if (s.baseline !== undefined && !names.has(s.baseline)) {
    problems.push(`baseline: ${show(s.baseline)} is not an arm name; arms are ${[...names].join(", ")}`);
  }
  finetune.decayEpochs.forEach((e, i) => {
    if (e >= finetune.epochs) {
      problems.push(`finetune.decayEpochs[${i}]: ${e} is not below finetune.epochs (${finetune.epochs})`);
    }
  });
  if (finetune.untilLoss !== undefined && finetune.untilLoss.maxEpochs < finetune.epochs) {
    problems.push(
      `finetune.untilLoss.maxEpochs: must be at least finetune.epochs (${finetune.epochs}), the epochs every round ` +
        `runs before the loss is looked at; got ${finetune.untilLoss.maxEpochs}`,
    );
  }
  if (finetune.minSteps !== undefined && finetune.minSteps <= finetune.epochs) {
    problems.push(
      `finetune.minSteps: ${finetune.minSteps} has no effect, since every round already runs at least ` +
        `finetune.epochs (${finetune.epochs}) steps; leave it out, or give more steps than epochs`,
    );
  }
  if (pretrain.tau.base > pretrain.tau.final) {
    problems.push(`pretrain.tau: base ${pretrain.tau.base} must not exceed final ${pretrain.tau.final}`);
  }
  if (Array.isArray(s.seeds) && new Set(s.seeds).size !== s.seeds.length) {
    problems.push(`seeds: the list repeats a seed; got ${show(s.seeds)}`);
  }
  return problems;
}

function resolve(s: Scenario, file?: string, overrides: readonly Override[] = []): ResolvedScenario {
  const seeds = Array.isArray(s.seeds) ? s.seeds : Array.from({ length: s.seeds }, (_, i) => i);
  const baseline = s.baseline ?? (s.arms.some((a) => a.name === "random") ? "random" : s.arms[0]!.name);
  const iterations = s.al.iterations ?? Math.ceil((s.al.budget! - s.al.initial) / s.al.batch);
  return {
    id: s.name,
    scenario: s,
    hash: scenarioHash(s),
    seeds,
    baseline,
    iterations,
    ...(file ? { file } : {}),
    ...(overrides.length ? { overrides: overrides.map((o) => o.text) } : {}),
  };
}

/**
 * Validate a parsed scenario file and expand its variants. Throws {@linkcode ScenarioError} listing every problem.
 *
 * @example
 * ```ts
 * import { resolveScenarios } from "./load.ts";
 * const [s] = resolveScenarios({
 *   name: "tiny", dataset: { kind: "synthetic", size: 210 }, split: { val: 0.25, test: 0.25 },
 *   model: { backbone: "small-cnn" }, al: { initial: 10, batch: 5, iterations: 2 },
 *   arms: [{ name: "random", query: "random" }],
 * });
 * console.assert(s!.seeds.length === 5 && s!.hash.length === 64);
 * ```
 */
export function resolveScenarios(
  data: unknown,
  source = "scenario",
  sets: readonly string[] = [],
): ResolvedScenario[] {
  let overrides: Override[];
  try {
    overrides = parseOverrides(sets);
    // On the file's fields, and below again on each variant's (a variant's own value must not win over --set).
    data = applyOverrides(data, overrides);
  } catch (e) {
    throw new ScenarioError(source, [(e as Error).message]);
  }
  // Problems a --set caused read as the file's otherwise: say which overrides were applied.
  const withSets = (problems: string[]) =>
    overrides.length
      ? [...problems, `(with ${overrides.map((o) => `--set ${o.text}`).join(", ")})`]
      : problems;
  const parsed = ScenarioFileSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    throw new ScenarioError(
      source,
      withSets(parsed.error.issues.map((i) => formatIssue(i))),
    );
  }
  const { variants, ...base } = parsed.data;
  const file = source.endsWith(".json") ? source : undefined;
  if (!variants) {
    const problems = crossChecks(base);
    if (problems.length) throw new ScenarioError(source, withSets(problems));
    return [resolve(base, file, overrides)];
  }
  const out: ResolvedScenario[] = [];
  const problems: string[] = [];
  const raw = data as Record<string, unknown>;
  const seen = new Set<string>();
  variants.forEach((v, i) => {
    if (seen.has(v.name)) problems.push(`variants[${i}].name: ${show(v.name)} is used by an earlier variant`);
    seen.add(v.name);
    const merged: Record<string, unknown> = { ...raw };
    delete merged.variants;
    for (const [key, value] of Object.entries(v)) {
      if (key === "name") continue;
      if (key === "description") {
        merged.description = `${base.description}${base.description ? " " : ""}${value}`;
      } else if (value === null) delete merged[key];
      else merged[key] = { ...(raw[key] as Record<string, unknown> | undefined), ...(value as object) };
    }
    const one = ScenarioSchema.safeParse(applyOverrides(merged, overrides), { reportInput: true });
    if (!one.success) {
      problems.push(...one.error.issues.map((issue) => `variant ${show(v.name)}: ${formatIssue(issue)}`));
      return;
    }
    const cross = crossChecks(one.data);
    if (cross.length) problems.push(...cross.map((p) => `variant ${show(v.name)}: ${p}`));
    else out.push(resolve({ ...one.data, name: `${base.name}/${v.name}` }, file, overrides));
  });
  if (problems.length) throw new ScenarioError(source, withSets(problems));
  return out;
}

/** The largest scenario file read (16 MiB). */
export const MAX_SCENARIO_BYTES = 16 * 2 ** 20;

/**
 * Read, parse and resolve a scenario file. JSON syntax errors name the file and the position.
 *
 * @example
 * ```ts ignore
 * import { loadScenarioFile } from "./load.ts";
 * const scenarios = await loadScenarioFile("scenarios/default.json");
 * ```
 */
export async function loadScenarioFile(
  path: string,
  sets: readonly string[] = [],
): Promise<ResolvedScenario[]> {
  let text: string;
  try {
    // A device or pipe (/dev/zero) would be read forever, a huge file into memory: a scenario is a small file.
    const info = await Deno.stat(path);
    if (!info.isFile && !info.isDirectory) {
      throw new ScenarioError(path, [
        "not a regular file (a device, pipe or socket); give a scenario .json file",
      ]);
    }
    if (info.size > MAX_SCENARIO_BYTES) {
      throw new ScenarioError(path, [
        `${info.size} bytes, more than a scenario file may hold (${MAX_SCENARIO_BYTES}); give a scenario .json file`,
      ]);
    }
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ScenarioError(path, [
        `file not found (give a path to a scenario .json file, e.g. scenarios/default.json)`,
      ]);
    }
    if (e instanceof Deno.errors.IsADirectory) {
      throw new ScenarioError(path, ["a folder, not a file (give a path to a scenario .json file)"]);
    }
    throw e;
  }
  let data: unknown;
  try {
    // A byte-order mark (some Windows editors write one) is not part of the JSON.
    data = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (e) {
    throw new ScenarioError(path, [`not valid JSON: ${(e as Error).message}`]);
  }
  return resolveScenarios(data, path, sets);
}

/**
 * Load every arm's query function — plug-in modules included, resolved against the scenario file's folder as a
 * run resolves them — and check its options against its schema, before anything is written. Throws
 * {@linkcode ScenarioError} listing every problem (a module that does not load or exports no query function, an
 * unknown option, a wrong type); returns warnings (options passed unchecked to plug-ins without a schema).
 *
 * @example
 * ```ts
 * import { checkScenarioQueries, resolveScenarios } from "./load.ts";
 * const s = resolveScenarios({
 *   name: "tiny", dataset: { kind: "synthetic", size: 210 }, split: { val: 0.25, test: 0.25 },
 *   model: { backbone: "small-cnn" }, al: { initial: 10, batch: 5, iterations: 2 },
 *   arms: [{ name: "random", query: "random" }],
 * });
 * console.assert((await checkScenarioQueries(s)).length === 0);
 * ```
 */
export async function checkScenarioQueries(scenarios: readonly ResolvedScenario[]): Promise<string[]> {
  const warnings: string[] = [];
  for (const s of scenarios) {
    const checked = await checkArmQueries(s.scenario.arms, scenarioDir(s));
    if (checked.problems.length) throw new ScenarioError(s.file ?? s.id, checked.problems);
    warnings.push(...checked.warnings.map((w) => `${s.id}: ${w}`));
  }
  return [...new Set(warnings)];
}

/**
 * The folder plug-in modules of a scenario are resolved against: the scenario file's, or the working directory.
 *
 * @example
 * ```ts
 * import { scenarioDir } from "./load.ts";
 * console.assert(scenarioDir({ file: "scenarios/examples/x.json" } as never) === "scenarios/examples");
 * ```
 */
export function scenarioDir(s: ResolvedScenario): string {
  return s.file ? s.file.slice(0, Math.max(0, s.file.lastIndexOf("/"))) || "." : Deno.cwd();
}
