/**
 * Replacing a backend's kernel while keeping the stock one for the cases it still handles.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** What albench's wasm kernels use of tfjs-backend-wasm's backend object. */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

/**
 * Whether a registered kernel config is one of albench's (marked `albench: true`).
 *
 * @example
 * ```ts
 * import { isAlbenchKernel } from "./replace.ts";
 * console.assert(!isAlbenchKernel(undefined));
 * ```
 */
export function isAlbenchKernel(config: tf.KernelConfig | undefined): boolean {
  return (config as { albench?: boolean } | undefined)?.albench === true;
}

/**
 * Replace `kernelName` on `backendName` with `kernelFunc`, which receives the stock kernel to hand cases back to.
 * The stock kernel's set-up (binding its wasm function) still runs, since handed-back cases need it. A no-op when
 * the backend lacks the kernel or albench's replacement is already registered.
 *
 * @example
 * ```ts ignore
 * import { replaceKernel } from "./replace.ts";
 * replaceKernel("Identity", "wasm", (args, stock) => stock.kernelFunc(args));
 * ```
 */
export function replaceKernel(
  kernelName: string,
  backendName: string,
  kernelFunc: (args: Parameters<tf.KernelFunc>[0], stock: tf.KernelConfig) => ReturnType<tf.KernelFunc>,
): void {
  const stock = tf.getKernel(kernelName, backendName);
  if (!stock || isAlbenchKernel(stock)) return;
  tf.unregisterKernel(kernelName, backendName);
  const config: tf.KernelConfig & { albench: boolean } = {
    kernelName,
    backendName,
    albench: true,
    ...(stock.setupFunc ? { setupFunc: stock.setupFunc } : {}),
    kernelFunc: (args) => kernelFunc(args, stock),
  };
  tf.registerKernel(config);
}
