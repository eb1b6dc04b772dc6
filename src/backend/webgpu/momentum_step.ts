/**
 * {@linkcode MOMENTUM_STEP} on WebGPU: acc ← m·acc + g, value ← (−lr)·acc + value in 2 dispatches (tfjs's
 * momentum optimizer records 4 per variable).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { flatProgram, type WebGpuBackendLike } from "./program.ts";

const ACC_CODE = `
  fn main(index : i32) {
    if (index < uniforms.size) {
      setOutputAtIndex(index, uniforms.momentum * acc[index] + grad[index]);
    }
  }
`;

const VALUE_CODE = `
  fn main(index : i32) {
    if (index < uniforms.size) {
      setOutputAtIndex(index, uniforms.negLr * acc[index] + value[index]);
    }
  }
`;

/**
 * One SGD-with-momentum update: returns the new value and the new accumulation.
 *
 * @example
 * ```ts ignore
 * import { momentumStepWebGpu } from "./momentum_step.ts";
 * const [value2, acc2] = momentumStepWebGpu(backend, value, acc, grad, 0.9, -0.01);
 * ```
 */
export function momentumStepWebGpu(
  backend: WebGpuBackendLike,
  value: tf.TensorInfo,
  acc: tf.TensorInfo,
  grad: tf.TensorInfo,
  momentum: number,
  negLr: number,
): [tf.TensorInfo, tf.TensorInfo] {
  const shape = [...value.shape];
  const newAcc = backend.runWebGPUProgram(
    flatProgram("albenchMomentumAcc", ["acc", "grad"], shape, "momentum : f32,", ACC_CODE),
    [acc, grad],
    "float32",
    [{ type: "float32", data: [momentum] }],
  );
  const newValue = backend.runWebGPUProgram(
    flatProgram("albenchMomentumValue", ["value", "acc"], shape, "negLr : f32,", VALUE_CODE),
    [value, newAcc],
    "float32",
    [{ type: "float32", data: [negLr] }],
  );
  return [newValue, newAcc];
}
