/**
 * `Conv2DBackpropFilter` for backends that lack it (tfjs-backend-wasm 4.22 does).
 *
 * The filter gradient of a stride-`s`, dilation-1 convolution is itself a convolution:
 *
 *   dW[kh, kw, ci, co] = Σ_{b, oh, ow} Xp[b, kh + s·oh, kw + s·ow, ci] · dY[b, oh, ow, co]
 *
 * where `Xp` is the input with the forward pass's padding applied. Reading `ci` as the batch axis and `b` as the
 * channel axis, this is a stride-1, dilation-`s` forward convolution of `Xpᵀ = [Ci, H, W, B]` with the filter
 * `dYᵀ = [OH, OW, B, Co]`, giving `[Ci, KH, KW, Co]`. 1x1 stride-1 filters (most of DenseNet's) reduce to a single
 * matrix product `Xᵀ·dY` over all pixels, which is much faster. Both paths run on the backend's own fast kernels.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { borrowInput } from "./borrow.ts";

/** The kernel name this module registers. */
export const CONV2D_BACKPROP_FILTER = "Conv2DBackpropFilter";

interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number;
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  filterShape: [number, number, number, number];
}

/**
 * `fast`: albench's kernel. `plain`: the same with wasm's slow transpose-flag matrix product for 1x1 filters, the
 * kernel as first added, which `deno task perf` uses in its stock baseline.
 */
export type Conv2DBackpropFilterForm = "fast" | "plain";

/**
 * The filter gradient computed with forward ops, on whatever backend is active.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { conv2dBackpropFilterViaConv } from "./conv2d_backprop_filter.ts";
 * await tf.setBackend("cpu");
 * const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
 * const dy = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
 * const dw = conv2dBackpropFilterViaConv(x, dy, [3, 3, 1, 1], 1, "same");
 * console.assert(dw.shape.join() === "3,3,1,1");
 * ```
 */
export function conv2dBackpropFilterViaConv(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: [number, number] | number,
  pad: Conv2DBackpropFilterAttrs["pad"],
  dimRoundingMode?: "floor" | "round" | "ceil",
  form: Conv2DBackpropFilterForm = "fast",
): tf.Tensor4D {
  const [kh, kw, ci, co] = filterShape;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape,
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    "channelsLast",
  );
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  return tf.tidy(() => {
    const [b, h, w] = x.shape;
    if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && oh === h && ow === w) {
      const x2 = tf.reshape(x, [b * h * w, ci]);
      const dy2 = tf.reshape(dy, [b * oh * ow, co]);
      // An explicit transpose: wasm's matMul with a transpose flag runs 5x slower (measured). The "plain" form,
      // the kernel as first added, keeps the flag: it is part of the performance baseline.
      const dw = form === "plain" ? tf.matMul(x2, dy2, true, false) : tf.matMul(tf.transpose(x2), dy2);
      return tf.reshape(dw, [1, 1, ci, co]) as tf.Tensor4D;
    }
    // Rows and columns of the padded input that the forward pass actually read.
    const needH = kh + sh * (oh - 1);
    const needW = kw + sw * (ow - 1);
    const { top, left } = info.padInfo;
    const bottom = Math.max(0, needH - top - h);
    const right = Math.max(0, needW - left - w);
    let xp: tf.Tensor4D = x;
    if (top > 0 || left > 0 || bottom > 0 || right > 0) {
      xp = tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]);
    }
    if (xp.shape[1] !== needH || xp.shape[2] !== needW) {
      xp = tf.slice(xp, [0, 0, 0, 0], [b, needH, needW, ci]);
    }
    const xt = tf.transpose(xp, [3, 1, 2, 0]); // [Ci, H', W', B]
    const dyt = tf.transpose(dy, [1, 2, 0, 3]); // [OH, OW, B, Co]
    const r = tf.conv2d(xt, dyt as tf.Tensor4D, 1, "valid", "NHWC", [sh, sw]); // [Ci, KH, KW, Co]
    return tf.transpose(r, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/**
 * Register {@linkcode conv2dBackpropFilterViaConv} as `Conv2DBackpropFilter` for `backendName` unless that backend
 * already has one. Returns whether it registered.
 *
 * Kernel inputs are borrowed as tensors (see `borrow.ts`).
 *
 * @example
 * ```ts
 * import { registerConv2DBackpropFilter } from "./conv2d_backprop_filter.ts";
 * registerConv2DBackpropFilter("cpu"); // cpu has its own kernel, so this returns false
 * ```
 */
export function registerConv2DBackpropFilter(
  backendName: string,
  form: Conv2DBackpropFilterForm = "fast",
): boolean {
  if (tf.getKernel(CONV2D_BACKPROP_FILTER, backendName) !== undefined) return false;
  tf.registerKernel({
    kernelName: CONV2D_BACKPROP_FILTER,
    backendName,
    kernelFunc: ({ inputs, attrs, backend }) => {
      const a = attrs as unknown as Conv2DBackpropFilterAttrs;
      if (a.dataFormat !== "NHWC") {
        throw new Error(`Conv2DBackpropFilter (albench): only NHWC is supported, got ${a.dataFormat}`);
      }
      const x = borrowInput<tf.Rank.R4>(backend, inputs["x"], "x");
      const dy = borrowInput<tf.Rank.R4>(backend, inputs["dy"], "dy");
      try {
        return conv2dBackpropFilterViaConv(x, dy, a.filterShape, a.strides, a.pad, a.dimRoundingMode, form);
      } finally {
        x.dispose();
        dy.dispose();
      }
    },
  });
  return true;
}
