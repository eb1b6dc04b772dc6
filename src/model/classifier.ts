/**
 * The classification model F = g ∘ f: a backbone f (features) and a linear head g (one logit per class; the
 * probabilities are the logits' sigmoids).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../rng.ts";
import { type BackboneName, buildBackbone } from "./backbones.ts";

/** Backbone plus head. */
export interface Classifier {
  readonly backbone: tf.LayersModel;
  readonly head: tf.LayersModel;
  readonly numClasses: number;
  readonly featureDim: number;
}

/**
 * A linear head for `featureDim` inputs, seeded from the stream `init/head`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../rng.ts";
 * import { buildHead } from "./classifier.ts";
 * await tf.setBackend("cpu");
 * console.assert(buildHead(8, 3, Rng.root(0)).outputs[0]!.shape[1] === 3);
 * ```
 */
export function buildHead(featureDim: number, numClasses: number, rng: Rng): tf.LayersModel {
  const input = tf.input({ shape: [featureDim], name: "head_input" });
  const logits = tf.layers.dense({
    units: numClasses,
    name: "head_dense",
    kernelInitializer: tf.initializers.glorotUniform({ seed: rng.fork("init/head").seed() }),
  }).apply(input) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: "head" });
}

/**
 * Build a classifier from a backbone (new, seeded) and a new head.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../rng.ts";
 * import { buildClassifier } from "./classifier.ts";
 * await tf.setBackend("cpu");
 * const c = buildClassifier("small-cnn", 16, 17, Rng.root(0));
 * console.assert(c.featureDim === 128 && c.numClasses === 17);
 * ```
 */
export function buildClassifier(
  backbone: BackboneName,
  resolution: number,
  numClasses: number,
  rng: Rng,
): Classifier {
  return withHead(buildBackbone(backbone, resolution, rng), numClasses, rng);
}

/**
 * Put a new head on an existing backbone (e.g. a pre-trained one).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../rng.ts";
 * import { buildBackbone } from "./backbones.ts";
 * import { withHead } from "./classifier.ts";
 * await tf.setBackend("cpu");
 * const c = withHead(buildBackbone("small-cnn", 16, Rng.root(0)), 5, Rng.root(0));
 * console.assert(c.numClasses === 5);
 * ```
 */
export function withHead(backbone: tf.LayersModel, numClasses: number, rng: Rng): Classifier {
  const featureDim = backbone.outputs[0]!.shape[1] as number;
  return { backbone, head: buildHead(featureDim, numClasses, rng), numClasses, featureDim };
}

/**
 * Features and logits of a batch. `training` selects batch statistics in batch norm (and updates its moving
 * averages).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../rng.ts";
 * import { buildClassifier, forward } from "./classifier.ts";
 * await tf.setBackend("cpu");
 * const c = buildClassifier("small-cnn", 16, 3, Rng.root(0));
 * const { logits } = forward(c, tf.zeros([2, 16, 16, 3]), false);
 * console.assert(logits.shape.join() === "2,3");
 * ```
 */
export function forward(
  c: Classifier,
  x: tf.Tensor,
  training: boolean,
): { features: tf.Tensor2D; logits: tf.Tensor2D } {
  const features = c.backbone.apply(x, { training }) as tf.Tensor2D;
  const logits = c.head.apply(features, { training }) as tf.Tensor2D;
  return { features, logits };
}

/**
 * The trainable variables of backbone and head, in a fixed order.
 *
 * @example
 * ```ts ignore
 * import { trainableVariables } from "./classifier.ts";
 * ```
 */
export function trainableVariables(c: Classifier): tf.Variable[] {
  return [...c.backbone.trainableWeights, ...c.head.trainableWeights].map((w) => w.read() as tf.Variable);
}

/**
 * Kernels (not biases, not batch-norm parameters): the weights that weight decay applies to.
 *
 * @example
 * ```ts ignore
 * import { decayedVariables } from "./classifier.ts";
 * ```
 */
export function decayedVariables(c: Classifier): tf.Variable[] {
  return [...c.backbone.trainableWeights, ...c.head.trainableWeights]
    .filter((w) => /kernel$/.test(w.originalName))
    .map((w) => w.read() as tf.Variable);
}
