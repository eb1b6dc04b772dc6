/**
 * albench's batch-norm kernels ({@linkcode BATCH_NORM_TRAIN} and its ReLU, gradient and inference variants) on
 * WebGPU, a few dispatches each where the tfjs-op formula takes a dozen.
 *
 * Statistics are computed in two passes over a [rows, channels] view of the NHWC tensor: each invocation sums
 * one group of channels (a vec4 where the channels are a multiple of 4) over one range of rows (Welford's
 * running mean and squared deviation, so an offset input loses no precision), then one invocation per channel
 * merges the ranges in ascending order (Chan's formula). The gradient sums dy and dy·x̂ per range the same
 * way, turns them into three per-channel coefficients, and then writes dx elementwise. The elementwise passes
 * give each invocation one group of channels over 16 rows, so no element pays an integer division for its
 * channel (on lavapipe this took a DenseNet step's batch-norm time from 209 to 145 ms; grouping the range
 * passes too, to about 90). Every sum has a fixed order: results do not depend on scheduling.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import {
  blockProgram,
  flatProgram,
  type GpuProgram,
  type GpuUniform,
  ints,
  sumParts,
  type WebGpuBackendLike,
} from "./program.ts";

/** Invocations (channel groups × ranges) the range passes aim for. */
const TARGET_INVOCATIONS = 4096;
/** Fewest rows per range. */
const MIN_ROWS = 64;

/** How the rows of a batch-norm reduction are split into ranges. */
export interface RowPlan {
  /** Rows (N·H·W). */
  readonly rows: number;
  /** Channels. */
  readonly channels: number;
  /** Rows per range (the last may hold fewer). */
  readonly rowsPer: number;
  /** Ranges. */
  readonly parts: number;
}

/**
 * The ranges of a batch-norm reduction: about 4,096 invocations (one per group of channels, 4 where the
 * channels are a multiple of 4, and range), at least 64 rows each.
 *
 * @example
 * ```ts
 * import { planRows } from "./batch_norm.ts";
 * const p = planRows(10 * 32 * 32, 48);
 * console.assert(p.parts === 160 && p.rowsPer === 64);
 * console.assert(planRows(10, 3).parts === 1);
 * ```
 */
export function planRows(rows: number, channels: number): RowPlan {
  const wanted = Math.max(1, Math.ceil(TARGET_INVOCATIONS / groupsOf(channels)));
  const most = Math.max(1, Math.floor(rows / MIN_ROWS));
  const first = Math.min(wanted, most);
  const rowsPer = Math.max(1, Math.ceil(rows / first));
  return { rows, channels, rowsPer, parts: Math.ceil(rows / rowsPer) };
}

const ROW_UNIFORMS = "rows : i32, channels : i32, rowsPer : i32, parts : i32,";

function rowUniforms(p: RowPlan): GpuUniform[] {
  return ints(p.rows, p.channels, p.rowsPer, p.parts);
}

/** Channels per group: 4 (one vec4) where the channel count is a multiple of 4, else 1. */
function widthOf(channels: number): 4 | 1 {
  return channels % 4 === 0 ? 4 : 1;
}

/** Channel groups of {@linkcode widthOf}. */
function groupsOf(channels: number): number {
  return channels / widthOf(channels);
}

/**
 * A range pass: one invocation per (channel group, range), the group's channels summed together as a vec4
 * where they are a multiple of 4; output [parts, 2·channels]. `body` sees `ch` (the group), `part`, `r0`, `r1`
 * and `T` (f32 or vec4<f32>).
 */
function rangeProgram(
  key: string,
  variableNames: string[],
  p: RowPlan,
  extra: string,
  body: string,
): { program: GpuProgram; uniforms: GpuUniform[] } {
  const cv = widthOf(p.channels), cq = groupsOf(p.channels);
  const blocks = p.parts * cq;
  const program = blockProgram(
    `${key}_${cv}`,
    variableNames,
    [p.parts, 2 * p.channels],
    blocks,
    `${ROW_UNIFORMS} cq : i32, ${extra}`,
    () => `
      alias T = ${cv === 4 ? "vec4<f32>" : "f32"};
      fn main(index : i32) {
        if (index >= uniforms.blocks) {
          return;
        }
        let part = index / uniforms.cq;
        let ch = index - part * uniforms.cq;
        let r0 = part * uniforms.rowsPer;
        let r1 = min(uniforms.rows, r0 + uniforms.rowsPer);
        ${body}
      }
    `,
    variableNames.map(() => cv),
    cv === 4,
  );
  const uniforms = [...ints(blocks), ...rowUniforms(p), ...ints(cq)];
  return { program, uniforms };
}

/** Welford's mean and squared deviation over a range: [part, ch] and [part, channels + ch]. */
const MOMENTS_BODY = `
  var mean = T(0.0);
  var m2 = T(0.0);
  var count = 0.0;
  for (var r = r0; r < r1; r = r + 1) {
    let v = x[r * uniforms.cq + ch];
    count = count + 1.0;
    let d = v - mean;
    mean = mean + d / count;
    m2 = m2 + d * (v - mean);
  }
  result[part * 2 * uniforms.cq + ch] = mean;
  result[part * 2 * uniforms.cq + uniforms.cq + ch] = m2;
`;

/** Chan's merge of the ranges' moments, in range order; `which` 0 writes the mean, 1 the biased variance. */
function mergeCode(which: 0 | 1): string {
  return `
    fn main(index : i32) {
      if (index < uniforms.size) {
        var count = 0.0;
        var mean = 0.0;
        var m2 = 0.0;
        for (var p = 0; p < uniforms.parts; p = p + 1) {
          let nb = f32(min(uniforms.rowsPer, uniforms.rows - p * uniforms.rowsPer));
          let mb = moments[p * 2 * uniforms.channels + index];
          let m2b = moments[p * 2 * uniforms.channels + uniforms.channels + index];
          let total = count + nb;
          let delta = mb - mean;
          mean = mean + delta * (nb / total);
          m2 = m2 + m2b + delta * delta * (count * nb / total);
          count = total;
        }
        setOutputAtIndex(index, ${which === 0 ? "mean" : "m2 / count"});
      }
    }
  `;
}

/** Rows an elementwise pass (normalisation, dx) handles per invocation, for one group of channels. */
const ELEMENT_ROWS = 16;

/**
 * An elementwise pass over a [rows, channels] view: each invocation takes one group of `cv` channels (4 where
 * the channels are a multiple of 4, read as vec4; else 1) over {@linkcode ELEMENT_ROWS} rows, so the channel
 * and its per-channel values are found once per invocation rather than once per element (an integer division
 * per element is what made the flat version slow on a CPU adapter). `body` sees `ch` (the channel group), `i`
 * (the element group) and `T` (f32 or vec4<f32>); `setup` runs once per invocation. Returns the program and
 * its first uniforms (blocks, rows, channel groups); the caller appends those its `uniforms` declares.
 */
function elementProgram(
  key: string,
  variableNames: string[],
  shape: readonly number[],
  uniforms: string,
  setup: string,
  body: string,
): { program: GpuProgram; uniforms: GpuUniform[] } {
  const channels = shape[shape.length - 1] ?? 1;
  const cv = widthOf(channels);
  const rows = sizeOf(shape) / channels;
  const blocks = Math.ceil(rows / ELEMENT_ROWS) * (channels / cv);
  const program = blockProgram(
    `${key}_${cv}`,
    variableNames,
    [...shape],
    blocks,
    `rows : i32, cq : i32, ${uniforms}`,
    () => `
    alias T = ${cv === 4 ? "vec4<f32>" : "f32"};
    fn main(index : i32) {
      if (index >= uniforms.blocks) {
        return;
      }
      let rb = index / uniforms.cq;
      let ch = index - rb * uniforms.cq;
      ${setup}
      let r1 = min(uniforms.rows, (rb + 1) * ${ELEMENT_ROWS});
      for (var r = rb * ${ELEMENT_ROWS}; r < r1; r = r + 1) {
        let i = r * uniforms.cq + ch;
        ${body}
      }
    }
  `,
    variableNames.map(() => cv), // per-element and per-channel inputs alike: channels come in groups of cv
    cv === 4,
  );
  return { program, uniforms: ints(blocks, rows, channels / cv) };
}

/** Output of {@linkcode batchNormTrainWebGpu}: y (after ReLU when asked), batch mean, biased batch variance. */
export type BatchNormTrainOutputs = [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];

function channelsOf(x: tf.TensorInfo): number {
  return x.shape[x.shape.length - 1] ?? 1;
}

/**
 * Refuse, by name, what the programs would read out of bounds or bind empty: an empty x, per-element inputs of
 * another size than x, per-channel inputs of another length than its channels.
 */
function checkInputs(
  x: tf.TensorInfo,
  perElement: Record<string, tf.TensorInfo | undefined>,
  perChannel: Record<string, tf.TensorInfo>,
): void {
  const size = sizeOf(x.shape), channels = channelsOf(x);
  if (size === 0) {
    throw new Error(
      `webgpu backend: batch norm of an empty tensor (shape [${x.shape}]): give it at least one row`,
    );
  }
  for (const [name, t] of Object.entries(perElement)) {
    if (t && sizeOf(t.shape) !== size) {
      throw new Error(`webgpu backend: batch norm ${name} has shape [${t.shape}], x has [${x.shape}]`);
    }
  }
  for (const [name, t] of Object.entries(perChannel)) {
    if (sizeOf(t.shape) !== channels) {
      throw new Error(
        `webgpu backend: batch norm ${name} has shape [${t.shape}], x has ${channels} channels`,
      );
    }
  }
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * y = γ·(x − mean)/√(variance + ε) + β over the last axis with batch statistics (then max(·, 0) if `relu`):
 * 4 dispatches.
 *
 * @example
 * ```ts ignore
 * import { batchNormTrainWebGpu } from "./batch_norm.ts";
 * const [y, mean, variance] = batchNormTrainWebGpu(backend, x, gamma, beta, 1e-3, true);
 * ```
 */
export function batchNormTrainWebGpu(
  backend: WebGpuBackendLike,
  x: tf.TensorInfo,
  gamma: tf.TensorInfo,
  beta: tf.TensorInfo,
  epsilon: number,
  relu: boolean,
): BatchNormTrainOutputs {
  checkInputs(x, {}, { gamma, beta });
  const channels = channelsOf(x);
  const plan = planRows(sizeOf(x.shape) / channels, channels);
  const uniforms = rowUniforms(plan);
  const pass = rangeProgram("albenchBnMoments", ["x"], plan, "", MOMENTS_BODY);
  const moments = backend.runWebGPUProgram(pass.program, [x], "float32", pass.uniforms);
  const [mean, variance] = ([0, 1] as const).map((which) =>
    backend.runWebGPUProgram(
      flatProgram(`albenchBnMerge${which}`, ["moments"], [channels], ROW_UNIFORMS, mergeCode(which)),
      [moments],
      "float32",
      uniforms,
    )
  ) as [tf.TensorInfo, tf.TensorInfo];
  backend.disposeData(moments.dataId);
  const y = batchNormApplyWebGpu(backend, x, mean, variance, gamma, beta, epsilon, relu);
  return [y, mean, variance];
}

/**
 * The normalisation with given statistics (inference with the moving ones), ReLU optional: 1 dispatch.
 *
 * @example
 * ```ts ignore
 * import { batchNormApplyWebGpu } from "./batch_norm.ts";
 * const y = batchNormApplyWebGpu(backend, x, movingMean, movingVariance, gamma, beta, 1e-3, true);
 * ```
 */
export function batchNormApplyWebGpu(
  backend: WebGpuBackendLike,
  x: tf.TensorInfo,
  mean: tf.TensorInfo,
  variance: tf.TensorInfo,
  gamma: tf.TensorInfo,
  beta: tf.TensorInfo,
  epsilon: number,
  relu: boolean,
): tf.TensorInfo {
  checkInputs(x, {}, { mean, variance, gamma, beta });
  const names = ["x", "mean", "variance", "gamma", "beta"];
  const pass = elementProgram(
    `albenchBnApply${relu ? "Relu" : ""}`,
    names,
    x.shape,
    "epsilon : f32,",
    `let scale = gamma[ch] * inverseSqrt(variance[ch] + uniforms.epsilon);
      let mu = mean[ch];
      let b = beta[ch];`,
    `result[i] = ${relu ? "max((x[i] - mu) * scale + b, T(0.0))" : "(x[i] - mu) * scale + b"};`,
  );
  return backend.runWebGPUProgram(pass.program, [x, mean, variance, gamma, beta], "float32", [
    ...pass.uniforms,
    { type: "float32", data: [epsilon] },
  ]);
}

/** Per range: Σ dy' and Σ dy'·x̂, where dy' is dy masked by ReLU's output when there is one. */
function gradSumsBody(relu: boolean): string {
  return `
    let inv = inverseSqrt(variance[ch] + uniforms.epsilon);
    let mu = mean[ch];
    var sdy = T(0.0);
    var sdyx = T(0.0);
    for (var r = r0; r < r1; r = r + 1) {
      let i = r * uniforms.cq + ch;
      let g = ${relu ? "select(dy[i], T(0.0), mask[i] <= T(0.0))" : "dy[i]"};
      sdy = sdy + g;
      sdyx = sdyx + g * (x[i] - mu) * inv;
    }
    result[part * 2 * uniforms.cq + ch] = sdy;
    result[part * 2 * uniforms.cq + uniforms.cq + ch] = sdyx;
  `;
}

/** Per channel: [γ/σ, dβ/n, dγ/(σ·n)], rows 0..2 of a [3, channels] tensor. */
const COEF_CODE = `
  fn main(index : i32) {
    if (index < uniforms.size) {
      let row = index / uniforms.channels;
      let ch = index - row * uniforms.channels;
      let inv = inverseSqrt(variance[ch] + uniforms.epsilon);
      let n = f32(uniforms.rows);
      var v = gamma[ch] * inv;
      if (row == 1) {
        v = dbeta[ch] / n;
      } else if (row == 2) {
        v = dgamma[ch] * inv / n;
      }
      setOutputAtIndex(index, v);
    }
  }
`;

/**
 * The gradient of {@linkcode batchNormTrainWebGpu} (with ReLU when `mask`, its output, is given): dx, dγ, dβ in
 * 5 dispatches.
 *
 * @example
 * ```ts ignore
 * import { batchNormGradWebGpu } from "./batch_norm.ts";
 * const [dx, dGamma, dBeta] = batchNormGradWebGpu(backend, x, dy, mean, variance, gamma, 1e-3, y);
 * ```
 */
export function batchNormGradWebGpu(
  backend: WebGpuBackendLike,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  mean: tf.TensorInfo,
  variance: tf.TensorInfo,
  gamma: tf.TensorInfo,
  epsilon: number,
  mask?: tf.TensorInfo,
): [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo] {
  checkInputs(x, { dy, mask }, { mean, variance, gamma });
  const relu = mask !== undefined;
  const channels = channelsOf(x);
  const plan = planRows(sizeOf(x.shape) / channels, channels);
  const eps: GpuUniform = { type: "float32", data: [epsilon] };
  const names = ["x", "dy", "mean", "variance", ...(relu ? ["mask"] : [])];
  const inputs = [x, dy, mean, variance, ...(mask ? [mask] : [])];
  const pass = rangeProgram(
    `albenchBnGradSums${relu ? "Relu" : ""}`,
    names,
    plan,
    "epsilon : f32,",
    gradSumsBody(relu),
  );
  const sums = backend.runWebGPUProgram(pass.program, inputs, "float32", [...pass.uniforms, eps]);
  // Σ over ranges, in order, of each range's two rows: dβ (Σ dy') and dγ (Σ dy'·x̂).
  const dBeta = sumParts(backend, sums, [channels], plan.parts, 2 * channels, 0);
  const dGamma = sumParts(backend, sums, [channels], plan.parts, 2 * channels, channels);
  backend.disposeData(sums.dataId);
  const coef = backend.runWebGPUProgram(
    flatProgram(
      "albenchBnGradCoef",
      ["variance", "gamma", "dbeta", "dgamma"],
      [3, channels],
      "channels : i32, rows : i32, epsilon : f32,",
      COEF_CODE,
    ),
    [variance, gamma, dBeta, dGamma],
    "float32",
    [...ints(channels, plan.rows), eps],
  );
  // dx = γ/σ · dy' − γ/σ · (dβ/n + (x − mean)·dγ/(σ·n)), from the three coefficient rows.
  const dxPass = elementProgram(
    `albenchBnGradDx${relu ? "Relu" : ""}`,
    ["x", "dy", "mean", "coef", ...(relu ? ["mask"] : [])],
    x.shape,
    "",
    `let a = coef[ch];
      let b = coef[uniforms.cq + ch];
      let d = coef[2 * uniforms.cq + ch];
      let mu = mean[ch];`,
    `let g = ${relu ? "select(dy[i], T(0.0), mask[i] <= T(0.0))" : "dy[i]"};
        result[i] = a * (g - b - (x[i] - mu) * d);`,
  );
  const dx = backend.runWebGPUProgram(
    dxPass.program,
    [x, dy, mean, coef, ...(mask ? [mask] : [])],
    "float32",
    dxPass.uniforms,
  );
  backend.disposeData(coef.dataId);
  return [dx, dGamma, dBeta];
}
