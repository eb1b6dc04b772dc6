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

/** Which of a backend's kernel sets is active: albench's, or tfjs's stock one (the performance baseline). */
export type KernelSetName = "albench" | "stock";

/**
 * A backend's two kernel sets for a fixed list of kernel names, and the switch between them (`deno task perf`
 * times the stock set against albench's in one process). A name absent from a set (a kernel albench adds, with no
 * stock version) is left unregistered while that set is active. Stock kernels registered after the backend
 * started are set up again (wasm binds its functions there).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { KernelSets } from "./replace.ts";
 * const sets = new KernelSets("cpu", ["AlbenchExample"]);
 * sets.albench.set("AlbenchExample", { kernelName: "AlbenchExample", backendName: "cpu", kernelFunc: () => [] });
 * sets.use("albench");
 * console.assert(tf.getKernel("AlbenchExample", "cpu") !== undefined);
 * sets.use("stock");
 * console.assert(tf.getKernel("AlbenchExample", "cpu") === undefined);
 * ```
 */
export class KernelSets {
  /** tfjs's own kernels, by name. */
  readonly stock = new Map<string, tf.KernelConfig>();
  /** albench's kernels, by name. */
  readonly albench = new Map<string, tf.KernelConfig>();

  /** The sets of `names` on `backendName`; fill {@linkcode stock} and {@linkcode albench} before use. */
  constructor(readonly backendName: string, readonly names: readonly string[]) {}

  /** Register one set for every name. */
  use(set: KernelSetName): void {
    const backend = tf.findBackend(this.backendName);
    for (const name of this.names) {
      const config = this[set].get(name);
      if (tf.getKernel(name, this.backendName)) tf.unregisterKernel(name, this.backendName);
      if (!config) continue;
      tf.registerKernel(config);
      if (set === "stock" && config.setupFunc && backend) config.setupFunc(backend);
    }
  }
}
