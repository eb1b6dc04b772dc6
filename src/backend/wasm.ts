/**
 * The tfjs WebAssembly backend, SIMD build, with the kernels albench adds.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { getThreadsCount, setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { CONV2D_BACKPROP_FILTER, registerConv2DBackpropFilter } from "./kernels/conv2d_backprop_filter.ts";
import { registerMaxPoolGrad } from "./kernels/max_pool_grad.ts";
import { registerConv2DBackpropInput } from "./kernels/conv2d_backprop_input.ts";
import { registerChannelReduce } from "./kernels/channel_reduce.ts";
import { isAlbenchKernel, type KernelSetName, KernelSets } from "./kernels/replace.ts";
import { registerAvgPoolGrad } from "./kernels/avg_pool_grad.ts";
import { registerSharedIdentity } from "./kernels/identity.ts";
import {
  MOMENTUM_STEP,
  MOMENTUM_STEPS,
  registerMomentumStep,
  registerMomentumSteps,
} from "./kernels/momentum_step.ts";
import { MOVING_STATS, registerMovingStats } from "./kernels/moving_stats.ts";

/**
 * Where the `.wasm` binaries live: `ALBENCH_WASM_DIR` or the project's `node_modules`.
 *
 * @example
 * ```ts
 * import { wasmDir } from "./wasm.ts";
 * console.assert(wasmDir().href.endsWith("/"));
 * ```
 */
export function wasmDir(): URL {
  const fromEnv = Deno.env.get("ALBENCH_WASM_DIR");
  if (fromEnv) return new URL(fromEnv.endsWith("/") ? fromEnv : fromEnv + "/", `file://${Deno.cwd()}/`);
  return new URL("../../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url);
}

/**
 * Start the wasm backend (single-threaded: see README "Backends" for the multi-thread measurement) and register the
 * kernels it lacks. Throws with a fix when the binaries are missing.
 *
 * @example
 * ```ts ignore
 * import { initWasm } from "./wasm.ts";
 * await initWasm();
 * ```
 */
export async function initWasm(): Promise<{ threads: number; simd: boolean }> {
  const dir = wasmDir();
  try {
    await Deno.stat(new URL("tfjs-backend-wasm-simd.wasm", dir));
  } catch {
    throw new Error(
      `wasm backend: tfjs-backend-wasm-simd.wasm not found in ${dir.pathname}. ` +
        "Run `deno install` in the project root, or set ALBENCH_WASM_DIR to the folder holding the .wasm files.",
    );
  }
  setWasmPaths(dir.href, true);
  setThreadsCount(1);
  for (const name of REPLACED_KERNELS) {
    const k = tf.getKernel(name, "wasm");
    if (k && !isAlbenchKernel(k) && !stockKernels.has(name)) stockKernels.set(name, k);
  }
  // The baseline's Conv2DBackpropFilter is the kernel as first added (see its "plain" form).
  if (
    !stockKernels.has(CONV2D_BACKPROP_FILTER) && tf.getKernel(CONV2D_BACKPROP_FILTER, "wasm") === undefined
  ) {
    registerConv2DBackpropFilter("wasm", "plain");
    stockKernels.set(CONV2D_BACKPROP_FILTER, tf.getKernel(CONV2D_BACKPROP_FILTER, "wasm")!);
    tf.unregisterKernel(CONV2D_BACKPROP_FILTER, "wasm");
  }
  registerConv2DBackpropFilter("wasm");
  registerMaxPoolGrad("wasm");
  registerConv2DBackpropInput("wasm");
  registerChannelReduce("wasm");
  registerAvgPoolGrad("wasm");
  registerSharedIdentity("wasm");
  registerMomentumStep("wasm");
  registerMomentumSteps("wasm");
  registerMovingStats("wasm");
  if (!(await tf.setBackend("wasm"))) {
    throw new Error("wasm backend: tf.setBackend('wasm') failed to initialise");
  }
  for (const name of REPLACED_KERNELS) {
    const k = tf.getKernel(name, "wasm");
    if (k && !albenchKernels.has(name)) albenchKernels.set(name, k);
  }
  return { threads: getThreadsCount(), simd: tf.env().getBool("WASM_HAS_SIMD_SUPPORT") as boolean };
}

/**
 * Kernels {@linkcode setWasmKernels} switches: those albench replaces for speed or correctness, and the added
 * `Conv2DBackpropFilter` (fast form against the form it was first added in).
 */
export const REPLACED_KERNELS = [
  "Conv2DBackpropInput",
  "MaxPoolGrad",
  "Sum",
  "Mean",
  "SplitV",
  "AvgPoolGrad",
  "Identity",
  "Conv2DBackpropFilter",
  MOMENTUM_STEP,
  MOMENTUM_STEPS,
  MOVING_STATS,
] as const;

/** Which wasm kernels are active: albench's replacements, or tfjs's own (the performance baseline). */
export type WasmKernelSet = KernelSetName;

const kernelSets = new KernelSets("wasm", REPLACED_KERNELS);
const stockKernels = kernelSets.stock, albenchKernels = kernelSets.albench;

/**
 * Switch the wasm backend between albench's kernels and tfjs's stock ones for {@linkcode REPLACED_KERNELS}
 * (plus the missing `Conv2DBackpropFilter` in the form it was first added: without it nothing trains). The stock
 * set is the baseline `deno task perf` measures against; note that stock `MaxPoolGrad` is wrong for batch or channels > 1
 * (see kernels/max_pool_grad.ts), so the stock set is for timing only. Call after {@linkcode initWasm}.
 *
 * @example
 * ```ts ignore
 * import { initWasm, setWasmKernels } from "./wasm.ts";
 * await initWasm();
 * setWasmKernels("stock");
 * setWasmKernels("albench");
 * ```
 */
export function setWasmKernels(set: WasmKernelSet): void {
  if (albenchKernels.size === 0) throw new Error("setWasmKernels: call initWasm() first");
  // A kernel with no stock version (the fused momentum step) is absent from the stock set; stock kernels
  // registered after the backend started are set up again (binding their wasm functions).
  kernelSets.use(set);
}
