/**
 * The tfjs WebGPU backend on Deno's `navigator.gpu`: a CUDA-free GPU path.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { registerWebGpuKernels } from "./webgpu/kernels.ts";

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
 * Without `XDG_RUNTIME_DIR`, Mesa's window-system code prints "error: XDG_RUNTIME_DIR is invalid or not set in the
 * environment." twice on stderr when an adapter is requested, though nothing failed (albench draws no window).
 * Set it, when unset and the command may, to the temporary folder, so a run's stderr holds only real errors.
 *
 * @example
 * ```ts ignore
 * import { quietWindowSystem } from "./webgpu.ts";
 * quietWindowSystem();
 * ```
 */
export function quietWindowSystem(): void {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: "XDG_RUNTIME_DIR" }).state !== "granted") return;
    if (Deno.env.get("XDG_RUNTIME_DIR")) return;
    Deno.env.set("XDG_RUNTIME_DIR", "/tmp");
  } catch {
    // not permitted: the message stays, nothing else changes
  }
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
  quietWindowSystem();
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
 * The warning for a software (fallback) adapter: WebGPU emulated on the CPU, correct but slow. `undefined` for a
 * hardware adapter.
 *
 * @example
 * ```ts
 * import { webGpuWarning } from "./webgpu.ts";
 * console.assert(webGpuWarning({ available: true, fallback: true, description: "llvmpipe" })!.includes("software"));
 * console.assert(webGpuWarning({ available: true, fallback: false, description: "nvidia" }) === undefined);
 * ```
 */
export function webGpuWarning(probe: WebGpuProbe): string | undefined {
  if (!probe.available || !probe.fallback) return undefined;
  return `warning: webgpu: the WebGPU adapter is a software (fallback) adapter${
    probe.description ? ` (${probe.description})` : ""
  }, which emulates a GPU on the CPU: results are correct but slow, several times slower than --backend wasm ` +
    "(about 5x on a small convolution on a 2-core machine). Use --backend wasm or native here, or a machine with a " +
    "GPU driver.";
}

/**
 * Load `@tensorflow/tfjs-backend-webgpu` and make it the active backend. A software (fallback) adapter is used,
 * since it was asked for, with {@linkcode webGpuWarning} on stderr.
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
  const warning = webGpuWarning(probe);
  if (warning) console.error(warning);
  await import("@tensorflow/tfjs-backend-webgpu");
  registerWebGpuKernels(probe.fallback);
  if (!(await tf.setBackend("webgpu"))) throw new Error("webgpu backend: tf.setBackend('webgpu') failed");
  return probe;
}
