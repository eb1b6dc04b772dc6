/**
 * albench's WGSL kernels (src/backend/webgpu/): switching against the stock set, deterministic results, the
 * momentum step against its formula, and fewer programs per training step than the stock kernels. Runs wherever
 * a WebGPU adapter exists (a software one included, e.g. lavapipe from `mesa-vulkan-drivers`); the forward and
 * gradient values of every kernel are checked against `cpu` by tests/backend_conformance_test.ts.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend/backend.ts";
import { probeWebGpu } from "../src/backend/webgpu.ts";
import { setWebGpuKernels, WEBGPU_KERNELS } from "../src/backend/webgpu/kernels.ts";
import { countPrograms } from "../src/backend/webgpu/program.ts";
import { isAlbenchKernel } from "../src/backend/kernels/replace.ts";
import { BATCH_NORM_RELU_GRAD, BATCH_NORM_RELU_TRAIN } from "../src/backend/kernels/batch_norm_train.ts";
import { MOMENTUM_STEP } from "../src/backend/kernels/momentum_step.ts";
import { FILTER_GRAD_CASES, filterGradByKernel, relativeError } from "../src/backend/conformance.ts";
import {
  BLOCKED_TARGET_INVOCATIONS,
  conv2dBackpropFilterWebGpu,
  planBlocked,
} from "../src/backend/webgpu/conv2d_backprop_filter.ts";
import { buildBackbone } from "../src/model/backbones.ts";
import { withHead } from "../src/model/classifier.ts";
import { finetune } from "../src/train/finetune.ts";
import { syntheticImages, syntheticLabels } from "../src/data/synthetic.ts";
import { Rng } from "../src/rng.ts";
import { perfRecipe } from "../src/perf/configs.ts";

const probe = await probeWebGpu();
const ignore = !probe.available || Deno.env.get("ALBENCH_TEST_WEBGPU") === "0";
const why = probe.available ? "ALBENCH_TEST_WEBGPU=0" : `no adapter: ${probe.reason}`;
const name = (s: string) => `webgpu kernels: ${s}${ignore ? ` (skipped: ${why})` : ""}`;

async function onWebGpu(fn: () => Promise<void>) {
  await initBackend("webgpu");
  try {
    await fn();
  } finally {
    setWebGpuKernels("albench");
    await tf.setBackend("cpu");
  }
}

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

Deno.test({
  name: name("the stock set restores tfjs's kernels and drops albench's additions"),
  ignore,
  fn: () =>
    onWebGpu(async () => {
      for (const k of WEBGPU_KERNELS) assert.ok(isAlbenchKernel(tf.getKernel(k, "webgpu")), `${k} albench`);
      setWebGpuKernels("stock");
      const stock = tf.getKernel("Conv2DBackpropFilter", "webgpu");
      assert.ok(stock !== undefined && !isAlbenchKernel(stock));
      assert.equal(tf.getKernel(BATCH_NORM_RELU_TRAIN, "webgpu"), undefined);
      assert.equal(tf.getKernel(MOMENTUM_STEP, "webgpu"), undefined);
      setWebGpuKernels("albench");
      assert.ok(isAlbenchKernel(tf.getKernel(MOMENTUM_STEP, "webgpu")));
      await Promise.resolve();
    }),
});

Deno.test({
  name: name("split filter gradient and batch-norm gradient are bit-identical when run twice"),
  ignore,
  fn: () =>
    onWebGpu(async () => {
      // Splits of the one-value-at-a-time variant (an RGB input) and of the vec4 one.
      for (const c of FILTER_GRAD_CASES.slice(-2)) {
        const a = await filterGradByKernel(c, 7), b = await filterGradByKernel(c, 7);
        assert.deepEqual(bits(a), bits(b), JSON.stringify(c));
      }
      const run = async () => {
        const x = tf.randomNormal([6, 9, 9, 70], 3, 2, "float32", 1),
          dy = tf.randomNormal([6, 9, 9, 70], 0, 1, "float32", 2);
        const g = tf.randomNormal([70], 1, 0.1, "float32", 3), beta = tf.zeros([70]);
        const attrs = { epsilon: 1e-3 } as unknown as tf.NamedAttrMap;
        const [y, m, v, mask] = tf.engine().runKernel(
          BATCH_NORM_RELU_TRAIN,
          { x, gamma: g, beta },
          attrs,
        ) as tf.Tensor[];
        const outs = tf.engine().runKernel(
          BATCH_NORM_RELU_GRAD,
          { x, dy, mean: m!, variance: v!, gamma: g, beta, mask: mask! },
          attrs,
        ) as tf.Tensor[];
        const data = await Promise.all([y!, m!, v!, ...outs].map((t) => t.data() as Promise<Float32Array>));
        tf.dispose([x, dy, g, beta, y!, m!, v!, mask!, ...outs]);
        return data;
      };
      const first = await run(), second = await run();
      first.forEach((d, i) => assert.deepEqual(bits(d), bits(second[i]!), `output ${i}`));
    }),
});

Deno.test({
  name: name("the momentum step computes acc = m·acc + g, value = value − lr·acc"),
  ignore,
  fn: () =>
    onWebGpu(async () => {
      const value = tf.tensor([1, 2, 3, -4]),
        acc = tf.tensor([0.5, 0, -1, 2]),
        grad = tf.tensor([1, -1, 0.25, 0]);
      const [v2, a2] = tf.engine().runKernel(
        MOMENTUM_STEP,
        { value, accumulation: acc, gradient: grad },
        { momentum: 0.9, negLr: -0.1 } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor[];
      const expectAcc = [0.5 * 0.9 + 1, -1, -0.9 + 0.25, 1.8];
      const got = [...(await a2!.data())], gotV = [...(await v2!.data())];
      expectAcc.forEach((e, i) => assert.ok(Math.abs(got[i]! - e) < 1e-6, `acc[${i}] ${got[i]} vs ${e}`));
      [1, 2, 3, -4].forEach((v, i) => {
        const e = v - 0.1 * expectAcc[i]!;
        assert.ok(Math.abs(gotV[i]! - e) < 1e-6, `value[${i}] ${gotV[i]} vs ${e}`);
      });
      tf.dispose([value, acc, grad, v2!, a2!]);
    }),
});

Deno.test({
  name: name("a CPU-DenseNet training step dispatches fewer programs than with the stock kernels"),
  ignore,
  fn: () =>
    onWebGpu(async () => {
      const counter = countPrograms(tf.backend())!;
      try {
        const images = syntheticImages({ size: 10 }, 16), table = syntheticLabels({ size: 10 });
        const ids = Array.from({ length: 10 }, (_, i) => i);
        const recipe = perfRecipe(10);
        const count = async (set: "albench" | "stock") => {
          setWebGpuKernels(set);
          const model = withHead(
            buildBackbone("densenet-cpu", 16, Rng.root(0), "", { batchNorm: "fused" }),
            17,
            Rng.root(0),
          );
          counter.reset();
          await finetune(model, images, table, ids, recipe, Rng.root(1));
          model.backbone.dispose();
          model.head.dispose();
          return counter.count();
        };
        const stock = await count("stock"), albench = await count("albench");
        assert.ok(albench < 0.75 * stock, `programs per step: albench ${albench}, stock ${stock}`);
      } finally {
        counter.stop();
      }
    }),
});

Deno.test({
  name: name("the filter gradient split for a GPU (many ranges) matches cpu as the software split does"),
  ignore,
  fn: () =>
    onWebGpu(async () => {
      const c = FILTER_GRAD_CASES.find((f) => f.x[3] === 40)!; // 22 ranges on a software adapter, 64 on a GPU
      const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.stride, 1, c.pad);
      const dyShape = [c.x[0], info.outHeight, info.outWidth, c.filter[3]];
      const x = tf.randomNormal(c.x, 0, 1, "float32", 5), dy = tf.randomNormal(dyShape, 0, 1, "float32", 6);
      const [xd, dyd] = [await x.data(), await dy.data()];
      const splits = (target: number) => planBlocked(...c.filter, c.x[0] * info.outHeight, target).splits;
      assert.ok(splits(BLOCKED_TARGET_INVOCATIONS.gpu) > splits(BLOCKED_TARGET_INVOCATIONS.software));
      const backend = tf.backend() as unknown as Parameters<typeof conv2dBackpropFilterWebGpu>[0];
      const got = await Promise.all(
        [BLOCKED_TARGET_INVOCATIONS.gpu, BLOCKED_TARGET_INVOCATIONS.software].map(async (target) => {
          const info_ = conv2dBackpropFilterWebGpu(backend, x, dy, info, target)!;
          const t = tf.engine().makeTensorFromTensorInfo(info_);
          const d = (await t.data()) as Float32Array;
          t.dispose();
          return d;
        }),
      );
      await tf.setBackend("cpu");
      const attrs = { strides: c.stride, pad: c.pad, dataFormat: "NHWC", filterShape: c.filter };
      const ref = tf.engine().runKernel(
        "Conv2DBackpropFilter",
        { x: tf.tensor(xd, c.x), dy: tf.tensor(dyd, dyShape) },
        attrs as unknown as tf.NamedAttrMap,
      ) as tf.Tensor;
      const want = (await ref.data()) as Float32Array;
      for (const g of got) {
        assert.ok(relativeError(g, want) < 1e-5, `relative error ${relativeError(g, want)}`);
      }
      await tf.setBackend("webgpu");
      tf.dispose([x, dy]);
    }),
});

Deno.test({
  name: name("edge cases: a filter gradient over no output rows is zeros, bad batch-norm inputs are refused"),
  ignore,
  fn: () =>
    onWebGpu(async () => {
      // A valid 3x3 convolution of a 2-row image has no output rows: both gradients are sums over nothing.
      // (Through tf.grad, tfjs-webgpu's own Sum of the empty output fails first, so the kernels are called.)
      const x = tf.randomNormal([1, 2, 6, 4], 0, 1, "float32", 1), dy = tf.zeros([1, 0, 4, 4]);
      const w = tf.randomNormal([3, 3, 4, 4], 0, 1, "float32", 2);
      const conv = { strides: 1, pad: "valid", dataFormat: "NHWC" };
      const dw = tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
        ...conv,
        filterShape: [3, 3, 4, 4],
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
      const dx = tf.engine().runKernel("Conv2DBackpropInput", { dy, filter: w }, {
        ...conv,
        inputShape: [1, 2, 6, 4],
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
      assert.deepEqual([dw.shape, dx.shape], [[3, 3, 4, 4], [1, 2, 6, 4]]);
      assert.deepEqual([...(await dw.data()), ...(await dx.data())], new Array(144 + 48).fill(0));
      const attrs = { epsilon: 1e-3 } as unknown as tf.NamedAttrMap;
      const run = (inputs: Record<string, tf.Tensor>) => () =>
        tf.engine().runKernel(BATCH_NORM_RELU_TRAIN, inputs, attrs);
      assert.throws(
        run({ x: tf.zeros([0, 3, 3, 4]), gamma: tf.ones([4]), beta: tf.zeros([4]) }),
        /batch norm of an empty tensor \(shape \[0,3,3,4\]\)/,
      );
      assert.throws(
        run({ x: tf.zeros([2, 3, 3, 4]), gamma: tf.ones([5]), beta: tf.zeros([4]) }),
        /batch norm gamma has shape \[5\], x has 4 channels/,
      );
      tf.dispose([x, dy, w, dw, dx]);
    }),
});
