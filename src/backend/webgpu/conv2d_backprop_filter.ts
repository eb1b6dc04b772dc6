/**
 * `Conv2DBackpropFilter` on WebGPU as a register-blocked implicit matrix product with a split reduction.
 *
 * The filter gradient dW[kh, kw, c, o] = Σ over (n, oh, ow) of x[n, oh·sh + kh − pt, ow·sw + kw − pl, c] ·
 * dy[n, oh, ow, o] is a product C[M, N] = Σₖ A[m, k] · B[k, n] with M = KH·KW·C, N = O and K = N·OH·OW, whose
 * operands are read from x and dy on the fly, with no im2col buffer. tfjs-webgpu's stock kernel gives each
 * filter element one thread that walks the whole reduction with scalar loads.
 *
 * Here each invocation holds 8 (or 4) channels of one tap × up to 12 outputs in vec4 registers and walks a
 * range of output rows, loading vec4s of x and dy, with no workgroup memory and no barriers; the output columns
 * whose input lies inside the image are computed once per tap, so the inner loop has no test. Where C or O is
 * not a multiple of 4 (an RGB stem, a transition of odd width) the same kernel reads one value at a time into
 * vec4s, clamping the padding lanes, and writes only the real ones. Where the blocks are too few to fill the
 * device, the reduction is split into ranges of output rows written to a [splits, M·N] buffer and summed by a
 * second program. Deterministic: each sum runs in ascending order, the partials too. Measured 8–37x the stock
 * kernel per call on lavapipe (`bench/webgpu_kernels_bench.ts`); an earlier tiled version (workgroup memory)
 * reached 1.5–7x.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { blockedConvCovers, GEOMETRY_UNIFORMS, geometryUniforms, vecsPerInvocation } from "./conv2d.ts";
import { blockProgram, ints, sumParts, unroll, type WebGpuBackendLike, zeros } from "./program.ts";

/**
 * Invocations a blocked filter gradient aims for, splitting its reduction when the blocks alone are fewer: on a
 * software adapter (a few CPU threads, for which more ranges only mean a longer second pass: 16,384 was 20–60%
 * slower than 4,096 on lavapipe), and on a GPU, which needs tens of thousands of threads in flight to hide
 * memory latency (a choice not yet measured on a GPU).
 */
export const BLOCKED_TARGET_INVOCATIONS = { software: 4096, gpu: 65_536 } as const;

/** How the register-blocked filter gradient divides its work. */
export interface BlockedPlan {
  /** Whether C or O is not a multiple of 4 (one value at a time, 4 channels × 4 outputs per invocation). */
  readonly ragged: boolean;
  /** Input channels per invocation (8 where they divide, else 4). */
  readonly rows: 4 | 8;
  /** Output vec4s per invocation. */
  readonly vecs: number;
  /** Blocks of (tap, `rows` channels). */
  readonly rowBlocks: number;
  /** Blocks of `vecs` output vec4s. */
  readonly colBlocks: number;
  /** Ranges of output rows (n, oy) the reduction is split into (1: no second pass). */
  readonly splits: number;
  /** Output rows in each range but possibly the last. */
  readonly rowsPerSplit: number;
}

/**
 * The register-blocked kernel's plan for a filter [kh, kw, c, o] over `outRows` output rows (batch × output
 * height): its blocks, and a split of the reduction into enough ranges for about `target` invocations
 * ({@linkcode BLOCKED_TARGET_INVOCATIONS}).
 *
 * @example
 * ```ts
 * import { planBlocked } from "./conv2d_backprop_filter.ts";
 * // A growth-12 3x3 layer at 32 px, batch 10: 54 blocks of 8 channels x 12 outputs, the 320 rows split in 64
 * // ranges of 5 (on a GPU, in 320 ranges of one row).
 * const p = planBlocked(3, 3, 48, 12, 320);
 * console.assert(p.rows === 8 && p.vecs === 3 && p.rowBlocks === 54 && p.splits === 64 && p.rowsPerSplit === 5);
 * console.assert(planBlocked(3, 3, 48, 12, 320, 65_536).splits === 320);
 * // An RGB stem: ragged, one block of 4 channels per tap.
 * console.assert(planBlocked(7, 7, 3, 64, 3584).ragged && planBlocked(7, 7, 3, 64, 3584).rowBlocks === 49);
 * ```
 */
export function planBlocked(
  kh: number,
  kw: number,
  c: number,
  o: number,
  outRows: number,
  target: number = BLOCKED_TARGET_INVOCATIONS.software,
): BlockedPlan {
  const ragged = c % 4 !== 0 || o % 4 !== 0;
  const rows = !ragged && c % 8 === 0 ? 8 : 4;
  const vecs = ragged ? 1 : vecsPerInvocation(o);
  const rowBlocks = kh * kw * Math.ceil(c / 4) * 4 / rows, colBlocks = Math.ceil(o / 4) / vecs;
  const wanted = Math.max(
    1,
    Math.min(outRows, Math.ceil(target / (rowBlocks * colBlocks))),
  );
  const rowsPerSplit = Math.max(1, Math.ceil(outRows / wanted));
  return {
    ragged,
    rows,
    vecs,
    rowBlocks,
    colBlocks,
    splits: Math.ceil(outRows / rowsPerSplit),
    rowsPerSplit,
  };
}

/**
 * The WGSL of the register-blocked filter gradient: `rows` input channels (of one tap) × `v` output vec4s per
 * invocation, summed over one range of output rows and, within a row, over the output columns whose input
 * column lies inside the image (computed once per tap, so the inner loop has no test). `ragged` (C or O not a
 * multiple of 4; `rows` 4, `v` 1): scalar arrays read into vec4s with the padding lanes clamped, and only the
 * real channels and outputs written.
 *
 * @example
 * ```ts
 * import { blockedFilterCode } from "./conv2d_backprop_filter.ts";
 * console.assert(blockedFilterCode(8, 3).includes("acc7_2"));
 * console.assert(blockedFilterCode(4, 1, true).includes("uniforms.c - 1"));
 * ```
 */
export function blockedFilterCode(rows: 4 | 8, v: number, ragged = false): string {
  const quads = rows / 4;
  const eachRv = (f: (r: number, j: number) => string) => unroll(rows, (r) => unroll(v, (j) => f(r, j)));
  return `
  fn main(index : i32) {
    if (index >= uniforms.blocks) {
      return;
    }
    let perSplit = uniforms.rowBlocks * uniforms.colBlocks;
    let split = index / perSplit;
    let rest = index - split * perSplit;
    let rb = rest / uniforms.colBlocks;
    let col = (rest - rb * uniforms.colBlocks) * ${v};
    let blocksPerTap = uniforms.c4 / ${quads};
    let tap = rb / blocksPerTap;
    let quad0 = (rb - tap * blocksPerTap) * ${quads};
    let ky = tap / uniforms.kw;
    let kx = tap - ky * uniforms.kw;
    // Output columns whose input column ox·sw + kx − pl lies in [0, w).
    let a = uniforms.pl - kx;
    let lo = select(0, (a + uniforms.sw - 1) / uniforms.sw, a > 0);
    let b = uniforms.w - 1 + uniforms.pl - kx;
    let hi = select(0, min(uniforms.ow, b / uniforms.sw + 1), b >= 0);
    ${eachRv((r, j) => `var acc${r}_${j} = vec4<f32>(0.0);`)}
    let tEnd = min(uniforms.outRows, (split + 1) * uniforms.rowsPerSplit);
    for (var t = split * uniforms.rowsPerSplit; t < tEnd; t = t + 1) {
      let n = t / uniforms.oh;
      let iy = (t - n * uniforms.oh) * uniforms.sh + ky - uniforms.pt;
      if (iy < 0 || iy >= uniforms.h) {
        continue;
      }
      let xRow = (n * uniforms.h + iy) * uniforms.w;
      for (var ox = lo; ox < hi; ox = ox + 1) {
        ${
    ragged
      ? `let xb = (xRow + ox * uniforms.sw + kx - uniforms.pl) * uniforms.c;
        let x0 = vec4<f32>(${
        [0, 1, 2, 3].map((k) => `x[xb + min(quad0 * 4 + ${k}, uniforms.c - 1)]`).join(", ")
      });
        let db = (t * uniforms.ow + ox) * uniforms.o;
        let d0 = vec4<f32>(${
        [0, 1, 2, 3].map((k) => `dy[db + min(col * 4 + ${k}, uniforms.o - 1)]`).join(", ")
      });`
      : `let xb = (xRow + ox * uniforms.sw + kx - uniforms.pl) * uniforms.c4 + quad0;
        ${unroll(quads, (q) => `let x${q} = x[xb + ${q}];`)}
        let db = (t * uniforms.ow + ox) * uniforms.o4 + col;
        ${unroll(v, (j) => `let d${j} = dy[db + ${j}];`)}`
  }
        ${
    eachRv((r, j) => `acc${r}_${j} = fma(vec4<f32>(x${r >> 2}.${"xyzw"[r & 3]}), d${j}, acc${r}_${j});`)
  }
      }
    }
    ${
    ragged
      ? `let out0 = split * uniforms.partStride + tap * uniforms.c * uniforms.o;
    ${
        unroll(4, (r) =>
          unroll(4, (t) =>
            `if (quad0 * 4 + ${r} < uniforms.c && col * 4 + ${t} < uniforms.o) { result[out0 + (quad0 * 4 + ${r}) * uniforms.o + col * 4 + ${t}] = acc${r}_0[${t}]; }`))
      }`
      : `let out0 = split * uniforms.partStride + (tap * uniforms.c4 + quad0) * 4 * uniforms.o4 + col;
    ${
        eachRv((r, j) => `result[out0 + ${r} * uniforms.o4 + ${j}] = acc${r}_${j};`)
      }`
  }
  }
`;
}

const BLOCKED_UNIFORMS = "rowBlocks : i32, colBlocks : i32, c4 : i32, o4 : i32, outRows : i32, " +
  `rowsPerSplit : i32, partStride : i32, ${GEOMETRY_UNIFORMS}`;

function blockedFilterGrad(
  backend: WebGpuBackendLike,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  target: number,
): tf.TensorInfo {
  const [kh, kw, c, o] = [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels];
  const outRows = info.batchSize * info.outHeight;
  const plan = planBlocked(kh, kw, c, o, outRows, target);
  const blocks = plan.rowBlocks * plan.colBlocks * plan.splits;
  const size = kh * kw * c * o;
  const shape = plan.splits === 1 ? [kh, kw, c, o] : [plan.splits, size];
  const program = blockProgram(
    `albenchConv2DFilterGrad_${plan.rows}_${plan.vecs}${plan.ragged ? "_ragged" : ""}`,
    ["x", "dy"],
    shape,
    blocks,
    BLOCKED_UNIFORMS,
    () => blockedFilterCode(plan.rows, plan.vecs, plan.ragged),
    plan.ragged ? [1, 1] : [4, 4],
    !plan.ragged,
  );
  const uniforms = [
    ...ints(
      blocks,
      plan.rowBlocks,
      plan.colBlocks,
      Math.ceil(c / 4),
      Math.ceil(o / 4),
      outRows,
      plan.rowsPerSplit,
      plan.ragged ? size : size / 4,
    ),
    ...geometryUniforms(info),
  ];
  const out = backend.runWebGPUProgram(program, [x, dy], "float32", uniforms);
  if (plan.splits === 1) return out;
  const sum = sumParts(backend, out, [kh, kw, c, o], plan.splits, size, 0);
  backend.disposeData(out.dataId);
  return sum;
}

/**
 * The filter gradient of an NHWC convolution (HWIO filter) on the WebGPU backend; `undefined` for what it does
 * not cover (NCHW, dilation, non-float tensors), which the caller hands to the stock kernel.
 * `targetInvocations` sizes the split ({@linkcode BLOCKED_TARGET_INVOCATIONS}).
 *
 * @example
 * ```ts ignore
 * import { BLOCKED_TARGET_INVOCATIONS, conv2dBackpropFilterWebGpu } from "./conv2d_backprop_filter.ts";
 * const dw = conv2dBackpropFilterWebGpu(backend, x, dy, info, BLOCKED_TARGET_INVOCATIONS.gpu);
 * ```
 */
export function conv2dBackpropFilterWebGpu(
  backend: WebGpuBackendLike,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  targetInvocations: number = BLOCKED_TARGET_INVOCATIONS.software,
): tf.TensorInfo | undefined {
  // Empty x or dy are fine here: a sum over no output rows is zeros (below).
  if (!blockedConvCovers(info) || x.dtype !== "float32" || dy.dtype !== "float32") return undefined;
  const shape = [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels];
  if (shape.includes(0)) return undefined;
  // No output rows (an empty batch, or a valid convolution with no output): a sum over nothing.
  if (info.batchSize * info.outHeight * info.outWidth === 0) return zeros(backend, shape);
  return blockedFilterGrad(backend, x, dy, info, targetInvocations);
}
