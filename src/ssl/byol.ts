/**
 * BYOL self-supervised pre-training (Grill et al. 2020), as the paper's section 2.1 uses it.
 *
 * Online network: encoder f → projector → predictor q. Target network: encoder → projector, never trained: after
 * every step its weights move to `τ·target + (1 − τ)·online`, with τ rising from `tau.base` to `tau.final` on a
 * cosine schedule over all steps. The loss is eq. (1), ‖q(z_on)/‖q(z_on)‖ − z_tar/‖z_tar‖‖², symmetrised over the
 * two view orders and averaged over the batch; target outputs are computed outside the gradient tape, so no
 * gradient reaches the target. Projector and predictor are Linear → BN → ReLU → Linear. Adam.
 *
 * Streams under the given `rng`: `epoch-<e>/order`, `epoch-<e>/batch-<b>/view-1` and `/view-2`, and
 * `init/...` for the projector and predictor weights.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../rng.ts";
import type { ImageTable } from "../data/dataset.ts";
import { normalize, rawBatch } from "../data/batch.ts";
import { augmentView, BYOL_VIEW_1, BYOL_VIEW_2, type ViewConfig } from "./augment.ts";

/** BYOL settings (the scenario's `pretrain` section, minus `method` and `archive`). */
export interface ByolOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly projector: { readonly hidden: number; readonly out: number };
  readonly predictorHidden: number;
  readonly tau: { readonly base: number; readonly final: number };
  /** Add vertical flips and 90-degree rotations to both views (aerial images). Default false. */
  readonly aerialAugment?: boolean;
}

/**
 * A two-layer MLP: Linear → BN → ReLU → Linear (BYOL's projector and predictor).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../rng.ts";
 * import { buildMlp } from "./byol.ts";
 * await tf.setBackend("cpu");
 * console.assert(buildMlp(8, 16, 4, "p", Rng.root(0)).outputs[0]!.shape[1] === 4);
 * ```
 */
export function buildMlp(input: number, hidden: number, out: number, name: string, rng: Rng): tf.LayersModel {
  const x = tf.input({ shape: [input], name: `${name}_input` });
  let y = tf.layers.dense({
    units: hidden,
    name: `${name}_dense1`,
    kernelInitializer: tf.initializers.glorotUniform({ seed: rng.fork(`init/${name}_dense1`).seed() }),
  }).apply(x) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization({ name: `${name}_bn`, momentum: 0.9, epsilon: 1e-5 }).apply(
    y,
  ) as tf.SymbolicTensor;
  y = tf.layers.reLU({ name: `${name}_relu` }).apply(y) as tf.SymbolicTensor;
  y = tf.layers.dense({
    units: out,
    name: `${name}_dense2`,
    kernelInitializer: tf.initializers.glorotUniform({ seed: rng.fork(`init/${name}_dense2`).seed() }),
  }).apply(y) as tf.SymbolicTensor;
  return tf.model({ inputs: x, outputs: y, name });
}

/**
 * The EMA rate at step `k` of `total`: `final − (final − base)·(cos(πk/total) + 1)/2`.
 *
 * @example
 * ```ts
 * import { tauAt } from "./byol.ts";
 * const t = { base: 0.996, final: 1 };
 * console.assert(tauAt(t, 0, 10) === 0.996 && tauAt(t, 10, 10) === 1);
 * ```
 */
export function tauAt(tau: ByolOptions["tau"], k: number, total: number): number {
  return tau.final - (tau.final - tau.base) * (Math.cos((Math.PI * k) / Math.max(1, total)) + 1) / 2;
}

/**
 * Eq. (1) per sample, `2 − 2·cos(p, z)`, averaged over the batch.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { normalizedMse } from "./byol.ts";
 * await tf.setBackend("cpu");
 * const same = normalizedMse(tf.tensor2d([[1, 2]]), tf.tensor2d([[2, 4]])).dataSync()[0]!;
 * console.assert(Math.abs(same) < 1e-6);
 * ```
 */
export function normalizedMse(p: tf.Tensor2D, z: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const pn = tf.div(p, tf.add(tf.norm(p, 2, 1, true), 1e-12));
    const zn = tf.div(z, tf.add(tf.norm(z, 2, 1, true), 1e-12));
    return tf.mean(tf.sub(2, tf.mul(2, tf.sum(tf.mul(pn, zn), 1))));
  });
}

/** What pre-training returns: the online encoder (the backbone to fine-tune) and the loss curve. */
export interface ByolResult {
  readonly encoder: tf.LayersModel;
  /** Mean loss per epoch (symmetrised, so in [0, 8]). */
  readonly losses: number[];
}

/**
 * Pre-train `encoder` with BYOL on the samples `indices` of `images`. `makeEncoder` must build a network of the
 * same architecture (the target encoder; its initial weights are overwritten by the online ones).
 *
 * @example
 * ```ts ignore
 * import { pretrainByol } from "./byol.ts";
 * const { encoder, losses } = await pretrainByol(f, () => buildBackbone(...), images, ids, options, rng);
 * ```
 */
export async function pretrainByol(
  encoder: tf.LayersModel,
  makeEncoder: () => tf.LayersModel,
  images: ImageTable,
  indices: readonly number[],
  options: ByolOptions,
  rng: Rng,
  onEpoch?: (epoch: number, loss: number) => void | Promise<void>,
  onStep?: (
    step: number,
    tau: number,
    online: tf.LayerVariable[],
    target: tf.LayerVariable[],
  ) => void | Promise<void>,
): Promise<ByolResult> {
  const featureDim = encoder.outputs[0]!.shape[1] as number;
  const { hidden, out } = options.projector;
  const projector = buildMlp(featureDim, hidden, out, "byol_projector", rng);
  const predictor = buildMlp(out, options.predictorHidden, out, "byol_predictor", rng);
  const targetEncoder = makeEncoder();
  const targetProjector = buildMlp(featureDim, hidden, out, "byol_target_projector", rng);
  const online = [...encoder.weights, ...projector.weights];
  const target = [...targetEncoder.weights, ...targetProjector.weights];
  if (online.length !== target.length) {
    throw new Error("BYOL: target and online networks differ in architecture");
  }
  target.forEach((t, i) => t.write(online[i]!.read()));

  const views: [ViewConfig, ViewConfig] = options.aerialAugment
    ? [{ ...BYOL_VIEW_1, verticalFlip: true, rot90: true }, {
      ...BYOL_VIEW_2,
      verticalFlip: true,
      rot90: true,
    }]
    : [BYOL_VIEW_1, BYOL_VIEW_2];
  const optimizer = tf.train.adam(options.lr);
  const vars = [...encoder.trainableWeights, ...projector.trainableWeights, ...predictor.trainableWeights]
    .map((w) => w.read() as tf.Variable);
  const stepsPerEpoch = Math.ceil(indices.length / options.batchSize);
  const totalSteps = stepsPerEpoch * options.epochs;
  const losses: number[] = [];
  let step = 0;
  try {
    for (let e = 0; e < options.epochs; e++) {
      const order = rng.fork(`epoch-${e}/order`).shuffle([...indices]);
      const epochLosses: tf.Scalar[] = [];
      for (let b = 0; b * options.batchSize < order.length; b++) {
        const batch = order.slice(b * options.batchSize, (b + 1) * options.batchSize);
        if (batch.length < 2) continue; // batch norm needs two samples
        const loss = tf.tidy(() => {
          const x = rawBatch(images, batch);
          const v1 = normalize(augmentView(x, views[0], rng.fork(`epoch-${e}/batch-${b}/view-1`)));
          const v2 = normalize(augmentView(x, views[1], rng.fork(`epoch-${e}/batch-${b}/view-2`)));
          // Targets outside the tape: no gradient flows into the target network.
          const t1 = targetProjector.apply(targetEncoder.apply(v1, { training: true }), {
            training: true,
          }) as tf.Tensor2D;
          const t2 = targetProjector.apply(targetEncoder.apply(v2, { training: true }), {
            training: true,
          }) as tf.Tensor2D;
          return optimizer.minimize(
            () => {
              const q = (v: tf.Tensor) =>
                predictor.apply(
                  projector.apply(encoder.apply(v, { training: true }), { training: true }),
                  { training: true },
                ) as tf.Tensor2D;
              return tf.add(normalizedMse(q(v1), t2), normalizedMse(q(v2), t1)) as tf.Scalar;
            },
            true,
            vars,
          )!;
        });
        epochLosses.push(loss);
        step++;
        const tau = tauAt(options.tau, step, totalSteps);
        tf.tidy(() => {
          target.forEach((t, i) =>
            t.write(tf.add(tf.mul(t.read(), tau), tf.mul(online[i]!.read(), 1 - tau)))
          );
        });
        await onStep?.(step, tau, online, target);
      }
      const values = await Promise.all(epochLosses.map((l) => l.data()));
      tf.dispose(epochLosses);
      const mean = values.reduce((s, v) => s + v[0]!, 0) / Math.max(1, values.length);
      losses.push(mean);
      await onEpoch?.(e, mean);
    }
  } finally {
    optimizer.dispose();
    projector.dispose();
    predictor.dispose();
    targetEncoder.dispose();
    targetProjector.dispose();
  }
  return { encoder, losses };
}
