/**
 * `Conv2DBackpropFilter` on WebGPU: a register-blocked kernel where the channel counts are multiples of 4, else
 * a tiled implicit matrix product; both split the reduction.
 *
 * The filter gradient dW[kh, kw, c, o] = Σ over (n, oh, ow) of x[n, oh·sh + kh − pt, ow·sw + kw − pl, c] ·
 * dy[n, oh, ow, o] is a product C[M, N] = Σₖ A[m, k] · B[k, n] with M = KH·KW·C, N = O and K = N·OH·OW, whose
 * operands are read from x (zero outside the image) and dy on the fly, with no im2col buffer. tfjs-webgpu's
 * stock kernel gives each filter element one thread that walks the whole reduction with scalar loads.
 *
 * Register-blocked (C and O multiples of 4, every DenseNet layer but an RGB stem and odd transition widths):
 * each invocation holds 8 (or 4) channels of one tap × up to 12 outputs in vec4 registers and walks a range of
 * output rows, loading vec4s of x and dy, with no workgroup memory and no barriers; the output columns whose
 * input lies inside the image are computed once per tap, so the inner loop has no test. Measured 8–31x the
 * stock kernel per call on lavapipe (`bench/webgpu_kernels_bench.ts`).
 *
 * Tiled (the rest): a workgroup of 64 invocations computes a TM×TN tile of dW (32×32, or 64×16 when O ≤ 16),
 * 4×4 per invocation, from 16-deep slices of A and B staged in workgroup memory.
 *
 * Where the blocks or tiles are too few to fill the device, the reduction is split into ranges written to a
 * [splits, M·N] buffer and summed by a second program. Deterministic: each sum runs in ascending order, the
 * partials too.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { vecsPerInvocation } from "./conv2d.ts";
import {
  blockProgram,
  type GpuProgram,
  type GpuUniform,
  sumParts,
  unroll,
  type WebGpuBackendLike,
} from "./program.ts";

/** Reduction depth staged in workgroup memory per step. */
const DEPTH = 16;
/** Workgroups a split reduction aims for when the output tiles alone are fewer. */
const TARGET_WORKGROUPS = 256;
/** Fewest reduction steps (of {@linkcode DEPTH}) a split range holds. */
const MIN_STEPS_PER_SPLIT = 8;

/** How a product is tiled and its reduction split. */
export interface GemmPlan {
  /** Rows, columns and reduction length of the product. */
  readonly m: number;
  readonly n: number;
  readonly k: number;
  /** Tile rows and columns (TM·TN = 1024, 4×4 per invocation). */
  readonly tileM: number;
  readonly tileN: number;
  /** Reduction ranges (1: no second pass). */
  readonly splits: number;
  /** Length of every range but possibly the last (a multiple of the staging depth). */
  readonly kPerSplit: number;
}

/**
 * Tile shape and split of a product: 64×16 tiles for narrow products (N ≤ 16) else 32×32; the reduction split
 * only when `split` is allowed, into enough ranges for about 256 workgroups, every range but the last at least 128 deep.
 *
 * @example
 * ```ts
 * import { planGemm } from "./conv2d_backprop_filter.ts";
 * // DenseNet121's 3x3 filter gradient at 56 px, batch 32: 36 tiles of 32x32, so the reduction is split in 8.
 * const p = planGemm(3 * 3 * 128, 32, 32 * 56 * 56, true);
 * console.assert(p.splits === 8 && p.tileN === 32 && p.kPerSplit * p.splits >= p.k);
 * // A growth-12 layer's output is narrow: 64x16 tiles.
 * console.assert(planGemm(10 * 32 * 32, 12, 432, false).tileN === 16);
 * ```
 */
export function planGemm(m: number, n: number, k: number, split: boolean): GemmPlan {
  // The staging loop relies on 64 % tileM == 0 (an invocation stages the same tile row at every step): tileM is
  // 32 or 64, never more.
  const tileN = n <= 16 ? 16 : 32, tileM = 1024 / tileN;
  const tiles = Math.ceil(m / tileM) * Math.ceil(n / tileN);
  const steps = Math.max(1, Math.ceil(k / DEPTH));
  const wanted = split ? Math.max(1, Math.ceil(TARGET_WORKGROUPS / tiles)) : 1;
  const first = Math.min(wanted, Math.max(1, Math.floor(steps / MIN_STEPS_PER_SPLIT)));
  const kPerSplit = Math.ceil(steps / first) * DEPTH;
  return { m, n, k, tileM, tileN, splits: Math.max(1, Math.ceil(k / kPerSplit)), kPerSplit };
}

/**
 * A[m, k] from x: `rowOf(m)` decomposes a row (tap and channel) once, since an invocation stages the same tile
 * row at every step; `colOf(k)` decomposes a reduction index (image, output row and column) once per step for
 * all rows of the tile (into workgroup memory); `loadA` combines the two with no division. B[k, n] is dy.
 */
const LOADERS = `
    fn rowOf(row : i32) -> vec3<i32> {
      let tap = row / uniforms.c;
      let ch = row - tap * uniforms.c;
      let fy = tap / uniforms.kw;
      return vec3<i32>(ch, fy - uniforms.pt, tap - fy * uniforms.kw - uniforms.pl);
    }
    fn colOf(kIndex : i32) -> vec3<i32> {
      let ohw = uniforms.oh * uniforms.ow;
      let img = kIndex / ohw;
      let rest = kIndex - img * ohw;
      let oy = rest / uniforms.ow;
      let ox = rest - oy * uniforms.ow;
      return vec3<i32>(img * uniforms.h, oy * uniforms.sh, ox * uniforms.sw);
    }
    fn loadA(r : vec3<i32>, q : vec3<i32>) -> f32 {
      let iy = q.y + r.y;
      let ix = q.z + r.z;
      if (iy < 0 || iy >= uniforms.h || ix < 0 || ix >= uniforms.w) {
        return 0.0;
      }
      return x[((q.x + iy) * uniforms.w + ix) * uniforms.c + r.x];
    }

    fn loadB(kIndex : i32, col : i32) -> f32 {
      return dy[kIndex * uniforms.n + col];
    }
`;

function gemmCode(tileM: number, tileN: number): string {
  const gx = tileN / 4; // invocations along N
  return `
  var<workgroup> tileA : array<f32, ${tileM * DEPTH}>;
  var<workgroup> tileB : array<f32, ${tileN * DEPTH}>;
  var<workgroup> cols : array<vec3<i32>, ${DEPTH}>;
  ${LOADERS}

  fn main() {
    let lx = i32(localId.x);
    let ly = i32(localId.y);
    let tid = ly * ${gx} + lx;
    let row0 = i32(workgroupId.y) * ${tileM};
    let col0 = i32(workgroupId.x) * ${tileN};
    let split = i32(workgroupId.z);
    let kBegin = split * uniforms.kPerSplit;
    let kEnd = min(uniforms.kTotal, kBegin + uniforms.kPerSplit);
    var acc : array<vec4<f32>, 4>;
    for (var i = 0; i < 4; i = i + 1) {
      acc[i] = vec4<f32>(0.0);
    }
    // 64 invocations stage the tiles: each always the same tile row of A (and column of B), decomposed once.
    let rowA = row0 + tid % ${tileM};
    let infoA = rowOf(rowA);
    // The step count comes from uniforms only, so every invocation reaches the barriers.
    let steps = (uniforms.kPerSplit + ${DEPTH - 1}) / ${DEPTH};
    for (var s = 0; s < steps; s = s + 1) {
      let k0 = kBegin + s * ${DEPTH};
      if (tid < ${DEPTH}) {
        cols[tid] = colOf(k0 + tid);
      }
      workgroupBarrier();
      for (var e = tid; e < ${tileM * DEPTH}; e = e + 64) {
        let kk = e / ${tileM};
        let t = e - kk * ${tileM};
        var v = 0.0;
        if (k0 + kk < kEnd && row0 + t < uniforms.m) {
          v = loadA(infoA, cols[kk]);
        }
        tileA[e] = v;
      }
      for (var e = tid; e < ${tileN * DEPTH}; e = e + 64) {
        let kk = e / ${tileN};
        let t = e - kk * ${tileN};
        var v = 0.0;
        if (k0 + kk < kEnd && col0 + t < uniforms.n) {
          v = loadB(k0 + kk, col0 + t);
        }
        tileB[e] = v;
      }
      workgroupBarrier();
      for (var kk = 0; kk < ${DEPTH}; kk = kk + 1) {
        let bb = kk * ${tileN} + lx * 4;
        let bv = vec4<f32>(tileB[bb], tileB[bb + 1], tileB[bb + 2], tileB[bb + 3]);
        let ab = kk * ${tileM} + ly * 4;
        for (var i = 0; i < 4; i = i + 1) {
          acc[i] = acc[i] + tileA[ab + i] * bv;
        }
      }
      workgroupBarrier();
    }
    let out0 = split * uniforms.m * uniforms.n;
    for (var i = 0; i < 4; i = i + 1) {
      let r = row0 + ly * 4 + i;
      if (r < uniforms.m) {
        for (var j = 0; j < 4; j = j + 1) {
          let col = col0 + lx * 4 + j;
          if (col < uniforms.n) {
            result[out0 + r * uniforms.n + col] = acc[i][j];
          }
        }
      }
    }
  }
`;
}

const UNIFORMS =
  "m : i32, n : i32, kTotal : i32, kPerSplit : i32, h : i32, w : i32, c : i32, o : i32, kw : i32, " +
  "oh : i32, ow : i32, sh : i32, sw : i32, pt : i32, pl : i32,";

function gemmProgram(outputShape: number[], plan: GemmPlan): GpuProgram {
  const rank = outputShape.length;
  return {
    variableNames: ["x", "dy"],
    outputShape,
    shaderKey: `albenchConv2DFilterGrad_${plan.tileM}x${plan.tileN}`,
    dispatchLayout: rank === 2
      ? { x: [1], y: [0] }
      : { x: [rank - 1], y: [rank - 2], z: outputShape.slice(0, -2).map((_, i) => i) },
    dispatch: [Math.ceil(plan.n / plan.tileN), Math.ceil(plan.m / plan.tileM), plan.splits],
    workgroupSize: [plan.tileN / 4, plan.tileM / 4, 1],
    uniforms: UNIFORMS,
    getUserCode: () => gemmCode(plan.tileM, plan.tileN),
  };
}

/**
 * Invocations a blocked filter gradient aims for, splitting its reduction when the blocks alone are fewer: on a
 * software adapter (a few CPU threads, for which more ranges only mean a longer second pass: 16,384 was 20–60%
 * slower than 4,096 on lavapipe), and on a GPU, which needs tens of thousands of threads in flight to hide
 * memory latency (a choice not yet measured on a GPU).
 */
export const BLOCKED_TARGET_INVOCATIONS = { software: 4096, gpu: 65_536 } as const;

/** How the register-blocked filter gradient divides its work. */
export interface BlockedPlan {
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
  const rows = c % 8 === 0 ? 8 : 4;
  const vecs = vecsPerInvocation(o);
  const rowBlocks = kh * kw * c / rows, colBlocks = o / 4 / vecs;
  const wanted = Math.max(
    1,
    Math.min(outRows, Math.ceil(target / (rowBlocks * colBlocks))),
  );
  const rowsPerSplit = Math.ceil(outRows / wanted);
  return { rows, vecs, rowBlocks, colBlocks, splits: Math.ceil(outRows / rowsPerSplit), rowsPerSplit };
}

/**
 * The WGSL of the register-blocked filter gradient: `rows` input channels (of one tap) × `v` output vec4s per
 * invocation, summed over one range of output rows and, within a row, over the output columns whose input
 * column lies inside the image (computed once per tap, so the inner loop has no test).
 *
 * @example
 * ```ts
 * import { blockedFilterCode } from "./conv2d_backprop_filter.ts";
 * console.assert(blockedFilterCode(8, 3).includes("acc7_2"));
 * ```
 */
export function blockedFilterCode(rows: 4 | 8, v: number): string {
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
        let xb = (xRow + ox * uniforms.sw + kx - uniforms.pl) * uniforms.c4 + quad0;
        ${unroll(quads, (q) => `let x${q} = x[xb + ${q}];`)}
        let db = (t * uniforms.ow + ox) * uniforms.o4 + col;
        ${unroll(v, (j) => `let d${j} = dy[db + ${j}];`)}
        ${
    eachRv((r, j) => `acc${r}_${j} = fma(vec4<f32>(x${r >> 2}.${"xyzw"[r & 3]}), d${j}, acc${r}_${j});`)
  }
      }
    }
    let out0 = split * uniforms.partStride + (tap * uniforms.c4 + quad0) * 4 * uniforms.o4 + col;
    ${eachRv((r, j) => `result[out0 + ${r} * uniforms.o4 + ${j}] = acc${r}_${j};`)}
  }
`;
}

const BLOCKED_UNIFORMS = "rowBlocks : i32, colBlocks : i32, c4 : i32, o4 : i32, outRows : i32, " +
  "rowsPerSplit : i32, partStride : i32, h : i32, w : i32, oh : i32, ow : i32, kw : i32, sh : i32, sw : i32, " +
  "pt : i32, pl : i32,";

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
    `albenchConv2DFilterGradBlocked_${plan.rows}_${plan.vecs}`,
    ["x", "dy"],
    shape,
    blocks,
    BLOCKED_UNIFORMS,
    blockedFilterCode(plan.rows, plan.vecs),
    [4, 4],
    true,
  );
  const uniforms: GpuUniform[] = [
    blocks,
    plan.rowBlocks,
    plan.colBlocks,
    c / 4,
    o / 4,
    outRows,
    plan.rowsPerSplit,
    size / 4,
    info.inHeight,
    info.inWidth,
    info.outHeight,
    info.outWidth,
    kw,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  ].map((v) => ({ type: "int32", data: [v] }));
  const out = backend.runWebGPUProgram(program, [x, dy], "float32", uniforms);
  if (plan.splits === 1) return out;
  const sum = sumParts(backend, out, [kh, kw, c, o], plan.splits, size, 0);
  backend.disposeData(out.dataId);
  return sum;
}

/**
 * The filter gradient of an NHWC convolution (HWIO filter) on the WebGPU backend; `undefined` for what it does
 * not cover (NCHW, dilation, non-float tensors), which the caller hands to the stock kernel.
 * `targetInvocations` sizes the register-blocked kernel's split ({@linkcode BLOCKED_TARGET_INVOCATIONS}).
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
  if (info.dataFormat !== "channelsLast" || info.dilationHeight !== 1 || info.dilationWidth !== 1) {
    return undefined;
  }
  if (x.dtype !== "float32" || dy.dtype !== "float32") return undefined;
  // Dispatch dimensions are limited to 65,535 workgroups (tfjs does not reshape a tiled dispatch): such filters
  // (KH·KW·C above two million) go to the stock kernel.
  if (Math.ceil((info.filterHeight * info.filterWidth * info.inChannels) / 32) > 65_535) return undefined;
  const [kh, kw, c, o] = [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels];
  if (c % 4 === 0 && o % 4 === 0) return blockedFilterGrad(backend, x, dy, info, targetInvocations);
  const shape = [kh, kw, c, o];
  const plan = planGemm(kh * kw * c, o, info.batchSize * info.outHeight * info.outWidth, true);
  const uniforms: GpuUniform[] = [
    plan.m,
    plan.n,
    plan.k,
    plan.kPerSplit,
    info.inHeight,
    info.inWidth,
    c,
    o,
    kw,
    info.outHeight,
    info.outWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  ].map((v) => ({ type: "int32", data: [v] }));
  if (plan.splits === 1) {
    return backend.runWebGPUProgram(gemmProgram(shape, plan), [x, dy], "float32", uniforms);
  }
  const partial = backend.runWebGPUProgram(
    gemmProgram([plan.splits, plan.m * plan.n], plan),
    [x, dy],
    "float32",
    uniforms,
  );
  const out = sumParts(backend, partial, shape, plan.splits, plan.m * plan.n, 0);
  backend.disposeData(partial.dataId);
  return out;
}
