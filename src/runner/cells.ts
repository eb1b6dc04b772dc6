/**
 * Running cells: the data, the shared pre-trained backbone, the AL loop, and the atomic record and checkpoint
 * after every iteration. Used in-process and by worker threads alike.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../rng.ts";
import type { ImageTable, LabelTable } from "../data/dataset.ts";
import { datasetKey, datasetSource } from "../scenario/dataset_source.ts";
import { planSeed, type SeedPlan } from "../data/plan.ts";
import { type SplitRecord, splitRecord } from "../data/split_record.ts";
import { type ResolvedScenario, scenarioDir } from "../scenario/load.ts";
import { buildBackbone } from "../model/backbones.ts";
import { type Classifier, withHead } from "../model/classifier.ts";
import { loadCheckpoint } from "../model/checkpoint.ts";
import {
  backendFamily,
  pretrainDir,
  pretrainedBackbone,
  pretrainKey,
  type PretrainSpec,
} from "../ssl/pretrain.ts";
import { resolveQuery } from "../plugin/loader.ts";
import type { QueryFunction } from "../al/query.ts";
import type { FinetuneOptions } from "../train/finetune.ts";
import { type AlLoopHooks, type CellInput, CellPhaseError, type ResumePoint, runAlLoop } from "../al/loop.ts";
import {
  CELL_FORMAT,
  type CellIdentity,
  type CellRecord,
  type IterationRecord,
  parseRecord,
  type PretrainSummary,
  type ProbeScores,
} from "../records/records.ts";
import { inspectCell, loadResumeCheckpoint, otherVersionError, persistIteration, setAside } from "./store.ts";
import type { Cell } from "./grid.ts";
import type { ProgressEvent } from "./progress.ts";
import { linearProbe, PROBE_FILE, probeImages } from "../ssl/probe.ts";
import { writeFileAtomic } from "../atomic_write.ts";
import { engineIdentity } from "../backend/doctor.ts";
import { queryCode } from "../plugin/code_hash.ts";
import { identityDifferences, type ScenarioIdentity } from "./identity.ts";

export type { PretrainSummary } from "../records/records.ts";

/** A query in progress, for a watchdog outside the cell's thread. */
export interface QueryWatch {
  readonly cell: string;
  readonly running: boolean;
  readonly limitSeconds: number;
  /** The error to fail the run with when the query outlives its limit. */
  readonly message: string;
}

/** Shared, lazily loaded inputs of a run. */
export class RunContext {
  readonly #labels = new Map<string, Promise<{ table: LabelTable; fingerprint: string }>>();
  readonly #images = new Map<string, Promise<ImageTable>>();
  readonly #plans = new Map<string, SeedPlan>();
  /** One pre-training check per key and process: cells sharing a backbone do not reload it each time. */
  readonly #pretrained = new Map<string, Promise<PretrainSummary>>();
  constructor(
    readonly options: {
      readonly dataRoot?: string;
      readonly cacheDir: string;
      readonly backendName: string;
      readonly environment: Record<string, unknown>;
      readonly emit: (e: ProgressEvent) => void;
      /**
       * Told when a cell's query function starts (`running`) and returns, with its time limit and the message to
       * fail the cell with should it not return (a worker's owner ends the worker then; see `runGrid`).
       */
      readonly onQuery?: (q: QueryWatch) => void;
      /**
       * What this run computes each scenario with (dataset, engine, each arm's code), as bound to the results
       * folder; a cell whose own differs (data or a plug-in edited since the run began) fails.
       */
      readonly identities?: ReadonlyMap<string, ScenarioIdentity>;
      /** Whether a backbone found in the cache is announced (`false` in worker threads; default true). */
      readonly announceCached?: boolean;
      /**
       * Image tables already loaded, by {@linkcode RunContext.sharedImages}'s keys: a worker thread reads the
       * main thread's pixels from shared memory instead of decoding its own copy.
       */
      readonly images?: ReadonlyMap<string, ImageTable>;
    },
  ) {
    for (const [key, table] of options.images ?? []) this.#images.set(key, Promise.resolve(table));
  }

  #source(s: ResolvedScenario) {
    return datasetSource(s.scenario.dataset, {
      ...(this.options.dataRoot ? { dataRoot: this.options.dataRoot } : {}),
      cacheDir: this.options.cacheDir,
    });
  }

  #dataKey(s: ResolvedScenario): string {
    return datasetKey(s.scenario.dataset, this.options.dataRoot ? { dataRoot: this.options.dataRoot } : {});
  }

  /** Labels and dataset fingerprint. */
  labels(s: ResolvedScenario): Promise<{ table: LabelTable; fingerprint: string }> {
    const key = this.#dataKey(s);
    if (!this.#labels.has(key)) {
      const src = this.#source(s);
      this.#labels.set(
        key,
        (async () => ({ table: await src.labels(), fingerprint: await src.fingerprint() }))(),
      );
    }
    return this.#labels.get(key)!;
  }

  #imagesKey(s: ResolvedScenario): string {
    return `${this.#dataKey(s)}@${s.scenario.dataset.resolution}`;
  }

  /** Images at the scenario's resolution. */
  images(s: ResolvedScenario): Promise<ImageTable> {
    const key = this.#imagesKey(s);
    if (!this.#images.has(key)) this.#images.set(key, this.#source(s).images(s.scenario.dataset.resolution));
    return this.#images.get(key)!;
  }

  /**
   * The image tables of `scenarios`, each loaded once and moved into shared memory (a `SharedArrayBuffer`), by
   * key: hand them to worker threads' contexts (option `images`) so every job reads one copy of the pixels
   * (UCMerced at 256 px is 413 MB a copy). This context uses the shared tables from then on. Pixels are never
   * written after loading, so sharing them is safe.
   */
  async sharedImages(scenarios: readonly ResolvedScenario[]): Promise<Map<string, ImageTable>> {
    const out = new Map<string, ImageTable>();
    for (const s of scenarios) {
      const key = this.#imagesKey(s);
      if (out.has(key)) continue;
      const table = await this.images(s);
      let shared = table;
      if (!(table.pixels.buffer instanceof SharedArrayBuffer)) {
        const pixels = new Uint8Array(new SharedArrayBuffer(table.pixels.byteLength));
        pixels.set(table.pixels);
        shared = { ...table, pixels };
        this.#images.set(key, Promise.resolve(shared));
      }
      out.set(key, shared);
    }
    return out;
  }

  /** The plan of a scenario and seed. */
  async plan(s: ResolvedScenario, seed: number): Promise<SeedPlan> {
    const key = `${s.id}:${seed}`;
    if (!this.#plans.has(key)) this.#plans.set(key, planSeed((await this.labels(s)).table, s.scenario, seed));
    return this.#plans.get(key)!;
  }

  /** The pre-training spec of a cell (null without pre-training). */
  async pretrainSpec(s: ResolvedScenario, seed: number): Promise<PretrainSpec | null> {
    const p = s.scenario.pretrain;
    if (p.method === "none") return null;
    const { table, fingerprint } = await this.labels(s);
    const archive = p.archive === "all"
      ? table.ids
      : (await this.plan(s, seed)).pool.map((i) => table.ids[i]!);
    return {
      datasetFingerprint: fingerprint,
      archiveIds: archive,
      backbone: s.scenario.model.backbone,
      resolution: s.scenario.dataset.resolution,
      byol: {
        epochs: p.epochs,
        batchSize: p.batchSize,
        lr: p.lr,
        projector: p.projector,
        predictorHidden: p.predictorHidden,
        tau: p.tau,
        aerialAugment: p.aerialAugment,
      },
      seed: p.archive === "all" ? p.seed : p.seed * 1_000_003 + seed,
      backendFamily: backendFamily(this.options.backendName),
    };
  }

  /**
   * Make sure the cell's pre-trained backbone is in the cache and has been checked with a linear probe; returns
   * its key, loss curve and probe scores (null without pre-training).
   */
  async ensurePretrained(s: ResolvedScenario, seed: number): Promise<PretrainSummary | null> {
    const spec = await this.pretrainSpec(s, seed);
    if (!spec) return null;
    const key = pretrainKey(spec);
    if (!this.#pretrained.has(key)) this.#pretrained.set(key, this.#pretrain(s, spec, key, seed));
    return await this.#pretrained.get(key)!;
  }

  async #pretrain(
    s: ResolvedScenario,
    spec: PretrainSpec,
    key: string,
    seed: number,
  ): Promise<PretrainSummary> {
    const { table } = await this.labels(s);
    const position = new Map(table.ids.map((id, i) => [id, i]));
    const archive = spec.archiveIds.map((id) => position.get(id)!);
    const perEpoch = Math.ceil(archive.length / spec.byol.batchSize);
    // Progress inside epochs: a line when the pre-training starts, then its steps at most once a second.
    let lastStep = 0, lastEmit = 0;
    const onStep = (step: number) => {
      if (step === 1) {
        this.options.emit({ type: "pretrain-start", key, images: archive.length, epochs: spec.byol.epochs });
      }
      const now = performance.now();
      if (now - lastEmit < 1000 && step % perEpoch !== 0) return;
      lastEmit = now;
      const epoch = Math.floor((step - 1) / perEpoch);
      const images = Math.min(archive.length * spec.byol.epochs, step * spec.byol.batchSize) -
        Math.min(archive.length * spec.byol.epochs, lastStep * spec.byol.batchSize);
      lastStep = step;
      this.options.emit({
        type: "pretrain-step",
        key,
        epoch,
        epochs: spec.byol.epochs,
        step: step - epoch * perEpoch,
        steps: perEpoch,
        images,
      });
    };
    const result = await pretrainedBackbone(
      spec,
      await this.images(s),
      archive,
      this.options.cacheDir,
      (epoch, loss) => {
        if (!Number.isFinite(loss)) {
          throw new Error(
            `pre-training ${key.slice(0, 12)} of scenario ${s.id} (BYOL) failed in epoch ${epoch + 1} of ` +
              `${spec.byol.epochs}: the loss is ${loss}, the network diverged; a smaller pretrain.lr (now ` +
              `${spec.byol.lr}) usually fixes it. Nothing was cached.`,
          );
        }
        this.options.emit({ type: "pretrain", key, cached: false, epoch, epochs: spec.byol.epochs, loss });
      },
      onStep,
    );
    // Announced once per run: a worker thread finds every backbone in the cache, as the main thread left it.
    if (!result.cached || this.options.announceCached !== false) {
      this.options.emit({ type: "pretrain", key: result.key, cached: result.cached });
    }
    // Is pre-training working? A linear probe on validation images the backbone never saw — the validation set
    // of the cell's own seed, whose pool it was pre-trained on, less any image of its archive — against the same
    // network at its random initialisation; computed once per key and kept beside the checkpoint. (probe.json,
    // before #31, probed every backbone on seed 0's validation set, which overlapped other seeds' pools.)
    const probePath = `${result.dir}/${PROBE_FILE}`;
    let probe: ProbeScores;
    try {
      probe = parseRecord("probe", probePath, await Deno.readTextFile(probePath));
    } catch {
      // With pretrain.archive "all" every image is in the archive: the probe cannot be held out, and says so.
      const valSeed = s.scenario.pretrain.archive === "pool" ? seed : s.seeds[0]!;
      const chosen = probeImages((await this.plan(s, valSeed)).val, archive);
      const images = await this.images(s);
      const rng = Rng.root(spec.seed).fork("probe");
      const random = buildBackbone(spec.backbone, spec.resolution, Rng.root(spec.seed).fork("pretrain"));
      const before = await linearProbe(random, images, table, chosen.indices, rng);
      const after = await linearProbe(result.backbone, images, table, chosen.indices, rng);
      random.dispose();
      probe = {
        randomInitMap: before.map,
        pretrainedMap: after.map,
        randomInitMacroF1: before.macroF1,
        pretrainedMacroF1: after.macroF1,
        images: chosen.indices.length,
        heldOut: chosen.heldOut,
        valSeed,
      };
      await writeFileAtomic(probePath, JSON.stringify(probe));
      this.options.emit({
        type: "message",
        text: `linear probe on ${chosen.indices.length} ${
          chosen.heldOut ? "held-out validation images" : "validation images that were in the BYOL archive"
        }: mAP ${after.map.toFixed(3)} after BYOL, ${before.map.toFixed(3)} at random initialisation`,
      });
    }
    result.backbone.dispose();
    return { key: result.key, losses: result.losses, probe };
  }
}

/**
 * Run one cell of the grid to completion, resuming from its record and checkpoint when a previous run was
 * interrupted; returns its record.
 *
 * @example
 * ```ts ignore
 * import { runGridCell } from "./cells.ts";
 * await runGridCell(cell, context, "reports/default");
 * ```
 */
export async function runGridCell(cell: Cell, ctx: RunContext, out: string): Promise<CellRecord> {
  const s = cell.scenario;
  const warn = (text: string) => ctx.options.emit({ type: "warning", text });
  const stored = await storedIterations(cell, out, warn);
  if ("format" in stored) return stored;
  const { table } = await ctx.labels(s);
  const images = await ctx.images(s);
  const plan = await ctx.plan(s, cell.seed);
  const split = splitRecord(plan, table);
  const changed = splitChangedError(cell, stored, split);
  if (changed) throw changed;
  const pretrain = await ctx.ensurePretrained(s, cell.seed);
  const query = await resolveQuery(cell.arm.query, scenarioDir(s));
  const plugin = typeof cell.arm.query === "string" ? "" : `, plug-in ${cell.arm.query.module}`;
  const who = `cell ${cell.key} (scenario ${s.id}, arm ${cell.arm.name}, seed ${cell.seed}${plugin})`;
  const identity: CellIdentity = {
    dataset: (await ctx.labels(s)).fingerprint,
    code: queryCode(query),
    engine: engineIdentity(ctx.options.environment),
  };
  const bound = ctx.options.identities?.get(s.id);
  if (bound) {
    const diff = identityDifferences(
      { dataset: bound.dataset, engine: bound.engine, code: bound.arms[cell.arm.name] ?? identity.code },
      identity,
    );
    if (diff.length) {
      throw new Error(
        `${who}: what it would be computed with changed since the run began (${
          diff.join("; ")
        }); results of ` +
          "two versions are never mixed: leave the data and plug-ins alone while a run uses them, and rerun",
      );
    }
  }
  const makeModel = modelMaker(cell, table, pretrain?.key ?? null, ctx.options.cacheDir);
  const { iterations, resume } = await resumePoint(cell, out, stored.iterations, makeModel, warn);
  const input = loopInput(
    { iterations: s.iterations, finetune: s.scenario.finetune, al: s.scenario.al },
    plan,
    { seed: cell.seed, images, table, query, queryOptions: cell.arm.options, makeModel },
  );
  const persist = persistingHooks(
    cell,
    ctx,
    out,
    {
      ...recordHead(cell, table, pretrain, ctx.options.environment, identity),
      split,
      iterations,
      complete: false,
    },
    who,
    query,
  );
  await runAlLoop(input, persist.hooks, resume).catch((e) => {
    if (!(e instanceof CellPhaseError)) throw e;
    throw new Error(`${who} failed in ${e.message}. Nothing of that iteration was saved.`);
  });
  tf.disposeVariables();
  ctx.options.emit({ type: "cell-done", cell: cell.key });
  return persist.record();
}

/**
 * Resume, first step: the cell's complete record (nothing to do), or the iterations its record holds (none for a
 * new cell). A record of another scenario version is an error; a damaged one is set aside with a warning and the
 * cell starts over.
 */
async function storedIterations(
  cell: Cell,
  out: string,
  warn: (text: string) => void,
): Promise<CellRecord | StoredRounds> {
  const stored = await inspectCell(out, cell.key);
  if (stored.state === "ok") {
    const other = otherVersionError(stored.path, stored.record, cell.scenario.hash);
    if (other) throw other;
    return stored.record.complete
      ? stored.record
      : { iterations: [...stored.record.iterations], path: stored.path, split: stored.record.split };
  }
  if (stored.state === "damaged") {
    // Cells are deterministic: recomputing a damaged record gives what it held.
    const aside = await setAside(stored.path);
    warn(
      `${stored.path}: damaged cell record (${stored.reason}); set aside as ${aside}, and cell ${cell.key} is ` +
        "recomputed from the start (cells are deterministic: the results are those of an undamaged run)",
    );
  }
  return { iterations: [] };
}

/** The rounds of an incomplete stored record, with its file and the split it was computed on (if recorded). */
interface StoredRounds {
  readonly iterations: IterationRecord[];
  readonly path?: string;
  readonly split?: SplitRecord | undefined;
}

/**
 * The error for resuming rounds computed on another split than the seed's plan gives now (the same scenario
 * version, so the archive's ids or labels changed under the same dataset root), naming the first set that
 * differs; `null` when they agree or the record predates split records.
 */
function splitChangedError(cell: Cell, stored: StoredRounds, split: SplitRecord): Error | null {
  if (!stored.split || !stored.iterations.length) return null;
  for (const part of ["test", "val", "pool", "removed", "initial"] as const) {
    const was = stored.split[part].sha256, now = split[part].sha256;
    if (was !== now) {
      return new Error(
        `${stored.path}: cell ${cell.key} was computed on another split than its scenario gives now (${part} ` +
          `set sha256 ${was.slice(0, 12)} in the record, ${
            now.slice(0, 12)
          } now), though the scenario is the ` +
          "same version: the dataset's ids or labels changed under the same root. Move the record away (or use " +
          "another --out) to recompute the cell on the current data.",
      );
    }
  }
  return null;
}

/**
 * Resume, second step: the model after the last stored iteration, from its checkpoint. A damaged or missing
 * checkpoint is set aside with a warning (see `loadResumeCheckpoint` in `store.ts`) and the cell starts over
 * (only the last iteration's checkpoint is kept, and cells are deterministic).
 */
async function resumePoint(
  cell: Cell,
  out: string,
  stored: IterationRecord[],
  makeModel: () => Promise<Classifier>,
  warn: (text: string) => void,
): Promise<{ iterations: IterationRecord[]; resume?: ResumePoint }> {
  if (stored.length === 0) return { iterations: [] };
  const model = await makeModel();
  const problem = await loadResumeCheckpoint(out, cell.key, stored.length - 1, [model.backbone, model.head]);
  if (problem === null) return { iterations: stored, resume: { records: stored, model } };
  model.backbone.dispose();
  model.head.dispose();
  warn(problem);
  return { iterations: [] };
}

/** A cell's model maker: the scenario's backbone (pre-trained weights loaded when there are some) and a new head. */
function modelMaker(
  cell: Cell,
  table: LabelTable,
  pretrainKey: string | null,
  cacheDir: string,
): () => Promise<Classifier> {
  const sc = cell.scenario.scenario;
  return async () => {
    const backbone = buildBackbone(
      sc.model.backbone,
      sc.dataset.resolution,
      Rng.root(sc.pretrain.seed).fork("pretrain"),
    );
    if (pretrainKey) await loadCheckpoint(pretrainDir(cacheDir, pretrainKey), [backbone]);
    return withHead(backbone, table.classNames.length, Rng.root(cell.seed).fork("head"));
  };
}

/** The loop settings {@linkcode loopInput} reads from a scenario (`ResolvedScenario.iterations`, `finetune`, `al`). */
export interface LoopSettings {
  /** AL rounds after the initial one. */
  readonly iterations: number;
  /** Fine-tuning per round. */
  readonly finetune: FinetuneOptions;
  /** Batch b, budget B, reinitialisation, validation scoring and the query time limit. */
  readonly al: {
    readonly batch: number;
    readonly budget?: number | undefined;
    readonly reinit: "warm" | "pretrained";
    readonly validation?: boolean | undefined;
    readonly queryTimeoutSeconds?: number | undefined;
  };
}

/**
 * The AL loop's input for a cell, from the scenario's settings and the seed's plan: the runner's one mapping from
 * a scenario to {@linkcode CellInput}, also used by `tests/al_loop_test.ts`. The validation set is scored per
 * round only on request (`al.validation`; nothing reads those scores).
 *
 * @example
 * ```ts ignore
 * import { loopInput } from "./cells.ts";
 * const input = loopInput(
 *   { iterations: s.iterations, finetune: s.scenario.finetune, al: s.scenario.al },
 *   plan,
 *   { seed, images, table, query, queryOptions: {}, makeModel },
 * );
 * ```
 */
export function loopInput(
  settings: LoopSettings,
  plan: Pick<SeedPlan, "initial" | "pool" | "val" | "test">,
  cell: {
    readonly seed: number;
    readonly images: ImageTable;
    readonly table: LabelTable;
    readonly query: QueryFunction;
    readonly queryOptions: Readonly<Record<string, unknown>>;
    readonly makeModel: () => Classifier | Promise<Classifier>;
  },
): CellInput {
  const al = settings.al;
  return {
    seed: cell.seed,
    images: cell.images,
    table: cell.table,
    initial: plan.initial,
    pool: plan.pool,
    ...(al.validation ? { val: plan.val } : {}),
    test: plan.test,
    finetune: settings.finetune,
    iterations: settings.iterations,
    batch: al.batch,
    ...(al.budget !== undefined ? { budget: al.budget } : {}),
    reinit: al.reinit,
    query: cell.query,
    queryOptions: cell.queryOptions,
    ...(al.queryTimeoutSeconds !== undefined ? { queryTimeoutSeconds: al.queryTimeoutSeconds } : {}),
    makeModel: cell.makeModel,
  };
}

/** Everything of a cell's record but its iterations and completeness. */
function recordHead(
  cell: Cell,
  table: LabelTable,
  pretrain: PretrainSummary | null,
  environment: Record<string, unknown>,
  identity: CellIdentity,
): Omit<CellRecord, "iterations" | "complete"> {
  const s = cell.scenario;
  return {
    format: CELL_FORMAT,
    key: cell.key,
    scenario: s.id,
    scenarioHash: s.hash,
    arm: cell.arm.name,
    query: typeof cell.arm.query === "string" ? cell.arm.query : `module:${cell.arm.query.module}`,
    seed: cell.seed,
    classNames: [...table.classNames],
    pretrainKey: pretrain?.key ?? null,
    pretrain,
    environment,
    identity,
  };
}

/**
 * Persist step: the loop's hooks that persist the record (and checkpoint) after every iteration, report progress,
 * and tell the watchdog about queries; `record()` is the record as last written.
 */
function persistingHooks(
  cell: Cell,
  ctx: RunContext,
  out: string,
  start: CellRecord,
  who: string,
  query: QueryFunction,
): { hooks: AlLoopHooks; record: () => CellRecord } {
  const total = cell.scenario.iterations;
  let record = start;
  const hooks: AlLoopHooks = {
    onIteration: async (rec, model) => {
      record = { ...record, iterations: [...record.iterations, rec], complete: rec.iteration === total };
      await persistIteration(out, record, [model.backbone, model.head]);
      ctx.options.emit({
        type: "iteration",
        cell: cell.key,
        iteration: rec.iteration,
        iterations: total,
        labelled: rec.labelled,
        microF1: rec.test.microF1,
        macroF1: rec.test.macroF1,
        seconds: rec.seconds.finetune + rec.seconds.inference + rec.seconds.query,
      });
    },
    onPhase: (iteration, phase) =>
      ctx.options.emit({ type: "phase", cell: cell.key, iteration, iterations: total, phase }),
    onQuery: (iteration, running, limitSeconds) =>
      ctx.options.onQuery?.({
        cell: cell.key,
        running,
        limitSeconds,
        message:
          `${who} failed in iteration ${iteration}, phase query: query function ${query.name} did not ` +
          `return within the time limit of ${limitSeconds} s (al.queryTimeoutSeconds), so its worker thread ` +
          "was stopped; raise the limit or make the function faster. Nothing of that iteration was saved.",
      }),
  };
  return { hooks, record: () => record };
}
