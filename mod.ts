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
export {
  classCounts,
  type DatasetSource,
  type ImageTable,
  labelRow,
  type LabelTable,
} from "./src/data/dataset.ts";
export { SCENES, syntheticSource, UCMERCED_CLASSES } from "./src/data/synthetic.ts";
export { parseLabelFile, ucmercedSource } from "./src/data/ucmerced.ts";
export { prepareUcmerced } from "./src/data/prepare.ts";
export { datasetSource } from "./src/data/source.ts";
export { drawInitial, type Split, splitArchive, type SplitSizes } from "./src/data/split.ts";
export { type ImbalanceSpec, type Removal, removeMinority } from "./src/data/imbalance.ts";
export { type PlanJson, planJson, planSeed, type SeedPlan } from "./src/data/plan.ts";
export {
  loadScenarioFile,
  type ResolvedScenario,
  resolveScenarios,
  ScenarioError,
  scenarioHash,
} from "./src/scenario/load.ts";
export {
  type Scenario,
  ScenarioFileSchema,
  type ScenarioInput,
  ScenarioSchema,
} from "./src/scenario/schema.ts";
export { scenarioJsonSchema } from "./src/scenario/json_schema.ts";
export {
  type AnyOptions,
  type CheckedOptions,
  checkQueryOptions,
  checkQueryResult,
  type ModelOutput,
  type ModelView,
  type OptionSchema,
  optionsJsonSchema,
  type OptionSpec,
  parseQueryOptions,
  type QueryFunction,
  type QueryInput,
  type QueryResult,
  schemaDefaults,
} from "./src/al/query.ts";
export { BUILTIN_QUERY_FUNCTIONS, loadQueryModule, resolveQuery } from "./src/al/query/registry.ts";
export { queryConformance } from "./src/al/conformance.ts";
export { kmeans, kmeansPlusPlus } from "./src/al/kmeans.ts";
export { gradientNorms } from "./src/al/query/gradient.ts";
export { type F1Scores, f1Scores, meanAveragePrecision, threshold } from "./src/train/metrics.ts";
