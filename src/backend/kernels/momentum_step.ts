/**
 * `AlbenchMomentumStep`: one SGD-with-momentum update of a variable in one kernel (wasm backend).
 *
 * tfjs's momentum optimizer updates a variable with four kernels (accumulation · m, + gradient, · −lr, + value):
 * about 320 small kernel calls per CPU-DenseNet step, each with its allocation. This kernel does the same four
 * float32 operations in that order, element by element, each product and sum rounded to float32 as the wasm
 * kernels round them, so the weights are bit-identical. `FusedMomentumOptimizer` (src/train/momentum.ts) uses it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { WasmBackendLike } from "./replace.ts";

/** The kernel name: inputs `value`, `accumulation`, `gradient`; attrs `momentum`, `negLr`; outputs new value and accumulation. */
export const MOMENTUM_STEP = "AlbenchMomentumStep";

/**
 * The update on plain arrays: `acc ← m·acc + g`, `value ← (−lr)·acc + value`, every operation rounded to float32.
 *
 * @example
 * ```ts
 * import { momentumStep } from "./momentum_step.ts";
 * const v = new Float32Array([1]), a = new Float32Array([0]);
 * momentumStep(v, a, new Float32Array([2]), 0.9, -0.5, v, a);
 * console.assert(a[0] === 2 && v[0] === 0);
 * ```
 */
export function momentumStep(
  value: Float32Array,
  acc: Float32Array,
  grad: Float32Array,
  momentum: number,
  negLr: number,
  outValue: Float32Array,
  outAcc: Float32Array,
): void {
  const m = Math.fround(momentum), c = Math.fround(negLr), f = Math.fround;
  for (let i = 0; i < value.length; i++) {
    const a = f(f(m * acc[i]!) + grad[i]!);
    outAcc[i] = a;
    outValue[i] = f(c * a) + value[i]!;
  }
}

/**
 * Register {@linkcode MOMENTUM_STEP} for a tfjs-backend-wasm backend.
 *
 * @example
 * ```ts ignore
 * import { registerMomentumStep } from "./momentum_step.ts";
 * registerMomentumStep("wasm");
 * ```
 */
export function registerMomentumStep(backendName: string): void {
  if (tf.getKernel(MOMENTUM_STEP, backendName)) return;
  tf.registerKernel({
    kernelName: MOMENTUM_STEP,
    backendName,
    kernelFunc: ({ inputs, attrs, backend }) => {
      const value = inputs["value"]!, acc = inputs["accumulation"]!, grad = inputs["gradient"]!;
      const { momentum, negLr } = attrs as unknown as { momentum: number; negLr: number };
      return wasmMomentumStep(backend as unknown as WasmBackendLike, value, acc, grad, momentum, negLr);
    },
  });
}

/** One variable's update on the wasm heap: new value and accumulation as fresh outputs. */
function wasmMomentumStep(
  b: WasmBackendLike,
  value: tf.TensorInfo,
  acc: tf.TensorInfo,
  grad: tf.TensorInfo,
  momentum: number,
  negLr: number,
): [tf.TensorInfo, tf.TensorInfo] {
  const outValue = b.makeOutput([...value.shape], "float32"),
    outAcc = b.makeOutput([...value.shape], "float32");
  const heap = (t: tf.TensorInfo) => b.typedArrayFromHeap(t);
  momentumStep(heap(value), heap(acc), heap(grad), momentum, negLr, heap(outValue), heap(outAcc));
  return [outValue, outAcc];
}

/**
 * `AlbenchMomentumSteps`: {@linkcode MOMENTUM_STEP} for every variable of a model in one kernel call. Inputs
 * `value0`, `accumulation0`, `gradient0`, `value1`, …; attrs `count`, `momentum`, `negLr`; outputs the new value
 * and accumulation of each variable in turn (`2·count` outputs). One call instead of one per variable (364 at
 * DenseNet121) saves the engine's bookkeeping of each; the arithmetic is {@linkcode momentumStep}'s.
 */
export const MOMENTUM_STEPS = "AlbenchMomentumSteps";

/** The attributes of a {@linkcode MOMENTUM_STEPS} call, checked. */
export function momentumStepsAttrs(
  attrs: tf.NamedAttrMap | undefined,
): { count: number; momentum: number; negLr: number } {
  const { count, momentum, negLr } = (attrs ?? {}) as Record<string, unknown>;
  if (!Number.isSafeInteger(count) || (count as number) < 0) {
    throw new Error(`${MOMENTUM_STEPS}: count must be a whole number >= 0, got ${String(count)}`);
  }
  if (typeof momentum !== "number" || typeof negLr !== "number") {
    throw new Error(`${MOMENTUM_STEPS}: momentum and negLr must be numbers`);
  }
  return { count: count as number, momentum, negLr };
}

/**
 * The three inputs of variable `i` of a {@linkcode MOMENTUM_STEPS} call.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { momentumStepsInputs } from "./momentum_step.ts";
 * assert.deepStrictEqual(momentumStepsInputs(2), ["value2", "accumulation2", "gradient2"]);
 * ```
 */
export function momentumStepsInputs(i: number): [string, string, string] {
  return [`value${i}`, `accumulation${i}`, `gradient${i}`];
}

/** The value, accumulation and gradient of variable `i` of a {@linkcode MOMENTUM_STEPS} call, each present. */
export function momentumStepsTensors(
  inputs: tf.NamedTensorInfoMap,
  i: number,
): [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo] {
  return momentumStepsInputs(i).map((k) => {
    const t = inputs[k];
    if (t === undefined) throw new Error(`${MOMENTUM_STEPS}: input ${k} is missing`);
    return t;
  }) as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
}

/**
 * Register {@linkcode MOMENTUM_STEPS} for a tfjs-backend-wasm backend.
 *
 * @example
 * ```ts ignore
 * import { registerMomentumSteps } from "./momentum_step.ts";
 * registerMomentumSteps("wasm");
 * ```
 */
export function registerMomentumSteps(backendName: string): void {
  if (tf.getKernel(MOMENTUM_STEPS, backendName)) return;
  tf.registerKernel({
    kernelName: MOMENTUM_STEPS,
    backendName,
    kernelFunc: ({ inputs, attrs, backend }) => {
      const b = backend as unknown as WasmBackendLike;
      const { count, momentum, negLr } = momentumStepsAttrs(attrs);
      const outs: tf.TensorInfo[] = [];
      for (let i = 0; i < count; i++) {
        outs.push(...wasmMomentumStep(b, ...momentumStepsTensors(inputs, i), momentum, negLr));
      }
      return outs;
    },
  });
}
