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
 * Streams (from `Rng.root(seed)`): `finetune/iter-<t>` and `al/iter-<t>/query`. The arm's name is in neither, so
 * two arms of a seed train identically until their labelled sets differ (a paired comparison).
 *
 * @module
 */
import { Rng } from "../rng.ts";
import type { ImageTable, LabelTable } from "../data/dataset.ts";
import { classCounts, labelRows } from "../data/dataset.ts";
import type { Classifier } from "../model/classifier.ts";
import { finetune, type FinetuneOptions, infer } from "../train/finetune.ts";
import { f1Scores, meanAveragePrecision, threshold } from "../train/metrics.ts";
import {
  checkQueryResult,
  declaredNeeds,
  type ModelView,
  type QueryFunction,
  restrictView,
} from "./query.ts";

/** Scores of one evaluation. */
export interface EvalMetrics {
  /** Micro F1 at threshold 0.5. */
  readonly microF1: number;
  /** Macro F1 at threshold 0.5. */
  readonly macroF1: number;
  /** Mean average precision over classes. */
  readonly mAP: number;
  /** Per-class F1 (`null` where undefined). */
  readonly perClassF1: (number | null)[];
}

/** What one iteration records. */
export interface IterationRecord {
  /** The round t (0: the initial labelled set). */
  readonly iteration: number;
  /** Size of the labelled set the model was fine-tuned on. */
  readonly labelled: number;
  /** Ids the query function selected after this iteration's evaluation (empty after the last). */
  readonly selected: string[];
  /** Scores on the test set. */
  readonly test: EvalMetrics;
  /** Validation scores, only when the cell scored the validation set (records before this was opt-in have it). */
  readonly val?: EvalMetrics;
  /** Positives per class in the labelled set fine-tuned on. */
  readonly classCounts: number[];
  /** Mean training loss of the last fine-tuning epoch. */
  readonly trainLoss: number;
  /** Query diagnostics (e.g. m, k-means iterations). */
  readonly diagnostics?: Record<string, unknown>;
  /** Wall-clock seconds; kept out of result digests. */
  readonly seconds: { readonly finetune: number; readonly inference: number; readonly query: number };
}

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
  /** Called as the query function is called (`running` true, with the limit in seconds) and when it returned. */
  readonly onQuery?: (iteration: number, running: boolean, limitSeconds: number) => void;
  /** A classifier with the pre-trained backbone and a new head (called at the start, and per iteration for `pretrained`). */
  readonly makeModel: () => Classifier | Promise<Classifier>;
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

/**
 * Run (or resume) a cell. `onIteration` is awaited after every iteration with the record and the model, so the
 * caller can persist both before the next iteration starts; `onPhase` reports progress.
 *
 * @example
 * ```ts ignore
 * import { runCell } from "./loop.ts";
 * const records = await runCell(input, async (rec, model) => save(rec, model));
 * ```
 */
export async function runCell(
  input: CellInput,
  onIteration: (record: IterationRecord, model: Classifier) => void | Promise<void>,
  resume?: ResumePoint,
  onPhase?: (iteration: number, phase: "finetune" | "evaluate" | "query") => void,
): Promise<IterationRecord[]> {
  const c = input.table.classNames.length;
  const root = Rng.root(input.seed);
  const records: IterationRecord[] = [...(resume?.records ?? [])];
  const labelled = [...input.initial];
  const idToIndex = new Map(input.table.ids.map((id, i) => [id, i]));
  for (const r of records) for (const id of r.selected) labelled.push(idToIndex.get(id)!);
  let model = resume?.model ?? await input.makeModel();
  const needs = declaredNeeds(input.query);
  const testTruth = labelRows(input.table, input.test);
  const valTruth = input.val ? labelRows(input.table, input.val) : undefined;
  for (let t = records.length; t <= input.iterations; t++) {
    if (t > 0 && input.reinit === "pretrained") model = await input.makeModel();
    onPhase?.(t, "finetune");
    let t0 = performance.now();
    const epochs = await finetune(
      model,
      input.images,
      input.table,
      labelled,
      input.finetune,
      root.fork(`finetune/iter-${t}`),
      (r) => {
        if (!Number.isFinite(r.loss)) {
          throw new CellPhaseError(
            t,
            "finetune",
            `the training loss is ${r.loss} in epoch ${r.epoch + 1} of ${input.finetune.epochs}: the model ` +
              `diverged; a smaller finetune.lr (now ${input.finetune.lr}) usually fixes it`,
          );
        }
      },
    );
    const ftSeconds = seconds(t0);
    onPhase?.(t, "evaluate");
    t0 = performance.now();
    const test = await infer(model, input.images, input.test);
    const val = input.val ? await infer(model, input.images, input.val) : undefined;
    checkFinite(test.probs, c, "test-set probabilities", t, "inference");
    if (val) checkFinite(val.probs, c, "validation-set probabilities", t, "inference");
    let infSeconds = seconds(t0);
    let selected: string[] = [];
    let diagnostics: Record<string, unknown> | undefined;
    let querySeconds = 0;
    const inLabelled = new Set(labelled);
    const unlabelled = input.pool.filter((i) => !inLabelled.has(i));
    const remaining = input.budget === undefined
      ? input.batch
      : Math.min(input.batch, input.budget - labelled.length);
    if (t < input.iterations && unlabelled.length > 0 && remaining > 0) {
      onPhase?.(t, "query");
      t0 = performance.now();
      // The model runs over a set only when the function reads some output of it (one pass gives both).
      const view = async (idx: readonly number[], set: string): Promise<ModelView> => {
        const outputs: { probs?: Float32Array; features?: Float32Array } = needs.size > 0
          ? await infer(model, input.images, idx)
          : {};
        if (outputs.probs) checkFinite(outputs.probs, c, `${set} probabilities`, t, "inference");
        if (outputs.features) {
          checkFinite(outputs.features, model.featureDim, `${set} features`, t, "inference");
        }
        return restrictView(input.query.name, idx.map((i) => input.table.ids[i]!), needs, outputs);
      };
      const unlabelledView = await view(unlabelled, "pool");
      const labelledView = input.query.needsLabelled ? await view(labelled, "labelled-set") : undefined;
      infSeconds += seconds(t0);
      t0 = performance.now();
      const limit = input.queryTimeoutSeconds ?? DEFAULT_QUERY_TIMEOUT_SECONDS;
      input.onQuery?.(t, true, limit);
      const result = await withTimeLimit(
        (async () =>
          await input.query.select({
            unlabelled: unlabelledView,
            ...(labelledView ? { labelled: labelledView } : {}),
            numClasses: c,
            featureDim: model.featureDim,
            budget: remaining,
            rng: root.fork(`al/iter-${t}/query`),
            options: { ...(input.query.defaults ?? {}), ...input.queryOptions },
          }))().catch((e) => {
            // A function that throws (a plug-in refused a permission by its sandbox, say) fails the cell by phase.
            throw e instanceof CellPhaseError
              ? e
              : new CellPhaseError(t, "query", (e as Error)?.message ?? String(e));
          }),
        limit,
        () =>
          new CellPhaseError(
            t,
            "query",
            `query function ${input.query.name} did not return within the time limit of ${limit} s ` +
              "(al.queryTimeoutSeconds); raise the limit or make the function faster",
          ),
      );
      input.onQuery?.(t, false, limit);
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
      querySeconds = seconds(t0);
      selected = result.selected;
      diagnostics = result.diagnostics;
    }
    const record: IterationRecord = {
      iteration: t,
      labelled: labelled.length,
      selected,
      test: evaluate(test.probs, testTruth, c),
      ...(val && valTruth ? { val: evaluate(val.probs, valTruth, c) } : {}),
      classCounts: classCounts(input.table, labelled),
      trainLoss: epochs[epochs.length - 1]?.loss ?? NaN,
      ...(diagnostics ? { diagnostics } : {}),
      seconds: { finetune: ftSeconds, inference: infSeconds, query: querySeconds },
    };
    records.push(record);
    await onIteration(record, model);
    // The oracle reveals the selected samples' labels: they join the labelled set.
    for (const id of selected) labelled.push(idToIndex.get(id)!);
  }
  return records;
}
