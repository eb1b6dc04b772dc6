/**
 * tfjs kernels of the native engine: the heavy ones run through oneDNN ({@linkcode NativeOps}), the data
 * movement DenseNet does per layer (concatenation along channels and its split) as row copies; every other
 * kernel is tfjs's `cpu` kernel, registered again for the `native` backend (whose tensor storage is the `cpu`
 * backend's: plain typed arrays outside any wasm heap).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { NativeBackend } from "./backend.ts";
import { DNNL } from "./abi.ts";
import type { ConvGeometry, NativeOps, PoolGeometry } from "./ops.ts";
import {
  MOMENTUM_STEP,
  MOMENTUM_STEPS,
  momentumStep,
  momentumStepsAttrs,
  momentumStepsTensors,
} from "../kernels/momentum_step.ts";
import { decayOf, MOVING_STATS, MOVING_STATS_INPUTS, movingAverage } from "../kernels/moving_stats.ts";
import {
  BATCH_NORM_GRAD,
  BATCH_NORM_RELU_GRAD,
  BATCH_NORM_RELU_INFER,
  BATCH_NORM_RELU_TRAIN,
  BATCH_NORM_TRAIN,
} from "../kernels/batch_norm_train.ts";
import { RELU_GRAD } from "../kernels/relu_grad.ts";
import {
  broadcast,
  concatRows,
  copyBox,
  elementwise,
  gatherByAxis,
  meanHW,
  size,
  splitRows,
  stridesOf,
} from "./arrays.ts";

type Backend = NativeBackend;

/**
 * Whether batch norm + ReLU run as one oneDNN primitive for `c` channels: oneDNN 2.6's vectorised kernels take
 * channel counts in multiples of 8; for others it falls back to a generic kernel that is 4x slower with the fused
 * ReLU than batch norm and ReLU as two primitives (measured at 10,240 rows: c = 36, 60).
 */
export function fusesRelu(c: number): boolean {
  return c % 8 === 0;
}

/** Below this many elements, data movement and additions stay in JS (a primitive call costs more). */
export const NATIVE_MIN = 1 << 15;

function f32(backend: Backend, t: tf.TensorInfo): Float32Array {
  const values = backend.data.get(t.dataId)!.values;
  if (values instanceof Float32Array) return values;
  if (t.dtype !== "float32" || !values || typeof (values as ArrayLike<number>).length !== "number") {
    throw new Error(`native backend: expected float32 data, got ${t.dtype}`);
  }
  // tfjs may hold float32 data as another array type (e.g. a plain array from tf.tensor([...])).
  return Float32Array.from(values as ArrayLike<number>);
}

function out(backend: Backend, shape: number[], values: Float32Array): tf.TensorInfo {
  return backend.makeTensorInfo(shape, "float32", values);
}

function need(inputs: tf.NamedTensorInfoMap, name: string): tf.TensorInfo {
  const t = inputs[name];
  if (t === undefined) throw new Error(`native backend: kernel input ${name} is missing`);
  return t;
}

/** oneDNN convolution geometry from tfjs's convolution info. */
export function convGeometry(info: tf.backend_util.Conv2DInfo): ConvGeometry {
  return {
    n: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    c: info.inChannels,
    o: info.outChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    oh: info.outHeight,
    ow: info.outWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
    bottom: info.padInfo.bottom,
    right: info.padInfo.right,
  };
}

/** oneDNN pooling geometry from tfjs's pooling info. */
export function poolGeometry(info: tf.backend_util.Conv2DInfo): PoolGeometry {
  return {
    n: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    c: info.inChannels,
    oh: info.outHeight,
    ow: info.outWidth,
    kh: info.filterHeight,
    kw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
    bottom: info.padInfo.bottom,
    right: info.padInfo.right,
  };
}

function nhwcOnly(dataFormat: string | undefined, kernel: string): void {
  if (dataFormat !== undefined && dataFormat !== "NHWC" && dataFormat !== "channelsLast") {
    throw new Error(`native backend: ${kernel} supports NHWC only, got ${dataFormat}`);
  }
}

/**
 * Register the native kernels for `backendName`, copying every `cpu` kernel first. `fallback(name)` gives the
 * `cpu` kernel function for the cases a native kernel does not cover (another layout, a fused activation).
 */
export function registerNativeKernels(backendName: string, ops: NativeOps): void {
  const cpu = new Map(tf.getKernelsForBackend("cpu").map((k) => [k.kernelName, k]));
  for (const k of cpu.values()) {
    if (!tf.getKernel(k.kernelName, backendName)) tf.registerKernel({ ...k, backendName });
  }
  const reg = (kernelName: string, kernelFunc: tf.KernelFunc) => {
    if (tf.getKernel(kernelName, backendName)) tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel({ kernelName, backendName, kernelFunc });
  };
  const cpuKernel = (name: string) => {
    const k = cpu.get(name);
    if (!k) throw new Error(`native backend: tfjs cpu has no ${name} kernel`);
    return k.kernelFunc;
  };

  const conv = (x: tf.TensorInfo, filter: tf.TensorInfo, attrs: tf.NamedAttrMap, b: Backend) => {
    const a = attrs as unknown as tf.Conv2DAttrs;
    nhwcOnly(a.dataFormat, "Conv2D");
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      a.strides,
      a.dilations,
      a.pad,
      a.dimRoundingMode,
    );
    const g = convGeometry(info);
    const y = b.alloc(g.n * g.oh * g.ow * g.o);
    if (y.length > 0) ops.conv2d(g, f32(b, x), f32(b, filter), y);
    return out(b, [g.n, g.oh, g.ow, g.o], y);
  };

  reg("Conv2D", ({ inputs, attrs, backend }) => {
    return conv(need(inputs, "x"), need(inputs, "filter"), attrs!, backend as Backend);
  });
  const fusedCpu = cpuKernel("FusedConv2D");
  reg("FusedConv2D", (args) => {
    const { bias, preluActivationWeights } = args.inputs as unknown as tf.FusedConv2DInputs;
    const a = args.attrs as unknown as tf.FusedConv2DAttrs;
    if (
      bias !== undefined || preluActivationWeights !== undefined || (a.activation ?? "linear") !== "linear"
    ) {
      return fusedCpu(args);
    }
    return conv(need(args.inputs, "x"), need(args.inputs, "filter"), args.attrs!, args.backend as Backend);
  });
  reg("Conv2DBackpropInput", ({ inputs, attrs, backend }) => {
    const dy = need(inputs, "dy"), filter = need(inputs, "filter");
    const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
    nhwcOnly(a.dataFormat, "Conv2DBackpropInput");
    const b = backend as Backend;
    const info = tf.backend_util.computeConv2DInfo(
      a.inputShape,
      filter.shape as [number, number, number, number],
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    const g = convGeometry(info);
    const dx = b.alloc(size(a.inputShape));
    if (dx.length > 0) ops.conv2dBackpropInput(g, f32(b, dy), f32(b, filter), dx);
    return out(b, [...a.inputShape], dx);
  });
  reg("Conv2DBackpropFilter", ({ inputs, attrs, backend }) => {
    const x = need(inputs, "x"), dy = need(inputs, "dy");
    const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    nhwcOnly(a.dataFormat, "Conv2DBackpropFilter");
    const b = backend as Backend;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      a.filterShape,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    const g = convGeometry(info);
    const dw = b.alloc(size(a.filterShape));
    if (dw.length > 0 && size(x.shape) > 0) ops.conv2dBackpropFilter(g, f32(b, x), f32(b, dy), dw);
    else dw.fill(0);
    return out(b, [...a.filterShape], dw);
  });

  const bnCpu = cpuKernel("FusedBatchNorm");
  reg("FusedBatchNorm", (args) => {
    const { scale, offset } = args.inputs as unknown as tf.FusedBatchNormInputs;
    const x = need(args.inputs, "x"),
      mean = need(args.inputs, "mean"),
      variance = need(args.inputs, "variance");
    const c = x.shape[x.shape.length - 1]!;
    const vec = (t: tf.TensorInfo | undefined) => t !== undefined && t.shape.length === 1 && t.shape[0] === c;
    if (!vec(scale) || !vec(offset) || !vec(mean) || !vec(variance) || size(x.shape) === 0) {
      return bnCpu(args);
    }
    const b = args.backend as Backend;
    const { varianceEpsilon } = args.attrs as unknown as tf.FusedBatchNormAttrs;
    const rows = size(x.shape) / c;
    const y = b.alloc(rows * c);
    ops.batchNormInference(
      rows,
      c,
      varianceEpsilon,
      f32(b, x),
      f32(b, scale!),
      f32(b, offset!),
      f32(b, mean),
      f32(b, variance),
      y,
    );
    return out(b, [...x.shape], y);
  });
  reg(BATCH_NORM_RELU_INFER, ({ inputs, attrs, backend }) => {
    const x = need(inputs, "x"), gamma = need(inputs, "gamma"), beta = need(inputs, "beta");
    const mean = need(inputs, "mean"), variance = need(inputs, "variance");
    const epsilon = (attrs as unknown as { epsilon: number }).epsilon;
    const b = backend as Backend;
    const c = x.shape[x.shape.length - 1]!;
    const rows = size(x.shape) / c;
    const y = b.alloc(rows * c);
    if (y.length > 0) {
      const fuse = fusesRelu(c);
      const stats = [f32(b, gamma), f32(b, beta), f32(b, mean), f32(b, variance)] as const;
      ops.batchNormInference(rows, c, epsilon, f32(b, x), ...stats, y, fuse);
      if (!fuse) ops.relu(y.length, y, y);
    }
    return out(b, [...x.shape], y);
  });

  for (const relu of [false, true]) {
    reg(relu ? BATCH_NORM_RELU_TRAIN : BATCH_NORM_TRAIN, ({ inputs, attrs, backend }) => {
      const x = need(inputs, "x"), gamma = need(inputs, "gamma"), beta = need(inputs, "beta");
      const epsilon = (attrs as unknown as { epsilon: number }).epsilon;
      const b = backend as Backend;
      const c = x.shape[x.shape.length - 1]!;
      const rows = size(x.shape) / c;
      const y = b.alloc(rows * c), mean = new Float32Array(c), variance = new Float32Array(c);
      const fuse = relu && fusesRelu(c);
      const mask = fuse ? b.alloc(ops.batchNormReluWorkspace(rows, c, epsilon)) : undefined;
      const [xv, gv, bv] = [f32(b, x), f32(b, gamma), f32(b, beta)];
      ops.batchNormTraining(rows, c, epsilon, xv, gv, bv, y, mean, variance, mask);
      if (relu && !fuse) ops.relu(y.length, y, y);
      const outs = [out(b, [...x.shape], y), out(b, [c], mean), out(b, [c], variance)];
      if (!relu) return outs;
      // The mask: oneDNN's workspace, or (unfused) the output itself, positive exactly where ReLU passed.
      return [...outs, mask ? out(b, [mask.length], mask) : out(b, [...x.shape], y)];
    });
    reg(relu ? BATCH_NORM_RELU_GRAD : BATCH_NORM_GRAD, ({ inputs, attrs, backend }) => {
      const x = need(inputs, "x"), dy = need(inputs, "dy"), gamma = need(inputs, "gamma");
      const mean = need(inputs, "mean"), variance = need(inputs, "variance"), beta = need(inputs, "beta");
      const epsilon = (attrs as unknown as { epsilon: number }).epsilon;
      const b = backend as Backend;
      const c = x.shape[x.shape.length - 1]!;
      const rows = size(x.shape) / c;
      const dx = b.alloc(rows * c), dGamma = new Float32Array(c), dBeta = new Float32Array(c);
      const fuse = relu && fusesRelu(c);
      let dyv = f32(b, dy);
      if (relu && !fuse) {
        const masked = b.alloc(dyv.length);
        ops.reluBackward(masked.length, f32(b, need(inputs, "mask")), dyv, masked);
        dyv = masked;
      }
      const stats = [f32(b, mean), f32(b, variance), f32(b, gamma), f32(b, beta)] as const;
      const ws = fuse ? f32(b, need(inputs, "mask")) : undefined;
      ops.batchNormBackward(rows, c, epsilon, f32(b, x), dyv, ...stats, dx, dGamma, dBeta, ws);
      if (relu && !fuse) b.recycle(dyv);
      return [out(b, [...x.shape], dx), out(b, [c], dGamma), out(b, [c], dBeta)];
    });
  }

  const poolInfo = (x: tf.TensorInfo, attrs: tf.NamedAttrMap) => {
    const a = attrs as unknown as tf.MaxPoolAttrs;
    return tf.backend_util.computePool2DInfo(
      x.shape as [number, number, number, number],
      a.filterSize,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
  };
  for (
    const [fwd, bwd, alg] of [
      ["MaxPool", "MaxPoolGrad", DNNL.poolingMax],
      ["AvgPool", "AvgPoolGrad", DNNL.poolingAvgExcludePadding],
    ] as const
  ) {
    reg(fwd, ({ inputs, attrs, backend }) => {
      const x = need(inputs, "x");
      const b = backend as Backend;
      const g = poolGeometry(poolInfo(x, attrs!));
      const y = b.alloc(g.n * g.oh * g.ow * g.c);
      if (y.length > 0) ops.pool(alg, g, f32(b, x), y);
      return out(b, [g.n, g.oh, g.ow, g.c], y);
    });
    reg(bwd, ({ inputs, attrs, backend }) => {
      const dy = need(inputs, "dy"), input = need(inputs, "input");
      const b = backend as Backend;
      const g = poolGeometry(poolInfo(input, attrs!));
      const dx = b.alloc(size(input.shape));
      if (dx.length > 0 && size(dy.shape) > 0) ops.poolBackward(alg, g, f32(b, input), f32(b, dy), dx);
      else dx.fill(0);
      return out(b, [...input.shape], dx);
    });
  }

  const concatCpu = cpuKernel("Concat");
  reg("Concat", (args) => {
    const tensors = args.inputs as unknown as tf.TensorInfo[];
    const { axis } = args.attrs as unknown as tf.ConcatAttrs;
    const first = tensors[0]!;
    const rank = first.shape.length;
    const ax = tf.util.parseAxisParam(axis, first.shape)[0]!;
    if (tensors.some((t) => t.dtype !== "float32") || ax !== rank - 1 || rank < 2) return concatCpu(args);
    const b = args.backend as Backend;
    const rows = size(first.shape.slice(0, -1));
    const widths = tensors.map((t) => t.shape[rank - 1]!);
    const shape = [...first.shape.slice(0, -1), widths.reduce((a, w) => a + w, 0)];
    const y = b.alloc(size(shape));
    const parts = tensors.map((t) => f32(b, t));
    if (y.length >= NATIVE_MIN && widths.every((w) => w > 0)) ops.concatColumns(rows, widths, parts, y);
    else concatRows(parts, widths, rows, y);
    return out(b, shape, y);
  });
  const splitCpu = cpuKernel("SplitV");
  reg("SplitV", (args) => {
    const x = need(args.inputs, "x");
    const { numOrSizeSplits, axis } = args.attrs as unknown as tf.SplitVAttrs;
    const rank = x.shape.length;
    const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
    if (x.dtype !== "float32" || ax !== rank - 1 || rank < 2) return splitCpu(args);
    const b = args.backend as Backend;
    const widths = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax) as number[];
    const rows = size(x.shape.slice(0, -1));
    const xv = f32(b, x);
    if (size(x.shape) < NATIVE_MIN || widths.some((w) => w === 0)) {
      return splitRows(xv, widths, rows, (n) => b.alloc(n)).map((v, i) =>
        out(b, [...x.shape.slice(0, -1), widths[i]!], v)
      );
    }
    const total = x.shape[rank - 1]!;
    let offset = 0;
    return widths.map((w) => {
      const y = b.alloc(rows * w);
      ops.columns(rows, total, offset, w, xv, y);
      offset += w;
      return out(b, [...x.shape.slice(0, -1), w], y);
    });
  });

  const reluCpu = cpuKernel("Relu");
  reg("Relu", (args) => {
    const x = need(args.inputs, "x");
    if (x.dtype !== "float32" || size(x.shape) === 0) return reluCpu(args);
    const b = args.backend as Backend;
    const y = b.alloc(size(x.shape));
    ops.relu(y.length, f32(b, x), y);
    return out(b, [...x.shape], y);
  });
  reg(RELU_GRAD, ({ inputs, backend }) => {
    const x = need(inputs, "x"), dy = need(inputs, "dy");
    const b = backend as Backend;
    const dx = b.alloc(size(x.shape));
    if (dx.length > 0) ops.reluBackward(dx.length, f32(b, x), f32(b, dy), dx);
    return out(b, [...x.shape], dx);
  });

  // Element-wise arithmetic on two float32 tensors of one shape: a plain loop (tfjs cpu's general kernel
  // broadcasts by index arithmetic per element). Float32 sums and products rounded from doubles are exactly
  // float32 arithmetic, so results equal cpu's.
  for (const name of ["Add", "Sub", "Multiply", "RealDiv"] as const) {
    const general = cpuKernel(name);
    reg(name, (args) => {
      const a = need(args.inputs, "a"), c = need(args.inputs, "b");
      if (a.dtype !== "float32" || c.dtype !== "float32") return general(args);
      const b = args.backend as Backend;
      if (a.shape.length === c.shape.length && a.shape.every((d, i) => d === c.shape[i])) {
        const n = size(a.shape), y = b.alloc(n);
        if (name === "Add" && n >= NATIVE_MIN) ops.add(n, f32(b, a), f32(b, c), y);
        else elementwise(name, f32(b, a), f32(b, c), y);
        return out(b, [...a.shape], y);
      }
      try {
        tf.backend_util.assertAndGetBroadcastShape(a.shape, c.shape);
      } catch {
        return general(args);
      }
      const r = broadcast(name, a.shape, f32(b, a), c.shape, f32(b, c), (n) => b.alloc(n));
      return out(b, r.shape, r.values);
    });
  }

  const sliceCpu = cpuKernel("Slice");
  reg("Slice", (args) => {
    const x = need(args.inputs, "x");
    const { begin, size: sz } = args.attrs as unknown as tf.SliceAttrs;
    const [b0, s0] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, sz) as [number[], number[]];
    // Contiguous slices stay zero-copy views in cpu's kernel.
    if (x.dtype !== "float32" || tf.slice_util.isSliceContinous(x.shape, b0, s0)) return sliceCpu(args);
    const b = args.backend as Backend;
    const y = b.alloc(size(s0));
    copyBox(f32(b, x), x.shape, b0, y, s0, s0.map(() => 0), s0);
    return out(b, s0, y);
  });
  const padCpu = cpuKernel("PadV2");
  reg("PadV2", (args) => {
    const x = need(args.inputs, "x");
    const { paddings, constantValue } = args.attrs as unknown as tf.PadV2Attrs;
    if (x.dtype !== "float32" || paddings.some(([p0, p1]) => p0! < 0 || p1! < 0)) return padCpu(args);
    const b = args.backend as Backend;
    const shape = x.shape.map((d, i) => d + paddings[i]![0]! + paddings[i]![1]!);
    const y = b.alloc(size(shape));
    y.fill(constantValue);
    copyBox(f32(b, x), x.shape, x.shape.map(() => 0), y, shape, paddings.map((p) => p[0]!), x.shape);
    return out(b, shape, y);
  });

  // Data movement of the augmentations (flips, 90-degree rotations) and broadcasts, as per-axis index maps.
  const gatherKernel = (
    name: string,
    plan: (x: tf.TensorInfo, attrs: tf.NamedAttrMap) => { shape: number[]; maps: Int32Array[] } | undefined,
  ) => {
    const fallback = cpuKernel(name);
    reg(name, (args) => {
      const x = need(args.inputs, "x");
      const p = x.dtype === "float32" ? plan(x, args.attrs ?? {}) : undefined;
      if (!p) return fallback(args);
      const b = args.backend as Backend;
      const y = b.alloc(size(p.shape));
      if (y.length > 0) gatherByAxis(f32(b, x), p.maps, y);
      return out(b, p.shape, y);
    });
  };
  gatherKernel("Reverse", (x, attrs) => {
    const axes = tf.util.parseAxisParam((attrs as unknown as tf.ReverseAttrs).dims, x.shape);
    const st = stridesOf(x.shape);
    return {
      shape: [...x.shape],
      maps: x.shape.map((n, d) =>
        Int32Array.from({ length: n }, (_, o) => (axes.includes(d) ? n - 1 - o : o) * st[d]!)
      ),
    };
  });
  gatherKernel("Transpose", (x, attrs) => {
    const perm = (attrs as unknown as tf.TransposeAttrs).perm;
    const st = stridesOf(x.shape);
    const shape = perm.map((p) => x.shape[p]!);
    return { shape, maps: perm.map((p) => Int32Array.from({ length: x.shape[p]! }, (_, o) => o * st[p]!)) };
  });
  gatherKernel("Tile", (x, attrs) => {
    const reps = (attrs as unknown as tf.TileAttrs).reps;
    if (reps.length !== x.shape.length) return undefined;
    const st = stridesOf(x.shape);
    const shape = x.shape.map((n, d) => n * reps[d]!);
    return {
      shape,
      maps: shape.map((n, d) => Int32Array.from({ length: n }, (_, o) => (o % x.shape[d]!) * st[d]!)),
    };
  });

  const zerosCpu = cpuKernel("ZerosLike");
  reg("ZerosLike", (args) => {
    const x = need(args.inputs, "x");
    if (x.dtype !== "float32") return zerosCpu(args);
    const b = args.backend as Backend;
    return out(b, [...x.shape], b.alloc(size(x.shape)).fill(0));
  });

  // Matrix products of rank-3 operands with equal batch sizes; anything else (broadcast batches, fused
  // activations other than linear) goes to cpu's kernels.
  const matmul = (
    a: tf.TensorInfo,
    c: tf.TensorInfo,
    transposeA: boolean,
    transposeB: boolean,
    b: Backend,
  ): tf.TensorInfo | undefined => {
    if (a.dtype !== "float32" || c.dtype !== "float32" || a.shape.length !== 3 || c.shape.length !== 3) {
      return;
    }
    const [batch, a1, a2] = a.shape as [number, number, number];
    const [batchB, b1, b2] = c.shape as [number, number, number];
    const [m, k] = transposeA ? [a2, a1] : [a1, a2];
    const [kb, n] = transposeB ? [b2, b1] : [b1, b2];
    if (batch !== batchB || k !== kb || batch * m * n * k === 0) return;
    const y = b.alloc(batch * m * n);
    ops.matmul(batch, m, k, n, transposeA, transposeB, f32(b, a), f32(b, c), y);
    return out(b, [batch, m, n], y);
  };
  const bmmCpu = cpuKernel("BatchMatMul");
  reg("BatchMatMul", (args) => {
    const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
    const b = args.backend as Backend;
    return matmul(need(args.inputs, "a"), need(args.inputs, "b"), transposeA, transposeB, b) ?? bmmCpu(args);
  });
  const fusedMmCpu = cpuKernel("_FusedMatMul");
  reg("_FusedMatMul", (args) => {
    const { bias, preluActivationWeights } = args.inputs as {
      bias?: tf.TensorInfo;
      preluActivationWeights?: unknown;
    };
    const { transposeA, transposeB, activation } = args.attrs as unknown as tf.BatchMatMulAttrs & {
      activation?: string;
    };
    if (preluActivationWeights !== undefined || (activation ?? "linear") !== "linear") {
      return fusedMmCpu(args);
    }
    const b = args.backend as Backend;
    const y = matmul(need(args.inputs, "a"), need(args.inputs, "b"), transposeA, transposeB, b);
    if (!y) return fusedMmCpu(args);
    if (bias === undefined) return y;
    const r = broadcast("Add", y.shape, f32(b, y), bias.shape, f32(b, bias), (n) => b.alloc(n));
    b.disposeIntermediateTensorInfo(y);
    return out(b, r.shape, r.values);
  });

  const meanCpu = cpuKernel("Mean");
  reg("Mean", (args) => {
    const x = need(args.inputs, "x");
    const { axis, keepDims } = args.attrs as unknown as tf.MeanAttrs;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort();
    if (x.dtype !== "float32" || x.shape.length !== 4 || axes.join() !== "1,2" || size(x.shape) === 0) {
      return meanCpu(args);
    }
    const b = args.backend as Backend;
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const y = b.alloc(n * c);
    meanHW(f32(b, x), n, h * w, c, y);
    return out(b, keepDims ? [n, 1, 1, c] : [n, c], y);
  });

  /** One variable's update into pooled arrays: new value and accumulation. */
  const momentumOutputs = (
    b: Backend,
    [value, accumulation, gradient]: readonly [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo],
    momentum: number,
    negLr: number,
  ): [tf.TensorInfo, tf.TensorInfo] => {
    const n = size(value.shape);
    const newValue = b.alloc(n), newAcc = b.alloc(n);
    momentumStep(f32(b, value), f32(b, accumulation), f32(b, gradient), momentum, negLr, newValue, newAcc);
    return [out(b, [...value.shape], newValue), out(b, [...value.shape], newAcc)];
  };

  reg(MOMENTUM_STEP, ({ inputs, attrs, backend }) => {
    const value = need(inputs, "value"), accumulation = need(inputs, "accumulation");
    const gradient = need(inputs, "gradient");
    const { momentum, negLr } = attrs as unknown as { momentum: number; negLr: number };
    return momentumOutputs(backend as Backend, [value, accumulation, gradient], momentum, negLr);
  });

  reg(MOMENTUM_STEPS, ({ inputs, attrs, backend }) => {
    const { count, momentum, negLr } = momentumStepsAttrs(attrs);
    const outs: tf.TensorInfo[] = [];
    for (let i = 0; i < count; i++) {
      outs.push(...momentumOutputs(backend as Backend, momentumStepsTensors(inputs, i), momentum, negLr));
    }
    return outs;
  });

  reg(MOVING_STATS, ({ inputs, attrs, backend }) => {
    const b = backend as Backend;
    const decay = decayOf(attrs);
    return MOVING_STATS_INPUTS.map(([movingName, batchName]) => {
      const moving = need(inputs, movingName), batch = need(inputs, batchName);
      const y = new Float32Array(size(moving.shape));
      movingAverage(f32(b, moving), f32(b, batch), decay, y);
      return out(b, [...moving.shape], y);
    });
  });
}
