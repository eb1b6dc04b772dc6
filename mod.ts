/**
 * albench: a benchmark harness for active-learning-guided fine-tuning of self-supervised models for multi-label
 * remote-sensing image classification (Möllenbrok & Demir).
 *
 * The public API, for two readers:
 *
 * - **a query-function author**: the {@linkcode QueryFunction} interface and its input and result types, typed
 *   options ({@linkcode OptionSchema}, {@linkcode parseQueryOptions}), the conformance checks usable outside
 *   `Deno.test` ({@linkcode conformanceChecks}, {@linkcode queryConformance}), every built-in function, and
 *   {@linkcode kmeansPlusPlus} / {@linkcode kmeans};
 * - **a library user**: scenario loading and planning, running a scenario's grid of cells
 *   ({@linkcode runGrid}), datasets, metrics, the paired statistics and the report.
 *
 * The commands (`deno task bench`, `compare`, `plan`, …) are thin front ends over these.
 *
 * @example A query function, checked by the conformance suite
 * ```ts
 * import assert from "node:assert/strict";
 * import { conformanceChecks, type QueryFunction } from "./mod.ts";
 * const firstB: QueryFunction = {
 *   name: "first-b",
 *   description: "the first b unlabelled ids",
 *   optionSchema: {},
 *   needs: [],
 *   select: ({ unlabelled, budget }) => ({ selected: unlabelled.ids.slice(0, budget) }),
 * };
 * const checks = conformanceChecks(firstB, { largeN: 1000 });
 * for (const c of checks) await c.run();
 * assert.ok(checks.length > 5);
 * ```
 *
 * @example Paired statistics
 * ```ts
 * import assert from "node:assert/strict";
 * import { pairedComparison, seedsForPower } from "./mod.ts";
 * const r = pairedComparison([0.8, 0.82, 0.81, 0.79, 0.83], [0.78, 0.8, 0.8, 0.78, 0.8]);
 * assert.ok(r.ciLow > 0 && r.tPValue < 0.05);
 * assert.equal(seedsForPower(0.5, 1), 34);
 * ```
 *
 * @module
 */
export { Rng, type RngState } from "./src/rng.ts";

// Query functions: the interface, typed options, conformance, built-ins.
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
export { type ConformanceCheck, conformanceChecks, queryConformance } from "./src/al/conformance.ts";
export { BUILTIN_QUERY_FUNCTIONS } from "./src/al/query/registry.ts";
export { loadQueryModule, resolveQuery } from "./src/plugin/loader.ts";
export { random } from "./src/al/query/random.ts";
export { mgeClustering, type MgeOptions } from "./src/al/query/mge_clustering.ts";
export { badge } from "./src/al/query/badge.ts";
export { uncertainty } from "./src/al/query/uncertainty.ts";
export { coreset } from "./src/al/query/coreset.ts";
export { mmc, type MmcOptions } from "./src/al/query/mmc.ts";
export { adaptive, type AdaptiveOptions } from "./src/al/query/adaptive.ts";
export { cvirs } from "./src/al/query/cvirs.ts";
export { type Clustering, kmeans, kmeansPlusPlus } from "./src/al/kmeans.ts";

// Scenarios: loading, validation, identity, planning.
export { type Scenario } from "./src/scenario/types.ts";
export {
  loadScenarioFile,
  type ResolvedScenario,
  resolveScenarios,
  ScenarioError,
  scenarioHash,
} from "./src/scenario/load.ts";
export { scenarioJsonSchema } from "./src/scenario/json_schema.ts";
export { type PlanJson, planJson, planSeed, type SeedPlan } from "./src/data/plan.ts";
export { type SplitSizes } from "./src/data/split.ts";
export { type ImbalanceSpec } from "./src/data/imbalance.ts";

// Running a scenario's grid of cells.
export { runGrid, type RunOptions, type RunSummary } from "./src/runner/run.ts";
export { type Cell, gridCells, type Shard } from "./src/runner/grid.ts";
export { type ProgressEvent, type ProgressOptions } from "./src/runner/progress.ts";
export {
  BACKEND_NAMES,
  type BackendInfo,
  type BackendName,
  type ConcreteBackend,
  initBackend,
  type InitOptions,
  isBackendName,
} from "./src/backend/backend.ts";

// Datasets.
export { type DatasetSource, type ImageTable, type LabelTable } from "./src/data/dataset.ts";
export { type SyntheticOptions, syntheticSource } from "./src/data/synthetic.ts";
export { parseLabelFile, type UcmercedOptions, ucmercedSource } from "./src/data/ucmerced.ts";
export { datasetSource, type SourceOptions } from "./src/scenario/dataset_source.ts";
export { type FolderOptions, folderSource, type LabelCsv, parseLabelCsv } from "./src/data/folder.ts";
export {
  type DatasetCheck,
  datasetConformance,
  datasetConformanceChecks,
  type DatasetConformanceOptions,
  type KnownSample,
} from "./src/data/conformance.ts";

// Metrics, statistics, reports.
export {
  type Binary,
  type F1Scores,
  f1Scores,
  meanAveragePrecision,
  threshold,
} from "./src/train/metrics.ts";
export {
  areaUnderBudgetCurve,
  holmAdjust,
  labelsToReach,
  pairedComparison,
  type PairedResult,
  pairedT,
  pairedTPower,
  seedsForPower,
  wilcoxonFloor,
  wilcoxonSignedRank,
} from "./src/report/stats.ts";
export { type ReportResult, writeReport } from "./src/report/report.ts";
export { type WallTimes } from "./src/report/tables.ts";
export {
  type CellIdentity,
  type CellRecord,
  type EvalMetrics,
  type HeldScenario,
  type IterationRecord,
  type PretrainSummary,
  type ProbeScores,
  type RunFile,
} from "./src/records/records.ts";
export { HASH_RULE, type IdSet, idSetHash, type SplitRecord, splitRecord } from "./src/data/split_record.ts";
export {
  type ArmComparison,
  COMPARE_UNITS,
  compareRecords,
  type CompareResult,
  type FieldStat,
  type MetricComparison,
  type PairedStat,
} from "./src/report/compare.ts";
export {
  type FieldMetricRow,
  fieldMetricRows,
  type FieldRecord,
  labelsToScore,
} from "./src/report/field_metrics.ts";
export {
  type Preregistration,
  PREREGISTRATION_FORMAT,
  preregistrationDifferences,
  preregistrationSentence,
  type PreregistrationStatus,
} from "./src/report/preregistration.ts";
export {
  type DesignPower,
  designPower,
  type Look,
  looks,
  poweredEffect,
  type SequentialDesign,
  sequentialLooks,
  type SequentialVerdict,
  spending,
} from "./src/report/sequential.ts";
export {
  designLine,
  primaryMetric,
  SEQUENTIAL_RULE,
  type SequentialOutcome,
  sequentialOutcome,
  type SequentialPair,
  sequentialText,
} from "./src/report/sequential_compare.ts";
