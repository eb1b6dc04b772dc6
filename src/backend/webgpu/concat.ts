/**
 * DenseNet's concatenation along the channel axis and its gradient (`Concat` and `SplitV` on the last axis) on
 * WebGPU, each output element written once with no per-element index arithmetic.
 *
 * Both views are [rows, channels]. An invocation takes one group of channels (4 as a vec4 where every channel
 * count involved is a multiple of 4, else 1) of the output over {@linkcode COPY_ROWS} rows: neighbouring
 * invocations copy neighbouring channels (contiguous on a GPU), and the row and channel are found once per
 * invocation rather than once per element (tfjs-webgpu's concatenation and slices decompose every element's
 * index, which dominated them on lavapipe). `Concat` is one program; `SplitV`, whose parts are separate
 * tensors, one program per part, as stock.
 *
 * Covered: the last axis, float32, 2 to 6 non-empty inputs (the rest of the 8 storage buffers a WebGPU stage
 * is guaranteed) or non-empty parts. The rest goes to the stock kernels.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { blockProgram, ints, unroll, type WebGpuBackendLike } from "./program.ts";

/** Rows per invocation. */
export const COPY_ROWS = 16;

/** Most inputs one concatenation program binds. */
export const MAX_CONCAT_INPUTS = 6;

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * The WGSL of a concatenation of `n` inputs: `uniforms.cq` output groups per row, input k has `uniforms.ck`
 * groups starting at output group `uniforms.ok`.
 *
 * @example
 * ```ts
 * import { concatCode } from "./concat.ts";
 * console.assert(concatCode(3).includes("x2[r * uniforms.c2 + q - uniforms.o2]"));
 * ```
 */
export function concatCode(n: number): string {
  const branch = (k: number) => `
      for (var r = r0; r < r1; r = r + 1) {
        result[r * uniforms.cq + q] = x${k}[r * uniforms.c${k} + q - uniforms.o${k}];
      }`;
  return `
  fn main(index : i32) {
    if (index >= uniforms.blocks) {
      return;
    }
    let rb = index / uniforms.cq;
    let q = index - rb * uniforms.cq;
    let r0 = rb * ${COPY_ROWS};
    let r1 = min(uniforms.rows, r0 + ${COPY_ROWS});
    ${
    Array.from({ length: n }, (_, k) =>
      (k === 0 ? "" : " else ") + (k === n - 1 ? "" : `if (q < uniforms.o${k + 1}) `) + `{${branch(k)}
    }`)
      .join("")
  }
  }
`;
}

/**
 * Concatenate float32 tensors along their last axis on the WebGPU backend; `undefined` for what it does not
 * cover (another axis, another dtype, an empty input, fewer than 2 or more than {@linkcode MAX_CONCAT_INPUTS}
 * inputs, leading dimensions that differ), which the caller hands to the stock kernel.
 *
 * @example
 * ```ts ignore
 * import { concatLastAxisWebGpu } from "./concat.ts";
 * const y = concatLastAxisWebGpu(backend, [features, newFeatures], 3);
 * ```
 */
export function concatLastAxisWebGpu(
  backend: WebGpuBackendLike,
  inputs: readonly tf.TensorInfo[],
  axis: number,
): tf.TensorInfo | undefined {
  const first = inputs[0];
  if (!first || inputs.length < 2 || inputs.length > MAX_CONCAT_INPUTS) return undefined;
  const rank = first.shape.length;
  if (rank === 0 || (axis < 0 ? axis + rank : axis) !== rank - 1) return undefined;
  const lead = first.shape.slice(0, -1);
  const widths: number[] = [];
  for (const t of inputs) {
    if (t.dtype !== "float32" || t.shape.length !== rank) return undefined;
    if (t.shape.slice(0, -1).some((d, i) => d !== lead[i])) return undefined;
    const c = t.shape[rank - 1]!;
    if (c === 0 || sizeOf(t.shape) === 0) return undefined;
    widths.push(c);
  }
  const cv = widths.every((c) => c % 4 === 0) ? 4 : 1;
  const groups = widths.map((c) => c / cv);
  const offsets = groups.map((_, k) => groups.slice(0, k).reduce((a, b) => a + b, 0));
  const total = groups.reduce((a, b) => a + b, 0);
  const rows = sizeOf(lead);
  const blocks = Math.ceil(rows / COPY_ROWS) * total;
  const n = inputs.length;
  const program = blockProgram(
    `albenchConcat_${n}_${cv}`,
    inputs.map((_, k) => `x${k}`),
    [...lead, total * cv],
    blocks,
    `rows : i32, cq : i32, ${unroll(n, (k) => `c${k} : i32, o${k} : i32,`).replace(/\n/g, " ")}`,
    () => concatCode(n),
    inputs.map(() => cv),
    cv === 4,
  );
  const uniforms = ints(blocks, rows, total, ...groups.flatMap((g, k) => [g, offsets[k]!]));
  return backend.runWebGPUProgram(program, [...inputs], "float32", uniforms);
}

const SLICE_CODE = `
  fn main(index : i32) {
    if (index >= uniforms.blocks) {
      return;
    }
    let rb = index / uniforms.pq;
    let q = index - rb * uniforms.pq;
    let r1 = min(uniforms.rows, (rb + 1) * ${COPY_ROWS});
    for (var r = rb * ${COPY_ROWS}; r < r1; r = r + 1) {
      result[r * uniforms.pq + q] = x[r * uniforms.cq + uniforms.offset + q];
    }
  }
`;

/**
 * Split a float32 tensor along its last axis into parts of `sizes` channels (the gradient of a concatenation)
 * on the WebGPU backend, one program per part; `undefined` for what it does not cover (another dtype, an
 * empty part, sizes that do not add up to the last dimension), which the caller hands to the stock kernel.
 *
 * @example
 * ```ts ignore
 * import { splitLastAxisWebGpu } from "./concat.ts";
 * const [dFeatures, dNew] = splitLastAxisWebGpu(backend, dy, [60, 12])!;
 * ```
 */
export function splitLastAxisWebGpu(
  backend: WebGpuBackendLike,
  x: tf.TensorInfo,
  sizes: readonly number[],
): tf.TensorInfo[] | undefined {
  const rank = x.shape.length;
  const width = x.shape[rank - 1];
  if (x.dtype !== "float32" || rank === 0 || width === undefined || sizeOf(x.shape) === 0) return undefined;
  if (sizes.some((s) => !Number.isInteger(s) || s <= 0) || sizes.reduce((a, b) => a + b, 0) !== width) {
    return undefined;
  }
  const cv = width % 4 === 0 && sizes.every((s) => s % 4 === 0) ? 4 : 1;
  const lead = x.shape.slice(0, -1);
  const rows = sizeOf(lead);
  let offset = 0;
  return sizes.map((s) => {
    const blocks = Math.ceil(rows / COPY_ROWS) * (s / cv);
    const program = blockProgram(
      `albenchSplitLast_${cv}`,
      ["x"],
      [...lead, s],
      blocks,
      "rows : i32, pq : i32, cq : i32, offset : i32,",
      () => SLICE_CODE,
      [cv],
      cv === 4,
    );
    const out = backend.runWebGPUProgram(
      program,
      [x],
      "float32",
      ints(blocks, rows, s / cv, width / cv, offset / cv),
    );
    offset += s;
    return out;
  });
}
