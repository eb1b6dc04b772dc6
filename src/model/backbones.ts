/**
 * Backbones `f`: image → feature vector. The DenseNet-BC family (DenseNet121 exactly as published, and a
 * CPU-scale variant) and a plain small CNN for smoke tests, built with tfjs layers.
 *
 * Weight initialisation is seeded per layer from the stream `init/<layer name>` (He-normal for convolutions,
 * as torchvision's DenseNet), so the same seed builds the same network on every run.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../rng.ts";
import { FusedBatchNormalization } from "./batch_norm.ts";

export { BACKBONE_NAMES, type BackboneName, isBackboneName } from "./names.ts";
import type { BackboneName } from "./names.ts";

/** A DenseNet-BC configuration. */
export interface DenseNetConfig {
  /** `imagenet`: 7x7/2 convolution with 64 channels, then 3x3/2 max pool; `cifar`: one 3x3/1 convolution. */
  readonly stem: "imagenet" | "cifar";
  /** Stem channels (DenseNet121: 64; CIFAR style: 2 x growth). */
  readonly stemChannels: number;
  /** Layers per dense block (DenseNet121: 6, 12, 24, 16). */
  readonly blocks: readonly number[];
  /** Growth rate k (DenseNet121: 32). */
  readonly growth: number;
  /** Bottleneck width as a multiple of k (4). */
  readonly bottleneck: number;
  /** Transition compression θ (0.5). */
  readonly compression: number;
}

/** DenseNet121 as published (Huang et al. 2017; Keras and torchvision agree). */
export const DENSENET121: DenseNetConfig = {
  stem: "imagenet",
  stemChannels: 64,
  blocks: [6, 12, 24, 16],
  growth: 32,
  bottleneck: 4,
  compression: 0.5,
};

/**
 * The CPU-scale DenseNet-BC used by the CPU scenarios: CIFAR-style 3x3 stem (no downsampling), growth 12, three
 * blocks of 4 bottleneck layers, compression 0.5; made for 32–64 px inputs.
 */
export const DENSENET_CPU: DenseNetConfig = {
  stem: "cifar",
  stemChannels: 24,
  blocks: [4, 4, 4],
  growth: 12,
  bottleneck: 4,
  compression: 0.5,
};

/** Batch-norm epsilon: Keras' DenseNet value. */
const BN_EPSILON = 1.001e-5;

interface Ctx {
  readonly rng: Rng;
  readonly prefix: string;
  readonly batchNorm: BatchNormKind;
}

/**
 * Which batch-norm layer a backbone uses: albench's fused-gradient layer (the default) or
 * `tf.layers.batchNormalization` (the same weights and forward arithmetic; the performance baseline).
 */
export type BatchNormKind = "fused" | "layers";

/** Options of {@linkcode buildBackbone}. */
export interface BackboneOptions {
  /** Batch-norm layer; default `"fused"`. */
  readonly batchNorm?: BatchNormKind;
}

function conv(
  ctx: Ctx,
  name: string,
  filters: number,
  kernelSize: number,
  strides = 1,
  padding: "same" | "valid" = "same",
) {
  const full = `${ctx.prefix}${name}`;
  return tf.layers.conv2d({
    name: full,
    filters,
    kernelSize,
    strides,
    padding,
    useBias: false,
    kernelInitializer: tf.initializers.heNormal({ seed: ctx.rng.fork(`init/${full}`).seed() }),
  });
}

function bn(ctx: Ctx, name: string): tf.layers.Layer {
  if (ctx.batchNorm === "layers") {
    return tf.layers.batchNormalization({ name: `${ctx.prefix}${name}`, epsilon: BN_EPSILON, momentum: 0.9 });
  }
  // Same weights and arithmetic as tf.layers.batchNormalization, with a fused gradient (see batch_norm.ts).
  return new FusedBatchNormalization({ name: `${ctx.prefix}${name}`, epsilon: BN_EPSILON, momentum: 0.9 });
}

/**
 * Batch norm then ReLU. With the fused layer they are one layer (`bnName`, ReLU applied inside: one kernel on
 * the native engine, the same ops as two layers elsewhere); with `tf.layers.batchNormalization`, two layers.
 */
function bnRelu(ctx: Ctx, bnName: string, reluName: string, x: tf.SymbolicTensor): tf.SymbolicTensor {
  if (ctx.batchNorm === "layers") {
    const y = bn(ctx, bnName).apply(x) as tf.SymbolicTensor;
    return tf.layers.reLU({ name: `${ctx.prefix}${reluName}` }).apply(y) as tf.SymbolicTensor;
  }
  return new FusedBatchNormalization({
    name: `${ctx.prefix}${bnName}`,
    epsilon: BN_EPSILON,
    momentum: 0.9,
    relu: true,
  })
    .apply(x) as tf.SymbolicTensor;
}

/**
 * Build a DenseNet-BC backbone ending in BN-ReLU and global average pooling.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../rng.ts";
 * import { buildDenseNet, DENSENET_CPU } from "./backbones.ts";
 * await tf.setBackend("cpu");
 * const f = buildDenseNet(DENSENET_CPU, 32, Rng.root(0));
 * console.assert(f.outputs[0]!.shape[1] === 90);
 * ```
 */
export function buildDenseNet(
  cfg: DenseNetConfig,
  resolution: number,
  rng: Rng,
  prefix = "",
  options: BackboneOptions = {},
): tf.LayersModel {
  const ctx: Ctx = { rng, prefix, batchNorm: options.batchNorm ?? "fused" };
  const input = tf.input({ shape: [resolution, resolution, 3], name: `${prefix}input` });
  let x: tf.SymbolicTensor;
  if (cfg.stem === "imagenet") {
    x = tf.layers.zeroPadding2d({ padding: 3, name: `${prefix}stem_pad` }).apply(input) as tf.SymbolicTensor;
    x = conv(ctx, "stem_conv", cfg.stemChannels, 7, 2, "valid").apply(x) as tf.SymbolicTensor;
    x = bnRelu(ctx, "stem_bn", "stem_relu", x);
    x = tf.layers.zeroPadding2d({ padding: 1, name: `${prefix}pool_pad` }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2, name: `${prefix}stem_pool` }).apply(
      x,
    ) as tf.SymbolicTensor;
  } else {
    x = conv(ctx, "stem_conv", cfg.stemChannels, 3).apply(input) as tf.SymbolicTensor;
  }
  let channels = cfg.stemChannels;
  cfg.blocks.forEach((layers, b) => {
    for (let l = 0; l < layers; l++) {
      const n = `block${b + 1}_layer${l + 1}`;
      let y = bnRelu(ctx, `${n}_bn1`, `${n}_relu1`, x);
      y = conv(ctx, `${n}_conv1`, cfg.bottleneck * cfg.growth, 1).apply(y) as tf.SymbolicTensor;
      y = bnRelu(ctx, `${n}_bn2`, `${n}_relu2`, y);
      y = conv(ctx, `${n}_conv2`, cfg.growth, 3).apply(y) as tf.SymbolicTensor;
      x = tf.layers.concatenate({ name: `${prefix}${n}_concat`, axis: -1 }).apply([
        x,
        y,
      ]) as tf.SymbolicTensor;
      channels += cfg.growth;
    }
    if (b < cfg.blocks.length - 1) {
      const n = `transition${b + 1}`;
      channels = Math.floor(channels * cfg.compression);
      x = bnRelu(ctx, `${n}_bn`, `${n}_relu`, x);
      x = conv(ctx, `${n}_conv`, channels, 1).apply(x) as tf.SymbolicTensor;
      x = tf.layers.averagePooling2d({ poolSize: 2, strides: 2, name: `${prefix}${n}_pool` }).apply(
        x,
      ) as tf.SymbolicTensor;
    }
  });
  x = bnRelu(ctx, "final_bn", "final_relu", x);
  const features = tf.layers.globalAveragePooling2d({ name: `${prefix}avg_pool` }).apply(
    x,
  ) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: features, name: `${prefix}densenet` });
}

/**
 * A plain CNN for smoke tests: four conv-BN-ReLU stages (32, 64, 128, 128 channels) with 2x2 max pooling after
 * the first two, then global average pooling to a 128-d feature.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../rng.ts";
 * import { buildSmallCnn } from "./backbones.ts";
 * await tf.setBackend("cpu");
 * console.assert(buildSmallCnn(32, Rng.root(0)).outputs[0]!.shape[1] === 128);
 * ```
 */
export function buildSmallCnn(
  resolution: number,
  rng: Rng,
  prefix = "",
  options: BackboneOptions = {},
): tf.LayersModel {
  const ctx: Ctx = { rng, prefix, batchNorm: options.batchNorm ?? "fused" };
  const input = tf.input({ shape: [resolution, resolution, 3], name: `${prefix}input` });
  let x: tf.SymbolicTensor = input;
  [32, 64, 128, 128].forEach((filters, i) => {
    x = conv(ctx, `conv${i + 1}`, filters, 3).apply(x) as tf.SymbolicTensor;
    x = bnRelu(ctx, `bn${i + 1}`, `relu${i + 1}`, x);
    if (i < 2) {
      x = tf.layers.maxPooling2d({ poolSize: 2, name: `${prefix}pool${i + 1}` }).apply(
        x,
      ) as tf.SymbolicTensor;
    }
  });
  const features = tf.layers.globalAveragePooling2d({ name: `${prefix}avg_pool` }).apply(
    x,
  ) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: features, name: `${prefix}small_cnn` });
}

/**
 * Build a backbone by name. `prefix` keeps layer (and so weight) names distinct when several networks coexist
 * (BYOL's online and target encoders).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../rng.ts";
 * import { buildBackbone } from "./backbones.ts";
 * await tf.setBackend("cpu");
 * const f = buildBackbone("small-cnn", 16, Rng.root(1));
 * console.assert(f.inputs[0]!.shape[1] === 16);
 * ```
 */
export function buildBackbone(
  name: BackboneName,
  resolution: number,
  rng: Rng,
  prefix = "",
  options: BackboneOptions = {},
): tf.LayersModel {
  switch (name) {
    case "densenet121":
      return buildDenseNet(DENSENET121, resolution, rng, prefix, options);
    case "densenet-cpu":
      return buildDenseNet(DENSENET_CPU, resolution, rng, prefix, options);
    case "small-cnn":
      return buildSmallCnn(resolution, rng, prefix, options);
  }
}

/**
 * Parameter counts: trainable, and all weights including batch-norm moving statistics (what Keras reports).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../rng.ts";
 * import { buildBackbone, countParams } from "./backbones.ts";
 * await tf.setBackend("cpu");
 * const c = countParams(buildBackbone("small-cnn", 16, Rng.root(1)));
 * console.assert(c.total > c.trainable);
 * ```
 */
export function countParams(model: tf.LayersModel): { trainable: number; total: number } {
  const size = (ws: tf.LayerVariable[]) =>
    ws.reduce((s, w) => s + (w.shape as number[]).reduce((a: number, b: number) => a * b, 1), 0);
  return { trainable: size(model.trainableWeights), total: size(model.weights) };
}

/**
 * Multiply–accumulate-based FLOPs per image of a forward pass (2 per MAC) for convolutions and dense layers;
 * batch norm, activations and pooling are not counted (under 1% for these networks).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../rng.ts";
 * import { buildBackbone, forwardFlops } from "./backbones.ts";
 * await tf.setBackend("cpu");
 * console.assert(forwardFlops(buildBackbone("small-cnn", 16, Rng.root(1))) > 0);
 * ```
 */
export function forwardFlops(model: tf.LayersModel): number {
  let flops = 0;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === "Conv2D") {
      const out = layer.outputShape as number[];
      const k = layer.getWeights()[0]!.shape; // [kh, kw, cin, cout]
      flops += 2 * k[0]! * k[1]! * k[2]! * k[3]! * out[1]! * out[2]!;
    } else if (cls === "Dense") {
      const k = layer.getWeights()[0]!.shape;
      flops += 2 * k[0]! * k[1]!;
    }
  }
  return flops;
}
