/**
 * `Identity` without a copy on the wasm backend.
 *
 * tfjs-core clones tensors through `Identity` (gradients that pass a tensor through, custom gradients, variable
 * reads); tfjs-backend-wasm 4.22 copies the data each time (about 560 copies per CPU-DenseNet training step). Tensor
 * data is never written in place, so, as the cpu and WebGL backends do, the clone can share the data with a
 * reference count, exactly as the wasm backend's own `Reshape` already does.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { replaceKernel } from "./replace.ts";

/**
 * Replace `Identity` on `backendName` with a reference-counted share (strings keep the stock copy).
 *
 * @example
 * ```ts ignore
 * import { registerSharedIdentity } from "./identity.ts";
 * registerSharedIdentity("wasm");
 * ```
 */
export function registerSharedIdentity(backendName: string): void {
  replaceKernel("Identity", backendName, (args, stock) => {
    const x = args.inputs["x"] as tf.TensorInfo;
    if (x.dtype === "string") return stock.kernelFunc(args);
    (args.backend as unknown as { incRef(id: object): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  });
}
