/**
 * albench's WGSL kernels for tfjs-backend-webgpu, and the switch between them and the stock set that
 * `deno task perf --backends webgpu` measures against (as {@linkcode setWasmKernels} does for wasm).
 *
 * Replaced: the convolutions `Conv2D`, `FusedConv2D` (without bias or activation), `Conv2DBackpropInput` and
 * `Conv2DBackpropFilter`, as register-blocked implicit matrix products (./conv2d.ts,
 * ./conv2d_backprop_input.ts, ./conv2d_backprop_filter.ts), and `Concat` and `SplitV` along the last axis
 * (./concat.ts); cases they do not cover go to the stock kernels.
 * Added
 * (the stock set has none, so the fused batch-norm layer and the momentum optimizer fall back to tfjs ops):
 * the batch-norm kernels of src/backend/kernels/batch_norm_train.ts and the momentum step.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  BATCH_NORM_GRAD,
  BATCH_NORM_RELU_GRAD,
  BATCH_NORM_RELU_INFER,
  BATCH_NORM_RELU_TRAIN,
  BATCH_NORM_TRAIN,
} from "../kernels/batch_norm_train.ts";
import { MOMENTUM_STEP } from "../kernels/momentum_step.ts";
import { isAlbenchKernel, type KernelSetName, KernelSets } from "../kernels/replace.ts";
import { batchNormApplyWebGpu, batchNormGradWebGpu, batchNormTrainWebGpu } from "./batch_norm.ts";
import { concatLastAxisWebGpu, splitLastAxisWebGpu } from "./concat.ts";
import { conv2dWebGpu } from "./conv2d.ts";
import { conv2dBackpropInputWebGpu } from "./conv2d_backprop_input.ts";
import { BLOCKED_TARGET_INVOCATIONS, conv2dBackpropFilterWebGpu } from "./conv2d_backprop_filter.ts";
import { momentumStepWebGpu } from "./momentum_step.ts";
import type { WebGpuBackendLike } from "./program.ts";

/** The kernels {@linkcode setWebGpuKernels} switches. */
export const WEBGPU_KERNELS = [
  "Conv2D",
  "FusedConv2D",
  "Conv2DBackpropInput",
  "Conv2DBackpropFilter",
  "Concat",
  "SplitV",
  BATCH_NORM_TRAIN,
  BATCH_NORM_RELU_TRAIN,
  BATCH_NORM_GRAD,
  BATCH_NORM_RELU_GRAD,
  BATCH_NORM_RELU_INFER,
  MOMENTUM_STEP,
] as const;

/** Which webgpu kernels are active: albench's, or tfjs-webgpu's own (the baseline). */
export type WebGpuKernelSet = KernelSetName;

const BACKEND = "webgpu";
const kernelSets = new KernelSets(BACKEND, WEBGPU_KERNELS);

function need(inputs: tf.NamedTensorInfoMap, name: string): tf.TensorInfo {
  const t = inputs[name];
  if (t === undefined) throw new Error(`webgpu backend: kernel input ${name} is missing`);
  return t;
}

/** A named input of the batch-norm and momentum programs, which read f32 arrays only. */
function needFloat(inputs: tf.NamedTensorInfoMap, name: string): tf.TensorInfo {
  return float32(need(inputs, name), "albench's batch-norm and momentum kernels", name);
}

/** The batch-norm and momentum kernels are float32 programs: anything else is refused by name. */
function float32(t: tf.TensorInfo, kernel: string, name: string): tf.TensorInfo {
  if (t.dtype !== "float32") {
    throw new Error(`webgpu backend: ${kernel} takes float32 ${name}, got ${t.dtype}`);
  }
  return t;
}

function epsilonOf(attrs: tf.NamedAttrMap | undefined): number {
  const e = (attrs as { epsilon?: unknown } | undefined)?.epsilon;
  if (typeof e !== "number" || !Number.isFinite(e)) {
    throw new Error(`webgpu backend: batch norm epsilon ${e}`);
  }
  return e;
}

type Conv4 = [number, number, number, number];

/** What the convolution kernels' attributes share (dilations only in the forward pass). */
interface ConvAttrs {
  strides: number | [number, number];
  pad: tf.Conv2DAttrs["pad"];
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  dilations?: number | [number, number];
}

/** The geometry of a convolution of `xShape` by `filterShape` with a kernel's attributes. */
function convInfo(xShape: readonly number[], filterShape: readonly number[], a: ConvAttrs) {
  return tf.backend_util.computeConv2DInfo(
    xShape as Conv4,
    filterShape as Conv4,
    a.strides,
    a.dilations ?? 1,
    a.pad,
    a.dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(a.dataFormat),
  );
}

/** The stock kernel of `name`, which albench's kernel hands the cases it does not cover. */
function stockOf(stock: Map<string, tf.KernelConfig>, name: string): tf.KernelFunc {
  const k = stock.get(name);
  return k ? k.kernelFunc : () => {
    throw new Error(`webgpu backend: no stock ${name} for a case albench's kernel does not cover`);
  };
}

function albenchConfigs(stock: Map<string, tf.KernelConfig>, software: boolean): tf.KernelConfig[] {
  const filterTarget = BLOCKED_TARGET_INVOCATIONS[software ? "software" : "gpu"];
  const configs: tf.KernelConfig[] = [];
  const add = (kernelName: string, kernelFunc: tf.KernelFunc) =>
    configs.push({ kernelName, backendName: BACKEND, albench: true, kernelFunc } as tf.KernelConfig);
  for (const name of ["Conv2D", "FusedConv2D"]) {
    const fallback = stockOf(stock, name);
    add(name, (args) => {
      const { inputs, attrs } = args;
      const a = attrs as unknown as tf.FusedConv2DAttrs;
      // FusedConv2D with a bias or an activation goes to the stock kernel (DenseNet's convolutions have none).
      if (inputs["bias"] || inputs["preluActivationWeights"] || (a.activation ?? "linear") !== "linear") {
        return fallback(args);
      }
      const x = need(inputs, "x"), filter = need(inputs, "filter");
      const info = convInfo(x.shape, filter.shape, a);
      return conv2dWebGpu(args.backend as unknown as WebGpuBackendLike, x, filter, info) ?? fallback(args);
    });
  }
  add("Conv2DBackpropInput", (args) => {
    const { inputs, attrs } = args;
    const dy = need(inputs, "dy"), filter = need(inputs, "filter");
    const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const info = convInfo(a.inputShape, filter.shape, a);
    const backend = args.backend as unknown as WebGpuBackendLike;
    return conv2dBackpropInputWebGpu(backend, dy, filter, info) ??
      stockOf(stock, "Conv2DBackpropInput")(args);
  });
  add("Conv2DBackpropFilter", (args) => {
    const { inputs, attrs } = args;
    const x = need(inputs, "x"), dy = need(inputs, "dy");
    const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    const info = convInfo(x.shape, a.filterShape, a);
    const backend = args.backend as unknown as WebGpuBackendLike;
    // What albench's kernel does not cover (NCHW, dilation, non-float) goes to the stock kernel.
    return conv2dBackpropFilterWebGpu(backend, x, dy, info, filterTarget) ??
      stockOf(stock, "Conv2DBackpropFilter")(args);
  });
  add("Concat", (args) => {
    const inputs = args.inputs as unknown as tf.TensorInfo[];
    const { axis } = args.attrs as unknown as tf.ConcatAttrs;
    const backend = args.backend as unknown as WebGpuBackendLike;
    return concatLastAxisWebGpu(backend, inputs, axis) ?? stockOf(stock, "Concat")(args);
  });
  add("SplitV", (args) => {
    const x = need(args.inputs, "x");
    const { numOrSizeSplits, axis } = args.attrs as unknown as tf.SplitVAttrs;
    const rank = x.shape.length;
    const last = rank > 0 && (axis < 0 ? axis + rank : axis) === rank - 1;
    const sizes = last
      ? tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, rank - 1)
      : undefined;
    const backend = args.backend as unknown as WebGpuBackendLike;
    return (sizes && splitLastAxisWebGpu(backend, x, sizes)) ?? stockOf(stock, "SplitV")(args);
  });
  for (const relu of [false, true]) {
    add(relu ? BATCH_NORM_RELU_TRAIN : BATCH_NORM_TRAIN, ({ inputs, attrs, backend }) => {
      const outs = batchNormTrainWebGpu(
        backend as unknown as WebGpuBackendLike,
        needFloat(inputs, "x"),
        needFloat(inputs, "gamma"),
        needFloat(inputs, "beta"),
        epsilonOf(attrs),
        relu,
      );
      if (!relu) return outs;
      // The ReLU variant's mask is its output (positive exactly where ReLU passed the gradient): the same
      // buffer as a second output, so one more reference to it.
      (backend as unknown as WebGpuBackendLike).incRef(outs[0].dataId);
      return [...outs, { ...outs[0], shape: [...outs[0].shape] }];
    });
    add(relu ? BATCH_NORM_RELU_GRAD : BATCH_NORM_GRAD, ({ inputs, attrs, backend }) =>
      batchNormGradWebGpu(
        backend as unknown as WebGpuBackendLike,
        needFloat(inputs, "x"),
        needFloat(inputs, "dy"),
        needFloat(inputs, "mean"),
        needFloat(inputs, "variance"),
        needFloat(inputs, "gamma"),
        epsilonOf(attrs),
        relu ? needFloat(inputs, "mask") : undefined,
      ));
  }
  add(BATCH_NORM_RELU_INFER, ({ inputs, attrs, backend }) =>
    batchNormApplyWebGpu(
      backend as unknown as WebGpuBackendLike,
      needFloat(inputs, "x"),
      needFloat(inputs, "mean"),
      needFloat(inputs, "variance"),
      needFloat(inputs, "gamma"),
      needFloat(inputs, "beta"),
      epsilonOf(attrs),
      true,
    ));
  add(MOMENTUM_STEP, ({ inputs, attrs, backend }) => {
    const { momentum, negLr } = attrs as unknown as { momentum: number; negLr: number };
    return momentumStepWebGpu(
      backend as unknown as WebGpuBackendLike,
      needFloat(inputs, "value"),
      needFloat(inputs, "accumulation"),
      needFloat(inputs, "gradient"),
      momentum,
      negLr,
    );
  });
  return configs;
}

/**
 * Register albench's webgpu kernels (once; later calls do nothing). Call after tfjs-backend-webgpu is imported;
 * `softwareAdapter` (a fallback adapter such as lavapipe, a few CPU threads) sizes the split reductions for a
 * CPU rather than a GPU.
 *
 * @example
 * ```ts ignore
 * import { registerWebGpuKernels } from "./kernels.ts";
 * await import("@tensorflow/tfjs-backend-webgpu");
 * registerWebGpuKernels(false);
 * ```
 */
export function registerWebGpuKernels(softwareAdapter: boolean): void {
  if (kernelSets.albench.size > 0) return;
  for (const name of WEBGPU_KERNELS) {
    const k = tf.getKernel(name, BACKEND);
    if (k && !isAlbenchKernel(k)) kernelSets.stock.set(name, k);
  }
  for (const c of albenchConfigs(kernelSets.stock, softwareAdapter)) {
    kernelSets.albench.set(c.kernelName, c);
  }
  setWebGpuKernels("albench");
}

/**
 * Switch the webgpu backend between albench's kernels and tfjs-webgpu's stock ones for
 * {@linkcode WEBGPU_KERNELS} (kernels with no stock version are absent from the stock set).
 *
 * @example
 * ```ts ignore
 * import { setWebGpuKernels } from "./kernels.ts";
 * setWebGpuKernels("stock");
 * ```
 */
export function setWebGpuKernels(set: WebGpuKernelSet): void {
  if (kernelSets.albench.size === 0) throw new Error("setWebGpuKernels: call initWebGpu() first");
  kernelSets.use(set);
}
