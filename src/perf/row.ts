/**
 * What one perf model row runs, for every tool that runs one: `deno task perf`'s benches
 * (bench/perf_models_bench.ts), its peak-memory processes (bench/peak_rss_row.ts) and `deno task profile`
 * (bench/profile_step.ts). One untimed warm-up (a fine-tuning step or an inference batch: it builds primitives
 * and JIT-compiles the step), then the row's work: `images.length` images as fine-tuning steps or inference
 * batches of the row's batch size.
 *
 * @module
 */
import type { ImageTable, LabelTable } from "../data/dataset.ts";
import type { Classifier } from "../model/classifier.ts";
import { finetune, infer } from "../train/finetune.ts";
import { Rng } from "../rng.ts";
import { perfRecipe } from "./configs.ts";

/** A row's two phases over `ids` of `images`: the untimed warm-up (its first batch) and the measured work. */
export interface RowRunner {
  warmUp(): Promise<void>;
  run(): Promise<void>;
}

/**
 * The warm-up and the work of a `mode` row at `batch` over the samples `ids` (fine-tuning with
 * {@linkcode perfRecipe}, or inference batches).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { rowRunner } from "./row.ts";
 * import { buildClassifier } from "../model/classifier.ts";
 * import { syntheticImages, syntheticLabels } from "../data/synthetic.ts";
 * import { Rng } from "../rng.ts";
 * await tf.setBackend("cpu");
 * const model = buildClassifier("small-cnn", 8, 17, Rng.root(0));
 * const runner = rowRunner(model, "infer", 2, syntheticImages({ size: 4 }, 8), syntheticLabels({ size: 4 }), [0, 1, 2, 3]);
 * await runner.warmUp();
 * await runner.run();
 * ```
 */
export function rowRunner(
  model: Classifier,
  mode: "train" | "infer",
  batch: number,
  images: ImageTable,
  table: LabelTable,
  ids: readonly number[],
): RowRunner {
  const first = ids.slice(0, batch);
  if (mode === "train") {
    const recipe = perfRecipe(batch);
    return {
      warmUp: async () => void await finetune(model, images, table, first, recipe, Rng.root(1)),
      run: async () => void await finetune(model, images, table, ids, recipe, Rng.root(2)),
    };
  }
  return {
    warmUp: async () => void await infer(model, images, first, batch),
    run: async () => void await infer(model, images, ids, batch),
  };
}
