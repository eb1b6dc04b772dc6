/**
 * The tfjs WebGPU backend on Deno's `navigator.gpu`: a CUDA-free GPU path.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** What {@linkcode probeWebGpu} found. */
export interface WebGpuProbe {
  /** Whether an adapter exists at all. */
  readonly available: boolean;
  /** Whether it is a software (fallback) adapter, which `auto` skips. */
  readonly fallback: boolean;
  /** Adapter vendor/architecture/description, when known. */
  readonly description: string;
  /** Why no adapter, when none. */
  readonly reason?: string;
}

/**
 * Ask for a WebGPU adapter without touching tfjs.
 *
 * @example
 * ```ts ignore
 * import { probeWebGpu } from "./webgpu.ts";
 * console.log((await probeWebGpu()).available);
 * ```
 */
export async function probeWebGpu(): Promise<WebGpuProbe> {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) {
    return { available: false, fallback: false, description: "", reason: "navigator.gpu is undefined" };
  }
  let adapter: unknown;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    return { available: false, fallback: false, description: "", reason: `requestAdapter failed: ${e}` };
  }
  if (!adapter) return { available: false, fallback: false, description: "", reason: "no WebGPU adapter" };
  const a = adapter as {
    isFallbackAdapter?: boolean;
    info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
  };
  const info = a.info ?? {};
  const fallback = Boolean(a.isFallbackAdapter ?? info.isFallbackAdapter ?? false);
  const description = [info.vendor, info.architecture, info.description].filter((s) => s).join(" ");
  return { available: true, fallback, description };
}

/**
 * Load `@tensorflow/tfjs-backend-webgpu` and make it the active backend.
 *
 * @example
 * ```ts ignore
 * import { initWebGpu } from "./webgpu.ts";
 * await initWebGpu();
 * ```
 */
export async function initWebGpu(): Promise<WebGpuProbe> {
  const probe = await probeWebGpu();
  if (!probe.available) {
    throw new Error(
      `webgpu backend: ${probe.reason}. Use --backend wasm (CPU) or run on a machine with a GPU driver.`,
    );
  }
  await import("@tensorflow/tfjs-backend-webgpu");
  if (!(await tf.setBackend("webgpu"))) throw new Error("webgpu backend: tf.setBackend('webgpu') failed");
  return probe;
}
