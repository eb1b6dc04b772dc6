/**
 * The active-learning loop of one cell (scenario × arm × seed), the paper's section 2.2.
 *
 * Iteration t = 0, 1, …, T: fine-tune on the labelled set L_t (warm start from iteration t − 1's weights as in the
 * paper, or from the pre-trained backbone with `reinit: "pretrained"`), evaluate on the test set (and on the
 * validation set when the cell asks for it), then — except after the last iteration — run the model once over the
 * unlabelled pool, ask the query function for b samples, and let the simulated oracle reveal their labels:
 * L_{t+1} = L_t ∪ selected.
 *
 * Only what is read is inferred: the test set once per round; the validation set only when `val` is given (nothing
 * in the benchmark reads its scores, so runs leave it out unless a scenario sets `al.validation`); the pool (and,
 * for functions with `needsLabelled`, the labelled set) only for query functions whose `needs` name a model
 * output — `random` needs none and costs no inference.
 *
 * Numbers are checked as they appear: a non-finite training loss (checked after every epoch), model output (test,
 * validation, pool or labelled set) or query score stops the cell with a {@linkcode CellPhaseError} naming the
 * iteration and the phase, instead of ranking `NaN`s. A query function that has not returned after
 * `queryTimeoutSeconds` stops it the same way. That limit works for asynchronous functions (a promise that never
 * settles). A synchronous loop that never yields cannot be interrupted from its own thread: `onQuery` tells the
 * caller when a query starts and ends, and the runner, which runs cells with plug-in arms in worker threads,
 * ends a worker whose query outlives the limit (see `src/runner/run.ts`).
 *
 * A query function sees opaque ids (`opaque_ids.ts`: `s` and 16 hex digits, stable per seed), never the
 * archive's own, which name the scene class or file; its selection is mapped back, so records keep the real ids.
 *
 * Streams (from `Rng.root(seed)`): `finetune/iter-<t>` and `al/iter-<t>/query`. The arm's name is in neither, so
 * two arms of a seed train identically until their labelled sets differ (a paired comparison).
 *
 * @module
 */
import { Rng } from "../rng.ts";
import { opaqueIds } from "./opaque_ids.ts";
import type { ImageTable, LabelTable } from "../data/dataset.ts";
import { classCounts, labelRows } from "../data/dataset.ts";
import type { Classifier } from "../model/classifier.ts";
import { finetune, type FinetuneOptions, infer, roundSchedule } from "../train/finetune.ts";
import { f1Scores, meanAveragePrecision, threshold } from "../train/metrics.ts";
import {
  checkQueryResult,
  declaredNeeds,
  type ModelOutput,
  type ModelView,
  type QueryFunction,
  type QueryResult,
  restrictView,
} from "./query.ts";
import type { EvalMetrics, IterationRecord } from "../records/records.ts";

export type { EvalMetrics, IterationRecord } from "../records/records.ts";

/** Everything a cell needs. */
export interface CellInput {
  readonly seed: number;
  readonly images: ImageTable;
  readonly table: LabelTable;
  /** Archive indices. */
  readonly initial: readonly number[];
  readonly pool: readonly number[];
  /** Validation indices to score after every round; omit to skip (nothing in the loop or report depends on it). */
  readonly val?: readonly number[];
  readonly test: readonly number[];
  readonly finetune: FinetuneOptions;
  readonly iterations: number;
  /** b, and the total budget B if set (the last round may be smaller). */
  readonly batch: number;
  readonly budget?: number;
  readonly reinit: "warm" | "pretrained";
  readonly query: QueryFunction;
  readonly queryOptions: Readonly<Record<string, unknown>>;
  /** Seconds a query function may take per round before the cell fails (default {@linkcode DEFAULT_QUERY_TIMEOUT_SECONDS}). */
  readonly queryTimeoutSeconds?: number;
  /** A classifier with the pre-trained backbone and a new head (called at the start, and per iteration for `pretrained`). */
  readonly makeModel: () => Classifier | Promise<Classifier>;
}

/** What the caller hears from a running loop; every hook is optional and awaited where it returns a promise. */
export interface AlLoopHooks {
  /**
   * After every iteration, with its record and the model, before the next iteration starts (so the caller can
   * persist both).
   */
  readonly onIteration?: (record: IterationRecord, model: Classifier) => void | Promise<void>;
  /** As each phase of an iteration starts (progress). */
  readonly onPhase?: (iteration: number, phase: "finetune" | "evaluate" | "query") => void;
  /** As the query function is called (`running` true, with the limit in seconds) and when it returned. */
  readonly onQuery?: (iteration: number, running: boolean, limitSeconds: number) => void;
}

/** Where to resume: completed records and the model after the last completed iteration. */
export interface ResumePoint {
  readonly records: readonly IterationRecord[];
  readonly model: Classifier;
}

/** The default per-round time limit of a query function, in seconds (`al.queryTimeoutSeconds`). */
export const DEFAULT_QUERY_TIMEOUT_SECONDS = 600;

/** The phase of an AL round in which a cell failed. */
export type CellPhase = "finetune" | "inference" | "query";

/**
 * A cell stopped in a phase of an iteration (a diverged model, a non-finite query score, a query time-out); the
 * runner adds which cell it was.
 *
 * @example
 * ```ts
 * import { CellPhaseError } from "./loop.ts";
 * const e = new CellPhaseError(2, "query", "too slow");
 * console.assert(e.message === "iteration 2, phase query: too slow");
 * ```
 */
export class CellPhaseError extends Error {
  constructor(readonly iteration: number, readonly phase: CellPhase, readonly detail: string) {
    super(`iteration ${iteration}, phase ${phase}: ${detail}`);
    this.name = "CellPhaseError";
  }
}

/** Throws a {@linkcode CellPhaseError} at the first non-finite entry of a row-major `rows × width` array. */
function checkFinite(values: Float32Array, width: number, what: string, iteration: number, phase: CellPhase) {
  for (let k = 0; k < values.length; k++) {
    if (!Number.isFinite(values[k]!)) {
      throw new CellPhaseError(
        iteration,
        phase,
        `the model's ${what} hold ${values[k]} (row ${Math.floor(k / width)}, column ${
          k % width
        }): the model ` +
          "diverged; a smaller finetune.lr usually fixes it",
      );
    }
  }
}

/** `work`, or a rejection after `seconds` (the timer never keeps the process alive once `work` settles). */
async function withTimeLimit<T>(work: Promise<T>, seconds: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), seconds * 1000);
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}

function evaluate(probs: Float32Array, truth: Uint8Array, c: number): EvalMetrics {
  const f1 = f1Scores(truth, threshold(probs), c);
  return {
    microF1: f1.micro,
    macroF1: f1.macro,
    mAP: meanAveragePrecision(probs, truth, c).map,
    perClassF1: f1.perClass.map((v) => (Number.isNaN(v) ? null : v)),
  };
}

const seconds = (t0: number) => Math.round((performance.now() - t0) / 10) / 100;

/** A running loop: its input, hooks, the labelled set so far and the current model. */
interface LoopState {
  readonly input: CellInput;
  readonly hooks: AlLoopHooks;
  readonly root: Rng;
  /** Number of classes. */
  readonly c: number;
  readonly needs: ReadonlySet<ModelOutput>;
  readonly testTruth: Uint8Array;
  readonly valTruth: Uint8Array | undefined;
  /** Archive indices of the labelled set, in the order they joined. */
  readonly labelled: number[];
  /** The ids the query function sees, per archive index (see `opaque_ids.ts`), and the real id of each. */
  readonly opaque: readonly string[];
  readonly realId: ReadonlyMap<string, string>;
  model: Classifier;
}

/**
 * Run (or resume, from `resume`) the AL loop of one cell; returns every iteration's record. `hooks.onIteration`
 * is awaited after every iteration with the record and the model, so the caller can persist both before the next
 * iteration starts.
 *
 * @example
 * ```ts ignore
 * import { runAlLoop } from "./loop.ts";
 * const records = await runAlLoop(input, { onIteration: async (rec, model) => save(rec, model) });
 * ```
 */
export async function runAlLoop(
  input: CellInput,
  hooks: AlLoopHooks = {},
  resume?: ResumePoint,
): Promise<IterationRecord[]> {
  const records: IterationRecord[] = [...(resume?.records ?? [])];
  const labelled = [...input.initial];
  const idToIndex = new Map(input.table.ids.map((id, i) => [id, i]));
  for (const r of records) for (const id of r.selected) labelled.push(idToIndex.get(id)!);
  // Query functions see opaque ids: the archive's own name the scene class (airplane00).
  const opaque = opaqueIds(input.table.ids, input.seed);
  const state: LoopState = {
    input,
    hooks,
    root: Rng.root(input.seed),
    c: input.table.classNames.length,
    model: resume?.model ?? await input.makeModel(),
    needs: declaredNeeds(input.query),
    testTruth: labelRows(input.table, input.test),
    valTruth: input.val ? labelRows(input.table, input.val) : undefined,
    labelled,
    opaque,
    realId: new Map(opaque.map((o, i) => [o, input.table.ids[i]!])),
  };
  for (let t = records.length; t <= input.iterations; t++) {
    if (t > 0 && input.reinit === "pretrained") state.model = await input.makeModel();
    const record = await runRound(state, t);
    records.push(record);
    await hooks.onIteration?.(record, state.model);
    // The oracle reveals the selected samples' labels: they join the labelled set.
    for (const id of record.selected) labelled.push(idToIndex.get(id)!);
  }
  return records;
}

/** One round t: fine-tune on the labelled set, evaluate, and (except after the last) query; its record. */
async function runRound(s: LoopState, t: number): Promise<IterationRecord> {
  const { input, c, labelled } = s;
  s.hooks.onPhase?.(t, "finetune");
  let t0 = performance.now();
  const epochs = await finetune(
    s.model,
    input.images,
    input.table,
    labelled,
    input.finetune,
    s.root.fork(`finetune/iter-${t}`),
    (r) => {
      if (!Number.isFinite(r.loss)) {
        throw new CellPhaseError(
          t,
          "finetune",
          `the training loss is ${r.loss} in epoch ${r.epoch + 1} of ${
            roundSchedule(input.finetune, labelled.length).epochs
          }${input.finetune.untilLoss ? " (or more: finetune.untilLoss)" : ""}: the model ` +
            `diverged; a smaller finetune.lr (now ${input.finetune.lr}) usually fixes it`,
        );
      }
    },
  );
  const ftSeconds = seconds(t0);
  s.hooks.onPhase?.(t, "evaluate");
  t0 = performance.now();
  const test = await infer(s.model, input.images, input.test);
  const val = input.val ? await infer(s.model, input.images, input.val) : undefined;
  checkFinite(test.probs, c, "test-set probabilities", t, "inference");
  if (val) checkFinite(val.probs, c, "validation-set probabilities", t, "inference");
  const evalSeconds = seconds(t0);
  const q = await queryRound(s, t);
  return {
    iteration: t,
    labelled: labelled.length,
    selected: q?.selected ?? [],
    test: evaluate(test.probs, s.testTruth, c),
    ...(val && s.valTruth ? { val: evaluate(val.probs, s.valTruth, c) } : {}),
    classCounts: classCounts(input.table, labelled),
    trainLoss: epochs[epochs.length - 1]?.loss ?? NaN,
    ...(q?.diagnostics ? { diagnostics: q.diagnostics } : {}),
    seconds: {
      finetune: ftSeconds,
      inference: evalSeconds + (q?.inferenceSeconds ?? 0),
      query: q?.seconds ?? 0,
    },
  };
}

/**
 * The query of round t: the model's outputs the function declares it needs, then the function within its time
 * limit; `null` after the last round, or when the pool or the budget is spent.
 */
async function queryRound(s: LoopState, t: number): Promise<
  | { selected: string[]; diagnostics?: Record<string, unknown>; inferenceSeconds: number; seconds: number }
  | null
> {
  const { input, labelled } = s;
  const inLabelled = new Set(labelled);
  const unlabelled = input.pool.filter((i) => !inLabelled.has(i));
  const remaining = input.budget === undefined
    ? input.batch
    : Math.min(input.batch, input.budget - labelled.length);
  if (!(t < input.iterations && unlabelled.length > 0 && remaining > 0)) return null;
  s.hooks.onPhase?.(t, "query");
  let t0 = performance.now();
  const unlabelledView = await modelView(s, t, unlabelled, "pool");
  const labelledView = input.query.needsLabelled
    ? await modelView(s, t, labelled, "labelled-set")
    : undefined;
  const inferenceSeconds = seconds(t0);
  t0 = performance.now();
  const result = await selectWithinLimit(s, t, unlabelledView, labelledView, remaining);
  checkQueryResult(input.query.name, result, unlabelledView.ids, remaining);
  for (const [id, score] of Object.entries(result.scores ?? {})) {
    if (typeof score !== "number" || !Number.isFinite(score)) {
      throw new CellPhaseError(
        t,
        "query",
        `query function ${input.query.name} returned the score ${score} for ${JSON.stringify(id)}; ` +
          "scores must be finite numbers",
      );
    }
  }
  return {
    selected: result.selected.map((o) => s.realId.get(o)!),
    ...(result.diagnostics ? { diagnostics: result.diagnostics } : {}),
    inferenceSeconds,
    seconds: seconds(t0),
  };
}

/** The model's view of a set: it runs over the set only when the function reads some output of it (one pass gives both). */
async function modelView(s: LoopState, t: number, idx: readonly number[], set: string): Promise<ModelView> {
  const outputs: { probs?: Float32Array; features?: Float32Array } = s.needs.size > 0
    ? await infer(s.model, s.input.images, idx)
    : {};
  if (outputs.probs) checkFinite(outputs.probs, s.c, `${set} probabilities`, t, "inference");
  if (outputs.features) {
    checkFinite(outputs.features, s.model.featureDim, `${set} features`, t, "inference");
  }
  return restrictView(s.input.query.name, idx.map((i) => s.opaque[i]!), s.needs, outputs);
}

/** Call the query function, failing the cell by phase when it throws or outlives its time limit. */
async function selectWithinLimit(
  s: LoopState,
  t: number,
  unlabelled: ModelView,
  labelled: ModelView | undefined,
  budget: number,
): Promise<QueryResult> {
  const { input } = s;
  const limit = input.queryTimeoutSeconds ?? DEFAULT_QUERY_TIMEOUT_SECONDS;
  s.hooks.onQuery?.(t, true, limit);
  // Aborted at the limit, so a function holding a process (a Python plug-in) stops it instead of running on.
  const abort = new AbortController();
  const result = await withTimeLimit(
    (async () =>
      await input.query.select({
        unlabelled,
        ...(labelled ? { labelled } : {}),
        numClasses: s.c,
        featureDim: s.model.featureDim,
        budget,
        rng: s.root.fork(`al/iter-${t}/query`),
        options: { ...(input.query.defaults ?? {}), ...input.queryOptions },
        signal: abort.signal,
      }))().catch((e) => {
        // A function that throws (a plug-in refused a permission by its sandbox, say) fails the cell by phase.
        throw e instanceof CellPhaseError
          ? e
          : new CellPhaseError(t, "query", (e as Error)?.message ?? String(e));
      }),
    limit,
    () => {
      abort.abort();
      return new CellPhaseError(
        t,
        "query",
        `query function ${input.query.name} did not return within the time limit of ${limit} s ` +
          "(al.queryTimeoutSeconds); raise the limit or make the function faster",
      );
    },
  );
  s.hooks.onQuery?.(t, false, limit);
  return result;
}
