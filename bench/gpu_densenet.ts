/**
 * DenseNet121 throughput on a GPU through WebGPU (Deno's navigator.gpu + tfjs-backend-webgpu): training steps
 * (SGD, BCE over 17 classes, batch 32, 224 px) and inference (batch 64). Prints one JSON line. Meant to run beside
 * `bench/gpu_densenet_torch.py` on the same GPU; the ratio is the number to quote.
 *
 * Run: `deno run -A bench/gpu_densenet.ts [--steps 10] [--kernels albench|stock]` (needs a GPU adapter; see
 * README "Running on a GPU"). `--kernels albench` (default): albench's WGSL kernels, fused batch norm and the
 * fused momentum step, as albench trains; `stock`: tfjs-webgpu's own kernels, tf.layers batch norm and
 * `tf.train.momentum`, the baseline.
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { initBackend } from "../src/backend/backend.ts";
import { Rng } from "../src/rng.ts";
import { forward, trainableVariables, withHead } from "../src/model/classifier.ts";
import { buildBackbone } from "../src/model/backbones.ts";
import { setWebGpuKernels } from "../src/backend/webgpu/kernels.ts";
import { FusedMomentumOptimizer } from "../src/train/momentum.ts";
import { bceFromLogits } from "../src/train/finetune.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    steps: { type: "string", default: "10" },
    backend: { type: "string", default: "webgpu" },
    size: { type: "string", default: "224" },
    kernels: { type: "string", default: "albench" },
  },
});
if (values.kernels !== "albench" && values.kernels !== "stock") {
  throw new Error(`--kernels ${JSON.stringify(values.kernels)}: albench or stock`);
}
const albench = values.kernels === "albench";
const steps = Number(values.steps), r = Number(values.size);
const info = await initBackend(values.backend as "webgpu");
if (info.tfjsBackend === "webgpu") setWebGpuKernels(albench ? "albench" : "stock");
const backbone = buildBackbone("densenet121", r, Rng.root(0), "", {
  batchNorm: albench ? "fused" : "layers",
});
const model = withHead(backbone, 17, Rng.root(0));
const vars = trainableVariables(model);
const opt = albench ? new FusedMomentumOptimizer(0.025, 0.9) : tf.train.momentum(0.025, 0.9);
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
    kernels: values.kernels,
    backend: info.name,
    adapter: info.detail,
    resolution: r,
    trainImgPerSec: Math.round(train * 10) / 10,
    inferenceImgPerSec: Math.round(inference * 10) / 10,
  }),
);
