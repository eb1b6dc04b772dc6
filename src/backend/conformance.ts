/**
 * The backend conformance cases: every backend albench runs on must compute these forward passes and gradients
 * like the `cpu` reference backend.
 *
 * Each case maps seeded random inputs to one output tensor. A case is compared by its output and by the gradients,
 * with respect to every input, of `Σ output ⊙ R` for a fixed random `R` (so every output element matters).
 * The error measure is relative to the reference's scale: `max|a − r| / max(max|r|, 1e-6)`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../rng.ts";
import { conv2dBackpropFilterViaConv } from "./kernels/conv2d_backprop_filter.ts";
import {
  batchNormReluInference,
  fusedBatchNormReluTraining,
  fusedBatchNormTraining,
} from "./kernels/batch_norm_ops.ts";

/** One conformance case. */
export interface ConformanceCase {
  /** Short name, e.g. `conv2d 3x3/2 same`. */
  readonly name: string;
  /** Shapes of the random inputs. */
  readonly inputs: readonly number[][];
  /** Input indices whose gradients are not compared (e.g. integer-like or constant inputs). */
  readonly noGrad?: readonly number[];
  /** The computation. */
  readonly fn: (...xs: tf.Tensor[]) => tf.Tensor;
}

/** Result of running one case: output and gradients as plain arrays. */
export interface CaseResult {
  readonly output: Float32Array;
  readonly grads: Float32Array[];
}

const batchNormTrain = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.batchNorm(x as tf.Tensor4D, mean, variance, beta, gamma, 1e-3);
};

/** A convolution case: input and filter shapes, stride, padding. */
function convCase(
  name: string,
  x: number[],
  filter: number[],
  stride: number,
  pad: "same" | "valid",
): ConformanceCase {
  return {
    name,
    inputs: [x, filter],
    fn: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad),
  };
}

/** The cases. Shapes are small so the whole suite runs in seconds on `cpu`. */
export const CONFORMANCE_CASES: readonly ConformanceCase[] = [
  ...([[1, "same"], [2, "same"], [1, "valid"], [2, "valid"]] as const).map(([s, pad]) =>
    convCase(`conv2d 3x3/${s} ${pad}`, [2, 9, 9, 4], [3, 3, 4, 5], s, pad)
  ),
  convCase("conv2d 1x1/1 same", [3, 6, 6, 8], [1, 1, 8, 4], 1, "same"),
  convCase("conv2d 7x7/2 same (DenseNet stem)", [1, 16, 16, 3], [7, 7, 3, 4], 2, "same"),
  // Channel counts that are multiples of 4 take webgpu's register-blocked convolution kernels (vec4 loads); 98
  // and 75 output pixels (162 input pixels for the input gradient) leave a ragged last block of 8; 6 output
  // channels take the one-at-a-time variants; 3x2 filters pad asymmetrically.
  convCase("conv2d 3x3/1 same, 8 to 12 channels", [2, 7, 7, 8], [3, 3, 8, 12], 1, "same"),
  convCase("conv2d 3x3/2 valid, 8 to 8 channels", [2, 9, 9, 8], [3, 3, 8, 8], 2, "valid"),
  convCase("conv2d 3x2/2 same, 16 to 24 channels", [2, 9, 7, 16], [3, 2, 16, 24], 2, "same"),
  convCase("conv2d 1x1/1 same, 12 to 6 channels", [3, 5, 5, 12], [1, 1, 12, 6], 1, "same"),
  {
    name: "maxPool 3x3/2 same",
    inputs: [[2, 9, 9, 3]],
    fn: (x) => tf.maxPool(x as tf.Tensor4D, 3, 2, "same"),
  },
  {
    name: "avgPool 2x2/2 valid (DenseNet transition)",
    inputs: [[2, 8, 8, 3]],
    fn: (x) => tf.avgPool(x as tf.Tensor4D, 2, 2, "valid"),
  },
  {
    name: "batch norm, training mode",
    inputs: [[4, 5, 5, 6], [6], [6]],
    fn: batchNormTrain,
  },
  {
    // Inputs far from zero mean: float32 reductions then differ by summation order (cpu sums sequentially, wasm
    // in SIMD lanes), and the cancellation in x − mean amplifies it. Measured here: 7e-5 relative on dγ for a
    // [100, 8, 8, 16] input with mean 20 and std 0.5, and up to 2.5e-4 for larger offsets; neither backend is
    // wrong, both are float32-rounded versions of the same sum.
    name: "batch norm, training mode, offset input (mean 20, std 0.5)",
    inputs: [[8, 6, 6, 5], [5], [5]],
    fn: (x, g, b) => batchNormTrain(tf.add(tf.mul(x, 0.5), 20), g, b),
  },
  {
    name: "albench's fused batch norm (training mode)",
    inputs: [[4, 5, 5, 6], [6], [6]],
    fn: (x, g, b) => fusedBatchNormTraining(x, g, b, 1e-3).y,
  },
  {
    name: "albench's fused batch norm + ReLU (training mode, 6 channels)",
    inputs: [[4, 5, 5, 6], [6], [6]],
    fn: (x, g, b) => fusedBatchNormReluTraining(x, g, b, 1e-3).y,
  },
  {
    // 288 rows per channel, offset input: several row ranges merged (webgpu) and a cancelling mean.
    name: "albench's fused batch norm + ReLU (training mode, 288 rows, mean 3)",
    inputs: [[2, 12, 12, 5], [5], [5]],
    fn: (x, g, b) => fusedBatchNormReluTraining(tf.add(x, 3), g, b, 1e-3).y,
  },
  {
    name: "albench's fused batch norm + ReLU (training mode, 16 channels: one oneDNN primitive)",
    inputs: [[3, 4, 4, 16], [16], [16]],
    fn: (x, g, b) => fusedBatchNormReluTraining(x, g, b, 1e-3).y,
  },
  {
    name: "batch norm + ReLU, inference mode (moving statistics; 6 and 16 channels)",
    inputs: [[2, 3, 3, 6], [6], [6], [6], [6], [2, 3, 3, 16], [16], [16], [16], [16]],
    fn: (x, m, v, g, b, x2, m2, v2, g2, b2) =>
      tf.add(
        tf.sum(batchNormReluInference(x!, m!, tf.add(tf.abs(v!), 0.5), g!, b!, 1e-3)),
        tf.sum(batchNormReluInference(x2!, m2!, tf.add(tf.abs(v2!), 0.5), g2!, b2!, 1e-3), [0, 1, 2]),
      ),
  },
  {
    name: "BN-ReLU-conv-concat (dense layer)",
    inputs: [[2, 6, 6, 4], [4], [4], [3, 3, 4, 3]],
    fn: (x, g, b, w) =>
      tf.concat(
        [x, tf.conv2d(tf.relu(batchNormTrain(x, g, b)) as tf.Tensor4D, w as tf.Tensor4D, 1, "same")],
        3,
      ),
  },
  {
    // webgpu's own concatenation and split: vec4 channel groups (8 + 4 + 12), then single channels (5 + 3 + 4)
    // with 27 rows (a ragged block of 16); the gradient is the split.
    name: "concat along channels, 3 inputs (vec4 and single channels) and its gradient",
    inputs: [[2, 3, 3, 8], [2, 3, 3, 4], [2, 3, 3, 12], [3, 3, 3, 5], [3, 3, 3, 3], [3, 3, 3, 4]],
    fn: (a, b, c, d, e, f) =>
      tf.add(
        tf.sum(tf.mul(tf.concat([a!, b!, c!], 3), tf.range(1, 25))),
        tf.sum(tf.mul(tf.concat([d!, e!, f!], -1), tf.range(1, 13))),
      ),
  },
  {
    name: "split along channels and along rows",
    inputs: [[2, 3, 3, 12]],
    fn: (x) => {
      const [p, q] = tf.split(x, [4, 8], 3);
      const [r, t] = tf.split(x, [1, 2], 1);
      return tf.add(
        tf.add(tf.sum(tf.mul(p!, 2)), tf.sum(tf.mul(q!, 3))),
        tf.add(tf.sum(r!), tf.sum(tf.square(t!))),
      );
    },
  },
  {
    name: "global average pool",
    inputs: [[2, 4, 4, 7]],
    fn: (x) => tf.mean(x, [1, 2]),
  },
  {
    name: "broadcast add, sub, mul, div (channel and leading-axis broadcasts)",
    inputs: [[2, 3, 4, 5], [1, 1, 4, 1], [5], [3, 1, 5]],
    fn: (a, b, c, d) =>
      tf.add(
        tf.sub(tf.mul(a!, b!), c!),
        tf.div(tf.reshape(d!, [1, 3, 1, 5]), tf.add(tf.abs(b!), 1)),
      ),
  },
  {
    name: "zero padding and a strided slice (DenseNet121 stem and its gradient)",
    inputs: [[2, 5, 6, 3]],
    fn: (x) => tf.slice(tf.pad(x!, [[0, 0], [3, 2], [1, 3], [0, 0]]), [1, 2, 1, 0], [1, 6, 7, 2]),
  },
  {
    name: "channel concat and split above the native engine's primitive threshold",
    inputs: [[4, 16, 16, 40], [4, 16, 16, 12], [4, 16, 16, 52]],
    fn: (a, b, c) => tf.add(tf.concat([a!, b!], 3), c!),
  },
  {
    name: "batched matrix products, plain and transposed",
    inputs: [[3, 4, 5], [3, 5, 6], [3, 6, 5], [3, 5, 4]],
    fn: (a, b, c, d) => tf.add(tf.matMul(a!, b!), tf.matMul(d!, c!, true, true)),
  },
  {
    name: "flips, 90-degree rotation and tiling (augmentations)",
    inputs: [[2, 4, 5, 3], [2, 1, 1, 3]],
    fn: (x, t) =>
      tf.add(
        tf.transpose(tf.reverse(x!, [1, 2]), [0, 2, 1, 3]),
        tf.tile(t!, [1, 5, 4, 1]),
      ),
  },
  {
    name: "dense + bias",
    inputs: [[5, 12], [12, 7], [7]],
    fn: (x, w, b) => tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b),
  },
  {
    name: "sigmoid binary cross-entropy",
    inputs: [[6, 17], [6, 17]],
    noGrad: [1],
    fn: (logits, y) => {
      const labels = tf.cast(tf.greater(y, 0), "float32");
      return tf.losses.sigmoidCrossEntropy(labels, logits, undefined, 0, tf.Reduction.MEAN);
    },
  },
];

/**
 * Seeded inputs for a case (standard normal).
 *
 * @example
 * ```ts
 * import { CONFORMANCE_CASES, caseInputs } from "./conformance.ts";
 * const xs = caseInputs(CONFORMANCE_CASES[0]!, 1);
 * console.assert(xs.length === 2);
 * ```
 */
export function caseInputs(c: ConformanceCase, seed: number): Float32Array[] {
  const rng = Rng.root(seed).fork(`conformance/${c.name.replace(/[^a-z0-9]+/gi, "-")}`);
  return c.inputs.map((shape) =>
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal())
  );
}

/**
 * Run a case on the active backend.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { CONFORMANCE_CASES, caseInputs, runCase } from "./conformance.ts";
 * await tf.setBackend("cpu");
 * const c = CONFORMANCE_CASES[0]!;
 * const r = await runCase(c, caseInputs(c, 1));
 * console.assert(r.grads.length === 2);
 * ```
 */
export async function runCase(c: ConformanceCase, data: Float32Array[]): Promise<CaseResult> {
  const tensors = tf.tidy(() => {
    const xs = data.map((d, i) => tf.tensor(d, c.inputs[i]));
    const out = c.fn(...xs);
    const rng = Rng.root(0).fork("conformance/weights");
    const r = tf.tensor(Float32Array.from({ length: out.size }, () => rng.normal()), out.shape);
    const gradIdx = xs.map((_, i) => i).filter((i) => !(c.noGrad ?? []).includes(i));
    const grads = tf.grads((...gx: tf.Tensor[]) => {
      const all = xs.slice();
      gradIdx.forEach((i, k) => (all[i] = gx[k] as tf.Tensor));
      return tf.sum(tf.mul(c.fn(...all), r));
    })(gradIdx.map((i) => xs[i] as tf.Tensor));
    return [out, ...grads];
  });
  // Asynchronous reads: WebGPU under Deno has no synchronous read path (it needs an OffscreenCanvas).
  const arrays = await Promise.all(tensors.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(tensors);
  return { output: arrays[0] as Float32Array, grads: arrays.slice(1) };
}

/**
 * Scale-relative error `max|a − r| / max(max|r|, 1e-6)`.
 *
 * @example
 * ```ts
 * import { relativeError } from "./conformance.ts";
 * console.assert(relativeError(new Float32Array([1, 2]), new Float32Array([1, 2.002])) < 1.1e-3);
 * ```
 */
export function relativeError(a: Float32Array, ref: Float32Array): number {
  if (a.length !== ref.length) return Infinity;
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (ref[i] as number)));
    scale = Math.max(scale, Math.abs(ref[i] as number));
  }
  return Number.isNaN(diff) ? Infinity : diff / Math.max(scale, 1e-6);
}

/** A stride/padding/kernel combination of the filter-gradient check. */
export interface FilterGradCase {
  readonly x: [number, number, number, number];
  readonly filter: [number, number, number, number];
  readonly stride: number;
  readonly pad: "same" | "valid";
}

/**
 * Shapes that exercise every branch of the filter-gradient kernels (1x1 fast path, padding, unused rows, tiles
 * and split reductions).
 */
export const FILTER_GRAD_CASES: readonly FilterGradCase[] = [
  { x: [2, 8, 8, 3], filter: [3, 3, 3, 4], stride: 1, pad: "same" },
  { x: [2, 8, 8, 3], filter: [3, 3, 3, 4], stride: 2, pad: "same" },
  { x: [2, 8, 8, 3], filter: [3, 3, 3, 4], stride: 2, pad: "valid" }, // last input row unused
  { x: [2, 9, 7, 3], filter: [3, 2, 3, 2], stride: 2, pad: "valid" },
  { x: [3, 6, 6, 8], filter: [1, 1, 8, 4], stride: 1, pad: "same" },
  { x: [1, 16, 16, 3], filter: [7, 7, 3, 4], stride: 2, pad: "same" },
  { x: [2, 5, 5, 4], filter: [1, 1, 4, 2], stride: 2, pad: "valid" },
  // Channels in multiples of 4 (webgpu's register-blocked kernel): 8 channels and 3 output vec4s per invocation,
  // the reduction split in 22 ranges of 3 rows, the last holding 1; 4 channels per invocation, strided,
  // asymmetric padding.
  { x: [4, 16, 16, 40], filter: [3, 3, 40, 36], stride: 1, pad: "same" },
  { x: [2, 9, 8, 12], filter: [3, 2, 12, 8], stride: 2, pad: "same" },
  // An RGB input (webgpu's kernel reads it one channel at a time, padding lanes clamped), split in 128 ranges.
  { x: [8, 16, 16, 3], filter: [3, 3, 3, 8], stride: 1, pad: "same" },
  // Register-blocked with 2 output vec4s per invocation, the reduction split in 50 ranges of one row.
  { x: [5, 10, 10, 16], filter: [3, 3, 16, 8], stride: 1, pad: "same" },
];

/**
 * The filter gradient of a case by albench's kernel formula, on the active backend.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { FILTER_GRAD_CASES, filterGradViaConv } from "./conformance.ts";
 * await tf.setBackend("cpu");
 * console.assert((await filterGradViaConv(FILTER_GRAD_CASES[0]!, 1)).length === 3 * 3 * 3 * 4);
 * ```
 */
export function filterGradViaConv(c: FilterGradCase, seed: number): Promise<Float32Array> {
  return readAndDispose(tf.tidy(() => {
    const { x, dy } = filterGradInputs(c, seed);
    return conv2dBackpropFilterViaConv(x, dy, c.filter, c.stride, c.pad);
  }));
}

/**
 * The filter gradient of a case by the active backend's registered `Conv2DBackpropFilter`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { FILTER_GRAD_CASES, filterGradByKernel } from "./conformance.ts";
 * await tf.setBackend("cpu");
 * console.assert((await filterGradByKernel(FILTER_GRAD_CASES[0]!, 1)).length === 3 * 3 * 3 * 4);
 * ```
 */
export function filterGradByKernel(c: FilterGradCase, seed: number): Promise<Float32Array> {
  return readAndDispose(tf.tidy(() => {
    const { x, dy } = filterGradInputs(c, seed);
    const attrs = { strides: c.stride, pad: c.pad, dataFormat: "NHWC", filterShape: c.filter };
    return tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, attrs) as tf.Tensor;
  }));
}

async function readAndDispose(t: tf.Tensor): Promise<Float32Array> {
  const data = (await t.data()) as Float32Array;
  t.dispose();
  return data;
}

function filterGradInputs(c: FilterGradCase, seed: number) {
  const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.stride, 1, c.pad);
  const dyShape = [c.x[0], info.outHeight, info.outWidth, c.filter[3]] as [number, number, number, number];
  const rng = Rng.root(seed).fork(
    `conformance/filter-grad/${c.x.join("x")}-${c.filter.join("x")}-${c.stride}-${c.pad}`,
  );
  const draw = (shape: number[]) =>
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
  return { x: tf.tensor4d(draw(c.x), c.x), dy: tf.tensor4d(draw(dyShape), dyShape) };
}
