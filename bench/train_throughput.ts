/**
 * Fine-tuning and BYOL step throughput (img/s) per backbone and resolution on the active backend, one thread.
 *
 * Run: `deno run --allow-read --allow-env bench/train_throughput.ts [--backend wasm]` — prints one JSON line per
 * configuration: fine-tuning at batch 10 (the paper's) and 32, BYOL at batch 100 (two augmented views, online
 * and target passes) at batch 100 for the small CNN and 32 for DenseNet (batch 100 exhausts the 32-bit wasm heap on
 * DenseNet at 32 px: the tape keeps every concatenation of both views), inference at batch 128.
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { initBackend, isBackendName } from "../src/backend/backend.ts";
import { Rng } from "../src/rng.ts";
import { syntheticImages, syntheticLabels } from "../src/data/synthetic.ts";
import { type BackboneName, buildBackbone } from "../src/model/backbones.ts";
import { buildClassifier } from "../src/model/classifier.ts";
import { finetune, infer } from "../src/train/finetune.ts";
import { pretrainByol } from "../src/ssl/byol.ts";
import { perfRecipe } from "../src/perf/configs.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { backend: { type: "string", default: "wasm" }, only: { type: "string" } },
});
if (!isBackendName(values.backend)) throw new Error(`unknown backend ${values.backend}`);
const info = await initBackend(values.backend);
const configs: [BackboneName, number][] = [["small-cnn", 16], ["small-cnn", 32], ["densenet-cpu", 32], [
  "densenet-cpu",
  64,
]];
for (const [name, r] of configs) {
  if (values.only && !`${name}@${r}`.includes(values.only)) continue;
  const n = 200;
  const table = syntheticLabels({ size: n }), images = syntheticImages({ size: n }, r);
  const ids = Array.from({ length: n }, (_, i) => i);
  const result: Record<string, unknown> = { backend: info.name, backbone: name, resolution: r };
  for (const batch of [10, 32]) {
    const model = buildClassifier(name, r, 17, Rng.root(0));
    const opts = perfRecipe(batch);
    await finetune(model, images, table, ids.slice(0, 40), opts, Rng.root(1)); // warm-up
    const t0 = performance.now();
    await finetune(model, images, table, ids, opts, Rng.root(2));
    result[`finetune_b${batch}_img_s`] = Math.round((n / ((performance.now() - t0) / 1000)) * 10) / 10;
    if (batch === 32) {
      const t1 = performance.now();
      await infer(model, images, ids);
      result.inference_img_s = Math.round((n / ((performance.now() - t1) / 1000)) * 10) / 10;
    }
    model.backbone.dispose();
    model.head.dispose();
  }
  const enc = buildBackbone(name, r, Rng.root(0), "o_");
  const byolBatch = name === "small-cnn" ? 100 : 32;
  const byol = {
    epochs: 1,
    batchSize: byolBatch,
    lr: 1e-3,
    projector: { hidden: 256, out: 64 },
    predictorHidden: 256,
    tau: { base: 0.99, final: 1 },
  };
  const t2 = performance.now();
  await pretrainByol(enc, () => buildBackbone(name, r, Rng.root(1), "t_"), images, ids, byol, Rng.root(3));
  result[`byol_b${byolBatch}_img_s`] = Math.round((n / ((performance.now() - t2) / 1000)) * 10) / 10;
  console.log(JSON.stringify(result));
  tf.disposeVariables();
}
