/**
 * The one-call updates of a training step (issue #27.1): batch norm's moving statistics (`AlbenchMovingStats`)
 * and every variable's momentum step (`AlbenchMomentumSteps`) give, bit for bit, what the per-op and per-variable
 * paths give, on every engine that registers them.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend/backend.ts";
import { MOVING_STATS } from "../src/backend/kernels/moving_stats.ts";
import { MOMENTUM_STEP, MOMENTUM_STEPS } from "../src/backend/kernels/momentum_step.ts";
import { FusedBatchNormalization } from "../src/model/batch_norm.ts";
import { buildClassifier } from "../src/model/classifier.ts";
import { FusedMomentumOptimizer } from "../src/train/momentum.ts";
import { Rng } from "../src/rng.ts";
import { nativeUnavailable } from "./native_available.ts";

const missing = nativeUnavailable();
const engines: { name: "wasm" | "native"; skip: string | undefined }[] = [
  { name: "wasm", skip: undefined },
  { name: "native", skip: missing },
];

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

function assertSameBits(a: Float32Array[], b: Float32Array[], what: string): void {
  assert.equal(a.length, b.length, `${what}: count`);
  a.forEach((x, i) => {
    const u = bits(x), v = bits(b[i]!);
    const k = u.findIndex((w, j) => w !== v[j]);
    assert.equal(k, -1, `${what}: array ${i} differs at ${k}: ${x[k]} vs ${b[i]![k]}`);
  });
}

/** Run `fn` with the kernels `names` removed from `backend`, then put them back. */
function without<T>(backend: string, names: string[], fn: () => T): T {
  const saved = names.map((n) => tf.getKernel(n, backend)).filter((k) => k !== undefined);
  for (const k of saved) tf.unregisterKernel(k.kernelName, backend);
  try {
    return fn();
  } finally {
    for (const k of saved) tf.registerKernel(k);
  }
}

/** Count the calls of kernel `name` on `backend` while `fn` runs. */
function counting<T>(backend: string, name: string, fn: () => T): { result: T; calls: number } {
  const kernel = tf.getKernel(name, backend);
  assert.ok(kernel, `${backend} registers ${name}`);
  let calls = 0;
  tf.unregisterKernel(name, backend);
  tf.registerKernel({ ...kernel, kernelFunc: (args) => (calls++, kernel.kernelFunc(args)) });
  try {
    return { result: fn(), calls };
  } finally {
    tf.unregisterKernel(name, backend);
    tf.registerKernel(kernel);
  }
}

/** Moving mean and variance of a fused batch-norm layer after three training calls (with ReLU fused or not). */
function movingAfterTraining(relu: boolean, momentum: number): Float32Array[] {
  const rng = Rng.root(31);
  const layer = new FusedBatchNormalization({
    name: `bn_${relu}_${momentum}`,
    epsilon: 1e-3,
    momentum,
    relu,
  });
  const shape: [number, number, number, number] = [3, 4, 4, 16];
  layer.build(shape);
  for (let s = 0; s < 3; s++) {
    const x = tf.tensor4d(Float32Array.from({ length: 3 * 4 * 4 * 16 }, () => rng.normal(2, 3)), shape);
    // Under a gradient tape, as in fine-tuning.
    const { value, grads } = tf.variableGrads(
      () => tf.sum(layer.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
      layer.trainableWeights.map((w) => w.read() as tf.Variable),
    );
    tf.dispose([x, value, ...Object.values(grads)]);
  }
  const out = layer.getWeights().slice(2).map((w) => w.dataSync().slice() as Float32Array);
  for (const w of layer.weights) w.dispose();
  return out;
}

for (const engine of engines) {
  Deno.test({
    name: `${engine.name}: the one-kernel moving-statistics update gives the tfjs ops' bits${
      engine.skip ? ` (skipped: ${engine.skip})` : ""
    }`,
    ignore: engine.skip !== undefined,
    fn: async () => {
      await initBackend(engine.name);
      for (const relu of [false, true]) {
        for (const momentum of [0.9, 0.99, 0.997]) {
          const ops = without(engine.name, [MOVING_STATS], () => movingAfterTraining(relu, momentum));
          const { result, calls } = counting(
            engine.name,
            MOVING_STATS,
            () => movingAfterTraining(relu, momentum),
          );
          assert.equal(calls, 3, "one call a training step");
          assertSameBits(ops, result, `moving statistics (relu ${relu}, momentum ${momentum})`);
          // The update moved them (the check above can fail): the variance started at 1, the mean at 0.
          assert.ok(result[0]!.some((m) => m !== 0) && result[1]!.some((v) => v !== 1));
        }
      }
    },
  });

  Deno.test({
    name: `${engine.name}: one momentum-step call for every variable gives the per-variable calls' bits${
      engine.skip ? ` (skipped: ${engine.skip})` : ""
    }`,
    ignore: engine.skip !== undefined,
    fn: async () => {
      await initBackend(engine.name);
      const train = () => {
        const model = buildClassifier("densenet-cpu", 8, 5, Rng.root(4));
        const rng = Rng.root(5);
        const x = tf.tensor4d(Float32Array.from({ length: 4 * 8 * 8 * 3 }, () => rng.normal()), [4, 8, 8, 3]);
        const y = tf.tensor2d([[1, 0, 1, 0, 0], [0, 1, 0, 0, 1], [1, 1, 0, 1, 0], [0, 0, 1, 1, 1]]);
        // Head first: the variable order is not the model's, and a frozen variable has no gradient.
        const vars = [...model.head.trainableWeights, ...model.backbone.trainableWeights.slice(1)].map((w) =>
          w.read() as tf.Variable
        );
        const optimizer = new FusedMomentumOptimizer(0.05, 0.9);
        for (let s = 0; s < 3; s++) {
          optimizer.minimize(
            () => {
              const logits = model.head.apply(model.backbone.apply(x, { training: true }) as tf.Tensor);
              return tf.losses.sigmoidCrossEntropy(y, logits as tf.Tensor) as tf.Scalar;
            },
            false,
            vars,
          );
        }
        const out = [...model.backbone.weights, ...model.head.weights].map((w) =>
          w.read().dataSync().slice() as Float32Array
        );
        model.backbone.dispose();
        model.head.dispose();
        tf.dispose([x, y]);
        optimizer.dispose();
        return out;
      };
      const single = counting(
        engine.name,
        MOMENTUM_STEP,
        () => without(engine.name, [MOMENTUM_STEPS], train),
      );
      const batched = counting(engine.name, MOMENTUM_STEPS, train);
      assert.equal(batched.calls, 3, "one call a step");
      assert.ok(single.calls > 3 * 10, `one call a variable (${single.calls})`);
      assertSameBits(single.result, batched.result, "weights after 3 steps");
      // The first backbone variable was left out of training: unchanged from a fresh build with the same seed.
      const fresh = buildClassifier("densenet-cpu", 8, 5, Rng.root(4));
      assertSameBits(
        [fresh.backbone.weights[0]!.read().dataSync() as Float32Array],
        [batched.result[0]!],
        "the frozen variable",
      );
      fresh.backbone.dispose();
      fresh.head.dispose();
    },
  });
}

Deno.test("the one-call kernels refuse a bad attribute or a missing input by name", async () => {
  await initBackend("wasm");
  const v = tf.ones([3]);
  assert.throws(
    () => tf.engine().runKernel(MOVING_STATS, { movingMean: v, movingVariance: v, mean: v, variance: v }, {}),
    /AlbenchMovingStats: decay must be a number in \[0, 1\], got undefined/,
  );
  assert.throws(
    () =>
      tf.engine().runKernel(MOMENTUM_STEPS, { value0: v, accumulation0: v }, {
        count: 1,
        momentum: 0.9,
        negLr: -0.1,
      }),
    /AlbenchMomentumSteps: input gradient0 is missing/,
  );
  assert.throws(
    () => tf.engine().runKernel(MOMENTUM_STEPS, {}, { count: 1.5, momentum: 0.9, negLr: -0.1 }),
    /AlbenchMomentumSteps: count must be a whole number >= 0, got 1.5/,
  );
  tf.dispose(v);
});
