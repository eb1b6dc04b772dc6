/**
 * Choosing and preparing a tfjs compute backend.
 *
 * `auto` tries, in order: `tensorflow-gpu` → `tensorflow` → `webgpu` (hardware adapters only) → `native` (oneDNN
 * on all cores, where libdnnl 2.x loads) → `wasm` → `cpu`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initWasm } from "./wasm.ts";
import { initWebGpu, probeWebGpu } from "./webgpu.ts";
import { initNative } from "./native.ts";
import { installHint, loadTensorflow, type TensorflowFlavour } from "./tensorflow.ts";

import type { BackendName, ConcreteBackend } from "./names.ts";
export { BACKEND_NAMES, type BackendName, type ConcreteBackend, isBackendName } from "./names.ts";

/** What ran: recorded in every result. */
export interface BackendInfo {
  /** The albench backend name. */
  readonly name: ConcreteBackend;
  /** The tfjs backend name (`tensorflow`, `webgpu`, `native`, `wasm`, `cpu`). */
  readonly tfjsBackend: string;
  /** The tfjs version. */
  readonly tfjsVersion: string;
  /** Threads used by the backend (1 for wasm here; OpenMP threads for native; 0 where not applicable). */
  readonly threads: number;
  /** Whether wasm SIMD is on (false for other backends). */
  readonly simd: boolean;
  /** Free text: adapter, device, notes. */
  readonly detail: string;
  /** For `auto`: why each earlier candidate was skipped. */
  readonly skipped: readonly string[];
}

/** Options of {@linkcode initBackend}. */
export interface InitOptions {
  /** Threads of the native engine (default: `ALBENCH_NATIVE_THREADS` or every core). */
  readonly nativeThreads?: number;
}

async function initOne(name: ConcreteBackend, opts: InitOptions): Promise<Omit<BackendInfo, "skipped">> {
  const base = { name, tfjsVersion: tf.version.tfjs };
  switch (name) {
    case "cpu":
      if (!(await tf.setBackend("cpu"))) throw new Error("cpu backend failed to initialise");
      return {
        ...base,
        tfjsBackend: "cpu",
        threads: 1,
        simd: false,
        detail: "tfjs pure-JS reference backend",
      };
    case "wasm": {
      const { threads, simd } = await initWasm();
      return { ...base, tfjsBackend: "wasm", threads, simd, detail: `XNNPACK${simd ? " SIMD128" : ""}` };
    }
    case "native": {
      const { threads, detail } = await initNative(opts.nativeThreads);
      return { ...base, tfjsBackend: "native", threads, simd: false, detail };
    }
    case "webgpu": {
      const probe = await initWebGpu();
      return { ...base, tfjsBackend: "webgpu", threads: 0, simd: false, detail: probe.description };
    }
    case "tensorflow":
    case "tensorflow-gpu": {
      const r = await loadTensorflow(name);
      if (!r.ok) throw new Error(`${name} backend is not available: ${r.error}. ${installHint(name)}`);
      return {
        ...base,
        tfjsBackend: "tensorflow",
        threads: 0,
        simd: false,
        detail: `libtensorflow (${name})`,
      };
    }
  }
}

/**
 * Make `name` the active tfjs backend and describe it. Throws a message naming the fix when it cannot load.
 *
 * @example
 * ```ts
 * import { initBackend } from "./backend.ts";
 * const info = await initBackend("cpu");
 * console.assert(info.tfjsBackend === "cpu");
 * ```
 */
export async function initBackend(name: BackendName, opts: InitOptions = {}): Promise<BackendInfo> {
  // Production mode silences tfjs's console banners (e.g. "install tfjs-node"), which would corrupt JSON output.
  tf.env().set("PROD", true);
  if (name !== "auto") return { ...(await initOne(name, opts)), skipped: [] };
  const skipped: string[] = [];
  for (const flavour of ["tensorflow-gpu", "tensorflow"] as TensorflowFlavour[]) {
    const r = await loadTensorflow(flavour);
    if (r.ok) {
      return { ...(await initOne(flavour, opts)), skipped };
    }
    skipped.push(`${flavour}: ${r.error}`);
  }
  const probe = await probeWebGpu();
  if (probe.available && !probe.fallback) return { ...(await initOne("webgpu", opts)), skipped };
  skipped.push(`webgpu: ${probe.available ? `fallback adapter (${probe.description})` : probe.reason}`);
  try {
    return { ...(await initOne("native", opts)), skipped };
  } catch (e) {
    skipped.push(`native: ${(e as Error).message}`);
  }
  try {
    return { ...(await initOne("wasm", opts)), skipped };
  } catch (e) {
    skipped.push(`wasm: ${(e as Error).message}`);
  }
  return { ...(await initOne("cpu", opts)), skipped };
}
