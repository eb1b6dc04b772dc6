/**
 * The op-level batch normalisation of albench's models, with a fused hand-written gradient (a custom gradient over
 * the engine-independent kernel contract in `batch_norm_train.ts`, which each engine implements).
 *
 * tfjs's own batch-norm gradient broadcasts with `Tile` and many small ops; on the CPU DenseNet at 32 px `Tile`
 * alone took 44% of a fine-tuning step on wasm. The gradient of y = γ·x̂ + β, x̂ = (x − μ)/σ with batch statistics
 * over N = B·H·W values per channel has the closed form
 *
 *   dβ = Σ dy,   dγ = Σ dy·x̂,   dx = (γ / (N·σ)) · (N·dy − dβ − x̂·dγ)
 *
 * which needs only channel-wise broadcasts. The layer that uses these ops is `model/batch_norm.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  BATCH_NORM_GRAD,
  BATCH_NORM_RELU_GRAD,
  BATCH_NORM_RELU_INFER,
  BATCH_NORM_RELU_TRAIN,
  BATCH_NORM_TRAIN,
} from "./batch_norm_train.ts";

/**
 * The fused training-mode normalisation of `x` (any rank; statistics over all axes but the last). Returns y and
 * the batch mean and (biased) variance.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { fusedBatchNormTraining } from "./batch_norm_ops.ts";
 * await tf.setBackend("cpu");
 * const { y } = fusedBatchNormTraining(tf.tensor2d([[1], [3]]), tf.ones([1]), tf.zeros([1]), 1e-5);
 * console.assert(Math.abs(y.dataSync()[0]! + 1) < 1e-3);
 * ```
 */
export function fusedBatchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  if (tf.getKernel(BATCH_NORM_TRAIN, tf.getBackend())) {
    return batchNormByKernel(x, gamma, beta, epsilon, false);
  }
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const n = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  let mean: tf.Tensor | undefined, variance: tf.Tensor | undefined;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xv, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const m = tf.mean(xv, axes);
    const centered = tf.sub(xv, m);
    const v = tf.mean(tf.square(centered), axes);
    const invStd = tf.rsqrt(tf.add(v, epsilon));
    const xhat = tf.mul(centered, invStd);
    mean = tf.keep(m);
    variance = tf.keep(v);
    save([xhat, invStd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, inv, gm] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const dBeta = tf.sum(dy, axes);
        const dGamma = tf.sum(tf.mul(dy, xh), axes);
        const scale = tf.div(tf.mul(gm, inv), n);
        const dx = tf.mul(scale, tf.sub(tf.sub(tf.mul(dy, n), dBeta), tf.mul(xh, dGamma)));
        return [dx, dGamma, dBeta];
      },
    };
  });
  const y = (f as unknown as (...t: tf.Tensor[]) => tf.Tensor)(x, gamma, beta);
  return { y, mean: mean!, variance: variance! };
}

/**
 * The same normalisation and gradient by the active backend's {@linkcode BATCH_NORM_TRAIN} kernels, or with ReLU
 * fused ({@linkcode BATCH_NORM_RELU_TRAIN}: y = max(bn(x), 0) in one pass, the gradient through its mask).
 */
function batchNormByKernel(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
  relu = false,
): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  let mean: tf.Tensor | undefined, variance: tf.Tensor | undefined;
  const attrs = { epsilon } as unknown as tf.NamedAttrMap;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xv, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const kernel = relu ? BATCH_NORM_RELU_TRAIN : BATCH_NORM_TRAIN;
    const [y, m, v, mask] = tf.engine().runKernel(kernel, { x: xv, gamma: g, beta: b }, attrs) as tf.Tensor[];
    mean = tf.keep(m!);
    variance = tf.keep(v!);
    save(mask ? [xv, m!, v!, g, b, mask] : [xv, m!, v!, g, b]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ms, vs, gs, bs, mk] = saved as tf.Tensor[];
        return tf.engine().runKernel(
          relu ? BATCH_NORM_RELU_GRAD : BATCH_NORM_GRAD,
          { x: xs!, dy, mean: ms!, variance: vs!, gamma: gs!, beta: bs!, ...(mk ? { mask: mk } : {}) },
          attrs,
        ) as tf.Tensor[];
      },
    };
  });
  const y = (f as unknown as (...t: tf.Tensor[]) => tf.Tensor)(x, gamma, beta);
  return { y, mean: mean!, variance: variance! };
}

/**
 * {@linkcode fusedBatchNormTraining} followed by ReLU: one kernel where the backend has
 * {@linkcode BATCH_NORM_RELU_TRAIN}, else `tf.relu` of the normalisation (the ops of two separate layers).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { fusedBatchNormReluTraining } from "./batch_norm_ops.ts";
 * await tf.setBackend("cpu");
 * const { y } = fusedBatchNormReluTraining(tf.tensor2d([[1], [3]]), tf.ones([1]), tf.zeros([1]), 1e-5);
 * console.assert(y.dataSync()[0] === 0 && Math.abs(y.dataSync()[1]! - 1) < 1e-3);
 * ```
 */
export function fusedBatchNormReluTraining(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  if (tf.getKernel(BATCH_NORM_RELU_TRAIN, tf.getBackend())) {
    return batchNormByKernel(x, gamma, beta, epsilon, true);
  }
  const r = fusedBatchNormTraining(x, gamma, beta, epsilon);
  return { ...r, y: tf.relu(r.y) };
}

/**
 * Inference-mode batch norm with given statistics, then ReLU: one kernel where the backend has
 * {@linkcode BATCH_NORM_RELU_INFER} and no gradient is being recorded (the kernel has none), else `tf.batchNorm`
 * then `tf.relu` (the ops of two separate layers).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { batchNormReluInference } from "./batch_norm_ops.ts";
 * await tf.setBackend("cpu");
 * const y = batchNormReluInference(tf.tensor2d([[1], [3]]), tf.tensor1d([2]), tf.ones([1]), tf.ones([1]), tf.zeros([1]), 0);
 * console.assert(y.dataSync().join() === "0,1");
 * ```
 */
export function batchNormReluInference(
  x: tf.Tensor,
  mean: tf.Tensor,
  variance: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
): tf.Tensor {
  const taped = (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0;
  if (!taped && tf.getKernel(BATCH_NORM_RELU_INFER, tf.getBackend())) {
    const attrs = { epsilon } as unknown as tf.NamedAttrMap;
    return tf.engine().runKernel(
      BATCH_NORM_RELU_INFER,
      { x, mean, variance, gamma, beta },
      attrs,
    ) as tf.Tensor;
  }
  return tf.tidy(() => tf.relu(tf.batchNorm(x, mean, variance, beta, gamma, epsilon)));
}
