/**
 * Running cells: the data, the shared pre-trained backbone, the AL loop, and the atomic record and checkpoint
 * after every iteration. Used in-process and by worker threads alike.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../rng.ts";
import type { ImageTable, LabelTable } from "../data/dataset.ts";
import { datasetKey, datasetSource } from "../data/source.ts";
import { planSeed, type SeedPlan } from "../data/plan.ts";
import type { ResolvedScenario } from "../scenario/load.ts";
import { buildBackbone } from "../model/backbones.ts";
import { type Classifier, withHead } from "../model/classifier.ts";
import { loadCheckpoint, saveCheckpoint } from "../model/checkpoint.ts";
import { backendFamily, pretrainedBackbone, pretrainKey, type PretrainSpec } from "../ssl/pretrain.ts";
import { resolveQuery } from "../al/query/registry.ts";
import { CellPhaseError, type IterationRecord, runCell } from "../al/loop.ts";
import {
  CELL_FORMAT,
  type CellRecord,
  inspectCell,
  otherVersionError,
  setAside,
  stateDir,
  writeCell,
} from "./store.ts";
import type { Cell } from "./grid.ts";
import type { ProgressEvent } from "./progress.ts";
import { linearProbe } from "../ssl/probe.ts";
import { writeFileAtomic } from "../data/cache.ts";

/** What a cell records about its pre-trained backbone. */
export interface PretrainSummary {
  /** Cache key of the backbone. */
  readonly key: string;
  /** Mean BYOL loss per epoch. */
  readonly losses: number[];
  /** Linear probe on frozen features: random initialisation against pre-trained. */
  readonly probe: {
    randomInitMap: number;
    pretrainedMap: number;
    randomInitMacroF1: number;
    pretrainedMacroF1: number;
  };
}

/** A query in progress, for a watchdog outside the cell's thread. */
export interface QueryWatch {
  readonly cell: string;
  readonly running: boolean;
  readonly limitSeconds: number;
  /** The error to fail the run with when the query outlives its limit. */
  readonly message: string;
}

/**
 * The folder plug-in modules of a scenario are resolved against: the scenario file's, or the working directory.
 *
 * @example
 * ```ts
 * import { scenarioDir } from "./cells.ts";
 * console.assert(scenarioDir({ file: "scenarios/examples/x.json" } as never) === "scenarios/examples");
 * ```
 */
export function scenarioDir(s: ResolvedScenario): string {
  return s.file ? s.file.slice(0, Math.max(0, s.file.lastIndexOf("/"))) || "." : Deno.cwd();
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
    },
  ) {}

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

  /** Images at the scenario's resolution. */
  images(s: ResolvedScenario): Promise<ImageTable> {
    const key = `${this.#dataKey(s)}@${s.scenario.dataset.resolution}`;
    if (!this.#images.has(key)) this.#images.set(key, this.#source(s).images(s.scenario.dataset.resolution));
    return this.#images.get(key)!;
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
    if (!this.#pretrained.has(key)) this.#pretrained.set(key, this.#pretrain(s, spec, key));
    return await this.#pretrained.get(key)!;
  }

  async #pretrain(s: ResolvedScenario, spec: PretrainSpec, key: string): Promise<PretrainSummary> {
    const { table } = await this.labels(s);
    const position = new Map(table.ids.map((id, i) => [id, i]));
    const result = await pretrainedBackbone(
      spec,
      await this.images(s),
      spec.archiveIds.map((id) => position.get(id)!),
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
    );
    this.options.emit({ type: "pretrain", key: result.key, cached: result.cached });
    // Is pre-training working? A linear probe on the validation set of the scenario's first seed, against the
    // same network at its random initialisation; computed once per key and kept beside the checkpoint.
    const probePath = `${result.dir}/probe.json`;
    let probe: PretrainSummary["probe"];
    try {
      probe = JSON.parse(await Deno.readTextFile(probePath));
    } catch {
      const val = (await this.plan(s, s.seeds[0]!)).val;
      const images = await this.images(s);
      const rng = Rng.root(spec.seed).fork("probe");
      const random = buildBackbone(spec.backbone, spec.resolution, Rng.root(spec.seed).fork("pretrain"));
      const before = await linearProbe(random, images, table, val, rng);
      const after = await linearProbe(result.backbone, images, table, val, rng);
      random.dispose();
      probe = {
        randomInitMap: before.map,
        pretrainedMap: after.map,
        randomInitMacroF1: before.macroF1,
        pretrainedMacroF1: after.macroF1,
      };
      await writeFileAtomic(probePath, JSON.stringify(probe));
      this.options.emit({
        type: "message",
        text: `linear probe on ${val.length} validation images: mAP ${after.map.toFixed(3)} after BYOL, ` +
          `${before.map.toFixed(3)} at random initialisation`,
      });
    }
    result.backbone.dispose();
    return { key: result.key, losses: result.losses, probe };
  }
}

/**
 * Run one cell to completion, resuming from its record and checkpoint when a previous run was interrupted.
 *
 * @example
 * ```ts ignore
 * import { runOneCell } from "./cells.ts";
 * await runOneCell(cell, context, "reports/default", scenarioDir);
 * ```
 */
export async function runOneCell(cell: Cell, ctx: RunContext, out: string): Promise<CellRecord> {
  const s = cell.scenario, sc = s.scenario;
  const warn = (text: string) => ctx.options.emit({ type: "warning", text });
  const stored = await inspectCell(out, cell.key);
  let existing: CellRecord | null = null;
  if (stored.state === "ok") {
    const other = otherVersionError(stored.path, stored.record, s.hash);
    if (other) throw other;
    if (stored.record.complete) return stored.record;
    existing = stored.record;
  } else if (stored.state === "damaged") {
    // Cells are deterministic: recomputing a damaged record gives what it held.
    const aside = await setAside(stored.path);
    warn(
      `${stored.path}: damaged cell record (${stored.reason}); set aside as ${aside}, and cell ${cell.key} is ` +
        "recomputed from the start (cells are deterministic: the results are those of an undamaged run)",
    );
  }
  const { table } = await ctx.labels(s);
  const images = await ctx.images(s);
  const plan = await ctx.plan(s, cell.seed);
  const pretrain = await ctx.ensurePretrained(s, cell.seed);
  const pretrainKey = pretrain?.key ?? null;
  const query = await resolveQuery(cell.arm.query, scenarioDir(s));
  const who = `cell ${cell.key} (scenario ${s.id}, arm ${cell.arm.name}, seed ${cell.seed})`;
  const resolution = sc.dataset.resolution;
  const makeModel = async (): Promise<Classifier> => {
    const backbone = buildBackbone(
      sc.model.backbone,
      resolution,
      Rng.root(sc.pretrain.seed).fork("pretrain"),
    );
    if (pretrainKey) await loadCheckpoint(`${ctx.options.cacheDir}/pretrain/${pretrainKey}`, [backbone]);
    return withHead(backbone, table.classNames.length, Rng.root(cell.seed).fork("head"));
  };
  let iterations: IterationRecord[] = [...(existing?.iterations ?? [])];
  let resume;
  if (iterations.length > 0) {
    const model = await makeModel();
    const checkpoint = `${stateDir(out, cell.key)}/iter-${iterations.length - 1}`;
    try {
      await loadCheckpoint(checkpoint, [model.backbone, model.head]);
      resume = { records: iterations, model };
    } catch (e) {
      // Only the last iteration's checkpoint is kept, so the last good state is the start: the cell is recomputed
      // (deterministically, so its record ends as an uninterrupted run's would).
      model.backbone.dispose();
      model.head.dispose();
      const present = await Deno.lstat(checkpoint).then(() => true, () => false);
      // Beside the cell's state folder, which is removed when the cell completes.
      const aside = present
        ? await setAside(checkpoint, `${stateDir(out, cell.key)}.iter-${iterations.length - 1}`)
        : null;
      warn(
        `${checkpoint}: the resume checkpoint of cell ${cell.key} is ${
          present
            ? `damaged (${(e as Error).message.replace(/; delete the folder$/, "")}); set aside as ${aside}`
            : "missing"
        }, so the cell is recomputed from the start (cells are deterministic: the results are those of an ` +
          "uninterrupted run)",
      );
      iterations = [];
    }
  }
  const base: Omit<CellRecord, "iterations" | "complete"> = {
    format: CELL_FORMAT,
    key: cell.key,
    scenario: s.id,
    scenarioHash: s.hash,
    arm: cell.arm.name,
    query: typeof cell.arm.query === "string" ? cell.arm.query : `module:${cell.arm.query.module}`,
    seed: cell.seed,
    classNames: [...table.classNames],
    pretrainKey,
    pretrain,
    environment: ctx.options.environment,
  };
  const total = s.iterations;
  let record: CellRecord = { ...base, iterations, complete: false };
  await runCell(
    {
      seed: cell.seed,
      images,
      table,
      initial: plan.initial,
      pool: plan.pool,
      // The validation set is scored per round only on request (nothing reads those scores).
      ...(sc.al.validation ? { val: plan.val } : {}),
      test: plan.test,
      finetune: sc.finetune,
      iterations: total,
      batch: sc.al.batch,
      ...(sc.al.budget !== undefined ? { budget: sc.al.budget } : {}),
      reinit: sc.al.reinit,
      query,
      queryOptions: cell.arm.options,
      ...(sc.al.queryTimeoutSeconds !== undefined ? { queryTimeoutSeconds: sc.al.queryTimeoutSeconds } : {}),
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
      makeModel,
    },
    async (rec, model) => {
      const dir = stateDir(out, cell.key);
      const complete = rec.iteration === total;
      if (!complete) await saveCheckpoint(`${dir}/iter-${rec.iteration}`, [model.backbone, model.head]);
      record = { ...base, iterations: [...record.iterations, rec], complete };
      await writeCell(out, record);
      if (complete) await Deno.remove(dir, { recursive: true }).catch(() => {});
      else if (rec.iteration > 0) {
        await Deno.remove(`${dir}/iter-${rec.iteration - 1}`, { recursive: true }).catch(() => {});
      }
      const seconds = rec.seconds.finetune + rec.seconds.inference + rec.seconds.query;
      ctx.options.emit({
        type: "iteration",
        cell: cell.key,
        iteration: rec.iteration,
        iterations: total,
        labelled: rec.labelled,
        microF1: rec.test.microF1,
        macroF1: rec.test.macroF1,
        seconds,
      });
    },
    resume,
    (iteration, phase) =>
      ctx.options.emit({ type: "phase", cell: cell.key, iteration, iterations: total, phase }),
  ).catch((e) => {
    if (!(e instanceof CellPhaseError)) throw e;
    throw new Error(`${who} failed in ${e.message}. Nothing of that iteration was saved.`);
  });
  tf.disposeVariables();
  ctx.options.emit({ type: "cell-done", cell: cell.key });
  return record;
}
