/**
 * The libtensorflow backends (`@tensorflow/tfjs-node-gpu` for CUDA, `@tensorflow/tfjs-node` for CPU).
 *
 * These packages download libtensorflow in an install script, which cannot run on machines without internet access,
 * so albench never imports them statically: this is the only module that names them, and only by dynamic import.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The two libtensorflow flavours. */
export type TensorflowFlavour = "tensorflow-gpu" | "tensorflow";

const PACKAGES: Record<TensorflowFlavour, string> = {
  "tensorflow-gpu": "@tensorflow/tfjs-node-gpu@4.22.0",
  "tensorflow": "@tensorflow/tfjs-node@4.22.0",
};

/**
 * How to install a flavour on a connected machine (shown when it is asked for and absent).
 *
 * @example
 * ```ts
 * import { installHint } from "./tensorflow.ts";
 * console.assert(installHint("tensorflow-gpu").includes("tfjs-node-gpu"));
 * ```
 */
export function installHint(flavour: TensorflowFlavour): string {
  const pkg = PACKAGES[flavour];
  return `On a machine with internet access (and CUDA 11.2 + cuDNN 8.1 for the GPU build) run ` +
    `\`deno add npm:${pkg} && deno install --allow-scripts=npm:${pkg}\` in the project root, ` +
    `then run with --backend ${flavour} (the task needs --allow-ffi; see README "Running on a GPU").`;
}

/**
 * Try to import a libtensorflow flavour. Resolves to the error message when it is not importable.
 *
 * @example
 * ```ts ignore
 * import { loadTensorflow } from "./tensorflow.ts";
 * const r = await loadTensorflow("tensorflow");
 * ```
 */
export async function loadTensorflow(
  flavour: TensorflowFlavour,
): Promise<{ ok: true } | { ok: false; error: string }> {
  const name = PACKAGES[flavour].replace(/@[^@]+$/, "");
  // Look before importing: an npm specifier that is not installed would otherwise be fetched from the registry.
  const dir = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
  try {
    await Deno.stat(dir);
  } catch {
    return { ok: false, error: `${name} is not installed (no ${dir.pathname})` };
  }
  // A computed specifier keeps the module graph (type-check, `deno install`) free of these packages.
  const specifier: string = name;
  try {
    await import(specifier);
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message.split("\n")[0] ?? String(e) : String(e) };
  }
  if (!(await tf.setBackend("tensorflow"))) return { ok: false, error: "tf.setBackend('tensorflow') failed" };
  return { ok: true };
}
