/**
 * `Conv2D` (and `FusedConv2D` without bias or activation) on WebGPU as a register-blocked implicit matrix
 * product.
 *
 * y[m, o] = Σ over taps (ky, kx) and channels c of x[n, oy·sh + ky − pt, ox·sw + kx − pl, c] · w[ky, kx, c, o],
 * with m = (n, oy, ox). Each invocation computes {@linkcode ROWS} output pixels × 4·V output channels in
 * registers (one vec4 accumulator per pixel and 4 channels), walking the taps and, within a tap, the input
 * channels four at a time: per step it loads one vec4 of each pixel's input (zero outside the image, decided
 * once per tap) and four vec4 rows of the filter, then does ROWS·4·V vec4 multiply-adds. No workgroup memory
 * and no barriers: neighbouring invocations share filter rows through the cache. DenseNet's convolutions have
 * few output channels (12 or 32 new features, 48 or 128 in a bottleneck), the shape where tfjs-webgpu's tiled
 * kernels waste most of their tiles; measured on lavapipe, see docs/backends.md.
 *
 * Covered: NHWC, dilation 1, float32. Input channels a multiple of 4 are read as vec4, any other count (an
 * RGB stem) one at a time; output channels not a multiple of 4 (a transition of odd width) are read from the
 * filter and written one at a time. The rest goes to the stock kernel. Deterministic:
 * every output sums its terms in the same order (taps, then channels).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { blockProgram, type GpuUniform, ints, unroll, type WebGpuBackendLike } from "./program.ts";

/** Output pixels per invocation. */
export const ROWS = 8;

/**
 * Output vec4s (4 channels each) per invocation for `o` output channels: 3 where it divides, else 2, else 1.
 *
 * @example
 * ```ts
 * import { vecsPerInvocation } from "./conv2d.ts";
 * console.assert(vecsPerInvocation(12) === 3 && vecsPerInvocation(32) === 2 && vecsPerInvocation(20) === 1);
 * ```
 */
export function vecsPerInvocation(o: number): number {
  const o4 = o / 4;
  return o4 % 3 === 0 ? 3 : o4 % 2 === 0 ? 2 : 1;
}

/**
 * The WGSL of one forward program: `cv` input channels per load (4 or 1), `v` output vec4s per invocation;
 * `ragged` (output channels not a multiple of 4, `v` 1): the filter is read one value at a time into vec4s
 * (indices past the last channel clamped) and the output written one value at a time, the padding lanes
 * dropped.
 *
 * @example
 * ```ts
 * import { conv2dCode } from "./conv2d.ts";
 * console.assert(conv2dCode(4, 3).includes("acc7_2") && conv2dCode(1, 1, true).includes("fn filterVec"));
 * ```
 */
export function conv2dCode(cv: 4 | 1, v: number, ragged = false): string {
  const lanes = cv === 4 ? ["x", "y", "z", "w"] : [""];
  const each = (f: (r: number) => string) => unroll(ROWS, f);
  const eachRv = (f: (r: number, j: number) => string) => each((r) => unroll(v, (j) => f(r, j)));
  const filterVec = ragged
    ? `
  fn filterVec(row : i32, o0 : i32) -> vec4<f32> {
    let last = uniforms.o - 1;
    return vec4<f32>(w[row + min(o0, last)], w[row + min(o0 + 1, last)], w[row + min(o0 + 2, last)],
      w[row + min(o0 + 3, last)]);
  }`
    : "";
  return `${filterVec}
  fn main(index : i32) {
    ${blockStart(v)}
    let ohw = uniforms.oh * uniforms.ow;
    ${
    each((r) => `
    let m${r} = min(row0 + ${r}, uniforms.m - 1);
    let n${r} = m${r} / ohw;
    let oy${r} = (m${r} - n${r} * ohw) / uniforms.ow;
    let y${r} = oy${r} * uniforms.sh - uniforms.pt;
    let x${r} = (m${r} - n${r} * ohw - oy${r} * uniforms.ow) * uniforms.sw - uniforms.pl;
    let img${r} = n${r} * uniforms.h;`)
  }
    ${eachRv((r, j) => `var acc${r}_${j} = vec4<f32>(0.0);`)}
    for (var ky = 0; ky < uniforms.kh; ky = ky + 1) {
      for (var kx = 0; kx < uniforms.kw; kx = kx + 1) {
        ${
    each((r) => `
        let iy${r} = y${r} + ky;
        let ix${r} = x${r} + kx;
        let ok${r} = iy${r} >= 0 && iy${r} < uniforms.h && ix${r} >= 0 && ix${r} < uniforms.w;
        let base${r} = select(0, ((img${r} + iy${r}) * uniforms.w + ix${r}) * uniforms.cq, ok${r});`)
  }
        let tapRow = (ky * uniforms.kw + kx) * uniforms.cq * ${cv};
        for (var c = 0; c < uniforms.cq; c = c + 1) {
          ${
    each((r) => `let a${r} = select(${cv === 4 ? "vec4<f32>(0.0)" : "0.0"}, x[base${r} + c], ok${r});`)
  }
          let wRow = (tapRow + c * ${cv}) * uniforms.o4 + col;
          ${
    lanes.map((lane, k) =>
      unroll(
        v,
        (j) =>
          ragged
            ? `let w${k}_${j} = filterVec((tapRow + c * ${cv} + ${k}) * uniforms.o, (col + ${j}) * 4);`
            : `let w${k}_${j} = w[wRow + ${k} * uniforms.o4 + ${j}];`,
      ) + "\n" +
      eachRv((r, j) =>
        `acc${r}_${j} = fma(vec4<f32>(a${r}${lane ? "." + lane : ""}), w${k}_${j}, acc${r}_${j});`
      )
    ).join("\n")
  }
        }
      }
    }
    ${storeBlock(v, ragged, "o", "o4")}
  }
`;
}

/**
 * The start of a register-blocked convolution's `main(index)`: leave if past `uniforms.blocks`, else the
 * block's first row `row0` ({@linkcode ROWS} rows per block) and first column group `col` (`v` per block,
 * `uniforms.colBlocks` blocks per row of blocks).
 *
 * @example
 * ```ts
 * import { blockStart } from "./conv2d.ts";
 * console.assert(blockStart(3).includes("let col = (index - rb * uniforms.colBlocks) * 3;"));
 * ```
 */
export function blockStart(v: number): string {
  return `if (index >= uniforms.blocks) {
      return;
    }
    let rb = index / uniforms.colBlocks;
    let col = (index - rb * uniforms.colBlocks) * ${v};
    let row0 = rb * ${ROWS};`;
}

/**
 * The store of a register-blocked convolution's {@linkcode ROWS}×`v` vec4 accumulators `acc{r}_{j}` for rows
 * `row0 + r` (those below `uniforms.m`) and column groups `col + j`: whole vec4s into a vec4 output whose rows
 * hold `groups` vec4s, or, `ragged`, the values below `width` one at a time into a float output whose rows
 * hold `width` values (the uniform names are passed).
 *
 * @example
 * ```ts
 * import { storeBlock } from "./conv2d.ts";
 * console.assert(storeBlock(1, false, "o", "o4").includes("result[(row0 + 7) * uniforms.o4 + col + 0] = acc7_0;"));
 * ```
 */
export function storeBlock(v: number, ragged: boolean, width: string, groups: string): string {
  return unroll(ROWS, (r) => `
    if (row0 + ${r} < uniforms.m) {
      ${
    unroll(v, (j) =>
      ragged
        ? unroll(
          4,
          (t) =>
            `if ((col + ${j}) * 4 + ${t} < uniforms.${width}) { result[(row0 + ${r}) * uniforms.${width} + (col + ${j}) * 4 + ${t}] = acc${r}_${j}[${t}]; }`,
        )
        : `result[(row0 + ${r}) * uniforms.${groups} + col + ${j}] = acc${r}_${j};`)
  }
    }`);
}

/**
 * Whether a convolution is one the register-blocked kernels take: NHWC, dilation 1, float32 operands, no empty
 * tensor.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { blockedConvCovers } from "./conv2d.ts";
 * const info = tf.backend_util.computeConv2DInfo([1, 4, 4, 3], [3, 3, 3, 8], 1, 1, "same");
 * const t = (shape: number[], dtype = "float32") => ({ shape, dtype }) as unknown as tf.TensorInfo;
 * console.assert(blockedConvCovers(info, t([1, 4, 4, 3]), t([3, 3, 3, 8])));
 * console.assert(!blockedConvCovers(info, t([1, 4, 4, 3], "int32"), t([3, 3, 3, 8])));
 * ```
 */
export function blockedConvCovers(info: tf.backend_util.Conv2DInfo, ...operands: tf.TensorInfo[]): boolean {
  return info.dataFormat === "channelsLast" && info.dilationHeight === 1 && info.dilationWidth === 1 &&
    operands.every((t) => t.dtype === "float32" && !t.shape.includes(0));
}

/**
 * The convolution's geometry as uniform fields, which every register-blocked convolution kernel declares after
 * its own: input and output height and width, filter height and width, strides, top and left padding, input
 * and output channels. {@linkcode geometryUniforms} gives the values in the same order.
 */
export const GEOMETRY_UNIFORMS =
  "h : i32, w : i32, oh : i32, ow : i32, kh : i32, kw : i32, sh : i32, sw : i32, " +
  "pt : i32, pl : i32, c : i32, o : i32,";

/**
 * The values of {@linkcode GEOMETRY_UNIFORMS} for a convolution.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { geometryUniforms } from "./conv2d.ts";
 * const info = tf.backend_util.computeConv2DInfo([1, 6, 5, 4], [3, 3, 4, 8], 2, 1, "same");
 * const values = geometryUniforms(info).map((u) => u.data[0]);
 * // "same" at stride 2: height 6 pads 1 row (at the bottom), width 5 pads 2 columns (one on the left).
 * console.assert(values.join() === "6,5,3,3,3,3,2,2,0,1,4,8");
 * ```
 */
export function geometryUniforms(info: tf.backend_util.Conv2DInfo): GpuUniform[] {
  return ints(
    info.inHeight,
    info.inWidth,
    info.outHeight,
    info.outWidth,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
    info.inChannels,
    info.outChannels,
  );
}

const UNIFORMS = `colBlocks : i32, m : i32, o4 : i32, cq : i32, ${GEOMETRY_UNIFORMS}`;

/**
 * The forward convolution on the WebGPU backend; `undefined` for what it does not cover (NCHW, dilation,
 * non-float), which the caller hands to the stock kernel.
 *
 * @example
 * ```ts ignore
 * import { conv2dWebGpu } from "./conv2d.ts";
 * const y = conv2dWebGpu(backend, x, filter, info);
 * ```
 */
export function conv2dWebGpu(
  backend: WebGpuBackendLike,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo | undefined {
  if (!blockedConvCovers(info, x, filter) || info.outHeight * info.outWidth === 0) return undefined;
  const c = info.inChannels, cv = c % 4 === 0 ? 4 : 1;
  const o = info.outChannels, ragged = o % 4 !== 0;
  const v = ragged ? 1 : vecsPerInvocation(o);
  const m = info.batchSize * info.outHeight * info.outWidth;
  const o4 = Math.ceil(o / 4);
  const colBlocks = o4 / v;
  const blocks = Math.ceil(m / ROWS) * colBlocks;
  const program = blockProgram(
    `albenchConv2D_${cv}_${v}${ragged ? "_ragged" : ""}`,
    ["x", "w"],
    [info.batchSize, info.outHeight, info.outWidth, o],
    blocks,
    UNIFORMS,
    () => conv2dCode(cv, v, ragged),
    [cv, ragged ? 1 : 4],
    !ragged,
  );
  const uniforms = [...ints(blocks, colBlocks, m, o4, c / cv), ...geometryUniforms(info)];
  return backend.runWebGPUProgram(program, [x, filter], "float32", uniforms);
}
