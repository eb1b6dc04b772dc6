/**
 * The ReLU gradient through one kernel where the active backend registers {@linkcode RELU_GRAD}.
 *
 * tfjs's gradient of `Relu` is `dy · cast(step(x))`: three kernels and two temporaries per layer, which on the
 * native engine (tfjs `cpu` kernels for element-wise ops) cost more than the convolutions. Where the backend has
 * `AlbenchReluGrad` (native: oneDNN's ReLU backward, `dx = x > 0 ? dy : 0`), the gradient is that one kernel;
 * everywhere else it is tfjs's formula, unchanged, so results on wasm, cpu and webgpu stay bit-identical.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Kernel name: inputs `dy`, `x`; output dx = dy where x > 0, else 0. */
export const RELU_GRAD = "AlbenchReluGrad";

/**
 * Replace tfjs's `Relu` gradient by one that uses {@linkcode RELU_GRAD} where registered (idempotent).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { registerReluGradient } from "./relu_grad.ts";
 * await tf.setBackend("cpu");
 * registerReluGradient();
 * const g = tf.grad((x: tf.Tensor) => tf.relu(x))(tf.tensor1d([-1, 2]));
 * console.assert(g.dataSync().join() === "0,1");
 * ```
 */
export function registerReluGradient(): void {
  tf.registerGradient({
    kernelName: "Relu",
    inputsToSave: ["x"],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [x] = saved as [tf.Tensor];
      const d = dy as tf.Tensor;
      return {
        x: () =>
          tf.getKernel(RELU_GRAD, tf.getBackend())
            ? tf.engine().runKernel(RELU_GRAD, { dy: d, x }, {}) as tf.Tensor
            : tf.mul(d, tf.cast(tf.step(x), "float32")),
      };
    },
  });
}
