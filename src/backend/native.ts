/**
 * The native CPU engine: tfjs's `cpu` tensor storage (typed arrays in native memory, no 4 GB wasm heap) with the
 * heavy kernels — convolutions and their gradients, batch norm, pooling — run by oneDNN 2.x through
 * `Deno.dlopen` on all cores (GNU OpenMP threads), and DenseNet's channel concatenation and split as row copies.
 * See src/backend/native/ for the bindings, primitives and kernels.
 *
 * Threads: `ALBENCH_NATIVE_THREADS` (default: every core `navigator.hardwareConcurrency` reports), set per
 * calling thread with `omp_set_num_threads`, so a `--jobs N` worker can take its share. The same seed on the
 * same machine with the same thread count gives bit-identical results (tested); other thread counts or
 * instruction sets may round differently, which is why wasm stays the engine of the golden digests.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { loadDnnl } from "./native/dnnl.ts";
import { NativeOps } from "./native/ops.ts";
import { NativeBackend } from "./native/backend.ts";
import { registerNativeKernels } from "./native/kernels.ts";
import { registerReluGradient } from "./kernels/relu_grad.ts";

/** The tfjs backend name the native engine registers. */
export const NATIVE_BACKEND = "native";

/**
 * Which step fine-tuning and inference use on the native engine: `compiled` (a whole step planned once, see
 * src/train/native_step.ts) or `tape` (tfjs's autodiff over the native kernels: the oracle, for debugging).
 */
export type NativeStepKind = "compiled" | "tape";

/**
 * The step `value` (by default `ALBENCH_NATIVE_STEP`) asks for: `compiled` (the default) or `tape`. Throws on any
 * other value, naming it and the two accepted.
 *
 * @example
 * ```ts
 * import { nativeStepKind } from "./native.ts";
 * console.assert(nativeStepKind("") === "compiled" && nativeStepKind("tape") === "tape");
 * ```
 */
export function nativeStepKind(value: string | undefined = readStepVariable()): NativeStepKind {
  if (value === undefined || value === "" || value === "compiled") return "compiled";
  if (value === "tape") return "tape";
  throw new Error(`ALBENCH_NATIVE_STEP=${JSON.stringify(value)} is not "compiled" or "tape"`);
}

function readStepVariable(): string | undefined {
  try {
    return Deno.env.get("ALBENCH_NATIVE_STEP");
  } catch {
    return undefined; // no permission to read it: the default
  }
}

/** What the native engine runs on, recorded in every result. */
export interface NativeInfo {
  readonly threads: number;
  /** The step fine-tuning and inference use ({@linkcode nativeStepKind}). */
  readonly step: NativeStepKind;
  /** e.g. `oneDNN 2.6.3 avx512_core, 2 OpenMP threads (libdnnl.so.2)`. */
  readonly detail: string;
}

let ops: NativeOps | undefined;

/**
 * The oneDNN operations of this process's native engine, once {@linkcode initNative} has run; `undefined` before.
 *
 * @example
 * ```ts
 * import { nativeOps } from "./native.ts";
 * console.assert(nativeOps() === undefined); // nothing loaded yet
 * ```
 */
export function nativeOps(): NativeOps | undefined {
  return ops;
}

/**
 * The thread count the engine uses: `ALBENCH_NATIVE_THREADS` or every core. Throws on a value that is not a
 * positive integer, naming it.
 *
 * @example
 * ```ts
 * import { nativeThreads } from "./native.ts";
 * console.assert(nativeThreads("3") === 3);
 * console.assert(nativeThreads(undefined) >= 1);
 * ```
 */
export function nativeThreads(value: string | undefined): number {
  if (value === undefined || value === "") return Math.max(1, navigator.hardwareConcurrency || 1);
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    throw new Error(
      `ALBENCH_NATIVE_THREADS=${JSON.stringify(value)} is not a whole number of threads from 1 to 1024`,
    );
  }
  return n;
}

/**
 * Load oneDNN, register the `native` backend and its kernels (once per process or worker), set the calling
 * thread's OpenMP thread count (`threadCount`, default {@linkcode nativeThreads}), and make it the active backend.
 * Throws a message naming the fix when oneDNN 2.x is missing.
 *
 * @example
 * ```ts ignore
 * import { initNative } from "./native.ts";
 * const { threads, detail } = await initNative();
 * ```
 */
export async function initNative(threadCount?: number): Promise<NativeInfo> {
  const threads = threadCount ?? nativeThreads(Deno.env.get("ALBENCH_NATIVE_THREADS"));
  const dnnl = loadDnnl();
  dnnl.setThreads(threads);
  if (!ops) {
    ops = new NativeOps(dnnl);
    tf.registerBackend(NATIVE_BACKEND, () => new NativeBackend(), 0);
    registerNativeKernels(NATIVE_BACKEND, ops);
    registerReluGradient();
  }
  if (!(await tf.setBackend(NATIVE_BACKEND))) {
    throw new Error("native backend: tf.setBackend('native') failed to initialise");
  }
  const step = nativeStepKind();
  return {
    threads,
    step,
    detail: `oneDNN ${dnnl.version} ${dnnl.isa}, ${threads} OpenMP thread${
      threads === 1 ? "" : "s"
    } (${dnnl.path}), ${step} step`,
  };
}
