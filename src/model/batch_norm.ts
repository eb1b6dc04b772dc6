/**
 * The batch-normalisation layer of albench's models (over all axes but the last), on the fused ops with a
 * hand-written gradient in `backend/kernels/batch_norm_ops.ts`. The layer keeps Keras' weights (gamma, beta, moving_mean,
 * moving_variance), so parameter counts and checkpoints are those of `tf.layers.batchNormalization`, and its
 * inference path is the same: y = γ·(x − moving mean)/√(moving variance + ε) + β. Moving statistics are updated
 * in training mode as Keras does (`m ← m·momentum + batch·(1 − momentum)`, biased batch variance, as tfjs).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  batchNormReluInference,
  fusedBatchNormReluTraining,
  fusedBatchNormTraining,
} from "../backend/kernels/batch_norm_ops.ts";
import { MOVING_STATS } from "../backend/kernels/moving_stats.ts";

/** Options of {@linkcode FusedBatchNormalization}. */
export interface FusedBatchNormArgs extends tf.serialization.ConfigDict {
  name: string;
  epsilon: number;
  momentum: number;
  /**
   * Apply ReLU to the output (default false): the same arithmetic as a separate ReLU layer, in one kernel where
   * the backend has `BATCH_NORM_RELU_TRAIN` (`backend/kernels/batch_norm_train.ts`) (native), as `tf.relu` after the normalisation elsewhere.
   */
  relu?: boolean;
}

/**
 * A batch-normalisation layer (last axis) using {@linkcode fusedBatchNormTraining} in training mode.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { FusedBatchNormalization } from "./batch_norm.ts";
 * await tf.setBackend("cpu");
 * const layer = new FusedBatchNormalization({ name: "bn", epsilon: 1e-3, momentum: 0.9 });
 * const y = layer.apply(tf.ones([2, 3]), { training: true }) as tf.Tensor;
 * console.assert(y.shape.join() === "2,3" && layer.weights.length === 4);
 * ```
 */
export class FusedBatchNormalization extends tf.layers.Layer {
  static className = "AlbenchFusedBatchNormalization";
  readonly epsilon: number;
  readonly momentum: number;
  readonly relu: boolean;
  private gamma!: tf.LayerVariable;
  private beta!: tf.LayerVariable;
  private movingMean!: tf.LayerVariable;
  private movingVariance!: tf.LayerVariable;

  constructor(args: FusedBatchNormArgs) {
    super({ name: args.name });
    this.epsilon = args.epsilon;
    this.momentum = args.momentum;
    this.relu = args.relu ?? false;
    this.supportsMasking = true;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const c = shape[shape.length - 1] as number;
    this.gamma = this.addWeight("gamma", [c], "float32", tf.initializers.ones(), undefined, true);
    this.beta = this.addWeight("beta", [c], "float32", tf.initializers.zeros(), undefined, true);
    this.movingMean = this.addWeight(
      "moving_mean",
      [c],
      "float32",
      tf.initializers.zeros(),
      undefined,
      false,
    );
    this.movingVariance = this.addWeight(
      "moving_variance",
      [c],
      "float32",
      tf.initializers.ones(),
      undefined,
      false,
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (!kwargs.training) {
      // Inference is one fused kernel (FusedBatchNorm on wasm), as in tf.layers.batchNormalization.
      const normalise = () =>
        tf.batchNorm(
          x,
          this.movingMean.read(),
          this.movingVariance.read(),
          this.beta.read(),
          this.gamma.read(),
          this.epsilon,
        );
      if (!this.relu) return normalise();
      const [m, v, g, b] = [this.movingMean, this.movingVariance, this.gamma, this.beta].map((w) => w.read());
      return batchNormReluInference(x, m!, v!, g!, b!, this.epsilon);
    }
    const { y, mean, variance } = (this.relu ? fusedBatchNormReluTraining : fusedBatchNormTraining)(
      x,
      this.gamma.read(),
      this.beta.read(),
      this.epsilon,
    );
    tf.tidy(() => {
      const decay = 1 - this.momentum;
      if (tf.getKernel(MOVING_STATS, tf.getBackend())) {
        // One kernel with no gradient: the same float32 arithmetic, and nothing saved on the tape.
        const [m, v] = tf.engine().runKernel(
          MOVING_STATS,
          { movingMean: this.movingMean.read(), movingVariance: this.movingVariance.read(), mean, variance },
          { decay } as unknown as tf.NamedAttrMap,
        ) as tf.Tensor[];
        this.movingMean.write(m!);
        this.movingVariance.write(v!);
        return;
      }
      this.movingMean.write(
        tf.sub(this.movingMean.read(), tf.mul(tf.sub(this.movingMean.read(), mean), decay)),
      );
      this.movingVariance.write(
        tf.sub(this.movingVariance.read(), tf.mul(tf.sub(this.movingVariance.read(), variance), decay)),
      );
    });
    tf.dispose([mean, variance]);
    return y;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon, momentum: this.momentum, relu: this.relu };
  }
}
tf.serialization.registerClass(FusedBatchNormalization);
