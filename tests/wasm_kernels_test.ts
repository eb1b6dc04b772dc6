import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend/backend.ts";
import { setWasmKernels } from "../src/backend/wasm.ts";
import { channelSums } from "../src/backend/kernels/channel_reduce.ts";
import { avgPoolGradTiled } from "../src/backend/kernels/avg_pool_grad.ts";
import { FusedMomentumOptimizer } from "../src/train/momentum.ts";
import { buildClassifier } from "../src/model/classifier.ts";
import { Rng } from "../src/rng.ts";

// albench's wasm replacements promise the stock kernels' exact bits (the committed reference digests depend on
// it): every check below runs the same ops with tfjs's stock kernels and with albench's, and compares bit for bit.

function randn(shape: number[], seed: number, mean = 0): tf.Tensor {
  return tf.randomNormal(shape, mean, 1.5, "float32", seed);
}

function bitsOf(fn: () => tf.Tensor | tf.Tensor[]): Float32Array[] {
  const out = tf.tidy(fn);
  const list = Array.isArray(out) ? out : [out];
  const data = list.map((t) => t.dataSync().slice() as Float32Array);
  tf.dispose(list);
  return data;
}

function assertSameBits(a: Float32Array[], b: Float32Array[], what: string) {
  assert.equal(a.length, b.length, `${what}: output count`);
  a.forEach((x, i) => {
    const y = b[i]!;
    assert.equal(x.length, y.length, `${what}: output ${i} length`);
    const u = new Uint32Array(x.buffer, x.byteOffset, x.length),
      v = new Uint32Array(y.buffer, y.byteOffset, y.length);
    const k = u.findIndex((bits, j) => bits !== v[j]);
    assert.equal(k, -1, `${what}: output ${i} differs at ${k}: stock ${x[k]} vs albench ${y[k]}`);
  });
}

const OPS: { name: string; fn: () => tf.Tensor | tf.Tensor[] }[] = [
  { name: "sum over N,H,W", fn: () => tf.sum(randn([10, 16, 16, 36], 1, 3), [0, 1, 2]) },
  { name: "mean over N,H,W", fn: () => tf.mean(randn([7, 5, 3, 13], 2, -20), [0, 1, 2]) },
  // 693 values per channel: dividing by the count and multiplying by its reciprocal round differently.
  { name: "mean over N,H,W, 64 channels", fn: () => tf.mean(randn([9, 7, 11, 64], 16, 0.3), [0, 1, 2]) },
  { name: "mean, keepDims", fn: () => tf.mean(randn([4, 6, 6, 5], 3), [0, 1, 2], true) },
  { name: "sum over rows of a matrix", fn: () => tf.sum(randn([300, 17], 4), 0) },
  { name: "sum over unordered axes (stock path)", fn: () => tf.sum(randn([3, 4, 5, 6], 5), [2, 0, 1]) },
  { name: "sum over the last axis (stock path)", fn: () => tf.sum(randn([3, 4, 5, 6], 6), -1) },
  { name: "split on channels", fn: () => tf.split(randn([4, 8, 8, 30], 7), [18, 12], 3) },
  { name: "split on rows", fn: () => tf.split(randn([9, 5, 4], 8), [2, 3, 4], 0) },
  {
    name: "avg-pool gradient 2x2/2 valid",
    fn: () =>
      tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(x as tf.Tensor4D, 2, 2, "valid"), 1.7)))(
        randn([3, 8, 8, 5], 9),
      ),
  },
  {
    name: "avg-pool gradient 3x3/2 same (stock path)",
    fn: () =>
      tf.grad((x: tf.Tensor) => tf.sum(tf.avgPool(x as tf.Tensor4D, 3, 2, "same")))(randn([2, 7, 7, 3], 10)),
  },
  {
    name: "DenseNet layer gradients (fused batch norm, concat)",
    fn: () => {
      const x = randn([4, 8, 8, 12], 11),
        g = randn([12], 12),
        b = randn([12], 13),
        w = randn([3, 3, 12, 6], 14);
      return tf.grads((xv: tf.Tensor, gv: tf.Tensor) => {
        const m = tf.mean(xv, [0, 1, 2]), v = tf.mean(tf.square(tf.sub(xv, m)), [0, 1, 2]);
        const y = tf.relu(tf.add(tf.mul(tf.div(tf.sub(xv, m), tf.sqrt(tf.add(v, 1e-3))), gv), b));
        return tf.sum(tf.concat([xv, tf.conv2d(y as tf.Tensor4D, w as tf.Tensor4D, 1, "same")], 3));
      })([x, g]);
    },
  },
];

Deno.test("wasm kernels: albench's Sum, Mean, SplitV, AvgPoolGrad and Identity give the stock kernels' bits", async () => {
  await initBackend("wasm");
  try {
    for (const op of OPS) {
      setWasmKernels("stock");
      const stock = bitsOf(op.fn);
      setWasmKernels("albench");
      assertSameBits(stock, bitsOf(op.fn), op.name);
    }
  } finally {
    setWasmKernels("albench");
  }
});

Deno.test("wasm kernels: channelSums equals a float64 sum within float32 rounding", () => {
  const rng = Rng.root(3);
  const x = Float32Array.from({ length: 4000 * 7 }, () => rng.normal(2, 1));
  const got = channelSums(x, 7);
  for (let c = 0; c < 7; c++) {
    let exact = 0;
    for (let r = 0; r < 4000; r++) exact += x[r * 7 + c]!;
    assert.ok(Math.abs(got[c]! - exact) / Math.abs(exact) < 1e-5, `channel ${c}: ${got[c]} vs ${exact}`);
  }
});

Deno.test("wasm kernels: tiled avg-pool gradient spreads each output gradient over its window", () => {
  const dy = Float32Array.from([1, 2, 3, 4]); // [1, 2, 2, 1]
  const dx = new Float32Array(16);
  avgPoolGradTiled(dy, dx, [1, 4, 4, 1], 2, 2);
  assert.deepEqual([...dx], [0.25, 0.25, 0.5, 0.5, 0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1, 1, 0.75, 0.75, 1, 1]);
});

Deno.test("wasm kernels: Identity shares data instead of copying, and the clone outlives its source", async () => {
  await initBackend("wasm");
  const a = tf.tensor1d([1, 2, 3]);
  const before = tf.memory().numDataBuffers;
  const b = tf.clone(a);
  assert.equal(tf.memory().numDataBuffers, before, "a clone shares its source's buffer");
  a.dispose();
  assert.deepEqual([...b.dataSync()], [1, 2, 3]);
  b.dispose();
  setWasmKernels("stock");
  try {
    const c = tf.tensor1d([1]), n = tf.memory().numDataBuffers, d = tf.clone(c);
    assert.equal(tf.memory().numDataBuffers, n + 1, "the stock Identity copies (the check above can fail)");
    tf.dispose([c, d]);
  } finally {
    setWasmKernels("albench");
  }
});

Deno.test("wasm kernels: the fused momentum step gives tf.train.momentum's weights bit for bit", async () => {
  await initBackend("wasm");
  const train = (optimizer: tf.Optimizer) => {
    const model = buildClassifier("small-cnn", 8, 3, Rng.root(4));
    const x = randn([6, 8, 8, 3], 15),
      y = tf.tensor2d([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 1]]);
    const vars = [...model.backbone.trainableWeights, ...model.head.trainableWeights].map((w) =>
      w.read() as tf.Variable
    );
    for (let s = 0; s < 3; s++) {
      optimizer.minimize(
        () => {
          const logits = model.head.apply(
            model.backbone.apply(x, { training: true }) as tf.Tensor,
          ) as tf.Tensor;
          return tf.losses.sigmoidCrossEntropy(y, logits) as tf.Scalar;
        },
        false,
        vars,
      );
    }
    const out = vars.map((v) => v.dataSync().slice() as Float32Array);
    model.backbone.dispose();
    model.head.dispose();
    tf.dispose([x, y]);
    return out;
  };
  const reference = train(tf.train.momentum(0.05, 0.9));
  // The batched kernel (every variable in one call), then the per-variable one with the batched one removed.
  const batched = tf.getKernel("AlbenchMomentumSteps", "wasm")!;
  for (const name of ["AlbenchMomentumSteps", "AlbenchMomentumStep"]) {
    const calls = { n: 0 };
    const kernel = tf.getKernel(name, "wasm")!;
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel({ ...kernel, kernelFunc: (args) => (calls.n++, kernel.kernelFunc(args)) });
    if (name === "AlbenchMomentumStep") tf.unregisterKernel("AlbenchMomentumSteps", "wasm");
    try {
      const fused = train(new FusedMomentumOptimizer(0.05, 0.9));
      // small-cnn: 3 steps; one call a step for the batched kernel, one a variable otherwise.
      if (name === "AlbenchMomentumSteps") assert.equal(calls.n, 3);
      else assert.ok(calls.n > 3, `${name} was called ${calls.n} times`);
      assertSameBits(reference, fused, `weights after 3 steps (${name})`);
    } finally {
      tf.unregisterKernel(name, "wasm");
      tf.registerKernel(kernel);
      if (!tf.getKernel("AlbenchMomentumSteps", "wasm")) tf.registerKernel(batched);
    }
  }
});

Deno.test("wasm kernels: CPU-DenseNet fine-tuning gives the weights and outputs it gave before the bit-identical kernels", async () => {
  // Golden digest computed at commit 0409a6a, before Sum/Mean, SplitV, AvgPoolGrad, Identity and the fused
  // momentum step were replaced: the committed reference reports depend on these replacements changing no bit.
  const { createHash } = await import("node:crypto");
  const { syntheticImages, syntheticLabels } = await import("../src/data/synthetic.ts");
  const { finetune, infer } = await import("../src/train/finetune.ts");
  await initBackend("wasm");
  const n = 40, r = 32;
  const table = syntheticLabels({ size: n }), images = syntheticImages({ size: n }, r);
  const ids = Array.from({ length: n }, (_, i) => i);
  const model = buildClassifier("densenet-cpu", r, 17, Rng.root(0));
  const opts = {
    epochs: 2,
    batchSize: 10,
    lr: 0.025,
    momentum: 0.9,
    weightDecay: 0,
    decayEpochs: [1],
    decayFactor: 0.1,
    augment: { flip: true, rot90: true },
  };
  const records = await finetune(model, images, table, ids, opts, Rng.root(1));
  const h = createHash("sha256");
  for (const w of [...model.backbone.weights, ...model.head.weights]) {
    h.update(new Uint8Array((w.read().dataSync() as Float32Array).slice().buffer));
  }
  const { probs, features } = await infer(model, images, ids);
  h.update(new Uint8Array(probs.buffer));
  h.update(new Uint8Array(features.buffer));
  model.backbone.dispose();
  model.head.dispose();
  assert.deepEqual(records.map((e) => e.loss), [0.6495029479265213, 0.6244528591632843]);
  assert.equal(h.digest("hex").slice(0, 16), "e6bab3bdfc966f22");
});
