/**
 * Names of the batch-norm kernels an engine may register (the native engine does, through oneDNN);
 * the fused batch-norm layer (src/model/batch_norm.ts) uses them where the active backend has them, and its
 * own tfjs-op formula elsewhere.
 *
 * @module
 */

/** Training forward: inputs `x`, `gamma`, `beta`; attr `epsilon`; outputs y, batch mean, biased batch variance. */
export const BATCH_NORM_TRAIN = "AlbenchBatchNormTrain";
/** Backward of {@linkcode BATCH_NORM_TRAIN}: inputs `x`, `dy`, `mean`, `variance`, `gamma`, `beta`;
 * attr `epsilon`; outputs dx, dγ, dβ. */
export const BATCH_NORM_GRAD = "AlbenchBatchNormGrad";
/** {@linkcode BATCH_NORM_TRAIN} followed by ReLU in one pass: outputs y = max(bn(x), 0), mean, variance, mask. */
export const BATCH_NORM_RELU_TRAIN = "AlbenchBatchNormReluTrain";
/** Backward of {@linkcode BATCH_NORM_RELU_TRAIN}: the inputs of {@linkcode BATCH_NORM_GRAD} plus its `mask`. */
export const BATCH_NORM_RELU_GRAD = "AlbenchBatchNormReluGrad";
/**
 * Inference-mode batch norm with the moving statistics, then ReLU, in one pass: inputs `x`, `mean`, `variance`,
 * `gamma`, `beta`; attr `epsilon`; output y = max(γ·(x − mean)/√(variance + ε) + β, 0).
 */
export const BATCH_NORM_RELU_INFER = "AlbenchBatchNormReluInfer";
