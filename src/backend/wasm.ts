/**
 * The tfjs WebAssembly backend, SIMD build, with the kernels albench adds.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { getThreadsCount, setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { registerConv2DBackpropFilter } from "./kernels/conv2d_backprop_filter.ts";
import { registerMaxPoolGrad } from "./kernels/max_pool_grad.ts";
import { registerConv2DBackpropInput } from "./kernels/conv2d_backprop_input.ts";

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
  registerConv2DBackpropFilter("wasm");
  registerMaxPoolGrad("wasm");
  registerConv2DBackpropInput("wasm");
  if (!(await tf.setBackend("wasm"))) {
    throw new Error("wasm backend: tf.setBackend('wasm') failed to initialise");
  }
  return { threads: getThreadsCount(), simd: tf.env().getBool("WASM_HAS_SIMD_SUPPORT") as boolean };
}
