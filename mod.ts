/**
 * albench: a benchmark harness for active-learning-guided fine-tuning of self-supervised models for multi-label
 * remote-sensing image classification (Möllenbrok & Demir).
 *
 * This module is the public API. Commands (`deno task bench`, `plan`, …) are thin front ends over it.
 *
 * @example Seeded streams and a backend
 * ```ts
 * import { initBackend, Rng } from "./mod.ts";
 * const info = await initBackend("cpu");
 * const split = Rng.root(42).fork("split");
 * console.assert(info.name === "cpu" && split.int(10) < 10);
 * ```
 *
 * @module
 */
export { Rng, type RngState } from "./src/rng.ts";
export {
  BACKEND_NAMES,
  type BackendInfo,
  type BackendName,
  type ConcreteBackend,
  initBackend,
  isBackendName,
} from "./src/backend/backend.ts";
export { type EnvironmentRecord, environmentRecord } from "./src/backend/doctor.ts";
export {
  CONFORMANCE_CASES,
  type ConformanceCase,
  relativeError,
  runCase,
} from "./src/backend/conformance.ts";
