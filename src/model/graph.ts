/**
 * A classifier as plain data: the tensors (shapes without the batch axis), the operations in execution order and
 * the weights each one uses, read from the tfjs models themselves. The tfjs model stays the one source of the
 * architecture; an engine that runs a whole training step at once (the native engine's compiled step) plans from
 * this description instead of a second, hand-written network.
 *
 * Only what albench's backbones and head are made of is described: convolutions without bias (zero padding
 * folded in), albench's batch norm with or without its fused ReLU, max and average pooling, channel
 * concatenation, global average pooling and a dense layer. Anything else is a {@linkcode GraphError} naming the
 * layer, so a caller can say once why it runs the tape path instead.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { Classifier } from "./classifier.ts";

/** Padding added around the input of a convolution or pooling window (rows top/bottom, columns left/right). */
export interface Pad {
  readonly top: number;
  readonly bottom: number;
  readonly left: number;
  readonly right: number;
}

/** One operation; `x`, `y`, `xs` are tensor indices into {@linkcode NetGraph.tensors}. */
export type GraphOp =
  | {
    readonly kind: "conv";
    readonly layer: string;
    readonly x: number;
    readonly y: number;
    /** `[kh, kw, c, o]` (HWIO), the kernel weight's shape. */
    readonly filter: readonly [number, number, number, number];
    readonly strides: readonly [number, number];
    readonly padding: "same" | "valid";
    /** Zero padding folded in from a `ZeroPadding2D` before the convolution. */
    readonly pad: Pad;
    /** The kernel weight's name. */
    readonly kernel: string;
  }
  | {
    readonly kind: "batchNorm";
    readonly layer: string;
    readonly x: number;
    readonly y: number;
    readonly epsilon: number;
    readonly momentum: number;
    readonly relu: boolean;
    /** Weight names: γ, β, moving mean, moving variance. */
    readonly gamma: string;
    readonly beta: string;
    readonly movingMean: string;
    readonly movingVariance: string;
  }
  | {
    readonly kind: "pool";
    readonly layer: string;
    readonly max: boolean;
    readonly x: number;
    readonly y: number;
    readonly size: readonly [number, number];
    readonly strides: readonly [number, number];
    readonly padding: "same" | "valid";
    /** Zero padding folded in (max pooling only, and only after a ReLU, where a zero never wins over the data). */
    readonly pad: Pad;
  }
  | { readonly kind: "concat"; readonly layer: string; readonly xs: readonly number[]; readonly y: number }
  | { readonly kind: "globalAvgPool"; readonly layer: string; readonly x: number; readonly y: number }
  | {
    readonly kind: "dense";
    readonly layer: string;
    readonly x: number;
    readonly y: number;
    readonly kernel: string;
    readonly bias: string;
  };

/** A classifier as data. */
export interface NetGraph {
  /** Per tensor, its shape without the batch axis (`[h, w, c]` or `[d]`). */
  readonly tensors: readonly (readonly number[])[];
  /** The image input. */
  readonly input: number;
  /** The backbone's feature vector (`[featureDim]`). */
  readonly features: number;
  /** The logits (`[numClasses]`). */
  readonly logits: number;
  readonly ops: readonly GraphOp[];
}

/** A model the description cannot express: `layer` names the layer, `reason` what is unsupported. */
export class GraphError extends Error {
  readonly layer: string;
  constructor(layer: string, reason: string) {
    super(`layer ${JSON.stringify(layer)}: ${reason}`);
    this.name = "GraphError";
    this.layer = layer;
  }
}

const NO_PAD: Pad = { top: 0, bottom: 0, left: 0, right: 0 };

interface LayerLike {
  readonly name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  readonly weights: readonly {
    readonly name: string;
    readonly originalName: string;
    readonly shape: tf.Shape;
  }[];
  readonly inboundNodes: readonly {
    readonly inputTensors: readonly { readonly id: number; readonly shape: tf.Shape }[];
    readonly outputTensors: readonly { readonly id: number; readonly shape: tf.Shape }[];
  }[];
}

function pair(v: unknown, what: string, layer: string): [number, number] {
  const a = Array.isArray(v) ? v : [v, v];
  if (a.length !== 2 || !a.every((n) => Number.isInteger(n) && n > 0)) {
    throw new GraphError(layer, `${what} ${JSON.stringify(v)} is not one or two positive integers`);
  }
  return [a[0] as number, a[1] as number];
}

function weightNamed(layer: LayerLike, suffix: string): { name: string; shape: number[] } {
  const w = layer.weights.find((v) => v.originalName.endsWith(`/${suffix}`) || v.originalName === suffix);
  if (!w) throw new GraphError(layer.name, `has no ${suffix} weight`);
  return { name: w.name, shape: w.shape as number[] };
}

/**
 * Describe a classifier (its backbone, then its head) as a {@linkcode NetGraph}. Throws a {@linkcode GraphError}
 * for a layer or configuration it cannot express.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../rng.ts";
 * import { buildClassifier } from "./classifier.ts";
 * import { describeClassifier } from "./graph.ts";
 * await tf.setBackend("cpu");
 * const g = describeClassifier(buildClassifier("small-cnn", 16, 3, Rng.root(0)));
 * assert.deepEqual(g.tensors[g.input], [16, 16, 3]);
 * assert.deepEqual(g.tensors[g.logits], [3]);
 * assert.equal(g.ops.filter((o) => o.kind === "conv").length, 4);
 * ```
 */
export function describeClassifier(c: Classifier): NetGraph {
  const tensors: number[][] = [];
  const index = new Map<number, number>();
  const ops: GraphOp[] = [];
  /** Pending zero padding: tensor id of the padded output → the unpadded input's index and the padding. */
  const padded = new Map<number, { from: number; pad: Pad }>();
  /** Indices of tensors produced by a ReLU (batch norm with `relu`). */
  const afterRelu = new Set<number>();

  const tensorOf = (t: { id: number; shape: tf.Shape }): number => {
    let i = index.get(t.id);
    if (i === undefined) {
      i = tensors.length;
      tensors.push((t.shape as (number | null)[]).slice(1).map((d) => d ?? 0));
      index.set(t.id, i);
    }
    return i;
  };
  const inputOf = (layer: LayerLike, t: { id: number; shape: tf.Shape }): number => {
    if (padded.has(t.id)) {
      throw new GraphError(
        layer.name,
        "reads a zero-padded tensor (padding folds only into a convolution or pooling)",
      );
    }
    const i = index.get(t.id);
    if (i === undefined) throw new GraphError(layer.name, "reads a tensor no earlier layer produced");
    return i;
  };

  const walk = (model: tf.LayersModel, inputIndex: number | undefined): { input: number; output: number } => {
    let input = inputIndex ?? -1;
    for (const l of model.layers as unknown as LayerLike[]) {
      const cls = l.getClassName();
      const cfg = l.getConfig();
      if (l.inboundNodes.length !== 1) {
        throw new GraphError(
          l.name,
          `is called ${l.inboundNodes.length} times (a compiled graph needs one call)`,
        );
      }
      const node = l.inboundNodes[0]!;
      const ins = node.inputTensors;
      const out = node.outputTensors[0]!;
      if (cls === "InputLayer") {
        if (inputIndex !== undefined) index.set(out.id, inputIndex);
        else input = tensorOf(out);
        continue;
      }
      if (ins.length === 0) throw new GraphError(l.name, "has no input");
      const first = ins[0]!;
      switch (cls) {
        case "ZeroPadding2D": {
          const p = cfg.padding as number[][];
          const pad: Pad = { top: p[0]![0]!, bottom: p[0]![1]!, left: p[1]![0]!, right: p[1]![1]! };
          if (cfg.dataFormat !== undefined && cfg.dataFormat !== "channelsLast") {
            throw new GraphError(l.name, `data format ${String(cfg.dataFormat)} (NHWC only)`);
          }
          padded.set(out.id, { from: inputOf(l, first), pad });
          break;
        }
        case "Conv2D": {
          if (cfg.useBias) throw new GraphError(l.name, "has a bias (albench's convolutions have none)");
          if (cfg.activation !== "linear") {
            throw new GraphError(l.name, `activation ${String(cfg.activation)}`);
          }
          if (cfg.dataFormat !== "channelsLast") throw new GraphError(l.name, "is not channels-last");
          const dil = pair(cfg.dilationRate, "dilation", l.name);
          if (dil[0] !== 1 || dil[1] !== 1) throw new GraphError(l.name, "is dilated");
          const pre = padded.get(first.id);
          const kernel = weightNamed(l as LayerLike, "kernel");
          ops.push({
            kind: "conv",
            layer: l.name,
            x: pre ? pre.from : inputOf(l, first),
            y: tensorOf(out),
            filter: kernel.shape as unknown as [number, number, number, number],
            strides: pair(cfg.strides, "strides", l.name),
            padding: cfg.padding as "same" | "valid",
            pad: pre ? pre.pad : NO_PAD,
            kernel: kernel.name,
          });
          break;
        }
        case "AlbenchFusedBatchNormalization": {
          const y = tensorOf(out);
          ops.push({
            kind: "batchNorm",
            layer: l.name,
            x: inputOf(l, first),
            y,
            epsilon: cfg.epsilon as number,
            momentum: cfg.momentum as number,
            relu: cfg.relu === true,
            gamma: weightNamed(l, "gamma").name,
            beta: weightNamed(l, "beta").name,
            movingMean: weightNamed(l, "moving_mean").name,
            movingVariance: weightNamed(l, "moving_variance").name,
          });
          if (cfg.relu === true) afterRelu.add(y);
          break;
        }
        case "MaxPooling2D":
        case "AveragePooling2D": {
          const max = cls === "MaxPooling2D";
          const pre = padded.get(first.id);
          if (pre && !(max && afterRelu.has(pre.from))) {
            throw new GraphError(l.name, "pools zero-padded input that is not after a ReLU");
          }
          if (cfg.dataFormat !== "channelsLast") throw new GraphError(l.name, "is not channels-last");
          ops.push({
            kind: "pool",
            layer: l.name,
            max,
            x: pre ? pre.from : inputOf(l, first),
            y: tensorOf(out),
            size: pair(cfg.poolSize, "pool size", l.name),
            strides: pair(cfg.strides ?? cfg.poolSize, "strides", l.name),
            padding: cfg.padding as "same" | "valid",
            pad: pre ? pre.pad : NO_PAD,
          });
          break;
        }
        case "Concatenate": {
          if (cfg.axis !== -1 && cfg.axis !== (first.shape.length - 1)) {
            throw new GraphError(l.name, `concatenates along axis ${String(cfg.axis)} (channels only)`);
          }
          ops.push({ kind: "concat", layer: l.name, xs: ins.map((t) => inputOf(l, t)), y: tensorOf(out) });
          break;
        }
        case "GlobalAveragePooling2D":
          if (cfg.dataFormat !== "channelsLast") throw new GraphError(l.name, "is not channels-last");
          ops.push({ kind: "globalAvgPool", layer: l.name, x: inputOf(l, first), y: tensorOf(out) });
          break;
        case "Dense":
          if (cfg.activation !== "linear") {
            throw new GraphError(l.name, `activation ${String(cfg.activation)}`);
          }
          if (!cfg.useBias) throw new GraphError(l.name, "has no bias");
          if (first.shape.length !== 2) throw new GraphError(l.name, "reads a tensor of rank other than 2");
          ops.push({
            kind: "dense",
            layer: l.name,
            x: inputOf(l, first),
            y: tensorOf(out),
            kernel: weightNamed(l, "kernel").name,
            bias: weightNamed(l, "bias").name,
          });
          break;
        default:
          throw new GraphError(l.name, `is a ${cls}, which the compiled step does not run`);
      }
    }
    const output = model.outputs[0]!;
    const o = index.get(output.id);
    if (o === undefined || model.outputs.length !== 1) {
      throw new GraphError(model.name, "does not have one output produced by its layers");
    }
    return { input, output: o };
  };

  const backbone = walk(c.backbone, undefined);
  const head = walk(c.head, backbone.output);
  if (tensors[backbone.input]!.length !== 3) throw new GraphError(c.backbone.name, "input is not [h, w, c]");
  if (tensors[backbone.output]!.length !== 1) {
    throw new GraphError(c.backbone.name, "features are not a vector");
  }
  const names = [...c.backbone.weights, ...c.head.weights].map((w) => w.name);
  if (new Set(names).size !== names.length) throw new GraphError(c.backbone.name, "weight names repeat");
  return { tensors, input: backbone.input, features: backbone.output, logits: head.output, ops };
}
