/**
 * Training throughput of a 4-layer CNN on the active backend (img/s), the figure the foundation issue asks for.
 *
 * Run: `deno run --allow-read --allow-env bench/small_cnn_train.ts [--backend wasm] [--size 32] [--batch 32]`
 * Prints one JSON line. Two copies started at once measure process-level parallelism on a 2-core machine.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { initBackend, isBackendName } from "../src/backend/backend.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    backend: { type: "string", default: "wasm" },
    size: { type: "string", default: "32" },
    batch: { type: "string", default: "32" },
    steps: { type: "string", default: "20" },
  },
});
if (!isBackendName(values.backend)) throw new Error(`unknown backend ${values.backend}`);
const info = await initBackend(values.backend);
const size = Number(values.size), batch = Number(values.batch), steps = Number(values.steps);

const model = tf.sequential();
model.add(tf.layers.conv2d({ inputShape: [size, size, 3], filters: 32, kernelSize: 3, padding: "same" }));
model.add(tf.layers.batchNormalization());
model.add(tf.layers.reLU());
model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
model.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: "same" }));
model.add(tf.layers.batchNormalization());
model.add(tf.layers.reLU());
model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
model.add(tf.layers.conv2d({ filters: 128, kernelSize: 3, padding: "same" }));
model.add(tf.layers.batchNormalization());
model.add(tf.layers.reLU());
model.add(tf.layers.conv2d({ filters: 128, kernelSize: 3, padding: "same" }));
model.add(tf.layers.batchNormalization());
model.add(tf.layers.reLU());
model.add(tf.layers.globalAveragePooling2d({}));
model.add(tf.layers.dense({ units: 17, activation: "sigmoid" }));
model.compile({ optimizer: tf.train.sgd(0.01), loss: "binaryCrossentropy" });

const x = tf.randomUniform([batch, size, size, 3], 0, 1, "float32", 1);
const y = tf.cast(tf.greater(tf.randomUniform([batch, 17], 0, 1, "float32", 2), 0.7), "float32");
await model.trainOnBatch(x, y); // warm-up
const t0 = performance.now();
for (let i = 0; i < steps; i++) await model.trainOnBatch(x, y);
const seconds = (performance.now() - t0) / 1000;
console.log(JSON.stringify({
  backend: info.name,
  threads: info.threads,
  size,
  batch,
  steps,
  imgPerSec: Math.round((steps * batch / seconds) * 10) / 10,
}));
