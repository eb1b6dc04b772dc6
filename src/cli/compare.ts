/**
 * `deno task compare MODULE|NAME… [--scenario FILE] [--against ARM] [--seeds N] [--out DIR] [--jobs N] [--json]`:
 * run query functions (plug-in modules or built-in names) against a scenario's baseline arm on the same splits,
 * initial sets and training streams, and print the paired answer (see `report/compare.ts`).
 *
 * How it stays comparable and cheap: each compared function becomes an arm of the scenario in place of its other
 * arms, so its cells share the scenario's identity (hash), splits, initial sets and cached pre-training, and the
 * baseline's cells — from an earlier `bench` or `compare` into the same `--out` — are reused, not recomputed. An
 * added arm is recorded in `compare.json` with its definition (built-in name or module path and content hash, and
 * options); the same arm name with another definition in the same folder is refused, so results are never mixed.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { MAX_JOBS, parseFlags, positiveInt, shardEnv, shardOf, writableFolder } from "./args.ts";
import { COMPARE_FLAGS } from "./flags.ts";
import { MAX_SEEDS } from "../scenario/schema.ts";
import { runMain, UsageError } from "./errors.ts";
import { BACKEND_NAMES, isBackendName } from "../backend/backend.ts";
import { loadScenarios, refuseDataOnSynthetic, reportWhatFinished } from "./bench.ts";
import { canonicalJson } from "../canonical_json.ts";
import {
  checkScenarioQueries,
  type ResolvedScenario,
  ScenarioError,
  scenarioHash,
} from "../scenario/load.ts";
import type { Scenario } from "../scenario/schema.ts";
import { BUILTIN_QUERY_FUNCTIONS } from "../al/query/registry.ts";
import { resolveQuery } from "../plugin/loader.ts";
import { CellsFailedError, runGrid, type RunSummary } from "../runner/run.ts";
import { planScenario } from "./plan.ts";
import { checkRunFolder, readAllCells, readCompareFile, writeCompareFile } from "../runner/store.ts";
import { COMPARE_FORMAT, type CompareFile } from "../records/records.ts";
import { writeReport } from "../report/report.ts";
import { compareRecords, compareText } from "../report/compare.ts";
import { gridCells } from "../runner/grid.ts";
import { MIN_FIRST_LOOK, type SequentialDesign } from "../report/sequential.ts";
import { runSequential, waitingLine } from "../experiment/sequential_run.ts";
import { preregistrationSentence } from "../report/preregistration.ts";
import { designOf, preregister } from "./preregister.ts";
import { type SequentialOutcome, sequentialText } from "../report/sequential_compare.ts";

/** The help text of `deno task compare`. */
export const COMPARE_HELP = `Usage:
  deno task compare MODULE|NAME... [--scenario FILE] [--against ARM] [--seeds N] [--out DIR] [--jobs N] [--json]

Runs each query function (a plug-in module path, .ts, .js or .py, whose arm is named by the function's own
name; a built-in name; or NAME=MODULE to name a plug-in's arm)
against the scenario's baseline arm on the same splits and initial sets, reusing cached pre-training and any
baseline cells already in --out, writes the usual report there, and prints per scenario and function the paired
difference to the baseline (macro and micro F1 averaged over the AL rounds, and AUBC) with 95% CI, paired t and
Wilcoxon p, labels to reach the baseline, seeds for 80% power, and a verdict.

Flags:
  --scenario FILE   default scenarios/default.json (every variant is compared)
  --against ARM     the baseline arm (default: the scenario's baseline)
  --seeds N         the first N seeds; more than the scenario has makes a scenario with N seeds
  --out DIR         results folder (default reports/compare/<scenario name>); give a bench run's folder to
                    reuse its baseline cells
  --jobs N          worker threads (default: the number of CPUs)
  --backend NAME    ${BACKEND_NAMES.join(" | ")} (default: the scenario's)
  --data DIR        dataset root for file-based datasets
  --cache DIR       cache folder (default .cache)
  --set PATH=VALUE  change one scenario field (repeatable), e.g. --set al.iterations=3
  --options JSON    options for the compared functions, e.g. '{"k": 5}' (checked against their schemas)
  --sweep K=V1,V2   one arm per value of option K (repeatable: every combination), named by its values,
                    e.g. --sweep k=1,2,5 runs my_q-k1, my_q-k2 and my_q-k5
  --until-decided   run seeds in batches and stop as soon as each function is decided: higher, lower or
                    (with --margin) equivalent to the baseline in macro F1 averaged over the rounds, the
                    type-I error held at 5% over all looks (docs/reports.md, "Sequential comparisons")
  --max-seeds N     with --until-decided: the most seeds (default 30); then "undecided at N seeds"
  --batch K         with --until-decided: seeds added per look (default 5)
  --margin D        with --until-decided: the equivalence margin in F1 points (e.g. 3)
                    (a scenario's "sequential" field states the same design; these flags override it)
  --preregister FILE  write the design (primary contrast, α, stopping rule, seeds, scenario hashes, each
                    function's code and options) to FILE before the first cell, or, when FILE exists, check
                    the run against it; the report says whether the run followed it
  --shard i/n       run only shard i of n (0-based; also from SLURM_ARRAY_TASK_ID/_COUNT or
                    JOB_COMPLETION_INDEX with ALBENCH_SHARD_COUNT); sequential shards run a look's share and
                    go on only when the look is complete, else stop and say so: run them again to continue
  --no-estimate     no probe before the run: the size line without the time estimate
  --json            print the comparison as JSON (differences in F1 units, arm minus baseline) with the
                    folder's result digest
  --quiet           no progress output
  -h, --help        this text

Built-ins: ${Object.keys(BUILTIN_QUERY_FUNCTIONS).join(", ")}
`;

/** One compared function, as given on the command line. */
export interface CompareTarget {
  /** The arm name it runs under. */
  readonly name: string;
  readonly query: string | { module: string };
  /** SHA-256 of the module's text (plug-ins only): a changed module is a different arm. */
  readonly moduleSha256?: string;
  /** The options it runs with (`--options`, `--sweep`); none: `{}`. */
  readonly options?: Readonly<Record<string, unknown>>;
}

/** The most arms a sweep may make. */
export const MAX_SWEEP_ARMS = 64;

/**
 * Give every target the options of `--options` (a JSON object) and, with `--sweep K=V1,V2` (repeatable), one arm
 * per combination of the swept values, named after the target and its values (`my_q-k1-m10`). Values are JSON
 * where they parse as JSON (`1`, `true`), else strings; a value must be usable in a folder name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expandTargets } from "./compare.ts";
 * const t = expandTargets([{ name: "q", query: "uncertainty" }], '{"m": 10}', ["k=1,2"]);
 * assert.deepEqual(t.map((x) => [x.name, x.options]), [["q-k1", { m: 10, k: 1 }], ["q-k2", { m: 10, k: 2 }]]);
 * assert.throws(() => expandTargets([], "[1]", []), /--options must be a JSON object/);
 * ```
 */
export function expandTargets(
  targets: readonly CompareTarget[],
  optionsText: string | undefined,
  sweeps: readonly string[],
): CompareTarget[] {
  let options: Record<string, unknown> = {};
  if (optionsText !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(optionsText);
    } catch (e) {
      throw new UsageError(
        `--options is not valid JSON (${(e as Error).message}); give an object, e.g. '{"k": 5}'`,
        2,
        { cause: e },
      );
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new UsageError(
        `--options must be a JSON object, e.g. '{"k": 5}'; got ${optionsText.slice(0, 100)}`,
      );
    }
    options = parsed as Record<string, unknown>;
  }
  const axes = sweeps.map((text) => {
    const m = /^([A-Za-z_][A-Za-z0-9_]{0,63})=(.+)$/.exec(text);
    if (!m) {
      throw new UsageError(
        `--sweep ${JSON.stringify(text)} needs the form OPTION=V1,V2,... (e.g. --sweep k=1,2,5)`,
      );
    }
    const [, key, list] = m as unknown as [string, string, string];
    const values = list.split(",");
    const bad = values.find((v) => !/^[A-Za-z0-9._-]{1,32}$/.test(v));
    if (bad !== undefined) {
      throw new UsageError(
        `--sweep ${text}: the value ${
          JSON.stringify(bad)
        } cannot name an arm (letters, digits, . _ -, at most 32)`,
      );
    }
    if (new Set(values).size !== values.length) throw new UsageError(`--sweep ${text} repeats a value`);
    if (Object.hasOwn(options, key)) {
      throw new UsageError(`option ${key} is given by --options and by --sweep; give it once`);
    }
    return { key, values };
  });
  const keys = axes.map((a) => a.key);
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice) throw new UsageError(`--sweep ${twice} is given twice; list its values in one --sweep`);
  let combos: { suffix: string; options: Record<string, unknown> }[] = [{ suffix: "", options: {} }];
  for (const a of axes) {
    combos = combos.flatMap((c) =>
      a.values.map((v) => ({
        suffix: `${c.suffix}-${a.key}${v}`,
        options: { ...c.options, [a.key]: jsonOrText(v) },
      }))
    );
  }
  if (combos.length * targets.length > MAX_SWEEP_ARMS) {
    throw new UsageError(
      `the sweep makes ${
        combos.length * targets.length
      } arms, more than ${MAX_SWEEP_ARMS}; sweep fewer values`,
    );
  }
  const out = targets.flatMap((t) =>
    combos.map((c) => ({ ...t, name: `${t.name}${c.suffix}`, options: { ...options, ...c.options } }))
  );
  const long = out.find((t) => t.name.length > 100);
  if (long) {
    throw new UsageError(`the sweep names an arm ${long.name}, longer than 100 characters; name it shorter`);
  }
  return out;
}

function jsonOrText(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Turn command-line targets into arms: built-in names stay names; anything else is a module path (relative to the
 * current folder) named by its file stem, or `NAME=PATH`.
 *
 * @example
 * ```ts
 * import { parseTargets } from "./compare.ts";
 * const [t] = await parseTargets(["uncertainty"]);
 * console.assert(t!.name === "uncertainty" && t!.query === "uncertainty");
 * ```
 */
export async function parseTargets(args: readonly string[], cwd = Deno.cwd()): Promise<CompareTarget[]> {
  if (!args.length) {
    throw new UsageError("name at least one query function: a built-in name or a module path");
  }
  const out: CompareTarget[] = [];
  for (const a of args) {
    const eq = a.indexOf("=");
    const given = eq > 0 ? a.slice(0, eq) : undefined, spec = eq > 0 ? a.slice(eq + 1) : a;
    if (Object.hasOwn(BUILTIN_QUERY_FUNCTIONS, spec)) {
      out.push({ name: given ?? spec, query: spec });
      continue;
    }
    const path = spec.startsWith("/") ? spec : `${cwd}/${spec}`.replace(/\/\.\//g, "/");
    let text: Uint8Array;
    try {
      text = await Deno.readFile(path);
    } catch (e) {
      throw new UsageError(
        `${spec} is neither a built-in query function (${
          Object.keys(BUILTIN_QUERY_FUNCTIONS).join(", ")
        }) nor a readable module (${
          (e as Error).name
        }); give a built-in name or a path to a .ts, .js or .py module`,
        2,
        { cause: e },
      );
    }
    const stem = spec.slice(spec.lastIndexOf("/") + 1).replace(/\.[^.]*$/, "");
    out.push({
      name: given ?? await pluginName(path, stem),
      query: { module: path },
      moduleSha256: createHash("sha256").update(text).digest("hex"),
    });
  }
  for (const t of out) {
    if (!NAME.test(t.name) || t.name.length > 100) {
      throw new UsageError(
        `arm name ${
          JSON.stringify(t.name)
        } is not usable as a folder name (letters, digits, . _ -, at most 100); ` +
          "name it with NAME=MODULE",
      );
    }
  }
  const dup = out.find((t, i) => out.findIndex((u) => u.name === t.name) !== i);
  if (dup) {
    throw new UsageError(`two functions would run as arm ${dup.name}; name them apart with NAME=MODULE`);
  }
  return out;
}

/**
 * The arm name of a plug-in given without NAME=: its function's own `name` (a Python module's `NAME`, else its
 * stem) where that is usable as a folder name, else the file's stem. A module that does not load is named by
 * its stem here; the check that follows reports why it does not load.
 */
async function pluginName(path: string, stem: string): Promise<string> {
  try {
    const fn = await resolveQuery({ module: path }, "/");
    return NAME.test(fn.name) && fn.name.length <= 100 ? fn.name : stem;
  } catch {
    return stem;
  }
}

/** What identifies an added arm's results: its query (and module text) and options. */
const identity = (t: CompareTarget) =>
  canonicalJson({ query: t.query, moduleSha256: t.moduleSha256 ?? null, options: t.options ?? {} });

/**
 * The scenarios a comparison runs: each scenario with its baseline arm and one arm per target (its other arms
 * left out), keeping the scenario's identity so the baseline's cells are shared; with `seeds` above the scenario's
 * count, a scenario with that many seeds (a new identity).
 *
 * @example
 * ```ts ignore
 * import { compareScenarios } from "./compare.ts";
 * const s = compareScenarios(scenarios, targets, undefined, 10);
 * ```
 */
export function compareScenarios(
  scenarios: readonly ResolvedScenario[],
  targets: readonly CompareTarget[],
  against?: string,
  seeds?: number,
): ResolvedScenario[] {
  return scenarios.map((s) => {
    const baseline = against ?? s.baseline;
    const base = s.scenario.arms.find((a) => a.name === baseline);
    if (!base) {
      throw new UsageError(
        `${s.id} has no arm ${JSON.stringify(baseline)} to compare against; its arms are ${
          s.scenario.arms.map((a) => a.name).join(", ")
        }`,
      );
    }
    for (const t of targets) {
      if (t.name === baseline) {
        throw new UsageError(`${t.name} is the baseline arm of ${s.id}; compare another function against it`);
      }
      const same = s.scenario.arms.find((a) => a.name === t.name);
      if (
        same &&
        canonicalJson({ q: same.query, o: same.options }) !==
          canonicalJson({ q: t.query, o: t.options ?? {} })
      ) {
        throw new UsageError(
          `${s.id} already has an arm named ${t.name} with another definition; name yours apart with NAME=MODULE`,
        );
      }
    }
    let scenario: Scenario = { ...s.scenario, baseline };
    let hash = s.hash, seedList = [...s.seeds];
    if (seeds !== undefined && seeds > s.seeds.length) {
      if (Array.isArray(s.scenario.seeds)) {
        throw new UsageError(
          `${s.id} lists its seeds explicitly (${s.seeds.length}); --seeds can only take the first N of them`,
        );
      }
      scenario = { ...scenario, seeds };
      hash = scenarioHash({ ...s.scenario, seeds });
      seedList = Array.from({ length: seeds }, (_, i) => i);
    }
    const arms = [base, ...targets.map((t) => ({ name: t.name, query: t.query, options: { ...t.options } }))];
    return { ...s, scenario: { ...scenario, arms }, hash, seeds: seedList, baseline };
  });
}

async function checkCompareFile(
  out: string,
  scenarios: readonly ResolvedScenario[],
  targets: readonly CompareTarget[],
) {
  let prior: CompareFile;
  try {
    prior = await readCompareFile(out);
  } catch (e) {
    throw new UsageError((e as Error).message, 2, { cause: e });
  }
  const arms = { ...prior.arms };
  for (const s of scenarios) {
    for (const t of targets) {
      const key = `${s.id}/${t.name}`, now = identity(t);
      if (arms[key] !== undefined && arms[key] !== now) {
        throw new UsageError(
          `${out} holds results of arm ${t.name} in ${s.id} from another definition (a changed module or ` +
            "another function under that name); results are never mixed: name this one apart with NAME=MODULE, or " +
            "use another --out",
        );
      }
      arms[key] = now;
    }
  }
  return { format: COMPARE_FORMAT, arms } satisfies CompareFile;
}

async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, COMPARE_FLAGS, "compare", true);
  if (values.help) {
    console.log(COMPARE_HELP);
    return;
  }
  if (values.backend !== undefined && !isBackendName(values.backend)) {
    throw new UsageError(
      `--backend must be one of ${BACKEND_NAMES.join(", ")}; got ${JSON.stringify(values.backend)}`,
    );
  }
  const seeds = values.seeds !== undefined
    ? positiveInt(values.seeds, "--seeds", MAX_SEEDS, "the scenario schema's limit on seeds")
    : undefined;
  const jobs = values.jobs !== undefined
    ? positiveInt(values.jobs, "--jobs", MAX_JOBS)
    : navigator.hardwareConcurrency;
  const shard = shardOf(values.shard, shardEnv());
  const targets = expandTargets(await parseTargets(positionals), values.options, values.sweep ?? []);
  const original = await loadScenarios([values.scenario ?? "scenarios/default.json"], values.set ?? []);
  const design = sequentialDesign(values, seeds, original[0]!.scenario);
  refuseDataOnSynthetic(values.data, original, values.scenario ?? "scenarios/default.json");
  const scenarios = compareScenarios(original, targets, values.against, design?.maxSeeds ?? seeds);
  try {
    for (const w of await checkScenarioQueries(scenarios)) console.warn(`warning: ${w}`);
  } catch (e) {
    if (e instanceof ScenarioError) throw new UsageError(e.message, 2, { cause: e });
    throw e;
  }
  const out = writableFolder(values.out ?? `reports/compare/${original[0]!.id.split("/")[0]}`, "--out");
  // Everything that can be refused is refused before anything is written.
  const held = await checkRunFolder(out, scenarios);
  // The comparison's report is written over the folder's: a folder holding other scenarios is not compare's.
  const foreign = held?.scenarios.find((h) => !scenarios.some((s) => s.id === h.id));
  if (foreign) {
    throw new UsageError(
      `${out} holds results of scenario ${foreign.id}, which this comparison does not run; compare writes its ` +
        "report over the folder's index.html, so it uses a folder of its own: give another --out",
    );
  }
  const compareFile = await checkCompareFile(out, scenarios, targets);
  const seedLimit = seeds !== undefined && seeds <= Math.min(...original.map((s) => s.seeds.length))
    ? seeds
    : undefined;
  // Every seed's plan (the pool after imbalance removal, the class names) too, refused as usage errors here;
  // compare.json is written only once runGrid's own checks have passed (beforeWrite).
  for (const s of scenarios) {
    try {
      await planScenario(s, values.data, seedLimit);
    } catch (e) {
      if (e instanceof ScenarioError) throw new UsageError(e.message, 2, { cause: e });
      throw e;
    }
  }
  // The design, written (or checked) before the first cell runs.
  const preregistration = values.preregister === undefined ? undefined : await preregister(
    values.preregister,
    designOf(
      scenarios,
      targets.map((t) => ({
        name: t.name,
        query: typeof t.query === "string" ? t.query : t.query.module,
        sha256: t.moduleSha256 ?? null,
        options: t.options ?? {},
      })),
      design,
      seedLimit,
    ),
  );
  const backend = values.backend ?? scenarios[0]!.scenario.backend;
  // Where the report reads the datasets for its thumbnails: as the run reads them.
  const images = {
    ...(values.data ? { dataRoot: values.data } : {}),
    cacheDir: writableFolder(values.cache ?? ".cache", "--cache"),
  };
  const run = async (
    limit: number | undefined,
    first: boolean,
    these: readonly ResolvedScenario[] = scenarios,
  ): Promise<RunSummary> => {
    try {
      return await runGrid({
        scenarios: these,
        out,
        ...(values.data ? { dataRoot: values.data } : {}),
        cacheDir: writableFolder(values.cache ?? ".cache", "--cache"),
        backend: isBackendName(backend) ? backend : "auto",
        ...(limit ? { seedLimit: limit } : {}),
        ...(shard ? { shard } : {}),
        jobs,
        progress: { quiet: values.quiet ?? false },
        estimate: first && !(values["no-estimate"] ?? false) && !(values.quiet ?? false),
        // After runGrid's own checks (engine, data, code), so a refused comparison writes nothing.
        beforeWrite: () => writeCompareFile(out, compareFile),
      });
    } catch (e) {
      // Some cells failed, the others finished: their report is written, then the failures end the run (exit 1).
      if (e instanceof CellsFailedError && !(shard && shard.count > 1)) {
        await reportWhatFinished(out, scenarios, e, images);
      }
      throw e;
    }
  };
  // A shard's own lines: on stdout, as JSON with --json.
  const say = (line: string, json: Record<string, unknown>) =>
    console.log(values.json ? JSON.stringify({ shard: `${shard!.index}/${shard!.count}`, ...json }) : line);
  let summary: RunSummary;
  let sequential: SequentialOutcome | undefined;
  // --until-decided: the seeds each scenario ran, up to the look that decided it.
  let stopAt = new Map<string, number>();
  if (!design) {
    summary = await run(seedLimit, true);
    if (shard && shard.count > 1) {
      say(
        `shard ${shard.index}/${shard.count} done (${summary.ran.length} cells) in ${out}; when all shards are ` +
          "done, run the same compare without --shard: it reuses every cell, prints the answer and writes the report",
        { state: "done", cells: summary.ran.length },
      );
      return;
    }
  } else {
    // Look after look: run the seeds up to the look (earlier cells are reused), decide from the records.
    const said = (line: string) => values.quiet || console.error(line);
    const r = await runSequential({
      scenarios,
      arms: targets.map((t) => t.name),
      design,
      out,
      ...(shard ? { shard } : {}),
      run: (n, first, active) => run(n, first, active),
      said,
    });
    if (r.state === "waiting") {
      say(
        waitingLine(shard!, r),
        { state: "waiting", look: r.look, seeds: r.seeds, missing: r.missing, cells: r.cells },
      );
      return;
    }
    ({ summary, outcome: sequential } = r);
    stopAt = new Map(r.seeds);
  }

  const keys =
    (design ? scenarios.flatMap((s) => gridCells([s], stopAt.get(s.id)!)) : gridCells(scenarios, seedLimit))
      .map((c) => c.key);
  const report = await writeReport(out, scenarios, keys, {
    environment: summary.environment,
    images,
    ...(preregistration ? { preregistration } : {}),
    ...(sequential ? { sequential } : {}),
  });
  const keep = new Set(keys);
  const records = (await readAllCells(out)).filter((r) => keep.has(r.key));
  const result = compareRecords(
    records,
    scenarios[0]!.baseline,
    targets.map((t) => t.name),
    scenarios.map((s) => s.id),
  );
  if (values.json) {
    console.log(
      JSON.stringify(
        {
          ...result,
          ...(sequential ? { sequential } : {}),
          ...(preregistration ? { preregistration } : {}),
          digest: report.digest,
        },
        null,
        1,
      ),
    );
  } else {
    console.log(compareText(result).trimEnd());
    if (sequential) console.log(sequentialText(sequential));
    if (preregistration) console.log(preregistrationSentence(preregistration));
    console.log(`report: ${out}/index.html (digest ${report.digest.slice(0, 16)})`);
  }
}

/**
 * The design `--until-decided` asks for, or the scenario's `sequential` field states (its seeds the most it
 * runs); the flags override the field. None without either; the design's flags without either are a usage error.
 */
function sequentialDesign(
  values: { "until-decided"?: boolean; "max-seeds"?: string; batch?: string; margin?: string },
  seeds: number | undefined,
  scenario: Pick<Scenario, "sequential" | "seeds">,
): SequentialDesign | undefined {
  const given = (["max-seeds", "batch", "margin"] as const).filter((f) => values[f] !== undefined);
  const stated = scenario.sequential;
  if (!values["until-decided"] && !stated) {
    if (given.length) throw new UsageError(`--${given[0]} is a flag of --until-decided; add --until-decided`);
    return undefined;
  }
  if (seeds !== undefined) {
    throw new UsageError(
      `--seeds and ${
        values["until-decided"] ? "--until-decided" : "the scenario's sequential field"
      }: the sequential run chooses the seeds; give --max-seeds`,
    );
  }
  const maxSeeds = values["max-seeds"] !== undefined
    ? positiveInt(
      values["max-seeds"],
      "--max-seeds",
      MAX_SEEDS,
      "the scenario schema's limit on seeds",
      MIN_FIRST_LOOK,
    )
    : stated
    ? (typeof scenario.seeds === "number" ? scenario.seeds : scenario.seeds.length)
    : 30;
  const batch = values.batch !== undefined
    ? positiveInt(values.batch, "--batch", maxSeeds, "--max-seeds")
    : Math.min(stated?.batch ?? 5, maxSeeds);
  let margin: number | undefined;
  if (values.margin !== undefined) {
    const m = /^[0-9]{1,3}(\.[0-9]{1,6})?$/.test(values.margin) ? Number(values.margin) : NaN;
    if (!(m > 0 && m < 100)) {
      throw new UsageError(
        `--margin must be a number of F1 points above 0 and below 100 (e.g. 3); got ${
          JSON.stringify(values.margin)
        }`,
      );
    }
    margin = m / 100;
  } else if (stated?.margin !== undefined) margin = stated.margin / 100;
  return { alpha: 0.05, batch, maxSeeds, ...(margin !== undefined ? { margin } : {}) };
}

if (import.meta.main) await runMain(main, Deno.args);
