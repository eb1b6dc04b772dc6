/**
 * `AvgPoolGrad` for non-overlapping pooling (filter = stride, no padding, a power-of-two window such as
 * DenseNet's 2x2 transitions) on the wasm backend: every input pixel lies in exactly one window, so its gradient
 * is that window's output gradient times 1/(window size), an exact power-of-two scaling, which gives the stock
 * kernel's bits. The stock kernel (a general loop over windows) took 3 ms a call on the CPU DenseNet at 32 px;
 * other configurations go to it.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { replaceKernel, type WasmBackendLike } from "./replace.ts";

interface AvgPoolGradAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: "valid" | "same" | number;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/**
 * The input gradient of non-overlapping `fh × fw` average pooling of an NHWC input of `shape`, written to `dx`.
 *
 * @example
 * ```ts
 * import { avgPoolGradTiled } from "./avg_pool_grad.ts";
 * const dx = new Float32Array(4);
 * avgPoolGradTiled(new Float32Array([8]), dx, [1, 2, 2, 1], 2, 2);
 * console.assert(dx.every((v) => v === 2));
 * ```
 */
export function avgPoolGradTiled(
  dy: Float32Array,
  dx: Float32Array,
  shape: readonly [number, number, number, number],
  fh: number,
  fw: number,
): void {
  const [b, h, w, c] = shape;
  const oh = h / fh, ow = w / fw, scale = 1 / (fh * fw);
  for (let n = 0; n < b; n++) {
    for (let y = 0; y < h; y++) {
      const dyRow = (n * oh + Math.floor(y / fh)) * ow;
      const dxRow = (n * h + y) * w;
      for (let x = 0; x < w; x++) {
        const from = (dyRow + Math.floor(x / fw)) * c, to = (dxRow + x) * c;
        for (let k = 0; k < c; k++) dx[to + k] = dy[from + k]! * scale;
      }
    }
  }
}

/**
 * Replace `AvgPoolGrad` on `backendName` (a tfjs-backend-wasm backend), keeping the stock kernel for the
 * configurations the module note excludes.
 *
 * @example
 * ```ts ignore
 * import { registerAvgPoolGrad } from "./avg_pool_grad.ts";
 * registerAvgPoolGrad("wasm");
 * ```
 */
export function registerAvgPoolGrad(backendName: string): void {
  replaceKernel("AvgPoolGrad", backendName, (args, stock) => {
    const dy = args.inputs["dy"] as tf.TensorInfo, input = args.inputs["input"] as tf.TensorInfo;
    const a = args.attrs as unknown as AvgPoolGradAttrs;
    const pair = (v: [number, number] | number) => (typeof v === "number" ? [v, v] : v);
    const [fh, fw] = pair(a.filterSize), [sh, sw] = pair(a.strides);
    const [, h, w] = input.shape as [number, number, number, number];
    const window = fh! * fw!;
    const tiled = fh === sh && fw === sw && h % fh! === 0 && w % fw! === 0 &&
      (a.pad === "valid" || a.pad === 0 || (a.pad === "same" && fh === 1 && fw === 1)) &&
      (window & (window - 1)) === 0 && dy.dtype === "float32" && input.shape.length === 4;
    if (!tiled) return stock.kernelFunc(args);
    const backend = args.backend as unknown as WasmBackendLike;
    const out = backend.makeOutput([...input.shape], "float32");
    avgPoolGradTiled(
      backend.typedArrayFromHeap(dy),
      backend.typedArrayFromHeap(out),
      input.shape as [number, number, number, number],
      fh!,
      fw!,
    );
    return out;
  });
}
