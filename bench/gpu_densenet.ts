/**
 * DenseNet121 throughput on a GPU through WebGPU (Deno's navigator.gpu + tfjs-backend-webgpu): training steps
 * (SGD, BCE over 17 classes, batch 32, 224 px) and inference (batch 64). Prints one JSON line. Meant to run beside
 * `bench/gpu_densenet_torch.py` on the same GPU; the ratio is the number to quote.
 *
 * Run: `deno run -A bench/gpu_densenet.ts [--steps 10]` (needs a GPU adapter; see README "Running on a GPU").
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { initBackend } from "../src/backend/backend.ts";
import { Rng } from "../src/rng.ts";
import { buildClassifier, forward, trainableVariables } from "../src/model/classifier.ts";
import { bceFromLogits } from "../src/train/finetune.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    steps: { type: "string", default: "10" },
    backend: { type: "string", default: "webgpu" },
    size: { type: "string", default: "224" },
  },
});
const steps = Number(values.steps), r = Number(values.size);
const info = await initBackend(values.backend as "webgpu");
const model = buildClassifier("densenet121", r, 17, Rng.root(0));
const vars = trainableVariables(model);
const opt = tf.train.momentum(0.025, 0.9);
const x = tf.randomNormal([32, r, r, 3], 0, 1, "float32", 1);
const y = tf.cast(tf.greater(tf.randomUniform([32, 17], 0, 1, "float32", 2), 0.8), "float32");
const step = () =>
  tf.tidy(() => opt.minimize(() => bceFromLogits(y, forward(model, x, true).logits), true, vars)!);
for (let i = 0; i < 2; i++) await step().data(); // warm-up: shader compilation
let t0 = performance.now();
let last: tf.Scalar | undefined;
for (let i = 0; i < steps; i++) {
  last?.dispose();
  last = step();
}
await last!.data();
const train = (steps * 32) / ((performance.now() - t0) / 1000);
const xi = tf.randomNormal([64, r, r, 3], 0, 1, "float32", 3);
await tf.tidy(() => forward(model, xi, false).logits).data();
t0 = performance.now();
let out: tf.Tensor | undefined;
for (let i = 0; i < steps; i++) {
  out?.dispose();
  out = tf.tidy(() => forward(model, xi, false).logits);
}
await out!.data();
const inference = (steps * 64) / ((performance.now() - t0) / 1000);
console.log(
  JSON.stringify({
    path: "tfjs-webgpu",
    backend: info.name,
    adapter: info.detail,
    resolution: r,
    trainImgPerSec: Math.round(train * 10) / 10,
    inferenceImgPerSec: Math.round(inference * 10) / 10,
  }),
);
