/**
 * `AlbenchMovingStats`: a batch-norm layer's moving-statistics update in one kernel with no gradient.
 *
 * In training mode the layer updates its moving mean and variance as `m ← m − (m − batch)·decay`, which as tfjs
 * ops is six kernels a layer (two `Sub`, one `Multiply`, one `Sub` per statistic). Under a gradient tape each of
 * them also saves its inputs for a backward pass that never reaches them (two `Identity` clones each): at
 * DenseNet121 that is about 730 kernel calls and 1,450 clones a step, half of every kernel call the engine makes.
 * This kernel does the same float32 operations in the same order, element by element, each rounded to float32,
 * so the statistics are bit-identical to the ops'; it has no gradient, so the tape saves nothing for it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { WasmBackendLike } from "./replace.ts";

/**
 * The kernel name: inputs `movingMean`, `movingVariance`, `mean`, `variance` (all `[c]`); attr `decay`
 * (1 − the layer's momentum); outputs the new moving mean and the new moving variance.
 */
export const MOVING_STATS = "AlbenchMovingStats";

/** The inputs of {@linkcode MOVING_STATS} by output: each moving statistic with its batch statistic. */
export const MOVING_STATS_INPUTS: readonly (readonly [string, string])[] = Object.freeze(
  [
    ["movingMean", "mean"],
    ["movingVariance", "variance"],
  ] as const,
);

/**
 * `out ← moving − (moving − batch)·decay`, each subtraction and product rounded to float32 (as the tfjs ops
 * `sub(m, mul(sub(m, b), decay))` compute it, with `decay` a float32 scalar).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { movingAverage } from "./moving_stats.ts";
 * const out = new Float32Array(2);
 * movingAverage(new Float32Array([1, 0]), new Float32Array([3, 1]), 0.5, out);
 * assert.deepStrictEqual([...out], [2, 0.5]);
 * ```
 */
export function movingAverage(
  moving: Float32Array,
  batch: Float32Array,
  decay: number,
  out: Float32Array,
): void {
  const d = Math.fround(decay), f = Math.fround;
  for (let i = 0; i < moving.length; i++) {
    const m = moving[i]!;
    out[i] = m - f(f(m - batch[i]!) * d);
  }
}

/** The `decay` attribute of a {@linkcode MOVING_STATS} call. */
export function decayOf(attrs: tf.NamedAttrMap | undefined): number {
  const decay = (attrs as { decay?: unknown } | undefined)?.decay;
  if (typeof decay !== "number" || !(decay >= 0 && decay <= 1)) {
    throw new Error(`${MOVING_STATS}: decay must be a number in [0, 1], got ${String(decay)}`);
  }
  return decay;
}

/**
 * Register {@linkcode MOVING_STATS} for a tfjs-backend-wasm backend.
 *
 * @example
 * ```ts ignore
 * import { registerMovingStats } from "./moving_stats.ts";
 * registerMovingStats("wasm");
 * ```
 */
export function registerMovingStats(backendName: string): void {
  if (tf.getKernel(MOVING_STATS, backendName)) return;
  const config: tf.KernelConfig & { albench: boolean } = {
    kernelName: MOVING_STATS,
    backendName,
    albench: true,
    kernelFunc: ({ inputs, attrs, backend }) => {
      const b = backend as unknown as WasmBackendLike;
      const decay = decayOf(attrs);
      return MOVING_STATS_INPUTS.map(([movingName, batchName]) => {
        const moving = inputs[movingName]!, batch = inputs[batchName]!;
        const y = b.makeOutput([...moving.shape], "float32");
        movingAverage(
          b.typedArrayFromHeap(moving),
          b.typedArrayFromHeap(batch),
          decay,
          b.typedArrayFromHeap(y),
        );
        return y;
      });
    },
  };
  tf.registerKernel(config);
}
