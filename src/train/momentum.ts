/**
 * SGD with momentum, as `tf.train.momentum`, with the update of each variable in one kernel where one is
 * registered.
 *
 * tfjs's optimizer updates a variable with four kernels; `AlbenchMomentumStep` (src/backend/kernels/momentum_step.ts)
 * does the same float32 operations in one, bit-identically. Backends without it use tfjs's own update.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { MOMENTUM_STEP, MOMENTUM_STEPS, momentumStepsInputs } from "../backend/kernels/momentum_step.ts";

interface MomentumInternals {
  accumulations: { originalName: string; variable: tf.Variable }[];
  momentum: number;
  learningRate: number;
}

/**
 * `tf.train.momentum(lr, momentum)` whose updates use {@linkcode MOMENTUM_STEPS} (every variable in one call) or
 * {@linkcode MOMENTUM_STEP} (one call a variable) when the active backend has it.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { FusedMomentumOptimizer } from "./momentum.ts";
 * await tf.setBackend("cpu");
 * const v = tf.variable(tf.scalar(1));
 * const opt = new FusedMomentumOptimizer(0.1, 0.9);
 * opt.minimize(() => tf.mul(v, v) as tf.Scalar);
 * console.assert(Math.abs(v.dataSync()[0]! - 0.8) < 1e-6);
 * ```
 */
export class FusedMomentumOptimizer extends tf.MomentumOptimizer {
  constructor(learningRate: number, momentum: number) {
    super(learningRate, momentum, false);
  }

  override applyGradients(variableGradients: Parameters<tf.MomentumOptimizer["applyGradients"]>[0]): void {
    const backend = tf.getBackend();
    const batched = tf.getKernel(MOMENTUM_STEPS, backend) !== undefined;
    if (!batched && !tf.getKernel(MOMENTUM_STEP, backend)) return super.applyGradients(variableGradients);
    const self = this as unknown as MomentumInternals;
    const list = Array.isArray(variableGradients)
      ? variableGradients
      : Object.keys(variableGradients).map((name) => ({
        name,
        tensor: variableGradients[name] as tf.Tensor,
      }));
    const steps: { value: tf.Variable; accumulation: tf.Variable; gradient: tf.Tensor }[] = [];
    list.forEach(({ name, tensor: gradient }, i) => {
      const value = tf.engine().registeredVariables[name]!;
      if (self.accumulations[i] == null) {
        self.accumulations[i] = {
          originalName: `${name}/momentum`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
      }
      if (gradient == null || value.dtype !== "float32") return;
      steps.push({ value, accumulation: self.accumulations[i]!.variable, gradient });
    });
    const attrs = { momentum: self.momentum, negLr: -self.learningRate };
    if (batched && steps.length > 0) {
      // Every variable in one kernel call; the new values are assigned after all are computed (each update reads
      // only its own variable, so the order does not matter).
      const inputs: Record<string, tf.Tensor> = {};
      steps.forEach(({ value, accumulation, gradient }, i) => {
        const [v, a, g] = momentumStepsInputs(i);
        inputs[v] = value;
        inputs[a] = accumulation;
        inputs[g] = gradient;
      });
      const outs = tf.engine().runKernel(
        MOMENTUM_STEPS,
        inputs as tf.NamedTensorMap,
        { ...attrs, count: steps.length } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor[];
      steps.forEach(({ value, accumulation }, i) => {
        accumulation.assign(outs[2 * i + 1]!);
        value.assign(outs[2 * i]!);
      });
      tf.dispose(outs);
    } else {
      for (const { value, accumulation, gradient } of steps) {
        const [newValue, newAcc] = tf.engine().runKernel(
          MOMENTUM_STEP,
          { value, accumulation, gradient } as unknown as tf.NamedTensorMap,
          attrs as unknown as tf.NamedAttrMap,
        ) as tf.Tensor[];
        accumulation.assign(newAcc!);
        value.assign(newValue!);
        tf.dispose([newAcc!, newValue!]);
      }
    }
    this.incrementIterations();
  }
}
