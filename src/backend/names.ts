/**
 * Backend names, apart from the code that loads them, so that light modules (scenario validation, flags) can
 * name backends without importing tfjs.
 *
 * @module
 */

/** Every backend name accepted by `--backend`, in `auto`'s order after `auto` itself. */
export const BACKEND_NAMES = [
  "auto",
  "tensorflow-gpu",
  "tensorflow",
  "webgpu",
  "native",
  "wasm",
  "cpu",
] as const;
/** A name accepted by `--backend`. */
export type BackendName = typeof BACKEND_NAMES[number];
/** A backend that actually runs (everything but `auto`). */
export type ConcreteBackend = Exclude<BackendName, "auto">;

/**
 * Whether `s` is a valid `--backend` value.
 *
 * @example
 * ```ts
 * import { isBackendName } from "./names.ts";
 * console.assert(isBackendName("wasm") && !isBackendName("cuda"));
 * ```
 */
export function isBackendName(s: string): s is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(s);
}
