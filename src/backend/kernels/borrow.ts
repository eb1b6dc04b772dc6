/**
 * Using kernel inputs as tensors inside a kernel implemented with tfjs ops.
 *
 * A kernel receives tensor infos that the engine owns. Wrapping one in a tensor and disposing it later would
 * drop a reference the kernel never took, so the data reference is taken first (`incRef`); the wrapper's
 * disposal then gives it back and the input's reference count ends where it started.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * A tensor view of kernel input `info`, to be disposed by the caller.
 *
 * @example
 * ```ts ignore
 * import { borrowInput } from "./borrow.ts";
 * const x = borrowInput(backend, inputs["x"], "x");
 * try { ... } finally { x.dispose(); }
 * ```
 */
export function borrowInput<R extends tf.Rank = tf.Rank.R4>(
  backend: unknown,
  info: tf.TensorInfo | undefined,
  name: string,
): tf.Tensor<R> {
  if (info === undefined) throw new Error(`kernel input ${name} is missing`);
  (backend as { incRef(id: object): void }).incRef(info.dataId);
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor<R>;
}
