/**
 * `Sum` and `Mean` over every axis but the last, and `SplitV`, for the wasm backend, bit-identical to the stock
 * kernels and faster.
 *
 * Batch norm reduces an NHWC tensor over N·H·W for each channel. tfjs-backend-wasm 4.22 does that by first
 * transposing the channels to the front (a strided copy that costs more than the sum itself) and then summing each
 * channel's values in order in float32; on the CPU DenseNet at 32 px these two kernels took 19% of a fine-tuning
 * step. Here the same float32 sums run in one pass over the untransposed data, one float32 accumulator per channel
 * (a `Float32Array`, so every addition rounds to float32 as the C++ loop's does) adding values in the same order,
 * which gives the same bits; `Mean` divides the float32 sum by the count as the stock kernel does. Other axes and
 * dtypes go to the stock kernels.
 *
 * `SplitV` (the gradient of DenseNet's concatenations) is a plain copy; the stock one slices each part with a
 * general strided loop. Here each row is copied part by part.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { replaceKernel, type WasmBackendLike } from "./replace.ts";

function leadingAxes(axis: number | number[], rank: number): boolean {
  const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a));
  if (axes.length !== rank - 1 || rank < 2) return false;
  // In order only: the stock kernel sums in the order the axes are given.
  return axes.every((a, i) => a === i);
}

/**
 * Per-channel float32 sums of `x` viewed as `[rows, channels]`, summed row by row: the values and rounding of a
 * sequential float32 loop per channel.
 *
 * @example
 * ```ts
 * import { channelSums } from "./channel_reduce.ts";
 * const s = channelSums(new Float32Array([1, 2, 3, 4]), 2);
 * console.assert(s[0] === 4 && s[1] === 6);
 * ```
 */
export function channelSums(
  x: Float32Array,
  channels: number,
  out: Float32Array<ArrayBufferLike> = new Float32Array(channels),
): Float32Array<ArrayBufferLike> {
  out.fill(0);
  const rows = x.length / channels;
  for (let r = 0; r < rows; r++) {
    const o = r * channels;
    for (let c = 0; c < channels; c++) out[c]! += x[o + c]!;
  }
  return out;
}

function reduceKernel(name: "Sum" | "Mean", backendName: string): void {
  replaceKernel(name, backendName, (args, stock) => {
    const x = args.inputs["x"] as tf.TensorInfo;
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    if (x.dtype !== "float32" || !leadingAxes(axis, x.shape.length)) return stock.kernelFunc(args);
    const backend = args.backend as unknown as WasmBackendLike;
    const channels = x.shape[x.shape.length - 1]!;
    const shape = keepDims ? [...x.shape.slice(0, -1).map(() => 1), channels] : [channels];
    const out = backend.makeOutput(shape, "float32");
    // Views after makeOutput: allocating may grow (and so detach) the wasm memory.
    const values = backend.typedArrayFromHeap(x);
    const sums = channelSums(values, channels, backend.typedArrayFromHeap(out));
    if (name === "Mean") {
      const count = values.length / channels;
      for (let c = 0; c < channels; c++) sums[c] = sums[c]! / count;
    }
    return out;
  });
}

function splitVKernel(backendName: string): void {
  replaceKernel("SplitV", backendName, (args, stock) => {
    const x = args.inputs["x"] as tf.TensorInfo;
    if (x.dtype !== "float32") return stock.kernelFunc(args);
    const { numOrSizeSplits, axis } = args.attrs as unknown as {
      numOrSizeSplits: number | number[];
      axis: number;
    };
    const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax) as number[];
    const backend = args.backend as unknown as WasmBackendLike;
    const outs = sizes.map((s) => backend.makeOutput(x.shape.map((d, i) => (i === ax ? s : d)), "float32"));
    const inner = x.shape.slice(ax + 1).reduce((a, b) => a * b, 1);
    const rows = x.shape.slice(0, ax).reduce((a, b) => a * b, 1);
    const src = backend.typedArrayFromHeap(x);
    const rowLength = x.shape[ax]! * inner;
    let offset = 0;
    outs.forEach((info, k) => {
      const part = sizes[k]! * inner;
      const dst = backend.typedArrayFromHeap(info);
      for (let r = 0; r < rows; r++) {
        const from = r * rowLength + offset, to = r * part;
        for (let j = 0; j < part; j++) dst[to + j] = src[from + j]!;
      }
      offset += part;
    });
    return outs;
  });
}

/**
 * Replace `Sum`, `Mean` and `SplitV` on a tfjs-backend-wasm backend (see the module note). Calling it again is a
 * no-op.
 *
 * @example
 * ```ts ignore
 * import { registerChannelReduce } from "./channel_reduce.ts";
 * registerChannelReduce("wasm");
 * ```
 */
export function registerChannelReduce(backendName: string): void {
  reduceKernel("Sum", backendName);
  reduceKernel("Mean", backendName);
  splitVKernel(backendName);
}
