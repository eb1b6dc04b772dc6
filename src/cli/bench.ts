/**
 * `deno task bench`: the main job — run the grid of scenario × arm × seed cells and write the report.
 *
 * @module
 */
import { MAX_JOBS, parseFlags, positiveInt, writableFolder } from "./args.ts";
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
import { shardFromEnv } from "../runner/grid.ts";
import { CellsFailedError, runGrid } from "../runner/run.ts";
import { writeReport } from "../report/report.ts";
import { wallTimesLine } from "../report/tables.ts";

/** The environment variables `shardFromEnv` reads (Slurm job arrays, Kubernetes Indexed Jobs). */
const SHARD_ENV = [
  "SLURM_ARRAY_TASK_ID",
  "SLURM_ARRAY_TASK_COUNT",
  "SLURM_ARRAY_TASK_MIN",
  "JOB_COMPLETION_INDEX",
  "ALBENCH_SHARD_COUNT",
] as const;

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
  let shard: BenchFlags["shard"];
  if (values.shard !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(values.shard);
    const index = Number(m?.[1]), count = Number(m?.[2]);
    if (!m || count < 1 || index >= count || count > 1_000_000) {
      throw new UsageError(
        `--shard must be i/n with 0 <= i < n <= 1000000 (e.g. 0/4), got ${JSON.stringify(values.shard)}`,
      );
    }
    shard = { index, count };
  }
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
      if (e instanceof ScenarioError) throw new UsageError(e.message);
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
    if (e instanceof ScenarioError) throw new UsageError(e.message);
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
  let shard = flags.shard;
  if (!shard) {
    try {
      // Only the variables the task may read (deno.json scopes --allow-env to them).
      shard = shardFromEnv(Object.fromEntries(SHARD_ENV.map((k) => [k, Deno.env.get(k)])));
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  if (flags.logJson) {
    // Fail before anything is written when the log cannot be opened.
    try {
      Deno.openSync(flags.logJson, { append: true, create: true }).close();
    } catch (e) {
      throw new UsageError(
        `--log-json ${flags.logJson}: ${
          (e as Error).message.split(",")[0]
        }; give a file in a folder that exists`,
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
  let summary;
  try {
    summary = await runGrid({
      scenarios,
      out,
      ...(flags.data ? { dataRoot: flags.data } : {}),
      cacheDir: flags.cache,
      backend,
      ...(flags.seeds ? { seedLimit: flags.seeds } : {}),
      ...(shard ? { shard } : {}),
      jobs: flags.jobs ?? navigator.hardwareConcurrency,
      progress: { quiet: flags.quiet, ...(flags.logJson ? { jsonLog: flags.logJson } : {}) },
      estimate: !flags.noEstimate && !flags.quiet,
    });
  } catch (e) {
    // Some cells failed, the others finished: their report is written, then the failures end the run (exit 1).
    if (e instanceof CellsFailedError) {
      if (!(shard && shard.count > 1)) await reportWhatFinished(out, scenarios, e, images);
      throw e;
    }
    // Found when the run is planned (the dataset's classes, the pool after removal): exit 2 as at load.
    if (e instanceof ScenarioError) throw new UsageError(e.message);
    if (e instanceof Deno.errors.NotCapable) {
      throw new UsageError(
        `${
          (e as Error).message
        }. The bench task may touch only what its flags name (the scenario files, their datasets and plug-in ` +
          "folders, --data, --out, --cache, --log-json); name the path there, or run src/cli/bench.ts with your " +
          "own permissions.",
      );
    }
    throw e;
  }
  if (shard && shard.count > 1) {
    console.log(
      `shard ${shard.index}/${shard.count} done (${summary.ran.length} cells) in ${out}; when all shards are done run: deno task report ${out}`,
    );
    return;
  }
  const report = await writeReport(out, scenarios, summary.cells.map((c) => c.key), {
    environment: summary.environment,
    images,
  });
  console.log(`report: ${out}/index.html (digest ${report.digest.slice(0, 16)})`);
  console.log(wallTimesLine(report.wallTimes));
  for (const line of report.headline) console.log(line);
}

if (import.meta.main) await runMain(main, Deno.args);
