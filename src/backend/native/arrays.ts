/**
 * The native engine's array code that needs no library: row concatenation and its split, element-wise arithmetic
 * with and without broadcasting, box copies (slice, pad), per-axis gathers (reverse, transpose, tile), row-major
 * strides and the NHWC spatial mean. Pure functions over float32 arrays, tested against tfjs's `cpu` kernels
 * without oneDNN (`tests/native_arrays_test.ts`).
 *
 * @module
 */

/**
 * Elements of a shape (1 for a scalar's `[]`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { size } from "./arrays.ts";
 * assert.equal(size([2, 3, 4]), 24);
 * assert.equal(size([]), 1);
 * ```
 */
export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Row copies: `parts[i]` holds `widths[i]` of every row's `sum(widths)` values (concatenation along the last
 * axis of `[rows, widths[i]]` arrays).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { concatRows } from "./arrays.ts";
 * const y = new Float32Array(6);
 * concatRows([Float32Array.of(1, 2), Float32Array.of(3, 4, 5, 6)], [1, 2], 2, y);
 * assert.deepEqual([...y], [1, 3, 4, 2, 5, 6]);
 * ```
 */
export function concatRows(parts: Float32Array[], widths: number[], rows: number, outv: Float32Array): void {
  const total = widths.reduce((a, b) => a + b, 0);
  let offset = 0;
  parts.forEach((p, i) => {
    const w = widths[i]!;
    for (let r = 0, src = 0, dst = offset; r < rows; r++, dst += total) {
      for (let k = 0; k < w; k++) outv[dst + k] = p[src++]!;
    }
    offset += w;
  });
}

/**
 * The inverse of {@linkcode concatRows}: `[rows, sum(widths)]` split along the last axis into arrays from `alloc`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitRows } from "./arrays.ts";
 * const [a, b] = splitRows(Float32Array.of(1, 3, 4, 2, 5, 6), [1, 2], 2, (n) => new Float32Array(n));
 * assert.deepEqual([...a!], [1, 2]);
 * assert.deepEqual([...b!], [3, 4, 5, 6]);
 * ```
 */
export function splitRows(
  x: Float32Array,
  widths: number[],
  rows: number,
  alloc: (n: number) => Float32Array,
): Float32Array[] {
  const total = widths.reduce((a, b) => a + b, 0);
  let offset = 0;
  return widths.map((w) => {
    const o = alloc(rows * w);
    for (let r = 0, src = offset, dst = 0; r < rows; r++, src += total) {
      for (let k = 0; k < w; k++) o[dst++] = x[src + k]!;
    }
    offset += w;
    return o;
  });
}

/** The element-wise operations with a native fast path (tfjs kernel names). */
export type BinaryName = "Add" | "Sub" | "Multiply" | "RealDiv";

/**
 * Element-wise a op b over arrays of one length, one loop per operation (no call per element).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { elementwise } from "./arrays.ts";
 * const y = elementwise("RealDiv", Float32Array.of(1, 6), Float32Array.of(2, 3), new Float32Array(2));
 * assert.deepEqual([...y], [0.5, 2]);
 * ```
 */
export function elementwise(
  name: BinaryName,
  a: Float32Array,
  b: Float32Array,
  y: Float32Array,
): Float32Array {
  const n = y.length;
  if (name === "Add") { for (let i = 0; i < n; i++) y[i] = a[i]! + b[i]!; }
  else if (name === "Sub") { for (let i = 0; i < n; i++) y[i] = a[i]! - b[i]!; }
  else if (name === "Multiply") { for (let i = 0; i < n; i++) y[i] = a[i]! * b[i]!; }
  else for (let i = 0; i < n; i++) y[i] = a[i]! / b[i]!;
  return y;
}

/**
 * a op b with numpy broadcasting: an odometer over the output's outer axes and a strided loop over the last
 * (tfjs cpu converts every flat index to coordinates and back). Returns the output shape and values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { broadcast } from "./arrays.ts";
 * const r = broadcast("Add", [2, 1], Float32Array.of(10, 20), [3], Float32Array.of(1, 2, 3), (n) => new Float32Array(n));
 * assert.deepEqual(r.shape, [2, 3]);
 * assert.deepEqual([...r.values], [11, 12, 13, 21, 22, 23]);
 * ```
 */
export function broadcast(
  name: BinaryName,
  aShape: readonly number[],
  a: Float32Array,
  bShape: readonly number[],
  b: Float32Array,
  alloc: (n: number) => Float32Array,
): { shape: number[]; values: Float32Array } {
  const rank = Math.max(aShape.length, bShape.length);
  const pad = (s: readonly number[]) => [...Array(rank - s.length).fill(1), ...s] as number[];
  const as = pad(aShape), bs = pad(bShape);
  const shape = as.map((d, i) => Math.max(d, bs[i]!));
  const strides = (s: number[]) => {
    const st = new Array<number>(rank).fill(0);
    for (let i = rank - 1, acc = 1; i >= 0; i--) {
      st[i] = s[i] === 1 ? 0 : acc;
      acc *= s[i]!;
    }
    return st;
  };
  const sa = strides(as), sb = strides(bs);
  const y = alloc(size(shape));
  const inner = shape[rank - 1] ?? 1, ia = sa[rank - 1] ?? 0, ib = sb[rank - 1] ?? 0;
  const outer = y.length / Math.max(inner, 1);
  const idx = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  let offA = 0, offB = 0;
  for (let o = 0, p = 0; o < outer; o++) {
    let pa = offA, pb = offB;
    if (name === "Add") { for (let k = 0; k < inner; k++, pa += ia, pb += ib) y[p++] = a[pa]! + b[pb]!; }
    else if (name === "Sub") { for (let k = 0; k < inner; k++, pa += ia, pb += ib) y[p++] = a[pa]! - b[pb]!; }
    else if (name === "Multiply") {
      for (let k = 0; k < inner; k++, pa += ia, pb += ib) y[p++] = a[pa]! * b[pb]!;
    } else for (let k = 0; k < inner; k++, pa += ia, pb += ib) y[p++] = a[pa]! / b[pb]!;
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]!++;
      offA += sa[d]!;
      offB += sb[d]!;
      if (idx[d]! < shape[d]!) break;
      offA -= sa[d]! * shape[d]!;
      offB -= sb[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return { shape, values: y };
}

/**
 * Copy the box of shape `box` at `srcBegin` in `src` (row-major, shape `srcShape`) to `dstBegin` in `dst`
 * (shape `dstShape`): trailing axes the box covers whole are merged into one contiguous run per copy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { copyBox } from "./arrays.ts";
 * const src = Float32Array.of(1, 2, 3, 4, 5, 6); // [2, 3]
 * const dst = new Float32Array(2);
 * copyBox(src, [2, 3], [0, 1], dst, [2, 1], [0, 0], [2, 1]); // the middle column
 * assert.deepEqual([...dst], [2, 5]);
 * ```
 */
export function copyBox(
  src: Float32Array,
  srcShape: readonly number[],
  srcBegin: readonly number[],
  dst: Float32Array,
  dstShape: readonly number[],
  dstBegin: readonly number[],
  box: readonly number[],
): void {
  const rank = box.length;
  if (rank === 0 || box.some((d) => d === 0)) {
    if (rank === 0) dst[0] = src[0]!;
    return;
  }
  const ss = stridesOf(srcShape), ds = stridesOf(dstShape);
  // Merge trailing axes that both arrays hold whole into the run.
  let inner = rank - 1, run = box[rank - 1]!;
  while (inner > 0 && box[inner] === srcShape[inner] && box[inner] === dstShape[inner]) {
    inner--;
    run *= box[inner]!;
  }
  let so = 0, d0 = 0;
  for (let i = 0; i < rank; i++) {
    so += srcBegin[i]! * ss[i]!;
    d0 += dstBegin[i]! * ds[i]!;
  }
  const idx = new Array<number>(inner).fill(0);
  const runs = box.slice(0, inner).reduce((a, b) => a * b, 1);
  let doff = d0;
  for (let r = 0; r < runs; r++) {
    if (run >= 32) dst.set(src.subarray(so, so + run), doff);
    else for (let k = 0; k < run; k++) dst[doff + k] = src[so + k]!;
    for (let d = inner - 1; d >= 0; d--) {
      idx[d]!++;
      so += ss[d]!;
      doff += ds[d]!;
      if (idx[d]! < box[d]!) break;
      so -= ss[d]! * box[d]!;
      doff -= ds[d]! * box[d]!;
      idx[d] = 0;
    }
  }
}

/**
 * y[o] = x[Σ_d maps[d][o_d]] over the output coordinates o (row-major, shape given by the maps' lengths): each
 * map sends an output coordinate of its axis to an input offset. Reverse, transpose and tile are such maps.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gatherByAxis } from "./arrays.ts";
 * // Transpose of [2, 3]: output axis 0 walks input columns (offset 1), axis 1 input rows (offset 3).
 * const y = new Float32Array(6);
 * gatherByAxis(Float32Array.of(1, 2, 3, 4, 5, 6), [Int32Array.of(0, 1, 2), Int32Array.of(0, 3)], y);
 * assert.deepEqual([...y], [1, 4, 2, 5, 3, 6]);
 * ```
 */
export function gatherByAxis(x: Float32Array, maps: readonly Int32Array[], y: Float32Array): void {
  const rank = maps.length;
  if (rank === 0) {
    y[0] = x[0]!;
    return;
  }
  const last = maps[rank - 1]!, inner = last.length;
  const idx = new Array<number>(rank - 1).fill(0);
  let base = 0;
  for (let d = 0; d < rank - 1; d++) base += maps[d]![0]!;
  for (let p = 0; p < y.length;) {
    for (let k = 0; k < inner; k++) y[p++] = x[base + last[k]!]!;
    for (let d = rank - 2; d >= 0; d--) {
      const m = maps[d]!;
      base -= m[idx[d]!]!;
      if (++idx[d]! < m.length) {
        base += m[idx[d]!]!;
        break;
      }
      idx[d] = 0;
      base += m[0]!;
    }
  }
}

/**
 * Row-major strides of a shape.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stridesOf } from "./arrays.ts";
 * assert.deepEqual(stridesOf([2, 3, 4]), [12, 4, 1]);
 * ```
 */
export function stridesOf(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  for (let i = shape.length - 1, acc = 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i]!;
  }
  return st;
}

/**
 * Mean of NHWC `[n, h, w, c]` over h and w, summed in (h, w) order with a double accumulator per channel.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { meanHW } from "./arrays.ts";
 * const y = new Float32Array(2);
 * meanHW(Float32Array.of(1, 10, 3, 30), 1, 2, 2, y); // [1, 1, 2, 2]
 * assert.deepEqual([...y], [2, 20]);
 * ```
 */
export function meanHW(x: Float32Array, n: number, hw: number, c: number, y: Float32Array): void {
  const acc = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    acc.fill(0);
    for (let p = 0, base = i * hw * c; p < hw; p++, base += c) {
      for (let k = 0; k < c; k++) acc[k]! += x[base + k]!;
    }
    for (let k = 0; k < c; k++) y[i * c + k] = acc[k]! / hw;
  }
}
