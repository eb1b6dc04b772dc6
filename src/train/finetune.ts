/**
 * Multi-label fine-tuning: binary cross-entropy averaged over classes (the paper's eq. 2) and over the batch, SGD
 * with momentum and a step learning-rate schedule, random horizontal flips and 90-degree rotations. Batch order and
 * augmentation come from seeded streams, so the same seed on the same backend gives identical weights.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../rng.ts";
import type { ImageTable, LabelTable } from "../data/dataset.ts";
import { type FlipRot, imageBatch, labelBatch } from "../data/batch.ts";
import { type Classifier, decayedVariables, forward, trainableVariables } from "../model/classifier.ts";
import { FusedMomentumOptimizer } from "./momentum.ts";
import { nativeStepFor } from "./native_step.ts";

/** The fine-tuning recipe (the scenario's `finetune` section). */
export interface FinetuneOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly decayEpochs: readonly number[];
  readonly decayFactor: number;
  readonly augment: { readonly flip: boolean; readonly rot90: boolean };
  /**
   * At least this many SGD steps per round: a round whose labelled set gives fewer in `epochs` runs
   * `ceil(minSteps / batches per epoch)` epochs instead, with `decayEpochs` stretched by the same factor
   * ({@linkcode roundSchedule}). Absent: always `epochs`.
   */
  readonly minSteps?: number | undefined;
  /**
   * Train on past the schedule until the epoch's mean training loss is at most `bce`, at the schedule's last
   * learning rate, for at most `maxEpochs` epochs in all ({@linkcode untilLossDone}). Absent: the schedule alone.
   */
  readonly untilLoss?: { readonly bce: number; readonly maxEpochs: number } | undefined;
}

/**
 * Whether a round is done after epoch `e` (0-based) with mean training loss `loss`: the schedule's `epochs` have
 * run and, with `untilLoss`, the loss is at most its `bce` or `maxEpochs` epochs have run.
 *
 * @example
 * ```ts
 * import { untilLossDone } from "./finetune.ts";
 * const until = { bce: 0.1, maxEpochs: 6 };
 * console.assert(!untilLossDone(2, 4, 0.05, undefined) && untilLossDone(3, 4, 0.5, undefined));
 * console.assert(!untilLossDone(3, 4, 0.2, until) && untilLossDone(3, 4, 0.1, until));
 * console.assert(untilLossDone(5, 4, 0.2, until)); // the sixth epoch: the most it may run
 * ```
 */
export function untilLossDone(
  e: number,
  epochs: number,
  loss: number,
  until: FinetuneOptions["untilLoss"],
): boolean {
  if (e + 1 < epochs) return false;
  if (!until) return true;
  return loss <= until.bce || e + 1 >= until.maxEpochs;
}

/** The paper's recipe: 100 epochs, batch 10, SGD lr 0.025 (x0.1 after epoch 80), momentum 0.9, flips and rot90. */
export const PAPER_FINETUNE: FinetuneOptions = {
  epochs: 100,
  batchSize: 10,
  lr: 0.025,
  momentum: 0.9,
  weightDecay: 0,
  decayEpochs: [80],
  decayFactor: 0.1,
  augment: { flip: true, rot90: true },
};

/**
 * The learning rate of (0-based) epoch `e`: `lr · factor^k` with k the number of decay epochs ≤ e. "x0.1 after
 * epoch 80" is `decayEpochs: [80]`: epochs 0–79 use lr, 80–99 use lr/10.
 *
 * @example
 * ```ts
 * import { learningRateAt, PAPER_FINETUNE } from "./finetune.ts";
 * console.assert(learningRateAt(PAPER_FINETUNE, 79) === 0.025 && Math.abs(learningRateAt(PAPER_FINETUNE, 80) - 0.0025) < 1e-12);
 * ```
 */
export function learningRateAt(
  o: Pick<FinetuneOptions, "lr" | "decayEpochs" | "decayFactor">,
  e: number,
): number {
  return o.lr * o.decayFactor ** o.decayEpochs.filter((d) => d <= e).length;
}

/**
 * The epochs and decay epochs of one round on `n` labelled samples: `epochs` and `decayEpochs` as given, or, when
 * `minSteps` asks for more steps than `epochs` gives, `E = ceil(minSteps / ceil(n / batchSize))` epochs with each
 * decay epoch `d` moved to `floor(d · E / epochs)`, so the schedule keeps its shape.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { roundSchedule } from "./finetune.ts";
 * const o = { epochs: 5, batchSize: 10, decayEpochs: [4], minSteps: 100 };
 * assert.deepStrictEqual(roundSchedule(o, 40), { epochs: 25, decayEpochs: [20] }); // 4 steps per epoch
 * assert.deepStrictEqual(roundSchedule(o, 200), { epochs: 5, decayEpochs: [4] }); // 20 x 5 = 100 steps
 * ```
 */
export function roundSchedule(
  o: Pick<FinetuneOptions, "epochs" | "batchSize" | "decayEpochs" | "minSteps">,
  n: number,
): { epochs: number; decayEpochs: number[] } {
  const perEpoch = Math.ceil(n / o.batchSize);
  if (!o.minSteps || perEpoch * o.epochs >= o.minSteps) {
    return { epochs: o.epochs, decayEpochs: [...o.decayEpochs] };
  }
  const epochs = Math.ceil(o.minSteps / perEpoch);
  return { epochs, decayEpochs: o.decayEpochs.map((d) => Math.floor((d * epochs) / o.epochs)) };
}

/**
 * Draw per-sample flips and rotations.
 *
 * @example
 * ```ts
 * import { Rng } from "../rng.ts";
 * import { drawFlipRot } from "./finetune.ts";
 * const a = drawFlipRot(4, { flip: true, rot90: false }, Rng.root(0));
 * console.assert(a.length === 4 && a.every((x) => x.rot90 === 0));
 * ```
 */
export function drawFlipRot(n: number, augment: FinetuneOptions["augment"], rng: Rng): FlipRot[] {
  return Array.from({ length: n }, () => ({
    flip: augment.flip ? rng.next() < 0.5 : false,
    rot90: (augment.rot90 ? rng.int(4) : 0) as FlipRot["rot90"],
  }));
}

/**
 * Mean sigmoid binary cross-entropy over batch and classes, from logits (numerically stable form
 * `max(z, 0) − z·y + log(1 + e^−|z|)`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { bceFromLogits } from "./finetune.ts";
 * await tf.setBackend("cpu");
 * const l = bceFromLogits(tf.tensor2d([[1]]), tf.tensor2d([[0]])).dataSync()[0]!;
 * console.assert(Math.abs(l - Math.log(2)) < 1e-6);
 * ```
 */
export function bceFromLogits(labels: tf.Tensor, logits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const perElement = tf.add(
      tf.sub(tf.relu(logits), tf.mul(logits, labels)),
      tf.log1p(tf.exp(tf.neg(tf.abs(logits)))),
    );
    return tf.mean(perElement);
  });
}

/** Per-epoch record. */
export interface EpochRecord {
  readonly epoch: number;
  readonly lr: number;
  readonly loss: number;
}

/**
 * Fine-tune `model` on the labelled samples `indices` (archive indices into `images`/`table`).
 * Streams used: `epoch-<e>/order`, `epoch-<e>/augment` under `rng`.
 *
 * @example
 * ```ts ignore
 * import { finetune, PAPER_FINETUNE } from "./finetune.ts";
 * await finetune(model, images, table, labelled, PAPER_FINETUNE, rng);
 * ```
 */
export async function finetune(
  model: Classifier,
  images: ImageTable,
  table: LabelTable,
  indices: readonly number[],
  options: FinetuneOptions,
  rng: Rng,
  onEpoch?: (r: EpochRecord) => void | Promise<void>,
): Promise<EpochRecord[]> {
  if (indices.length === 0) throw new RangeError("finetune: the labelled set is empty");
  const compiled = nativeStepFor(model);
  if (compiled) {
    // The native engine's compiled step: the weights live in native buffers for the round and go back to the
    // model at its end, also when it throws.
    compiled.load();
    try {
      return await runSchedule(indices, options, rng, onEpoch, (batch, augs, lr) => {
        const x = imageBatch(images, batch, augs), y = labelBatch(table, batch);
        try {
          const xs = x.dataSync() as Float32Array, ys = y.dataSync() as Float32Array;
          return compiled.train(xs, ys, batch.length, lr, options.momentum, options.weightDecay);
        } finally {
          tf.dispose([x, y]);
        }
      });
    } finally {
      compiled.store();
    }
  }
  const optimizer = new FusedMomentumOptimizer(options.lr, options.momentum);
  const vars = trainableVariables(model);
  const decayed = options.weightDecay > 0 ? decayedVariables(model) : [];
  try {
    return await runSchedule(indices, options, rng, onEpoch, (batch, augs, lr) => {
      optimizer.setLearningRate(lr);
      return tf.tidy(() => {
        const x = imageBatch(images, batch, augs), y = labelBatch(table, batch);
        return optimizer.minimize(
          () => {
            const { logits } = forward(model, x, true);
            let l = bceFromLogits(y, logits);
            if (decayed.length) {
              const l2 = tf.addN(decayed.map((v) => tf.sum(tf.square(v))));
              l = tf.add(l, tf.mul(l2, options.weightDecay / 2));
            }
            return l as tf.Scalar;
          },
          true,
          vars,
        )!;
      });
    });
  } finally {
    optimizer.dispose();
  }
}

/** One SGD step on a batch at `lr`; its loss, as a number or a scalar tensor read at the end of the epoch. */
type BatchStep = (batch: number[], augs: FlipRot[], lr: number) => number | tf.Scalar;

/**
 * The epochs of one round, whichever step trains: the schedule ({@linkcode roundSchedule},
 * {@linkcode learningRateAt}, {@linkcode untilLossDone}), each epoch's order and augmentation from the streams
 * `epoch-<e>/order` and `epoch-<e>/augment`, and the epoch's mean loss.
 */
async function runSchedule(
  indices: readonly number[],
  options: FinetuneOptions,
  rng: Rng,
  onEpoch: ((r: EpochRecord) => void | Promise<void>) | undefined,
  step: BatchStep,
): Promise<EpochRecord[]> {
  const records: EpochRecord[] = [];
  const schedule = roundSchedule(options, indices.length);
  const decay = { ...options, decayEpochs: schedule.decayEpochs };
  for (let e = 0, done = false; !done; e++) {
    const lr = learningRateAt(decay, e);
    const order = rng.fork(`epoch-${e}/order`).shuffle([...indices]);
    const augRng = rng.fork(`epoch-${e}/augment`);
    const losses: (number | tf.Scalar)[] = [];
    for (let start = 0; start < order.length; start += options.batchSize) {
      const batch = order.slice(start, start + options.batchSize);
      losses.push(step(batch, drawFlipRot(batch.length, options.augment, augRng), lr));
    }
    // One read per epoch, not per step: reads synchronise the backend.
    const values = await Promise.all(
      losses.map((l) => typeof l === "number" ? l : l.data().then((v) => v[0]!)),
    );
    tf.dispose(losses.filter((l): l is tf.Scalar => typeof l !== "number"));
    let lossSum = 0;
    for (const v of values) lossSum += v;
    const record = { epoch: e, lr, loss: lossSum / values.length };
    records.push(record);
    await onEpoch?.(record);
    done = untilLossDone(e, schedule.epochs, record.loss, options.untilLoss);
  }
  return records;
}

/** Probabilities and features of samples, computed without augmentation in inference mode. */
export interface Inference {
  /** Row-major `N × C` sigmoid probabilities. */
  readonly probs: Float32Array;
  /** Row-major `N × D` penultimate features. */
  readonly features: Float32Array;
}

/**
 * Run the model over `indices` in batches.
 *
 * @example
 * ```ts ignore
 * import { infer } from "./finetune.ts";
 * const { probs, features } = await infer(model, images, testIndices);
 * ```
 */
export async function infer(
  model: Classifier,
  images: ImageTable,
  indices: readonly number[],
  batchSize = 128,
): Promise<Inference> {
  const probs = new Float32Array(indices.length * model.numClasses);
  const features = new Float32Array(indices.length * model.featureDim);
  const compiled = nativeStepFor(model);
  if (compiled) {
    compiled.load();
    for (let start = 0; start < indices.length; start += batchSize) {
      const batch = indices.slice(start, start + batchSize);
      const x = imageBatch(images, batch);
      try {
        const out = compiled.infer(x.dataSync() as Float32Array, batch.length);
        probs.set(out.probs, start * model.numClasses);
        features.set(out.features, start * model.featureDim);
      } finally {
        x.dispose();
      }
    }
    return { probs, features };
  }
  for (let start = 0; start < indices.length; start += batchSize) {
    const batch = indices.slice(start, start + batchSize);
    const [p, f] = tf.tidy(() => {
      const out = forward(model, imageBatch(images, batch), false);
      return [tf.sigmoid(out.logits), out.features];
    });
    probs.set((await p!.data()) as Float32Array, start * model.numClasses);
    features.set((await f!.data()) as Float32Array, start * model.featureDim);
    tf.dispose([p!, f!]);
  }
  return { probs, features };
}
