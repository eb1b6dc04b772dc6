/**
 * The grid runner: checks everything it can before writing anything, pre-trains each distinct backbone once,
 * then runs this shard's cells (in worker threads with `jobs > 1`), every cell resumable.
 *
 * @module
 */
import { initBackend } from "../backend/backend.ts";
import type { BackendName } from "../backend/names.ts";
import { engineIdentity, environmentRecord } from "../backend/doctor.ts";
import { type ResolvedScenario, scenarioDir, ScenarioError } from "../scenario/load.ts";
import { type Cell, gridCells, type Shard, shardCells } from "./grid.ts";
import { RunContext, runGridCell } from "./cells.ts";
import { moduleUrl, resolveQuery } from "../plugin/loader.ts";
import type { QueryFunction } from "../al/query.ts";
import { queryCode, queryCodeIdentity } from "../plugin/code_hash.ts";
import { identityConflict, recordIdentity, type ScenarioIdentity, selfDisagreement } from "./identity.ts";
import type { ArmFile } from "../records/records.ts";
import { dataWithinReach, modulePathOf, pluginReadScope } from "../plugin/sandbox.ts";
import { datasetPaths } from "../scenario/dataset_source.ts";
import { stopPythonPlugins } from "../plugin/python.ts";
import {
  checkOutputPaths,
  checkRunFolder,
  claimScenarios,
  inspectCell,
  otherVersionError,
  readAllCells,
  removeEmptyStateDirs,
  writeRunFile,
} from "./store.ts";
import { Progress, type ProgressEvent, type ProgressOptions } from "./progress.ts";
import { armNeeds, nativeThreadsPerJob, sizeRun } from "./sizing.ts";
import type { ArmNeeds } from "./size.ts";
import type { WorkerJob, WorkerMessage } from "./worker.ts";

/** What to run. */
export interface RunOptions {
  /** The scenarios whose cells run (arms × seeds each). */
  readonly scenarios: readonly ResolvedScenario[];
  /** The results folder. */
  readonly out: string;
  /** Dataset root overriding the scenarios' own (file-based datasets). */
  readonly dataRoot?: string;
  /** Cache of decoded datasets and pre-trained backbones. */
  readonly cacheDir: string;
  /** The engine. */
  readonly backend: BackendName;
  /** Run only the first N seeds of each scenario. */
  readonly seedLimit?: number;
  /** Run only this shard of the cells. */
  readonly shard?: Shard;
  /** Worker threads on this machine (1: run in this thread). */
  readonly jobs: number;
  /** Progress reporting. */
  readonly progress: ProgressOptions;
  /**
   * Measure each model with a short probe before the run and print the estimate of its wall time (and base the
   * live ETA on it). Default: when progress is shown.
   */
  readonly estimate?: boolean;
  /**
   * Called once every check has passed, right before the run first writes into `out` (`compare` writes its
   * `compare.json` here, so a refused run leaves the folder as it was).
   */
  readonly beforeWrite?: () => Promise<void>;
  /**
   * Called after every check, before anything is written into `out` (not even the folder): what must be on disk
   * before the run's first write, such as its pre-registration.
   */
  readonly beforeClaim?: () => Promise<void>;
}

/** A cell that failed while the others went on. */
export interface CellFailure {
  /** The cell's key. */
  readonly key: string;
  /** Why, naming the cell (scenario, arm, seed, plug-in), the round and the phase. */
  readonly message: string;
}

/**
 * Thrown by {@linkcode runGrid} once every cell has been tried when some failed: a cell's failure (a plug-in that
 * throws, never returns, crashes its thread; a diverging model) is that cell's alone, so the others finish and
 * their records stand. The message lists each failure; `summary` is what the run did, for the report of what
 * finished.
 *
 * @example
 * ```ts
 * import { CellsFailedError } from "./run.ts";
 * const e = new CellsFailedError([{ key: "s/a/seed-0", message: "cell s/a/seed-0 failed" }], {
 *   cells: [], ran: [], skipped: [], environment: {}, seconds: 0,
 * });
 * console.assert(e.message.startsWith("cell s/a/seed-0 failed"));
 * ```
 */
export class CellsFailedError extends Error {
  constructor(readonly failures: readonly CellFailure[], readonly summary: RunSummary) {
    super(
      failures.map((f) => f.message).join("\n") +
        `\n(${failures.length} of ${summary.ran.length} cell${
          summary.ran.length === 1 ? "" : "s"
        } this run ` +
        `computed failed; the others finished and their records stand)`,
    );
    this.name = "CellsFailedError";
  }
}

/** What a run did. */
export interface RunSummary {
  /** Every cell of this shard. */
  readonly cells: Cell[];
  /** Keys of the cells computed (or resumed) by this run. */
  readonly ran: string[];
  /** Keys of the cells already complete, reused. */
  readonly skipped: string[];
  /** The machine and engine, as recorded in the manifest. */
  readonly environment: Record<string, unknown>;
  /** Wall-clock seconds of the run. */
  readonly seconds: number;
}

/**
 * The commit of the project checkout, read from `.git` (no subprocess), or `null`.
 *
 * @example
 * ```ts ignore
 * import { gitCommit } from "./run.ts";
 * console.log(await gitCommit());
 * ```
 */
export async function gitCommit(root = new URL("../..", import.meta.url).pathname): Promise<string | null> {
  try {
    const head = (await Deno.readTextFile(`${root}/.git/HEAD`)).trim();
    if (!head.startsWith("ref: ")) return head;
    const ref = head.slice(5);
    try {
      return (await Deno.readTextFile(`${root}/.git/${ref}`)).trim();
    } catch {
      const packed = await Deno.readTextFile(`${root}/.git/packed-refs`);
      return packed.split("\n").find((l) => l.endsWith(` ${ref}`))?.split(" ")[0] ?? null;
    }
  } catch {
    return null;
  }
}

/**
 * Run the grid (this shard of it). Throws before creating anything when a scenario, the data or the results
 * folder is unusable.
 *
 * @example
 * ```ts ignore
 * import { runGrid } from "./run.ts";
 * await runGrid({ scenarios, out: "reports/default", cacheDir: ".cache", backend: "auto", jobs: 2, progress: {} });
 * ```
 */
export async function runGrid(opts: RunOptions): Promise<RunSummary> {
  const t0 = performance.now();
  const cells = gridCells(opts.scenarios, opts.seedLimit);
  const mine = shardCells(cells, opts.shard);
  const prior = await checkRunFolder(opts.out, opts.scenarios);
  const info = await initBackend(opts.backend);
  const environment = { ...environmentRecord(info), gitCommit: await gitCommit() } as Record<string, unknown>;
  // The native engine's threads per job follow --jobs alone, so a resume computes with the same engine identity.
  const perJob = nativeThreadsPerJob(info, opts.jobs);
  if (perJob !== undefined) environment.nativeThreadsPerJob = perJob;
  const engine = engineIdentity(environment);
  const identities = new Map<string, ScenarioIdentity & { files: Record<string, ArmFile["files"]> }>();
  const progressBox: { p?: Progress } = {};
  const emit = (e: ProgressEvent) => progressBox.p?.emit(e);
  const ctx = new RunContext({
    ...(opts.dataRoot ? { dataRoot: opts.dataRoot } : {}),
    cacheDir: opts.cacheDir,
    backendName: info.name,
    environment,
    emit,
    identities,
  });
  const needs = new Map<string, ArmNeeds[]>();
  // Everything that can fail on bad input fails here, before the results folder exists.
  for (const s of opts.scenarios) {
    await ctx.labels(s);
    for (const seed of opts.seedLimit ? s.seeds.slice(0, opts.seedLimit) : s.seeds) {
      try {
        await ctx.plan(s, seed);
      } catch (e) {
        // A scenario that does not fit its dataset (classes, the pool after removal): a scenario error, as in plan.
        throw new ScenarioError(s.file ?? s.id, [`${s.id}, seed ${seed}: ${(e as Error).message}`]);
      }
    }
    // Plug-ins load now (a missing, throwing or malformed module), not after run.json names the folder's scenario.
    const arms: Record<string, string> = {}, files: Record<string, { path: string; sha256: string }[]> = {};
    for (const [i, arm] of s.scenario.arms.entries()) {
      let fn: QueryFunction;
      try {
        fn = await resolveQuery(arm.query, scenarioDir(s));
      } catch (e) {
        throw new Error(`${s.file ?? s.id}: arms[${i}] (${arm.name}): ${(e as Error).message}`, { cause: e });
      }
      arms[arm.name] = queryCode(fn);
      needs.set(s.id, [...(needs.get(s.id) ?? []), armNeeds(arm.name, fn)]);
      files[arm.name] = [...(queryCodeIdentity(fn)?.files ?? [])];
      if (typeof arm.query === "string") continue;
      const module = modulePathOf(moduleUrl(arm.query.module, scenarioDir(s)));
      // A sandboxed plug-in may read its own folder: never one that holds the data, whose labels it must not see.
      // (Python is not sandboxed: docs/query-functions.md.)
      const data = module.endsWith(".py") ? null : dataWithinReach(
        pluginReadScope(module),
        datasetPaths(s.scenario.dataset, opts.dataRoot ? { dataRoot: opts.dataRoot } : {}),
      );
      if (data) {
        throw new ScenarioError(s.file ?? s.id, [
          `arms[${i}] (${arm.name}): the plug-in ${module} may read its folder, which reaches the dataset's ` +
          `${data}, labels included: keep the plug-in in a folder of its own, apart from the data ` +
          "(docs/query-functions.md: What a plug-in may touch)",
        ]);
      }
      // Nor one that holds the results folder or the cache: earlier records (real ids, class counts) and cached
      // data would be state that outlives a call, and the plug-in's code identity (its folder's content) would
      // change as the run writes.
      const reach = (paths: string[]) => dataWithinReach(pluginReadScope(module), paths, "inside");
      const state = reach([opts.out, opts.cacheDir]);
      if (state) {
        throw new ScenarioError(s.file ?? s.id, [
          `arms[${i}] (${arm.name}): the plug-in ${module} may read its folder, which holds ${
            reach([opts.out]) ? "the results folder" : "the cache"
          } ${state}: keep the plug-in in a folder of its own, apart from --out and --cache ` +
          "(docs/query-functions.md: What a plug-in may touch)",
        ]);
      }
    }
    identities.set(s.id, { dataset: (await ctx.labels(s)).fingerprint, engine, arms, files });
  }
  // Cells with plug-in arms run in worker threads, each starting its own Python processes: the ones started here
  // to check the plug-ins would only sit idle.
  stopPythonPlugins();
  checkOutputPaths(opts.out, cells);
  // Every record this shard would resume or reuse belongs to the scenario's current version, or nothing starts.
  // (Damaged records are set aside and recomputed by runGridCell.)
  const todo: Cell[] = [], skipped: string[] = [], otherVersion: Error[] = [];
  let remainingIterations = 0;
  for (const c of mine) {
    const stored = await inspectCell(opts.out, c.key);
    const r = stored.state === "ok" ? stored.record : null;
    const other = r && otherVersionError(stored.path, r, c.scenario.hash);
    if (other) otherVersion.push(other);
    else if (r?.complete) skipped.push(c.key);
    else {
      todo.push(c);
      remainingIterations += c.scenario.iterations + 1 - (r?.iterations.length ?? 0);
    }
  }
  if (otherVersion.length) {
    throw new Error(
      otherVersion[0]!.message +
        (otherVersion.length > 1
          ? ` (${otherVersion.length - 1} more records of this folder are like it)`
          : ""),
    );
  }
  // Every record of the folder was computed with this run's data, code and engine (each record's own identity; a
  // record made before identities were kept is checked by its engine), so neither a resume nor a new cell mixes them.
  for (const r of await readAllCells(opts.out, () => {})) {
    const self = selfDisagreement(r);
    if (self) {
      throw new Error(`${opts.out}: ${self}; move that record out of the folder (its cell is recomputed)`);
    }
    const id = identities.get(r.scenario);
    const conflict = identityConflict(opts.out, r.key, recordIdentity(r), {
      dataset: id?.dataset ?? recordIdentity(r).dataset ?? "",
      code: id?.arms[r.arm] ?? recordIdentity(r).code ?? "",
      engine,
    });
    if (conflict) throw conflict;
  }
  // The run's size, and with a short probe of each model its estimate, said before it starts.
  const jobs = Math.max(1, Math.min(opts.jobs, todo.length));
  const sized = todo.length
    ? await sizeRun(ctx, opts.scenarios, {
      ...(opts.seedLimit ? { seedLimit: opts.seedLimit } : {}),
      cacheDir: opts.cacheDir,
      arms: needs,
      run: todo,
      jobs,
      engine: info,
      ...(perJob !== undefined ? { perJobThreads: perJob } : {}),
      estimate: opts.estimate ?? !opts.progress.quiet,
    })
    : { lines: [] };
  await opts.beforeClaim?.();
  // The folder is bound to these scenario versions (atomically; concurrent runs of other versions are refused).
  await claimScenarios(opts.out, opts.scenarios, identities);
  await opts.beforeWrite?.();
  await writeRunFile(opts.out, prior, opts.scenarios);
  const progress = new Progress(opts.progress, todo.length, remainingIterations);
  progressBox.p = progress;
  try {
    if (todo.length) progress.emit({ type: "size", lines: sized.lines });
    if (sized.estimate) progress.useEstimate(sized.estimate.seconds, sized.estimate.cost);
    progress.emit({
      type: "start",
      cells: todo.length,
      skipped: skipped.length,
      ...(opts.shard ? { shard: `${opts.shard.index}/${opts.shard.count}` } : {}),
      // Said, since the default takes every core, also of a machine that is busy with something else.
      jobs,
      cores: navigator.hardwareConcurrency,
    });
    // Pre-train each distinct key once, here, before cells (and workers) need it.
    for (const c of todo) await ctx.ensurePretrained(c.scenario, c.seed);
    // Plug-in query functions run in worker threads even with one job: a worker whose query outlives
    // al.queryTimeoutSeconds can be ended from here, a thread stuck in a synchronous loop cannot end itself.
    const inWorkers = jobs > 1 || todo.some((c) => typeof c.arm.query !== "string");
    // The native engine uses every core in one thread; workers share them out instead of oversubscribing.
    const nativeThreads = info.name === "native" ? perJob ?? info.threads : undefined;
    // A cell's failure is its own: it is collected and the other cells go on (CellsFailedError at the end).
    const failures: CellFailure[] = [];
    const failed = (key: string, message: string) => failures.push({ key, message });
    if (!inWorkers) {
      for (const c of todo) {
        await runGridCell(c, ctx, opts.out).catch((e) => failed(c.key, (e as Error).message));
      }
    } else {
      // One queue: each worker takes the next cell when it is free, so jobs finish together.
      const queue = todo.map((c) => c.key);
      // One copy of the pixels for all jobs, in shared memory (each worker decoded its own before).
      const images = await ctx.sharedImages([...new Set(todo.map((c) => c.scenario))]);
      await Promise.all(Array.from({ length: jobs }, () =>
        runWorker(
          {
            scenarios: [...opts.scenarios],
            ...(opts.seedLimit ? { seedLimit: opts.seedLimit } : {}),
            out: opts.out,
            ...(opts.dataRoot ? { dataRoot: opts.dataRoot } : {}),
            cacheDir: opts.cacheDir,
            backend: info.name,
            ...(nativeThreads !== undefined ? { nativeThreads } : {}),
            environment,
            identities,
            images,
          },
          queue,
          emit,
          failed,
        )));
    }
    // Finished cells remove their resume checkpoints; drop the emptied folders too.
    await removeEmptyStateDirs(opts.out);
    const seconds = (performance.now() - t0) / 1000;
    progress.emit({ type: "done", seconds });
    const summary = { cells, ran: todo.map((c) => c.key), skipped, environment, seconds };
    if (failures.length) {
      const order = new Map(todo.map((c, i) => [c.key, i]));
      failures.sort((a, b) => (order.get(a.key) ?? 0) - (order.get(b.key) ?? 0));
      throw new CellsFailedError(failures, summary);
    }
    return summary;
  } finally {
    progress.close();
  }
}

/** Seconds the watchdog waits beyond a query's limit, so that the cell's own timer (its message) goes first. */
const WATCHDOG_GRACE_SECONDS = 2;

function runWorker(
  job: WorkerJob,
  queue: string[],
  emit: (e: ProgressEvent) => void,
  failed: (key: string, message: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    let current: string | undefined;
    const stop = () => {
      clearTimeout(watchdog);
      worker.terminate();
    };
    // The thread was ended with `key` in it: that cell failed; the queue's other cells go on in a new thread.
    const lost = (key: string, message: string) => {
      stop();
      failed(key, message);
      if (!queue.length) resolve();
      else runWorker(job, queue, emit, failed).then(resolve, reject);
    };
    worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
      const m = e.data;
      if (m.kind === "next") {
        const key = queue.shift();
        current = key;
        worker.postMessage(key === undefined ? { kind: "end" } : { kind: "cell", key });
      } else if (m.kind === "event") {
        if (m.event.type === "phase") current = m.event.cell;
        emit(m.event);
      } else if (m.kind === "query") {
        // A query that never returns (even a synchronous endless loop) ends with its worker.
        clearTimeout(watchdog);
        current = m.watch.cell;
        if (m.watch.running) {
          watchdog = setTimeout(
            () => lost(m.watch.cell, m.watch.message),
            (m.watch.limitSeconds + WATCHDOG_GRACE_SECONDS) * 1000,
          );
        }
      } else if (m.kind === "cell-failed") {
        failed(m.key, m.message);
      } else if (m.kind === "done") {
        stop();
        resolve();
      } else {
        stop();
        reject(new Error(m.message));
      }
    };
    worker.onerror = (e) => {
      e.preventDefault();
      if (current !== undefined) lost(current, `cell ${current}: its worker thread failed: ${e.message}`);
      else {
        stop();
        reject(new Error(`worker failed: ${e.message}`));
      }
    };
    worker.postMessage(job);
  });
}
