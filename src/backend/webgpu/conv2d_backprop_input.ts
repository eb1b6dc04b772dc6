/**
 * `Conv2DBackpropInput` (the input gradient, also `conv2dTranspose`) on WebGPU as a register-blocked implicit
 * matrix product, the counterpart of ./conv2d.ts.
 *
 * dx[m, c] = Σ over taps (ky, kx) and output channels o of dy[n, oy, ox, o] · w[ky, kx, c, o], with
 * m = (n, iy, ix), oy = (iy + pt − ky) / sh and ox = (ix + pl − kx) / sw where those divide exactly and fall
 * inside dy. Each invocation computes {@linkcode ROWS} input pixels × 4·V input channels in registers. The
 * reduction runs over o, four at a time, so both operands are contiguous vec4 loads (dy's channels, and the
 * filter's last axis): per step one vec4 of dy per pixel and a 4×4 block of the filter per output vec4, each
 * pixel's vec4 times the block (four dot products). No workgroup memory, no barriers.
 *
 * Covered: NHWC, dilation 1, float32, any stride and padding. Output channels are reduced four at a time where
 * they are a multiple of 4, else one at a time (a 4-vector of filter values per output vec4); input channels
 * not a multiple of 4 (an RGB input's gradient, which tfjs's fused convolution computes although training
 * never reads it) are written one at a time. The rest goes to the stock kernel. Deterministic: every
 * output sums its terms in the same order.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import {
  blockedConvCovers,
  blockStart,
  GEOMETRY_UNIFORMS,
  geometryUniforms,
  ROWS,
  storeBlock,
  vecsPerInvocation,
} from "./conv2d.ts";
import { blockProgram, ints, unroll, type WebGpuBackendLike, zeros } from "./program.ts";

/**
 * The WGSL of one input-gradient program: `ov` output channels per load (4, or 1 where they are not a multiple
 * of 4), `v` input-channel vec4s per invocation; `ragged` (input channels not a multiple of 4, `v` 1): filter
 * rows past the last channel are clamped and the output is written one value at a time, the padding lanes
 * dropped.
 *
 * @example
 * ```ts
 * import { conv2dBackpropInputCode } from "./conv2d_backprop_input.ts";
 * console.assert(conv2dBackpropInputCode(4, 2).includes("acc7_1"));
 * console.assert(conv2dBackpropInputCode(4, 1, true).includes("uniforms.c - 1"));
 * ```
 */
export function conv2dBackpropInputCode(ov: 4 | 1, v: number, ragged = false): string {
  const each = (f: (r: number) => string) => unroll(ROWS, f);
  const eachRv = (f: (r: number, j: number) => string) => each((r) => unroll(v, (j) => f(r, j)));
  return `
  fn main(index : i32) {
    ${blockStart(v)}
    let hw = uniforms.h * uniforms.w;
    ${
    each((r) => `
    let m${r} = min(row0 + ${r}, uniforms.m - 1);
    let n${r} = m${r} / hw;
    let iy${r} = (m${r} - n${r} * hw) / uniforms.w;
    let y${r} = iy${r} + uniforms.pt;
    let x${r} = m${r} - n${r} * hw - iy${r} * uniforms.w + uniforms.pl;
    let img${r} = n${r} * uniforms.oh;`)
  }
    ${eachRv((r, j) => `var acc${r}_${j} = vec4<f32>(0.0);`)}
    for (var ky = 0; ky < uniforms.kh; ky = ky + 1) {
      for (var kx = 0; kx < uniforms.kw; kx = kx + 1) {
        ${
    each((r) => `
        let ty${r} = y${r} - ky;
        let tx${r} = x${r} - kx;
        let oy${r} = ty${r} / uniforms.sh;
        let ox${r} = tx${r} / uniforms.sw;
        let ok${r} = ty${r} >= 0 && tx${r} >= 0 && oy${r} * uniforms.sh == ty${r} && ox${r} * uniforms.sw == tx${r} &&
          oy${r} < uniforms.oh && ox${r} < uniforms.ow;
        let base${r} = select(0, ((img${r} + oy${r}) * uniforms.ow + ox${r}) * uniforms.oq, ok${r});`)
  }
        let tapRow = (ky * uniforms.kw + kx) * uniforms.c;
        for (var q = 0; q < uniforms.oq; q = q + 1) {
          ${
    unroll(v, (j) =>
      `let f${j} = ${ov === 4 ? "mat4x4<f32>" : "vec4<f32>"}(${
        [0, 1, 2, 3].map((k) =>
          `w[(tapRow + ${
            ragged ? `min((col + ${j}) * 4 + ${k}, uniforms.c - 1)` : `(col + ${j}) * 4 + ${k}`
          }) * uniforms.oq + q]`
        ).join(", ")
      });`)
  }
          ${
    each((r) => `let d${r} = select(${ov === 4 ? "vec4<f32>(0.0)" : "0.0"}, dy[base${r} + q], ok${r});`)
  }
          ${eachRv((r, j) => `acc${r}_${j} = acc${r}_${j} + d${r} * f${j};`)}
        }
      }
    }
    ${storeBlock(v, ragged, "c", "c4")}
  }
`;
}

const UNIFORMS = `colBlocks : i32, m : i32, c4 : i32, oq : i32, ${GEOMETRY_UNIFORMS}`;

/**
 * The input gradient of an NHWC convolution on the WebGPU backend; `undefined` for what it does not cover
 * (NCHW, dilation, non-float), which the caller hands to the stock kernel.
 *
 * @example
 * ```ts ignore
 * import { conv2dBackpropInputWebGpu } from "./conv2d_backprop_input.ts";
 * const dx = conv2dBackpropInputWebGpu(backend, dy, filter, info);
 * ```
 */
export function conv2dBackpropInputWebGpu(
  backend: WebGpuBackendLike,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo | undefined {
  if (!blockedConvCovers(info, filter) || dy.dtype !== "float32") return undefined;
  // dy must have the shape the convolution implies (a conv2dTranspose given an inconsistent output shape would
  // read past it): anything else goes to the stock kernel.
  const dyShape = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
  if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== dyShape[i])) return undefined;
  const dxShape = [info.batchSize, info.inHeight, info.inWidth, info.inChannels];
  if (dxShape.includes(0)) return undefined;
  // No output pixels (a valid convolution with no output): every input gradient is a sum over nothing.
  if (dyShape.includes(0) || info.filterHeight * info.filterWidth === 0) return zeros(backend, dxShape);
  const c = info.inChannels, ragged = c % 4 !== 0;
  const ov = info.outChannels % 4 === 0 ? 4 : 1;
  const v = ragged ? 1 : vecsPerInvocation(c);
  const m = info.batchSize * info.inHeight * info.inWidth;
  const c4 = Math.ceil(c / 4);
  const colBlocks = c4 / v;
  const blocks = Math.ceil(m / ROWS) * colBlocks;
  const program = blockProgram(
    `albenchConv2DInputGrad_${ov}_${v}${ragged ? "_ragged" : ""}`,
    ["dy", "w"],
    dxShape,
    blocks,
    UNIFORMS,
    () => conv2dBackpropInputCode(ov, v, ragged),
    [ov, ov],
    !ragged,
  );
  const uniforms = [...ints(blocks, colBlocks, m, c4, info.outChannels / ov), ...geometryUniforms(info)];
  return backend.runWebGPUProgram(program, [dy, filter], "float32", uniforms);
}
