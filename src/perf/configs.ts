/**
 * What `deno task perf` measures: the matrix of model throughput configurations and query-time pool sizes.
 *
 * Every model configuration is measured twice in the same run: with albench's kernels and fused batch norm
 * (`albench`), and with tfjs's stock wasm kernels plus only the missing `Conv2DBackpropFilter` and
 * `tf.layers.batchNormalization` (`stock`, the baseline). Sets: `quick` (seconds, for tests) and `default` (about
 * ten minutes on a 2-core machine). DenseNet121 training at 224 px (batch 10) is in the default set for engines
 * other than wasm only: on wasm the DenseNets at batch 10 exhaust the 32-bit heap (measured: the wasm module
 * aborts), and so does batch 2 in a process that has run the smaller rows.
 *
 * @module
 */
import { BACKBONE_NAMES, type BackboneName, isBackboneName } from "../model/names.ts";
import type { FinetuneOptions } from "../train/finetune.ts";

/**
 * The fine-tuning step every throughput measurement times (perf, profile, the webgpu kernel tests): one epoch
 * of SGD with momentum at lr 0.01, flips and 90-degree rotations; the batch size is the row's.
 *
 * @example
 * ```ts
 * import { perfRecipe } from "./configs.ts";
 * console.assert(perfRecipe(10).batchSize === 10 && perfRecipe(10).epochs === 1);
 * ```
 */
export function perfRecipe(batchSize: number): FinetuneOptions {
  return {
    epochs: 1,
    lr: 0.01,
    momentum: 0.9,
    weightDecay: 0,
    decayEpochs: [],
    decayFactor: 0.1,
    augment: { flip: true, rot90: true },
    batchSize,
  };
}

/** The two kernel/layer variants compared. */
export type PerfVariant = "albench" | "stock";

/**
 * The PyTorch CPU peer's columns (bench/peer_torch_cpu.py, the same rows in PyTorch): `pytorch` with every
 * logical CPU as a thread, `pytorch1` with one thread.
 */
export type PeerVariant = "pytorch" | "pytorch1";

/** Which rows to run. */
export type PerfSet = "quick" | "default";

/** One model throughput measurement. */
export interface ModelPerfConfig {
  /** `train` = fine-tuning steps (forward, backward, SGD update, augmentation); `infer` = inference batches. */
  readonly mode: "train" | "infer";
  readonly backbone: BackboneName;
  readonly resolution: number;
  /** Images per step (training) or per forward batch (inference). */
  readonly batch: number;
  /** Steps (training) or batches (inference) per timed iteration. */
  readonly steps: number;
  /** Timed iterations Deno.bench is asked for. */
  readonly n: number;
  /** False for rows the 32-bit wasm heap cannot hold (DenseNet training at 224 px): other engines only. */
  readonly fitsWasm?: boolean;
}

/**
 * The bench name of a configuration and variant; the table parses it back with {@linkcode parsePerfName}.
 *
 * @example
 * ```ts
 * import { perfName } from "./configs.ts";
 * const c = { mode: "infer", backbone: "densenet121", resolution: 224, batch: 8, steps: 1, n: 1 } as const;
 * console.assert(perfName(c, "albench") === "infer densenet121@224 b8x1 albench");
 * ```
 */
export function perfName(c: ModelPerfConfig, v: PerfVariant): string {
  return `${c.mode} ${c.backbone}@${c.resolution} b${c.batch}x${c.steps} ${v}`;
}

/**
 * The configuration and variant a bench name stands for, or undefined for names of other benches.
 *
 * @example
 * ```ts
 * import { parsePerfName, perfName } from "./configs.ts";
 * const c = { mode: "train", backbone: "small-cnn", resolution: 32, batch: 10, steps: 4, n: 2 } as const;
 * console.assert(parsePerfName(perfName(c, "stock"))?.variant === "stock");
 * ```
 */
export function parsePerfName(
  name: string,
): {
  mode: "train" | "infer";
  backbone: BackboneName;
  resolution: number;
  batch: number;
  steps: number;
  variant: PerfVariant;
} | undefined {
  const m = /^(train|infer) ([a-z0-9-]+)@(\d+) b(\d+)x(\d+) (albench|stock)$/.exec(name);
  if (!m) return undefined;
  return {
    mode: m[1] as "train" | "infer",
    backbone: m[2] as BackboneName,
    resolution: Number(m[3]),
    batch: Number(m[4]),
    steps: Number(m[5]),
    variant: m[6] as PerfVariant,
  };
}

/**
 * The model rows of a set. Training uses batch 10 (the paper's and the CPU scenarios'); at 224 px the steps are
 * few because one DenseNet121 step takes tens of seconds here.
 *
 * @example
 * ```ts
 * import { modelConfigs } from "./configs.ts";
 * console.assert(modelConfigs("default").length > modelConfigs("quick").length);
 * ```
 */
export function modelConfigs(set: PerfSet): ModelPerfConfig[] {
  const t = (
    backbone: BackboneName,
    resolution: number,
    steps: number,
    n: number,
    batch = 10,
  ): ModelPerfConfig => ({
    mode: "train",
    backbone,
    resolution,
    batch,
    steps,
    n,
  });
  const i = (
    backbone: BackboneName,
    resolution: number,
    batch: number,
    steps: number,
    n: number,
  ): ModelPerfConfig => ({
    mode: "infer",
    backbone,
    resolution,
    batch,
    steps,
    n,
  });
  if (set === "quick") return [t("small-cnn", 16, 2, 1), i("small-cnn", 16, 32, 2, 1)];
  const rows: ModelPerfConfig[] = [
    t("small-cnn", 32, 10, 2),
    t("small-cnn", 64, 4, 2),
    t("densenet-cpu", 32, 6, 2),
    t("densenet-cpu", 64, 2, 2),
    t("densenet121", 32, 2, 1),
    t("densenet121", 64, 1, 1),
    i("small-cnn", 32, 64, 4, 2),
    i("small-cnn", 64, 64, 2, 2),
    i("small-cnn", 224, 16, 1, 1),
    i("densenet-cpu", 32, 64, 4, 2),
    i("densenet-cpu", 64, 64, 1, 2),
    i("densenet-cpu", 224, 16, 1, 1),
    i("densenet121", 32, 64, 1, 1),
    i("densenet121", 64, 32, 1, 1),
    i("densenet121", 224, 8, 1, 1),
    { ...t("densenet121", 224, 1, 1), fitsWasm: false },
  ];
  return rows;
}

/**
 * The rows a backend runs: every row of the set, less those the wasm heap cannot hold on wasm.
 *
 * @example
 * ```ts
 * import { modelConfigs, modelConfigsFor } from "./configs.ts";
 * console.assert(modelConfigsFor("default", "wasm").length === modelConfigs("default").length - 1);
 * console.assert(modelConfigsFor("default", "native").length === modelConfigs("default").length);
 * ```
 */
export function modelConfigsFor(set: PerfSet, backend: string): ModelPerfConfig[] {
  return modelConfigs(set).filter((c) => backend !== "wasm" || c.fitsWasm !== false);
}

/** One `--only` entry: a mode, a model and a resolution (`train:densenet-cpu@32`). */
export interface PerfRowFilter {
  readonly mode: "train" | "infer";
  readonly backbone: BackboneName;
  readonly resolution: number;
}

/**
 * Parse `--only MODE:MODEL@PX[,…]` (e.g. `train:densenet-cpu@32,infer:densenet121@224`). Throws naming the entry
 * and the form it should have.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseOnly } from "./configs.ts";
 * assert.deepStrictEqual(parseOnly("train:densenet-cpu@32"), [{ mode: "train", backbone: "densenet-cpu", resolution: 32 }]);
 * assert.throws(() => parseOnly("train:resnet@32"), /"train:resnet@32": resnet is not a model/);
 * ```
 */
export function parseOnly(value: string): PerfRowFilter[] {
  const entries = value.split(",").map((s) => s.trim()).filter(Boolean);
  if (!entries.length) throw new Error("give at least one MODE:MODEL@PX, e.g. train:densenet-cpu@32");
  return entries.map((e) => {
    const m = /^(train|infer):([^@]+)@(\d+)$/.exec(e);
    if (!m) {
      throw new Error(
        `${JSON.stringify(e)} is not MODE:MODEL@PX (MODE train or infer), e.g. train:densenet-cpu@32`,
      );
    }
    if (!isBackboneName(m[2]!)) {
      throw new Error(`${JSON.stringify(e)}: ${m[2]} is not a model (${BACKBONE_NAMES.join(", ")})`);
    }
    return { mode: m[1] as "train" | "infer", backbone: m[2] as BackboneName, resolution: Number(m[3]) };
  });
}

/**
 * The configurations `only` selects (all when it is undefined). Throws when an entry matches no row of the set,
 * naming it and the rows there are.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { modelConfigs, parseOnly, selectConfigs } from "./configs.ts";
 * const rows = selectConfigs(modelConfigs("default"), parseOnly("train:densenet-cpu@32"));
 * assert.deepStrictEqual(rows.map((c) => `${c.mode}:${c.backbone}@${c.resolution}`), ["train:densenet-cpu@32"]);
 * ```
 */
export function selectConfigs(
  configs: readonly ModelPerfConfig[],
  only: readonly PerfRowFilter[] | undefined,
): ModelPerfConfig[] {
  if (!only) return [...configs];
  const key = (c: PerfRowFilter) => `${c.mode}:${c.backbone}@${c.resolution}`;
  const have = new Set(configs.map(key));
  const missing = only.filter((f) => !have.has(key(f)));
  if (missing.length) {
    throw new Error(
      `${missing.map(key).join(", ")}: no such row in this set; the rows are ${[...have].join(", ")}`,
    );
  }
  const wanted = new Set(only.map(key));
  return configs.filter((c) => wanted.has(key(c)));
}

/**
 * The query functions timed by `deno task perf` (every built-in but random, which does no work): each should take
 * at most 2 s at N = 100,000 (issue #16).
 */
export const QUERY_PERF_FUNCTIONS: readonly string[] = Object.freeze([
  "mge-clustering",
  "badge",
  "coreset",
  "uncertainty",
  "mmc",
  "adaptive",
  "cvirs",
]);

/** Pool sizes of the query-time rows (d = 1024, C = 17, b = 20 as in the issue). */
export function queryPoolSizes(set: PerfSet): number[] {
  return set === "quick" ? [1000] : [1000, 10_000, 100_000];
}

/**
 * The set named by `ALBENCH_PERF_SET` (default `default`); throws on anything else.
 *
 * @example
 * ```ts
 * import { perfSetFrom } from "./configs.ts";
 * console.assert(perfSetFrom(undefined) === "default");
 * ```
 */
export function perfSetFrom(value: string | undefined): PerfSet {
  const v = value ?? "default";
  if (v !== "quick" && v !== "default") {
    throw new Error(`perf set ${JSON.stringify(v)} is not one of quick, default`);
  }
  return v;
}
