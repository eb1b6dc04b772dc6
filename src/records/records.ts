/**
 * Every persisted format, in one place: the cell record (with its iteration records and pre-training summary),
 * `run.json`, the `versions/<scenario>.json` files, `compare.json`, a report's `manifest.json`, a checkpoint's
 * `manifest.json`, the linear probe kept beside a pre-trained backbone and `deno task perf`'s `perf.json` (the
 * `--log-json` stream has its own module, `log_events.ts`). Each has an explicit TypeScript type, a zod schema that checks it on
 * read, and a format tag that names its version.
 *
 * A change to what a format holds is a change of format: bump its tag (`albench-cell-v1` → `-v2`) and say how the
 * old one is read. The compiler checks that each type and its schema name the same fields, and
 * `tests/records_test.ts` pins each schema's JSON Schema to its tag, so an edit that forgets the bump fails there.
 *
 * Reading validates and returns the parsed value itself (never zod's output), so a valid file reads exactly as
 * before. An invalid one is reported by {@linkcode RecordError}, naming the file and the first offending field.
 * Where files are written lives in `runner/store.ts`; this module knows only their shape.
 *
 * This room is the ground floor of the persisted formats: it depends on zod and the split record's types
 * (`data/split_record.ts`) only, so the loop (`al/loop.ts`), the checkpoint code (`model/checkpoint.ts`), the
 * runner and the report all import it from below.
 *
 * @module
 */
import { z } from "zod";
import { HASH_RULE, type IdSet, type SplitRecord } from "../data/split_record.ts";

/**
 * The format tag of cell records (`cells/<scenario>/<arm>/seed-<k>.json`). Records gained the optional `identity`
 * (dataset, code, engine) without a new tag (older readers skip it); a record without it is checked by its engine.
 */
export const CELL_FORMAT = "albench-cell-v1";
/** The format tag of `run.json` (it gained the optional `overrides` of each scenario without a new tag). */
export const RUN_FORMAT = "albench-run-v1";
/**
 * The format tag of the `versions/<scenario id>.json` files. They gained the optional `identity` (dataset and
 * engine) and `overrides` (the `--set` the run applied) without a new tag; a file without `identity` is checked by
 * the scenario hash alone.
 */
export const VERSION_FORMAT = "albench-version-v1";
/** The format tag of the `arms/<scenario id>/<arm>.json` files (the code an arm's cells were computed with). */
export const ARM_FORMAT = "albench-arm-v1";
/** The format tag of `compare.json`. */
export const COMPARE_FORMAT = "albench-compare-v1";
/** The format tag of a checkpoint's `manifest.json`. */
export const CHECKPOINT_FORMAT = "albench-weights-v1";
/** The format tag of a report's `manifest.json` (the results folder's summary, with the result digest). */
export const MANIFEST_FORMAT = "albench-manifest-v1";
/**
 * The format of `perf.json` (`deno task perf`), a number as written since its first version. It gained `only`,
 * `runtime`, `pytorch` and the model rows' `pytorchRatio` and `peakRssMiB` without a new one (all optional).
 */
export const PERF_FORMAT = 1;

/** Every format tag, by file. */
export const FORMATS = {
  cell: CELL_FORMAT,
  run: RUN_FORMAT,
  version: VERSION_FORMAT,
  arm: ARM_FORMAT,
  compare: COMPARE_FORMAT,
  checkpoint: CHECKPOINT_FORMAT,
  manifest: MANIFEST_FORMAT,
  perf: PERF_FORMAT,
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Types

/** Scores of one evaluation. */
export interface EvalMetrics {
  /** Micro F1 at threshold 0.5. */
  readonly microF1: number;
  /** Macro F1 at threshold 0.5. */
  readonly macroF1: number;
  /** Mean average precision over classes. */
  readonly mAP: number;
  /** Per-class F1 (`null` where undefined). */
  readonly perClassF1: (number | null)[];
}

/** What one iteration records. */
export interface IterationRecord {
  /** The round t (0: the initial labelled set). */
  readonly iteration: number;
  /** Size of the labelled set the model was fine-tuned on. */
  readonly labelled: number;
  /** Ids the query function selected after this iteration's evaluation (empty after the last). */
  readonly selected: string[];
  /** Scores on the test set. */
  readonly test: EvalMetrics;
  /** Validation scores, only when the cell scored the validation set (records before this was opt-in have it). */
  readonly val?: EvalMetrics;
  /** Positives per class in the labelled set fine-tuned on. */
  readonly classCounts: number[];
  /** Mean training loss of the last fine-tuning epoch. */
  readonly trainLoss: number;
  /** Query diagnostics (e.g. m, k-means iterations). */
  readonly diagnostics?: Record<string, unknown>;
  /** Wall-clock seconds; kept out of result digests. */
  readonly seconds: { readonly finetune: number; readonly inference: number; readonly query: number };
}

/** Linear probe on frozen features: random initialisation against pre-trained (`probe.json` beside a backbone). */
export interface ProbeScores {
  /** mAP of the probe on the randomly initialised backbone. */
  randomInitMap: number;
  /** mAP of the probe on the pre-trained backbone. */
  pretrainedMap: number;
  /** Macro F1 of the probe on the randomly initialised backbone. */
  randomInitMacroF1: number;
  /** Macro F1 of the probe on the pre-trained backbone. */
  pretrainedMacroF1: number;
  /** Images the probe used (half to fit, half to score); absent in records before #31. */
  images?: number;
  /** Whether none of them was in the backbone's pre-training archive; absent before #31 (then: not checked). */
  heldOut?: boolean;
  /** The seed whose validation set they come from; absent before #31 (then: the scenario's first seed). */
  valSeed?: number;
}

/** What a cell records about its pre-trained backbone. */
export interface PretrainSummary {
  /** Cache key of the backbone. */
  readonly key: string;
  /** Mean BYOL loss per epoch. */
  readonly losses: number[];
  /** Linear probe on frozen features: random initialisation against pre-trained. */
  readonly probe: ProbeScores;
}

/**
 * Everything besides the scenario that decides a cell's numbers: the dataset's content, the query function's code
 * and the engine's numeric identity. Two cells of one folder never differ in it (for one scenario, and one arm).
 */
export interface CellIdentity {
  /** The dataset's content fingerprint (ids, labels and pixels). */
  readonly dataset: string;
  /** The query function's code: `builtin:<name>`, or `sha256:<hex>` over the plug-in's folder. */
  readonly code: string;
  /** The engine and its numeric identity (`wasm`; `native (avx2, x86_64, 2 threads)`; `webgpu (adapter)`). */
  readonly engine: string;
}

/** A cell's record. */
export interface CellRecord {
  /** The record format, `albench-cell-v1`. */
  readonly format: "albench-cell-v1";
  /** `scenario-id/arm/seed-k`. */
  readonly key: string;
  /** The scenario id. */
  readonly scenario: string;
  /** The hash of the scenario version that computed it. */
  readonly scenarioHash: string;
  /** The arm name. */
  readonly arm: string;
  /** The arm's query function (a built-in name or a module path). */
  readonly query: string;
  /** The seed. */
  readonly seed: number;
  /** The dataset's class names, in label-column order. */
  readonly classNames: string[];
  /** The pre-trained backbone's cache key (`null` without pre-training). */
  readonly pretrainKey: string | null;
  /** Pre-training loss curve and linear-probe check (null without pre-training). */
  readonly pretrain?: PretrainSummary | null;
  /** The machine and engine that computed it. */
  readonly environment: Record<string, unknown>;
  /** What besides the scenario decides its numbers (absent in records made before it was kept). */
  readonly identity?: CellIdentity;
  /** The seed's split, removal and initial set as image-id hashes and ids (records before it was kept lack it). */
  readonly split?: SplitRecord;
  /** Every evaluated round, from the initial one (t = 0). */
  readonly iterations: IterationRecord[];
  /** Whether every round is done. */
  readonly complete: boolean;
}

/** One scenario a results folder holds: id, hash and the file it came from. */
export interface HeldScenario {
  /** The scenario id. */
  id: string;
  /** Its hash. */
  hash: string;
  /** The scenario file it was read from. */
  file?: string;
  /** The `--set` overrides applied to that file. */
  overrides?: string[];
}

/** `run.json`: which scenarios this folder holds. */
export interface RunFile {
  /** The file format, `albench-run-v1`. */
  readonly format: "albench-run-v1";
  /** Every scenario the folder holds: id, hash and the file it came from. */
  readonly scenarios: HeldScenario[];
}

/** `versions/<scenario id>.json`: the version (hash) of one scenario that a results folder holds. */
export interface VersionFile {
  /** The file format, `albench-version-v1`. */
  readonly format: "albench-version-v1";
  /** The scenario id. */
  readonly id: string;
  /** The hash of the version the folder holds. */
  readonly hash: string;
  /** The scenario file of the run that bound the folder. */
  readonly file?: string;
  /** The `--set` overrides that run applied to the file (with the file, they give this hash). */
  readonly overrides?: string[];
  /** The dataset and engine every cell of the scenario in this folder is computed with (absent in older files). */
  readonly identity?: { readonly dataset: string; readonly engine: string };
}

/** `arms/<scenario id>/<arm>.json`: the code one arm's cells in a results folder are computed with. */
export interface ArmFile {
  /** The file format, `albench-arm-v1`. */
  readonly format: "albench-arm-v1";
  /** The scenario id. */
  readonly scenario: string;
  /** The arm name. */
  readonly arm: string;
  /** The query function's code identity (`builtin:<name>` or `sha256:<hex>`). */
  readonly code: string;
  /** The plug-in's files and their SHA-256, to name what changed (at most 1,000; none for a built-in). */
  readonly files: { path: string; sha256: string }[];
}

/** `compare.json`: the definitions of the arms `compare` added to a folder, by `scenario/arm`. */
export interface CompareFile {
  /** The file format, `albench-compare-v1`. */
  readonly format: "albench-compare-v1";
  /** `scenario/arm` → the arm's definition (built-in name, or module path and content hash, and options). */
  readonly arms: Record<string, string>;
}

/** The manifest of a checkpoint. */
export interface CheckpointManifest {
  /** The manifest format, `albench-weights-v1`. */
  readonly format: "albench-weights-v1";
  /** SHA-256 of `weights.bin`. */
  readonly sha256: string;
  /** Length of `weights.bin`. */
  readonly bytes: number;
  /** Each weight's name, shape and byte offset in `weights.bin`. */
  readonly weights: { name: string; shape: number[]; offset: number }[];
  /** Free metadata (what produced it). */
  readonly meta: Record<string, unknown>;
}

/** A report's `manifest.json`: what a results folder held when it was last reported. */
export interface ReportManifest {
  /** The manifest format, `albench-manifest-v1`. */
  readonly format: "albench-manifest-v1";
  /** The scenarios reported: id, hash, file (null when embedded), `--set` overrides, seeds, baseline arm. */
  readonly scenarios: readonly {
    readonly id: string;
    readonly hash: string;
    readonly file: string | null;
    readonly overrides?: readonly string[];
    readonly seeds: readonly number[];
    readonly baseline: string;
  }[];
  /** The machine and engine the run ended on (null with no cell). */
  readonly environment: Record<string, unknown> | null;
  /** Cells the scenarios call for, those complete, and the keys of the missing ones. */
  readonly cells: { expected: number; complete: number; missing: string[] };
  /** Each pre-trained backbone the cells used, once. */
  readonly pretrain: readonly PretrainSummary[];
  /** Summed AL phase wall times in seconds, and inference / (fine-tuning + inference). */
  readonly wallSeconds: { finetune: number; inference: number; query: number; inferenceShare: number | null };
  /** The result digest of the complete cells. */
  readonly digest: string;
  /** The pre-registration check, when the folder has one (`--preregister`). */
  readonly preregistration?: unknown;
  /** A sequential run's design and verdicts. */
  readonly sequential?: unknown;
}

/** One model row of `perf.json`: a backend, mode, backbone, resolution and batch, and its throughputs. */
export interface PerfModelRow {
  readonly backend: string;
  readonly mode: "train" | "infer";
  readonly backbone: string;
  readonly resolution: number;
  readonly batch: number;
  /** Images per second by what ran: `stock`, `albench`, `pytorch1`, `pytorch` (null where it did not run). */
  readonly imgPerS: Readonly<Record<string, number | null>>;
  /** albench ÷ stock (null without both). Rows hold more (GFLOP/s, fractions of peak, `peakRssMiB`, …). */
  readonly ratio: number | null;
}

/** `deno task perf`'s `perf.json`: the machine, every row measured, and the targets met or not. */
export interface PerfFile {
  /** The format, `1`. */
  readonly format: 1;
  /** The set of rows (`quick`, `default`, …). */
  readonly set: string;
  /** The model rows `--only` kept (null: every row of the set). */
  readonly only?: string | null;
  /** `Deno/<version> <target>`. */
  readonly runtime?: string | null;
  /** tfjs's version. */
  readonly tfjs: string;
  /** Threads of the timed engines. */
  readonly threads: number;
  /** The machine's peak arithmetic (CPU model, ISA, GFLOP/s). */
  readonly peak: object;
  /** The PyTorch peer (interpreter, version, threads), or null where it was not run. */
  readonly pytorch?: object | null;
  /** The model rows. */
  readonly models: readonly PerfModelRow[];
  /** Query function timings: function, pool size, seconds. */
  readonly queries: readonly { readonly query: string; readonly n: number; readonly seconds: number }[];
  /** Data benchmark timings. */
  readonly data: readonly { readonly name: string; readonly seconds: number }[];
  /**
   * Each target: the measured value (a number, or one per query function), the target, and whether it was met
   * (null: not measured).
   */
  readonly targets: Readonly<
    Record<string, {
      readonly value: number | Readonly<Record<string, number>> | null;
      readonly target: number;
      readonly met: boolean | null;
    }>
  >;
}

// ---------------------------------------------------------------------------------------------------------------
// Schemas. Objects are loose (unknown fields pass), so that reading never changes a record; a number that JSON
// wrote as null (a NaN) is accepted where the loop can produce one.

/** A number, or the `null` that `JSON.stringify` writes for NaN. */
const jsonNumber = z.number().nullable();
const record = z.record(z.string(), z.unknown());

const evalMetricsSchema = z.looseObject({
  microF1: jsonNumber,
  macroF1: jsonNumber,
  mAP: jsonNumber,
  perClassF1: z.array(jsonNumber),
});

const iterationSchema = z.looseObject({
  iteration: z.number().int().nonnegative(),
  labelled: z.number().int().nonnegative(),
  selected: z.array(z.string()),
  test: evalMetricsSchema,
  val: evalMetricsSchema.optional(),
  classCounts: z.array(z.number()),
  trainLoss: jsonNumber,
  diagnostics: record.optional(),
  seconds: z.looseObject({ finetune: z.number(), inference: z.number(), query: z.number() }),
});

const probeSchema = z.looseObject({
  randomInitMap: jsonNumber,
  pretrainedMap: jsonNumber,
  randomInitMacroF1: jsonNumber,
  pretrainedMacroF1: jsonNumber,
  images: z.number().int().nonnegative().optional(),
  heldOut: z.boolean().optional(),
  valSeed: z.number().int().nonnegative().optional(),
});

const pretrainSchema = z.looseObject({ key: z.string(), losses: z.array(jsonNumber), probe: probeSchema });

const idSetSchema = z.looseObject({
  n: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  ids: z.array(z.string()).optional(),
}).refine((s) => s.ids === undefined || s.ids.length === s.n, {
  message: "n is not the number of ids listed",
  path: ["n"],
});

const splitSchema = z.looseObject({
  hashRule: z.literal(HASH_RULE),
  test: idSetSchema,
  val: idSetSchema,
  pool: idSetSchema,
  removed: idSetSchema,
  initial: idSetSchema,
  removedClasses: z.array(z.string()),
});

const identitySchema = z.looseObject({ dataset: z.string(), code: z.string(), engine: z.string() });

/** The schemas of every format, by file (for the version pin in `tests/records_test.ts`). */
export const SCHEMAS = {
  cell: z.looseObject({
    format: z.literal(CELL_FORMAT),
    key: z.string(),
    scenario: z.string(),
    scenarioHash: z.string(),
    arm: z.string(),
    query: z.string(),
    seed: z.number().int(),
    classNames: z.array(z.string()),
    pretrainKey: z.string().nullable(),
    pretrain: pretrainSchema.nullable().optional(),
    environment: record,
    identity: identitySchema.optional(),
    split: splitSchema.optional(),
    iterations: z.array(iterationSchema),
    complete: z.boolean(),
  }).superRefine((r, ctx) => {
    // Rounds are saved in order from 0, so a record whose rounds are missing or out of order is damaged (a
    // complete one without rounds was reused and crashed the report).
    r.iterations.forEach((it, i) => {
      if (it.iteration !== i) {
        ctx.addIssue({
          code: "custom",
          path: ["iterations", i, "iteration"],
          message: `rounds are saved in order from 0, so this one must be ${i}; got ${it.iteration}`,
        });
      }
    });
    if (r.complete && r.iterations.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["iterations"],
        message: "a complete record holds at least round 0; got none",
      });
    }
  }),
  run: z.looseObject({
    format: z.literal(RUN_FORMAT),
    scenarios: z.array(
      z.looseObject({
        id: z.string(),
        hash: z.string(),
        file: z.string().optional(),
        overrides: z.array(z.string()).optional(),
      }),
    ),
  }),
  version: z.looseObject({
    format: z.literal(VERSION_FORMAT),
    id: z.string(),
    hash: z.string(),
    file: z.string().optional(),
    overrides: z.array(z.string()).optional(),
    identity: z.looseObject({ dataset: z.string(), engine: z.string() }).optional(),
  }),
  arm: z.looseObject({
    format: z.literal(ARM_FORMAT),
    scenario: z.string(),
    arm: z.string(),
    code: z.string(),
    files: z.array(z.looseObject({ path: z.string(), sha256: z.string() })),
  }),
  compare: z.looseObject({ format: z.literal(COMPARE_FORMAT), arms: z.record(z.string(), z.string()) }),
  checkpoint: z.looseObject({
    format: z.literal(CHECKPOINT_FORMAT),
    sha256: z.string(),
    bytes: z.number().int().nonnegative(),
    weights: z.array(
      z.looseObject({ name: z.string(), shape: z.array(z.number().int()), offset: z.number().int() }),
    ),
    meta: record,
  }),
  probe: probeSchema,
  perf: z.looseObject({
    format: z.literal(PERF_FORMAT),
    set: z.string(),
    only: z.string().nullable().optional(),
    runtime: z.string().nullable().optional(),
    tfjs: z.string(),
    threads: z.number().int().positive(),
    peak: record,
    pytorch: record.nullable().optional(),
    models: z.array(
      z.looseObject({
        backend: z.string(),
        mode: z.enum(["train", "infer"]),
        backbone: z.string(),
        resolution: z.number().int().positive(),
        batch: z.number().int().positive(),
        imgPerS: z.record(z.string(), jsonNumber),
        ratio: jsonNumber,
      }),
    ),
    queries: z.array(
      z.looseObject({ query: z.string(), n: z.number().int().positive(), seconds: z.number() }),
    ),
    data: z.array(z.looseObject({ name: z.string(), seconds: z.number() })),
    targets: z.record(
      z.string(),
      z.looseObject({
        value: z.union([jsonNumber, z.record(z.string(), z.number())]),
        target: z.number(),
        met: z.boolean().nullable(),
      }),
    ),
  }),
  manifest: z.looseObject({
    format: z.literal(MANIFEST_FORMAT),
    scenarios: z.array(
      z.looseObject({
        id: z.string(),
        hash: z.string(),
        file: z.string().nullable(),
        overrides: z.array(z.string()).optional(),
        seeds: z.array(z.number().int().nonnegative()),
        baseline: z.string(),
      }),
    ),
    environment: record.nullable(),
    cells: z.looseObject({
      expected: z.number().int().nonnegative(),
      complete: z.number().int().nonnegative(),
      missing: z.array(z.string()),
    }),
    pretrain: z.array(pretrainSchema),
    wallSeconds: z.looseObject({
      finetune: z.number(),
      inference: z.number(),
      query: z.number(),
      inferenceShare: jsonNumber,
    }),
    digest: z.string().regex(/^[0-9a-f]{64}$/),
    preregistration: z.unknown().optional(),
    sequential: z.unknown().optional(),
  }),
} as const;

// Each type and its schema name the same fields (checked by the compiler); tests/records_test.ts pins the schemas.
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never] ? true
  : false;
const _sameFields: [
  SameKeys<CellRecord, typeof SCHEMAS.cell.shape>,
  SameKeys<IterationRecord, typeof iterationSchema.shape>,
  SameKeys<EvalMetrics, typeof evalMetricsSchema.shape>,
  SameKeys<PretrainSummary, typeof pretrainSchema.shape>,
  SameKeys<SplitRecord, typeof splitSchema.shape>,
  SameKeys<IdSet, typeof idSetSchema.shape>,
  SameKeys<ProbeScores, typeof probeSchema.shape>,
  SameKeys<RunFile, typeof SCHEMAS.run.shape>,
  SameKeys<HeldScenario, typeof SCHEMAS.run.shape.scenarios.element.shape>,
  SameKeys<VersionFile, typeof SCHEMAS.version.shape>,
  SameKeys<ArmFile, typeof SCHEMAS.arm.shape>,
  SameKeys<CellIdentity, typeof identitySchema.shape>,
  SameKeys<CompareFile, typeof SCHEMAS.compare.shape>,
  SameKeys<CheckpointManifest, typeof SCHEMAS.checkpoint.shape>,
  SameKeys<ReportManifest, typeof SCHEMAS.manifest.shape>,
  SameKeys<PerfFile, typeof SCHEMAS.perf.shape>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true];

/** The formats {@linkcode parseRecord} reads. */
export type RecordKind = keyof typeof SCHEMAS;

/** The type each format reads as. */
export interface RecordTypes {
  /** A cell record. */
  cell: CellRecord;
  /** `run.json`. */
  run: RunFile;
  /** A `versions/` file. */
  version: VersionFile;
  /** An `arms/` file. */
  arm: ArmFile;
  /** `compare.json`. */
  compare: CompareFile;
  /** A checkpoint's `manifest.json`. */
  checkpoint: CheckpointManifest;
  /** `probe.json` beside a pre-trained backbone. */
  probe: ProbeScores;
  /** A report's `manifest.json`. */
  manifest: ReportManifest;
  /** `deno task perf`'s `perf.json`. */
  perf: PerfFile;
}

/** A persisted file that is not what its format says: names the file, and the field where one is at fault. */
export class RecordError extends Error {
  /**
   * @param path the file
   * @param reason why it is not a record (`not valid JSON: …`, `field iterations[2].test: …`)
   */
  constructor(readonly path: string, readonly reason: string) {
    super(`${path}: ${reason}`);
    this.name = "RecordError";
  }
}

/** `a.b[2].c` for a zod issue path. */
function fieldName(path: readonly PropertyKey[]): string {
  return path.map((p, i) => typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`).join(
    "",
  );
}

/**
 * Why `value` is not of `kind`, naming the first offending field, or `null` when it is.
 *
 * @example
 * ```ts
 * import { recordProblem } from "./records.ts";
 * console.assert(recordProblem("version", { format: "albench-version-v1", id: "s", hash: "a" }) === null);
 * console.assert(recordProblem("version", { format: "albench-version-v1", id: "s" })!.startsWith("field hash: "));
 * ```
 */
export function recordProblem(kind: RecordKind, value: unknown): string | null {
  return schemaProblem(SCHEMAS[kind], value);
}

/**
 * Why `value` is not a JSON object that `schema` accepts, naming the first offending field, or `null` when it is:
 * {@linkcode recordProblem} for a schema of another module (the `--log-json` events).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { z } from "zod";
 * import { schemaProblem } from "./records.ts";
 * const s = z.looseObject({ a: z.array(z.number()) });
 * assert.equal(schemaProblem(s, { a: [1] }), null);
 * assert.match(schemaProblem(s, { a: [1, "x"] })!, /^field a\[1\]: /);
 * assert.equal(schemaProblem(s, [1]), "not a JSON object");
 * ```
 */
export function schemaProblem(schema: z.ZodType, value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not a JSON object";
  const r = schema.safeParse(value);
  if (r.success) return null;
  const issue = r.error.issues[0]!;
  return `field ${fieldName(issue.path) || "(top level)"}: ${issue.message}`;
}

/**
 * Parse and validate the text of a persisted file of `kind` read from `path`; returns the parsed value itself
 * (unknown fields kept), or throws a {@linkcode RecordError} naming the file and the field.
 *
 * @example
 * ```ts
 * import { parseRecord, RecordError } from "./records.ts";
 * const run = parseRecord("run", "out/run.json", '{"format": "albench-run-v1", "scenarios": []}');
 * console.assert(run.scenarios.length === 0);
 * try {
 *   parseRecord("run", "out/run.json", '{"format": "albench-run-v1", "scenarios": [{"id": 1}]}');
 * } catch (e) {
 *   console.assert(e instanceof RecordError && e.message.startsWith("out/run.json: field scenarios[0].id: "));
 * }
 * ```
 */
export function parseRecord<K extends RecordKind>(kind: K, path: string, text: string): RecordTypes[K] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new RecordError(path, `not valid JSON: ${(e as Error).message}`);
  }
  const problem = recordProblem(kind, value);
  if (problem !== null) throw new RecordError(path, problem);
  return value as RecordTypes[K];
}

/**
 * The format tag of a parsed JSON value (`undefined` when it has none), to tell a file of another format (not
 * ours to judge) from a damaged one of ours.
 *
 * @example
 * ```ts
 * import { formatOf } from "./records.ts";
 * console.assert(formatOf({ format: "x" }) === "x" && formatOf([]) === undefined);
 * ```
 */
export function formatOf(value: unknown): unknown {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as { format?: unknown }).format
    : undefined;
}
