/**
 * What every part of the native engine shares about oneDNN's C API: its numeric constants, handles as integers,
 * status checks, out-parameters and `dnnl_dims_t`. Nothing here creates a descriptor (that is
 * `describe.ts`, the one file a oneDNN 3.x binding replaces) or loads the library (`dnnl.ts`).
 *
 * @module
 */

/**
 * Numeric constants of the oneDNN C API, from `dnnl_types.h` of 2.6 (a 3.x binding checks each against its own
 * header: some kinds and flags were renumbered in 3.0).
 */
export const DNNL = {
  success: 0,
  cpu: 1,
  f32: 3,
  // format tags
  any: 1,
  a: 2,
  ab: 3,
  abc: 4,
  acb: 17,
  nchw: 5,
  nhwc: 20,
  hwio: 30,
  // propagation kinds
  forwardTraining: 64,
  forwardInference: 96,
  backward: 128,
  backwardData: 160,
  backwardWeights: 192,
  // algorithms
  convolutionDirect: 1,
  poolingMax: 511,
  poolingAvgIncludePadding: 767,
  poolingAvgExcludePadding: 1023,
  eltwiseRelu: 31,
  binaryAdd: 0x1fff0,
  // batch-norm flags
  useGlobalStats: 1,
  useScaleShift: 2,
  fuseNormRelu: 4,
  useScale: 8,
  useShift: 16,
  // execution arguments
  argSrc: 1,
  argSrc0: 1,
  argSrc1: 2,
  argDst: 17,
  argWeights: 33,
  argBias: 41,
  argMean: 49,
  argVariance: 50,
  argScale: 51,
  argShift: 52,
  argWorkspace: 64,
  argDiffSrc: 129,
  argDiffDst: 145,
  argDiffWeights: 161,
  argDiffBias: 169,
  argDiffScale: 255,
  argDiffShift: 256,
  argMultipleSrc: 1024,
  // queries
  queryImplInfoStr: 8,
  querySrcMd: 129,
  queryDiffSrcMd: 130,
  queryWeightsMd: 131,
  queryDiffWeightsMd: 132,
  queryDstMd: 133,
  queryDiffDstMd: 134,
  queryWorkspaceMd: 135,
} as const;

/** A oneDNN handle or queried descriptor address, as an integer. */
export type Handle = bigint;

/**
 * Throws naming `what` unless `status` is oneDNN's success.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkStatus } from "./abi.ts";
 * checkStatus(0, "nothing");
 * assert.throws(() => checkStatus(2, "engine create"), /oneDNN: engine create failed with status 2/);
 * ```
 */
export function checkStatus(status: number, what: string): void {
  if (status !== DNNL.success) throw new Error(`oneDNN: ${what} failed with status ${status}`);
}

/**
 * A pointer-sized out-parameter and its value after the call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { outHandle } from "./abi.ts";
 * const out = outHandle();
 * assert.equal(out.buf.byteLength, 8);
 * assert.equal(out.get(), 0n);
 * ```
 */
export function outHandle(): { buf: BigUint64Array; get(): Handle } {
  const buf = new BigUint64Array(1);
  return { buf, get: () => buf[0]! };
}

/**
 * oneDNN `dnnl_dims_t` (12 entries in 2.x and 3.x) of the given values, unused entries zero.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dims } from "./abi.ts";
 * const d = dims([3, 5]);
 * assert.equal(d.length, 12);
 * assert.deepEqual([...d.subarray(0, 3)], [3n, 5n, 0n]);
 * ```
 */
export function dims(values: readonly number[]): BigInt64Array {
  const d = new BigInt64Array(12);
  values.forEach((v, i) => (d[i] = BigInt(v)));
  return d;
}
