/**
 * "Is pre-training working?": a linear probe. Frozen backbone features (inference mode, no augmentation) of a set
 * of labelled samples are standardised; a multi-label logistic regression is trained on a seeded half and scored
 * on the other half by mean average precision and macro F1.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../rng.ts";
import { type ImageTable, labelRows, type LabelTable } from "../data/dataset.ts";
import { imageBatch, labelBatch } from "../data/batch.ts";
import { f1Scores, meanAveragePrecision, threshold } from "../train/metrics.ts";

/** Linear-probe scores. */
export interface ProbeResult {
  readonly map: number;
  readonly macroF1: number;
  readonly microF1: number;
  readonly trainSize: number;
  readonly testSize: number;
}

/**
 * Backbone features of `indices`, batched, in inference mode.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../rng.ts";
 * import { buildBackbone } from "../model/backbones.ts";
 * import { features } from "./probe.ts";
 * await tf.setBackend("cpu");
 * const f = features(buildBackbone("small-cnn", 8, Rng.root(0)), { resolution: 8, pixels: new Uint8Array(2 * 8 * 8 * 3) }, [0, 1]);
 * console.assert(f.shape.join() === "2,128");
 * ```
 */
export function features(
  backbone: tf.LayersModel,
  images: ImageTable,
  indices: readonly number[],
  batchSize = 128,
): tf.Tensor2D {
  const parts: tf.Tensor2D[] = [];
  for (let s = 0; s < indices.length; s += batchSize) {
    parts.push(
      tf.tidy(() =>
        backbone.apply(imageBatch(images, indices.slice(s, s + batchSize)), {
          training: false,
        }) as tf.Tensor2D
      ),
    );
  }
  const all = tf.concat(parts) as tf.Tensor2D;
  tf.dispose(parts);
  return all;
}

/**
 * Train and score a linear probe on `indices` (split in half by `rng`). Adam (lr 0.01), 300 full-batch steps,
 * L2 1e-4 on the weights.
 *
 * @example
 * ```ts ignore
 * import { linearProbe } from "./probe.ts";
 * const r = await linearProbe(backbone, images, table, validation, rng);
 * ```
 */
/** The probe's record beside a backbone (`probe.json` held the probe on seed 0's validation set, before #31). */
export const PROBE_FILE = "probe-heldout.json";

/**
 * The probe's images: the validation images (`val`, dataset indices) that are not in the backbone's pre-training
 * archive, so the probe measures features on images BYOL never saw. When every one of them is in the archive
 * (`pretrain.archive` "all"), all of `val`, marked not held out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { probeImages } from "./probe.ts";
 * assert.deepEqual(probeImages([1, 2, 3, 4], [0, 2, 5]), { indices: [1, 3, 4], heldOut: true });
 * assert.deepEqual(probeImages([1, 2], [0, 1, 2]), { indices: [1, 2], heldOut: false });
 * ```
 */
export function probeImages(
  val: readonly number[],
  archive: readonly number[],
): { indices: number[]; heldOut: boolean } {
  const seen = new Set(archive);
  const outside = val.filter((i) => !seen.has(i));
  return outside.length ? { indices: outside, heldOut: true } : { indices: [...val], heldOut: false };
}

export async function linearProbe(
  backbone: tf.LayersModel,
  images: ImageTable,
  table: LabelTable,
  indices: readonly number[],
  rng: Rng,
  steps = 300,
): Promise<ProbeResult> {
  const order = rng.fork("probe/split").shuffle([...indices]);
  const half = Math.floor(order.length / 2);
  const train = order.slice(0, half), test = order.slice(half);
  const c = table.classNames.length;
  const ftAll = features(backbone, images, [...train, ...test]);
  const [xTrain, xTest] = tf.tidy(() => {
    const tr = tf.slice(ftAll, [0, 0], [train.length, -1]),
      te = tf.slice(ftAll, [train.length, 0], [test.length, -1]);
    const { mean, variance } = tf.moments(tr, 0);
    const std = tf.add(tf.sqrt(variance), 1e-6);
    return [tf.div(tf.sub(tr, mean), std), tf.div(tf.sub(te, mean), std)];
  });
  ftAll.dispose();
  const d = xTrain!.shape[1]!;
  const seed = rng.fork("probe/init").seed();
  const w = tf.variable(tf.randomNormal([d, c], 0, 0.01, "float32", seed));
  const b = tf.variable(tf.zeros([c]));
  const yTrain = labelBatch(table, train);
  const optimizer = tf.train.adam(0.01);
  for (let s = 0; s < steps; s++) {
    tf.tidy(() => {
      optimizer.minimize(
        () => {
          const logits = tf.add(tf.matMul(xTrain!, w), b);
          const bce = tf.losses.sigmoidCrossEntropy(yTrain, logits);
          return tf.add(bce, tf.mul(1e-4, tf.sum(tf.square(w)))) as tf.Scalar;
        },
        false,
        [w, b],
      );
    });
  }
  const probsT = tf.tidy(() => tf.sigmoid(tf.add(tf.matMul(xTest!, w), b)));
  const probs = (await probsT.data()) as Float32Array;
  tf.dispose([probsT, xTrain!, xTest!, w, b, yTrain]);
  optimizer.dispose();
  const truth = labelRows(table, test);
  const f1 = f1Scores(truth, threshold(probs), c);
  return {
    map: meanAveragePrecision(probs, truth, c).map,
    macroF1: f1.macro,
    microF1: f1.micro,
    trainSize: train.length,
    testSize: test.length,
  };
}
