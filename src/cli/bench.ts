/**
 * `deno task bench`: the main job — run the grid of scenario × arm × seed cells and write the report.
 *
 * @module
 */
import { MAX_JOBS, parseFlags, positiveInt, shardEnv, shardOf, writableFolder } from "./args.ts";
import { BENCH_FLAGS } from "./flags.ts";
import { MAX_SEEDS } from "../scenario/schema.ts";
import { runMain, UsageError } from "./errors.ts";
import { BACKEND_NAMES, initBackend, isBackendName } from "../backend/backend.ts";
import { environmentRecord, formatEnvironment } from "../backend/doctor.ts";
import {
  checkScenarioQueries,
  loadScenarioFile,
  type ResolvedScenario,
  ScenarioError,
} from "../scenario/load.ts";
import { CellsFailedError, runGrid, type RunSummary } from "../runner/run.ts";
import { gridCells } from "../runner/grid.ts";
import { runSequential, waitingLine } from "../experiment/sequential_run.ts";
import { writeReport } from "../report/report.ts";
import { wallTimesLine } from "../report/tables.ts";
import type { SequentialDesign } from "../report/sequential.ts";
import { type SequentialOutcome, sequentialText } from "../report/sequential_compare.ts";
import {
  type Preregistration,
  preregistrationSentence,
  type PreregistrationStatus,
} from "../report/preregistration.ts";
import { canonicalJson } from "../canonical_json.ts";
import { designOf, preregister, scenarioArms } from "./preregister.ts";

/** The help text of `deno task bench`. */
export const BENCH_HELP = `albench — active-learning-guided fine-tuning benchmark (Möllenbrok & Demir)

Usage:
  deno task bench [--scenario FILE]... [--out DIR] [--data DIR] [--backend NAME] [--seeds N] [--shard i/n]
  deno task bench --print-env [--backend NAME]

Flags:
  --scenario FILE   scenario file (repeatable); default scenarios/default.json
  --out DIR         results folder; default reports/<scenario name>/
  --data DIR        dataset root for file-based datasets (e.g. a prepared UCMerced)
  --backend NAME    ${BACKEND_NAMES.join(" | ")} (default auto)
  --seeds N         run the first N seeds of each scenario
  --shard i/n       run only shard i of n (0-based); also read from SLURM_ARRAY_TASK_ID/_COUNT or
                    JOB_COMPLETION_INDEX + ALBENCH_SHARD_COUNT; merge with \`deno task report DIR\`
  --jobs N          worker threads on this machine (default: the number of CPUs)
  --cache DIR       cache for decoded datasets and pre-trained backbones (default .cache)
  --set PATH=VALUE  change one scenario field (repeatable), e.g. --set al.iterations=3; VALUE is JSON or
                    a plain string; the changed scenario has its own hash (docs/scenarios.md)
  --log-json FILE   append progress events to FILE as JSON lines
  --preregister FILE  write the design (arms against the baseline, α, the rule: fixed seeds or the
                    scenario's "sequential" field, scenario hashes, each plug-in's code and options) to FILE
                    before the first cell, or, when FILE exists, check the run against it; the report says
                    whether the run followed it (deno task report DIR --preregister FILE after shards)
  --no-estimate     no probe before the run: the size line without the time estimate
  --print-env       print the chosen backend and machine, then exit
  --quiet           no progress output
  --debug           stack traces on errors
  -h, --help        this text

Other commands:
  deno task plan        what a scenario would run (splits, removal, initial sets)
  deno task data        prepare UCMerced (from a local copy or the official archives)
  deno task report DIR  merge whatever cells a results folder holds and render the report
  deno task repro       run scenarios/ci/repro.json twice and compare digests with tests/golden/repro.json
  deno task query       run a query function on your own model's outputs
  deno task test-query  run the query-function conformance suite on your module
  deno task models      parameters and FLOPs of the backbones
  deno task test        the test suite
  deno task check       formatting, lint and type-check of everything
`;

/** Parsed and validated bench flags. */
export interface BenchFlags {
  readonly scenarios: string[];
  readonly out?: string;
  readonly data?: string;
  readonly backend: typeof BACKEND_NAMES[number];
  readonly seeds?: number;
  readonly shard?: { index: number; count: number };
  readonly jobs?: number;
  readonly cache: string;
  /** `--set path=value` overrides, as given. */
  readonly sets: string[];
  readonly logJson?: string;
  /** `--preregister FILE`. */
  readonly preregister?: string;
  readonly printEnv: boolean;
  /** Skip the probe and the estimate (the size line stays). */
  readonly noEstimate: boolean;
  readonly quiet: boolean;
  readonly help: boolean;
}

/**
 * Parse `deno task bench` flags. Every invalid value is a {@linkcode UsageError} naming the flag and what is allowed.
 *
 * @example
 * ```ts
 * import { parseBenchFlags } from "./bench.ts";
 * const f = parseBenchFlags(["--backend", "cpu", "--shard", "1/4"]);
 * console.assert(f.backend === "cpu" && f.shard?.index === 1 && f.shard.count === 4);
 * ```
 */
export function parseBenchFlags(args: string[]): BenchFlags {
  const { values } = parseFlags(args, BENCH_FLAGS, "bench");
  const backend = values.backend ?? "auto";
  if (!isBackendName(backend)) {
    throw new UsageError(
      `--backend must be one of ${BACKEND_NAMES.join(", ")}; got ${JSON.stringify(backend)}`,
    );
  }
  const shard = values.shard !== undefined ? shardOf(values.shard, {}) : undefined;
  return {
    scenarios: values.scenario ?? ["scenarios/default.json"],
    ...(values.out !== undefined ? { out: writableFolder(values.out, "--out") } : {}),
    ...(values.data !== undefined ? { data: values.data } : {}),
    backend,
    ...(values.seeds !== undefined
      ? { seeds: positiveInt(values.seeds, "--seeds", MAX_SEEDS, "the scenario schema's limit on seeds") }
      : {}),
    ...(shard ? { shard } : {}),
    ...(values.jobs !== undefined ? { jobs: positiveInt(values.jobs, "--jobs", MAX_JOBS) } : {}),
    cache: writableFolder(values.cache ?? ".cache", "--cache"),
    sets: values.set ?? [],
    ...(values["log-json"] !== undefined ? { logJson: values["log-json"] } : {}),
    ...(values.preregister !== undefined ? { preregister: values.preregister } : {}),
    printEnv: values["print-env"] ?? false,
    noEstimate: values["no-estimate"] ?? false,
    quiet: values.quiet ?? false,
    help: values.help ?? false,
  };
}

/**
 * Load every scenario file named by the flags; scenario errors become usage errors (exit 2).
 *
 * @example
 * ```ts ignore
 * import { loadScenarios } from "./bench.ts";
 * const scenarios = await loadScenarios(["scenarios/default.json"]);
 * ```
 */
export async function loadScenarios(
  files: readonly string[],
  sets: readonly string[] = [],
): Promise<ResolvedScenario[]> {
  const all: ResolvedScenario[] = [];
  for (const f of files) {
    try {
      all.push(...(await loadScenarioFile(f, sets)));
    } catch (e) {
      if (e instanceof ScenarioError) throw new UsageError(e.message, 2, { cause: e });
      throw e;
    }
  }
  const ids = all.map((s) => s.id);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) throw new UsageError(`scenario ${dup} is given twice; scenario names must be unique within a run`);
  // Plug-ins loaded and every arm's options checked against its function's schema, before anything is written.
  try {
    for (const w of await checkScenarioQueries(all)) console.warn(`warning: ${w}`);
  } catch (e) {
    if (e instanceof ScenarioError) throw new UsageError(e.message, 2, { cause: e });
    throw e;
  }
  return all;
}

/**
 * Refuse `--data` when every scenario is synthetic: it replaces an archive's root, so such a run would ignore it
 * without a word. `files` names the scenarios in the message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { refuseDataOnSynthetic } from "./bench.ts";
 * const s = [{ scenario: { dataset: { kind: "synthetic" } } }] as never;
 * assert.throws(() => refuseDataOnSynthetic("d", s, "x.json"), /--data d replaces the root/);
 * refuseDataOnSynthetic(undefined, s, "x.json");
 * ```
 */
export function refuseDataOnSynthetic(
  data: string | undefined,
  scenarios: readonly ResolvedScenario[],
  files: string,
): void {
  if (data === undefined || !scenarios.every((s) => s.scenario.dataset.kind === "synthetic")) return;
  throw new UsageError(
    `--data ${data} replaces the root of a ucmerced or folder dataset, but ${files} uses the synthetic ` +
      "dataset only; give a scenario of an archive (e.g. --scenario scenarios/cpu/fig1.json)",
  );
}

/**
 * After some cells failed and the others finished: write the report of the run's cells (what finished, the
 * rest listed as missing) and say where, before the failures end the run. `images` (the run's `--data` and
 * `--cache`) lets the report show thumbnails of what each arm picked first.
 *
 * @example
 * ```ts ignore
 * import { reportWhatFinished } from "./bench.ts";
 * await reportWhatFinished("reports/run", scenarios, error, { cacheDir: ".cache" });
 * ```
 */
export async function reportWhatFinished(
  out: string,
  scenarios: readonly ResolvedScenario[],
  e: CellsFailedError,
  images?: { readonly dataRoot?: string; readonly cacheDir: string },
): Promise<void> {
  await writeReport(out, scenarios, e.summary.cells.map((c) => c.key), {
    environment: e.summary.environment,
    ...(images ? { images } : {}),
  }).then(
    (r) => console.log(`report of the cells that finished: ${out}/index.html (${r.complete} complete)`),
    (err) => console.error(`(no report: ${(err as Error).message})`),
  );
}

async function main(args: string[]): Promise<void> {
  const flags = parseBenchFlags(args);
  if (flags.help) {
    console.log(BENCH_HELP);
    return;
  }
  if (flags.printEnv) {
    console.log(formatEnvironment(environmentRecord(await initBackend(flags.backend))));
    return;
  }
  const scenarios = await loadScenarios(flags.scenarios, flags.sets);
  refuseDataOnSynthetic(flags.data, scenarios, flags.scenarios.join(", "));
  const out = flags.out ?? `reports/${scenarios[0]!.id.split("/")[0]}`;
  // --seeds takes the first N of each scenario's seeds; more than a scenario has is a mistake, not a quiet cap.
  const short = flags.seeds ? scenarios.find((s) => s.seeds.length < flags.seeds!) : undefined;
  if (short) {
    throw new UsageError(
      `--seeds ${flags.seeds} asks for more seeds than scenario ${short.id} has (${short.seeds.length}, its ` +
        `"seeds" field in ${
          short.file ?? short.id
        }); bench --seeds runs the first N of them: raise "seeds" in ` +
        "the scenario, or use compare --seeds N, which adds seeds",
    );
  }
  const shard = flags.shard ?? shardOf(undefined, shardEnv());
  if (flags.logJson) {
    // Fail before anything is written when the log cannot be opened.
    try {
      Deno.openSync(flags.logJson, { append: true, create: true }).close();
    } catch (e) {
      throw new UsageError(
        `--log-json ${flags.logJson}: ${
          (e as Error).message.split(",")[0]
        }; give a file in a folder that exists`,
        2,
        { cause: e },
      );
    }
  }
  const outStat = await Deno.stat(out).catch(() => null);
  if (outStat && !outStat.isDirectory) {
    throw new UsageError(`the results folder ${out} is a file; give --out a folder (created when missing)`);
  }
  const backend = flags.backend !== "auto" ? flags.backend : scenarios[0]!.scenario.backend;
  // Where the report reads the datasets for its thumbnails: as the run reads them.
  const images = { ...(flags.data ? { dataRoot: flags.data } : {}), cacheDir: flags.cache };
  const design = benchDesign(scenarios, flags.seeds);
  // The design as pre-registered: every scenario runs the same arms against the same baseline.
  let registered: Preregistration | undefined;
  if (flags.preregister !== undefined) {
    const arms = await Promise.all(scenarios.map((s) => scenarioArms(s)));
    const odd = scenarios.findIndex((s, i) =>
      s.baseline !== scenarios[0]!.baseline || canonicalJson(arms[i]) !== canonicalJson(arms[0])
    );
    if (odd > 0) {
      throw new UsageError(
        `--preregister: scenario ${scenarios[odd]!.id} runs other arms (or another baseline) than ${
          scenarios[0]!.id
        }; a design compares the same arms in every scenario: pre-register them in separate runs`,
      );
    }
    registered = designOf(scenarios, arms[0]!, design, flags.seeds);
  }
  let preregistration: PreregistrationStatus | undefined;
  const run = async (
    seedLimit: number | undefined,
    first: boolean,
    these: readonly ResolvedScenario[],
  ): Promise<RunSummary> => {
    try {
      return await runGrid({
        scenarios: these,
        out,
        ...(flags.data ? { dataRoot: flags.data } : {}),
        cacheDir: flags.cache,
        backend,
        ...(seedLimit ? { seedLimit } : {}),
        ...(shard ? { shard } : {}),
        jobs: flags.jobs ?? navigator.hardwareConcurrency,
        progress: { quiet: flags.quiet, ...(flags.logJson ? { jsonLog: flags.logJson } : {}) },
        estimate: first && !flags.noEstimate && !flags.quiet,
        // After runGrid's own checks, before its first write: the design is on disk before any cell runs.
        ...(registered && first
          ? {
            beforeClaim: async () =>
              void (preregistration = await preregister(flags.preregister!, registered!)),
          }
          : {}),
      });
    } catch (e) {
      // Some cells failed, the others finished: their report is written, then the failures end the run (exit 1).
      if (e instanceof CellsFailedError) {
        if (!(shard && shard.count > 1)) await reportWhatFinished(out, scenarios, e, images);
        throw e;
      }
      // Found when the run is planned (the dataset's classes, the pool after removal): exit 2 as at load.
      if (e instanceof ScenarioError) throw new UsageError(e.message, 2, { cause: e });
      if (e instanceof Deno.errors.NotCapable) {
        throw new UsageError(
          `${
            (e as Error).message
          }. The bench task may touch only what its flags name (the scenario files, their datasets and plug-in ` +
            "folders, --data, --out, --cache, --log-json, --preregister); name the path there, or run " +
            "src/cli/bench.ts with your own permissions.",
          2,
          { cause: e },
        );
      }
      throw e;
    }
  };
  let summary: RunSummary;
  let keys: string[];
  let sequential: SequentialOutcome | undefined;
  if (!design) {
    summary = await run(flags.seeds, true, scenarios);
    keys = summary.cells.map((c) => c.key);
  } else {
    const said = (line: string) => flags.quiet || console.error(line);
    const r = await runSequential({
      scenarios,
      arms: scenarios[0]!.scenario.arms.map((a) => a.name).filter((a) => a !== scenarios[0]!.baseline),
      design,
      out,
      ...(shard ? { shard } : {}),
      run: (n, first, active) => run(n, first, active),
      said,
    });
    if (r.state === "waiting") {
      console.log(waitingLine(shard!, r));
      return;
    }
    summary = r.summary;
    sequential = r.outcome;
    keys = scenarios.flatMap((s) => gridCells([s], r.seeds.get(s.id)!)).map((c) => c.key);
  }
  if (shard && shard.count > 1 && !design) {
    console.log(
      `shard ${shard.index}/${shard.count} done (${summary.ran.length} cells) in ${out}; when all shards are done run: deno task report ${out}` +
        (flags.preregister !== undefined ? ` --preregister ${flags.preregister}` : ""),
    );
    return;
  }
  const report = await writeReport(out, scenarios, keys, {
    environment: summary.environment,
    images,
    ...(preregistration ? { preregistration } : {}),
    ...(sequential ? { sequential } : {}),
  });
  console.log(`report: ${out}/index.html (digest ${report.digest.slice(0, 16)})`);
  console.log(wallTimesLine(report.wallTimes));
  for (const line of report.headline) console.log(line);
  if (sequential) console.log(sequentialText(sequential));
  if (preregistration) console.log(preregistrationSentence(preregistration));
}

/**
 * The sequential design the scenarios' `sequential` field states (none without it): batch and margin from the
 * field, the scenario's seeds the most it runs. Every scenario of one run states the same design and arms, or
 * none; `--seeds` does not go with one.
 *
 * @example
 * ```ts ignore
 * import { benchDesign } from "./bench.ts";
 * console.log(benchDesign(scenarios, undefined));
 * ```
 */
export function benchDesign(
  scenarios: readonly ResolvedScenario[],
  seeds: number | undefined,
): SequentialDesign | undefined {
  const first = scenarios[0]!;
  const stated = first.scenario.sequential;
  for (const s of scenarios.slice(1)) {
    if (canonicalJson(s.scenario.sequential ?? null) !== canonicalJson(stated ?? null)) {
      throw new UsageError(
        `scenario ${s.id} states another sequential design than ${first.id} (its "sequential" field); one run ` +
          "follows one design: give them the same field, or run them apart",
      );
    }
  }
  if (!stated) return undefined;
  const arms = (s: ResolvedScenario) => canonicalJson([s.baseline, s.scenario.arms.map((a) => a.name)]);
  const odd = scenarios.find((s) => arms(s) !== arms(first) || s.seeds.length !== first.seeds.length);
  if (odd) {
    throw new UsageError(
      `scenario ${odd.id} has other arms, baseline or seeds than ${first.id}; a sequential run decides the same ` +
        "arms over the same seeds in every scenario: run them apart",
    );
  }
  if (seeds !== undefined) {
    throw new UsageError(
      `--seeds and the scenario's sequential field: the sequential run chooses the seeds (at most the ` +
        `scenario's ${first.seeds.length}); leave out --seeds, or change "seeds" in the scenario`,
    );
  }
  return {
    alpha: 0.05,
    batch: stated.batch,
    maxSeeds: first.seeds.length,
    ...(stated.margin !== undefined ? { margin: stated.margin / 100 } : {}),
  };
}

if (import.meta.main) await runMain(main, Deno.args);
