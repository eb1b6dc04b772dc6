/**
 * A correct `MaxPoolGrad` for the wasm backend.
 *
 * tfjs-backend-wasm 4.22's `MaxPoolGrad` (and `MaxPoolWithArgmax`, which shares its index logic) routes some
 * gradients to the wrong input element once the batch or the channel count exceeds 1: the conformance suite
 * caught a relative error of 0.3 on a 3x3/2 "same" pool of a [2, 9, 9, 3] input, and a brute-force count of window
 * maxima agrees with the `cpu` backend, not with wasm. This kernel replaces it with a direct loop: every output
 * cell sends its gradient to the first maximum of its window in row-major order (the `cpu` backend's rule for
 * ties). It reads and writes host memory; for the stem pool of a DenseNet that is a few milliseconds per batch.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

interface MaxPoolGradAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/**
 * The max-pool input gradient by direct loops over NHWC arrays.
 *
 * @example
 * ```ts
 * import { maxPoolGradLoop } from "./max_pool_grad.ts";
 * // 1x2x2x1 input, 2x2/2 valid pool: the gradient goes to the maximum (value 4, index 3).
 * const dx = maxPoolGradLoop(new Float32Array([1, 2, 3, 4]), new Float32Array([5]), [1, 2, 2, 1], 2, 2, "valid");
 * console.assert(dx.join() === "0,0,0,5");
 * ```
 */
export function maxPoolGradLoop(
  x: Float32Array,
  dy: Float32Array,
  xShape: [number, number, number, number],
  filterSize: MaxPoolGradAttrs["filterSize"],
  strides: MaxPoolGradAttrs["strides"],
  pad: MaxPoolGradAttrs["pad"],
  dimRoundingMode?: MaxPoolGradAttrs["dimRoundingMode"],
): Float32Array {
  const info = tf.backend_util.computePool2DInfo(xShape, filterSize, strides, 1, pad, dimRoundingMode);
  const [batch, h, w, c] = xShape;
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const { filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const dx = new Float32Array(x.length);
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < oh; oy++) {
      const y0 = oy * sh - top;
      for (let ox = 0; ox < ow; ox++) {
        const x0 = ox * sw - left;
        const dyBase = ((b * oh + oy) * ow + ox) * c;
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity, at = -1;
          for (let fy = 0; fy < fh; fy++) {
            const yy = y0 + fy;
            if (yy < 0 || yy >= h) continue;
            for (let fx = 0; fx < fw; fx++) {
              const xx = x0 + fx;
              if (xx < 0 || xx >= w) continue;
              const i = ((b * h + yy) * w + xx) * c + ch;
              const v = x[i] as number;
              if (v > best || at < 0) {
                best = v;
                at = i;
              }
            }
          }
          if (at >= 0) dx[at] = (dx[at] as number) + (dy[dyBase + ch] as number);
        }
      }
    }
  }
  return dx;
}

/**
 * Replace `MaxPoolGrad` on `backendName` with {@linkcode maxPoolGradLoop}.
 *
 * @example
 * ```ts ignore
 * import { registerMaxPoolGrad } from "./max_pool_grad.ts";
 * registerMaxPoolGrad("wasm");
 * ```
 */
export function registerMaxPoolGrad(backendName: string): void {
  if (tf.getKernel("MaxPoolGrad", backendName) !== undefined) tf.unregisterKernel("MaxPoolGrad", backendName);
  tf.registerKernel({
    kernelName: "MaxPoolGrad",
    backendName,
    kernelFunc: ({ inputs, attrs, backend }) => {
      const a = attrs as unknown as MaxPoolGradAttrs;
      const input = inputs["input"] as tf.TensorInfo;
      const dy = inputs["dy"] as tf.TensorInfo;
      const read = (t: tf.TensorInfo) => (backend as tf.KernelBackend).readSync(t.dataId) as Float32Array;
      const shape = input.shape as [number, number, number, number];
      const dx = maxPoolGradLoop(
        read(input),
        read(dy),
        shape,
        a.filterSize,
        a.strides,
        a.pad,
        a.dimRoundingMode,
      );
      return tf.tensor4d(dx, shape);
    },
  });
}
