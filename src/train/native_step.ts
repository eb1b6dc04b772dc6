/**
 * The native engine's compiled step: a whole fine-tuning step (forward, sigmoid BCE, backward, weight decay,
 * momentum update, batch-norm moving statistics) and inference as a fixed list of oneDNN primitive calls over
 * buffers planned once per batch size, with no tfjs tape, tensors or kernel dispatch in between.
 *
 * The network comes from {@linkcode describeClassifier} (the tfjs model is the one source of the architecture).
 * Weights are copied from the tfjs variables when a step is {@linkcode NativeStep.load}ed and written back by
 * {@linkcode NativeStep.store}, so the loop, checkpoints, query functions and reports see ordinary tfjs models.
 * The tape path (tfjs's autodiff over the native kernels) stays the oracle: the tests hold the two within 1e-4.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type Classifier, decayedVariables } from "../model/classifier.ts";
import { describeClassifier, GraphError, type GraphOp, type NetGraph, type Pad } from "../model/graph.ts";
import { DNNL } from "../backend/native/abi.ts";
import { NATIVE_BACKEND, nativeOps, nativeStepKind } from "../backend/native.ts";
import type { ConvGeometry, NativeOps, PoolGeometry } from "../backend/native/ops.ts";
import { convGeometry, fusesRelu, NATIVE_MIN, poolGeometry } from "../backend/native/kernels.ts";
import { concatRows, meanHW } from "../backend/native/arrays.ts";
import { movingAverage } from "../backend/kernels/moving_stats.ts";
import { type Lifetime, shareSlots } from "./slots.ts";

/** One weight of the network in host memory. */
interface Param {
  readonly shape: number[];
  readonly variable: tf.Variable;
  readonly value: Float32Array;
  /** Trainable weights: the gradient (a view of the flat gradient array). */
  readonly grad?: Float32Array;
  /** Weight decay applies (the model's `decayedVariables`: convolution and dense kernels). */
  readonly decayed: boolean;
}

/** Per operation, what a batch size fixes: geometry and the buffers the backward pass needs. */
type Planned =
  | { readonly op: Extract<GraphOp, { kind: "conv" }>; readonly g: ConvGeometry }
  | {
    readonly op: Extract<GraphOp, { kind: "batchNorm" }>;
    readonly rows: number;
    readonly c: number;
    readonly fused: boolean;
    readonly mean: Float32Array;
    readonly variance: Float32Array;
    readonly workspace: Float32Array | undefined;
  }
  | { readonly op: Extract<GraphOp, { kind: "pool" }>; readonly g: PoolGeometry }
  | { readonly op: Extract<GraphOp, { kind: "concat" }>; readonly rows: number; readonly widths: number[] }
  | { readonly op: Extract<GraphOp, { kind: "globalAvgPool" }>; readonly hw: number; readonly c: number }
  | { readonly op: Extract<GraphOp, { kind: "dense" }>; readonly d: number; readonly classes: number };

interface Plan {
  readonly n: number;
  readonly training: boolean;
  readonly steps: readonly Planned[];
  readonly act: Float32Array[];
  /** Gradients (training plans only); none for the input. */
  readonly grad: (Float32Array | undefined)[];
  /** A buffer as large as the largest tensor, for gradients that add to one already written. */
  readonly scratch: Float32Array;
}

/** The NHWC shape of an `[h, w, c]` input after the zero padding `p` folded into its consumer. */
function paddedShape(n: number, h: number, w: number, c: number, p: Pad): [number, number, number, number] {
  return [n, h + p.top + p.bottom, w + p.left + p.right, c];
}

/**
 * A geometry tfjs computed over the padded input, as oneDNN's over the unpadded one: the folded zero padding
 * becomes the window's own padding (zeros either way).
 */
function unpadded<G extends ConvGeometry | PoolGeometry>(geo: G, h: number, w: number, p: Pad): G {
  return {
    ...geo,
    h,
    w,
    top: geo.top + p.top,
    left: geo.left + p.left,
    bottom: geo.bottom + p.bottom,
    right: geo.right + p.right,
  };
}

/** Inference batches are padded to a multiple of this many images ({@linkcode NativeStep.infer}). */
const INFER_ROUND = 16;

/** Plans (batch size × training or inference) kept per compiled model. */
const MAX_PLANS = 4;

const volume = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** A classifier compiled for the native engine. */
export class NativeStep {
  readonly graph: NetGraph;
  readonly #ops: NativeOps;
  readonly #params = new Map<string, Param>();
  readonly #plans = new Map<string, Plan>();
  /** Trainable parameters in the tape path's order (backbone, then head). */
  readonly #trainable: Param[];
  /** Every trainable weight's value, gradient and momentum, back to back in that order. */
  readonly #flat: { readonly value: Float32Array; readonly grad: Float32Array; readonly acc: Float32Array };
  /**
   * While set, every planned operation adds its calls and wall milliseconds here, by phase and kind (`forward
   * conv`, `backward batchNorm`, `loss (sigmoid BCE)`, ...): the compiled step's profile (bench/profile_step.ts).
   */
  profile: Map<string, { calls: number; ms: number }> | undefined;

  #tally(key: string, t0: number): void {
    const r = this.profile!.get(key) ?? { calls: 0, ms: 0 };
    r.calls++;
    r.ms += performance.now() - t0;
    this.profile!.set(key, r);
  }

  /**
   * Compile `model` for `ops`. Throws a `GraphError` when the model has a layer the compiled step cannot run.
   * Weight decay applies to the model's `decayedVariables`, as on the tape path.
   */
  constructor(model: Classifier, ops: NativeOps) {
    this.graph = describeClassifier(model);
    this.#ops = ops;
    const trainableWeights = [...model.backbone.trainableWeights, ...model.head.trainableWeights];
    const decayed = new Set(decayedVariables(model));
    // Trainable values, gradients and momentum live in three flat arrays (each weight a view), so the update
    // is two oneDNN calls over all of them.
    const total = trainableWeights.reduce((n, w) => n + volume(w.shape as number[]), 0);
    this.#flat = {
      value: new Float32Array(total),
      grad: new Float32Array(total),
      acc: new Float32Array(total),
    };
    const offsets = new Map<string, number>();
    let offset = 0;
    for (const w of trainableWeights) {
      offsets.set(w.name, offset);
      offset += volume(w.shape as number[]);
    }
    for (const w of [...model.backbone.weights, ...model.head.weights]) {
      const shape = [...w.shape] as number[];
      const n = volume(shape);
      const at = offsets.get(w.name);
      const view = (a: Float32Array) => a.subarray(at!, at! + n);
      const variable = w.read() as tf.Variable;
      this.#params.set(w.name, {
        shape,
        variable,
        ...(at === undefined
          ? { value: new Float32Array(n) }
          : { value: view(this.#flat.value), grad: view(this.#flat.grad) }),
        decayed: decayed.has(variable),
      });
    }
    this.#trainable = trainableWeights.map((w) => this.#params.get(w.name)!);
  }

  /** Copy every weight from its tfjs variable and zero the momentum (a new round's optimizer). */
  load(): void {
    for (const p of this.#params.values()) p.value.set(p.variable.dataSync() as Float32Array);
    this.#flat.acc.fill(0);
  }

  /** Write every weight (trainable and moving statistics) back to its tfjs variable. */
  store(): void {
    for (const p of this.#params.values()) {
      p.variable.assign(tf.tensor(p.value.slice(), p.shape, "float32"));
    }
  }

  #p(name: string): Param {
    const p = this.#params.get(name);
    if (!p) throw new Error(`native step: no weight ${name}`);
    return p;
  }

  #plan(n: number, training: boolean): Plan {
    const key = `${n} ${training}`;
    const have = this.#plans.get(key);
    if (have) {
      // Most recently used last: the eviction below drops the plan unused longest.
      this.#plans.delete(key);
      this.#plans.set(key, have);
      return have;
    }
    // A round's full and partial batch, and inference's: four plans at most, so rounds whose partial batch
    // changes size do not each keep a network's worth of buffers.
    while (this.#plans.size >= MAX_PLANS) this.#plans.delete(this.#plans.keys().next().value!);
    const g = this.graph;
    const sizes = g.tensors.map((s) => n * volume(s));
    const { act, grad } = this.#buffers(sizes, training);
    const steps: Planned[] = g.ops.map((op): Planned => {
      switch (op.kind) {
        case "conv": {
          const [h, w, c] = g.tensors[op.x]!;
          const info = tf.backend_util.computeConv2DInfo(
            paddedShape(n, h!, w!, c!, op.pad),
            op.filter as [number, number, number, number],
            op.strides as [number, number],
            1,
            op.padding,
          );
          return { op, g: unpadded(convGeometry(info), h!, w!, op.pad) };
        }
        case "batchNorm": {
          const s = g.tensors[op.x]!;
          const c = s[s.length - 1]!;
          const rows = n * volume(s) / c;
          const fused = op.relu && fusesRelu(c);
          const workspace = fused && training
            ? new Float32Array(this.#ops.batchNormReluWorkspace(rows, c, op.epsilon))
            : undefined;
          return {
            op,
            rows,
            c,
            fused,
            mean: new Float32Array(c),
            variance: new Float32Array(c),
            workspace,
          };
        }
        case "pool": {
          const [h, w, c] = g.tensors[op.x]!;
          const info = tf.backend_util.computePool2DInfo(
            paddedShape(n, h!, w!, c!, op.pad),
            op.size as [number, number],
            op.strides as [number, number],
            1,
            op.padding,
          );
          return { op, g: unpadded(poolGeometry(info), h!, w!, op.pad) };
        }
        case "concat": {
          const s = g.tensors[op.y]!;
          return {
            op,
            rows: n * volume(s.slice(0, -1)),
            widths: op.xs.map((x) => g.tensors[x]!.at(-1)!),
          };
        }
        case "globalAvgPool": {
          const [h, w, c] = g.tensors[op.x]!;
          return { op, hw: h! * w!, c: c! };
        }
        case "dense":
          return { op, d: g.tensors[op.x]![0]!, classes: g.tensors[op.y]![0]! };
      }
    });
    const largest = Math.max(...sizes);
    const plan: Plan = {
      n,
      training,
      steps,
      act,
      grad,
      scratch: new Float32Array(training ? largest : 0),
    };
    this.#plans.set(key, plan);
    return plan;
  }

  /**
   * Activation and gradient buffers for tensors of `sizes` elements. Training keeps every activation (the
   * backward pass reads them) and shares gradient buffers: a tensor's gradient is needed from the backward step
   * of its last reader, which writes it first, through its producer's, which reads it last. Inference shares
   * activations: a tensor is needed from its producer through its last reader (features and logits to the end).
   */
  #buffers(
    sizes: readonly number[],
    training: boolean,
  ): { act: Float32Array[]; grad: (Float32Array | undefined)[] } {
    const g = this.graph, k = g.ops.length;
    const producer = sizes.map(() => -1), lastReader = sizes.map(() => -1);
    g.ops.forEach((op, i) => {
      producer[op.y] = i;
      for (const x of op.kind === "concat" ? op.xs : [op.x]) lastReader[x] = Math.max(lastReader[x]!, i);
    });
    const allocate = (lives: (Lifetime | undefined)[]) => {
      const { slot, lengths } = shareSlots(sizes, lives);
      const buffers = lengths.map((n) => new Float32Array(n));
      return slot.map((s) => (s === undefined ? undefined : buffers[s]));
    };
    if (!training) {
      const act = allocate(sizes.map((_, t) => {
        const from = Math.max(producer[t]!, 0);
        const to = t === g.features || t === g.logits ? k : Math.max(lastReader[t]!, from);
        return { from, to };
      }));
      return { act: act as Float32Array[], grad: [] };
    }
    // Backward step of forward op i: k − 1 − i. The logits' gradient is written before the backward pass (−1).
    const back = (i: number) => k - 1 - i;
    const grad = allocate(sizes.map((_, t) => {
      if (t === g.input) return undefined;
      const from = t === g.logits ? -1 : back(lastReader[t]! >= 0 ? lastReader[t]! : producer[t]!);
      return { from, to: back(producer[t]!) };
    }));
    return { act: sizes.map((n) => new Float32Array(n)), grad };
  }

  /** The forward pass of `plan` over the images already in its input buffer (`[n, h, w, c]`, normalised). */
  #forward(plan: Plan): void {
    const ops = this.#ops;
    const a = plan.act;
    for (const s of plan.steps) {
      const t0 = this.profile ? performance.now() : 0;
      switch (s.op.kind) {
        case "conv": {
          const st = s as Extract<Planned, { op: { kind: "conv" } }>;
          ops.conv2d(st.g, a[st.op.x]!, this.#p(st.op.kernel).value, a[st.op.y]!);
          break;
        }
        case "batchNorm": {
          const st = s as Extract<Planned, { op: { kind: "batchNorm" } }>;
          const op = st.op;
          const x = a[op.x]!, y = a[op.y]!;
          const gamma = this.#p(op.gamma).value, beta = this.#p(op.beta).value;
          const mm = this.#p(op.movingMean).value, mv = this.#p(op.movingVariance).value;
          if (plan.training) {
            ops.batchNormTraining(
              st.rows,
              st.c,
              op.epsilon,
              x,
              gamma,
              beta,
              y,
              st.mean,
              st.variance,
              st.workspace,
            );
            if (op.relu && !st.fused) ops.relu(y.length, y, y);
            const decay = 1 - op.momentum;
            movingAverage(mm, st.mean, decay, mm);
            movingAverage(mv, st.variance, decay, mv);
          } else {
            ops.batchNormInference(st.rows, st.c, op.epsilon, x, gamma, beta, mm, mv, y, st.fused);
            if (op.relu && !st.fused) ops.relu(y.length, y, y);
          }
          break;
        }
        case "pool": {
          const st = s as Extract<Planned, { op: { kind: "pool" } }>;
          const alg = st.op.max ? DNNL.poolingMax : DNNL.poolingAvgExcludePadding;
          ops.pool(alg, st.g, a[st.op.x]!, a[st.op.y]!);
          break;
        }
        case "concat": {
          const st = s as Extract<Planned, { op: { kind: "concat" } }>;
          const parts = st.op.xs.map((t) => a[t]!);
          const y = a[st.op.y]!;
          if (y.length >= NATIVE_MIN && st.widths.every((w) => w > 0)) {
            ops.concatColumns(st.rows, st.widths, parts, y);
          } else concatRows(parts, st.widths, st.rows, y);
          break;
        }
        case "globalAvgPool": {
          const st = s as Extract<Planned, { op: { kind: "globalAvgPool" } }>;
          meanHW(a[st.op.x]!, plan.n, st.hw, st.c, a[st.op.y]!);
          break;
        }
        case "dense": {
          const st = s as Extract<Planned, { op: { kind: "dense" } }>;
          const y = a[st.op.y]!;
          ops.matmul(1, plan.n, st.d, st.classes, false, false, a[st.op.x]!, this.#p(st.op.kernel).value, y);
          const bias = this.#p(st.op.bias).value;
          for (let i = 0; i < plan.n; i++) {
            for (let k = 0; k < st.classes; k++) y[i * st.classes + k]! += bias[k]!;
          }
          break;
        }
      }
      if (this.profile) this.#tally(`forward ${s.op.kind}`, t0);
    }
  }

  /**
   * Where the gradient of tensor `t` goes: its own buffer when nothing has written it this step (then marked
   * written), else the scratch buffer, which {@linkcode NativeStep.#settle} adds in.
   */
  #target(plan: Plan, written: Uint8Array, t: number): Float32Array {
    const grad = plan.grad[t]!;
    if (!written[t]) {
      written[t] = 1;
      return grad;
    }
    return plan.scratch.subarray(0, grad.length);
  }

  #settle(plan: Plan, t: number, target: Float32Array): void {
    const grad = plan.grad[t]!;
    if (target === grad) return;
    if (grad.length >= NATIVE_MIN) this.#ops.add(grad.length, grad, target, grad);
    else for (let i = 0; i < grad.length; i++) grad[i] = Math.fround(grad[i]! + target[i]!);
  }

  #backward(plan: Plan): void {
    const ops = this.#ops;
    const a = plan.act, g = plan.grad;
    const written = new Uint8Array(this.graph.tensors.length);
    written[this.graph.logits] = 1;
    const wants = (t: number) => t !== this.graph.input;
    for (let i = plan.steps.length - 1; i >= 0; i--) {
      const s = plan.steps[i]!;
      const t0 = this.profile ? performance.now() : 0;
      // An output nothing read (so no gradient reached it) has a zero gradient.
      if (!written[s.op.y]) {
        plan.grad[s.op.y]!.fill(0);
        written[s.op.y] = 1;
      }
      switch (s.op.kind) {
        case "dense": {
          const st = s as Extract<Planned, { op: { kind: "dense" } }>;
          const dz = g[st.op.y]!, x = a[st.op.x]!;
          const kernel = this.#p(st.op.kernel), bias = this.#p(st.op.bias);
          ops.matmul(1, st.d, plan.n, st.classes, true, false, x, dz, kernel.grad!);
          const db = bias.grad!;
          db.fill(0);
          for (let r = 0; r < plan.n; r++) {
            for (let k = 0; k < st.classes; k++) db[k] = Math.fround(db[k]! + dz[r * st.classes + k]!);
          }
          if (wants(st.op.x)) {
            const dx = this.#target(plan, written, st.op.x);
            ops.matmul(1, plan.n, st.classes, st.d, false, true, dz, kernel.value, dx);
            this.#settle(plan, st.op.x, dx);
          }
          break;
        }
        case "globalAvgPool": {
          const st = s as Extract<Planned, { op: { kind: "globalAvgPool" } }>;
          if (!wants(st.op.x)) break;
          const dy = g[st.op.y]!;
          const dx = this.#target(plan, written, st.op.x);
          const hw = st.hw, c = st.c;
          for (let r = 0; r < plan.n; r++) {
            for (let k = 0; k < c; k++) {
              const v = Math.fround(dy[r * c + k]! / hw);
              for (let p = 0, base = r * hw * c + k; p < hw; p++, base += c) dx[base] = v;
            }
          }
          this.#settle(plan, st.op.x, dx);
          break;
        }
        case "concat": {
          const st = s as Extract<Planned, { op: { kind: "concat" } }>;
          const dy = g[st.op.y]!;
          const total = st.widths.reduce((x, w) => x + w, 0);
          let offset = 0;
          st.op.xs.forEach((t, j) => {
            const w = st.widths[j]!;
            if (wants(t) && w > 0) {
              const dx = this.#target(plan, written, t);
              if (dy.length >= NATIVE_MIN) ops.columns(st.rows, total, offset, w, dy, dx);
              else {
                for (let r = 0; r < st.rows; r++) {
                  dx.set(dy.subarray(r * total + offset, r * total + offset + w), r * w);
                }
              }
              this.#settle(plan, t, dx);
            }
            offset += w;
          });
          break;
        }
        case "pool": {
          const st = s as Extract<Planned, { op: { kind: "pool" } }>;
          if (!wants(st.op.x)) break;
          const alg = st.op.max ? DNNL.poolingMax : DNNL.poolingAvgExcludePadding;
          const dx = this.#target(plan, written, st.op.x);
          ops.poolBackward(alg, st.g, a[st.op.x]!, g[st.op.y]!, dx);
          this.#settle(plan, st.op.x, dx);
          break;
        }
        case "batchNorm": {
          const st = s as Extract<Planned, { op: { kind: "batchNorm" } }>;
          const op = st.op;
          const dy = g[op.y]!;
          if (op.relu && !st.fused) {
            // The mask is the output itself: positive exactly where ReLU passed. Masked in place.
            ops.reluBackward(dy.length, a[op.y]!, dy, dy);
          }
          const gamma = this.#p(op.gamma), beta = this.#p(op.beta);
          const dx = wants(op.x)
            ? this.#target(plan, written, op.x)
            : plan.scratch.subarray(0, a[op.x]!.length);
          ops.batchNormBackward(
            st.rows,
            st.c,
            op.epsilon,
            a[op.x]!,
            dy,
            st.mean,
            st.variance,
            gamma.value,
            beta.value,
            dx,
            gamma.grad!,
            beta.grad!,
            st.fused ? st.workspace : undefined,
          );
          if (wants(op.x)) this.#settle(plan, op.x, dx);
          break;
        }
        case "conv": {
          const st = s as Extract<Planned, { op: { kind: "conv" } }>;
          const kernel = this.#p(st.op.kernel);
          const dy = g[st.op.y]!, x = a[st.op.x]!;
          ops.conv2dBackpropFilter(st.g, x, dy, kernel.grad!);
          if (wants(st.op.x)) {
            const dx = this.#target(plan, written, st.op.x);
            ops.conv2dBackpropInput(st.g, dy, kernel.value, dx);
            this.#settle(plan, st.op.x, dx);
          }
          break;
        }
      }
      if (this.profile) this.#tally(`backward ${s.op.kind}`, t0);
    }
  }

  /**
   * One SGD step on a batch: `x` the normalised images (`[n, h, w, c]`), `y` the 0/1 labels (`[n, classes]`).
   * Returns the loss (mean BCE plus `weightDecay / 2 · Σ‖kernel‖²`), as the tape path computes it.
   */
  train(
    x: Float32Array,
    y: Float32Array,
    n: number,
    lr: number,
    momentum: number,
    weightDecay: number,
  ): number {
    const plan = this.#plan(n, true);
    plan.act[this.graph.input]!.set(x);
    this.#forward(plan);
    let t0 = this.profile ? performance.now() : 0;
    const z = plan.act[this.graph.logits]!, dz = plan.grad[this.graph.logits]!;
    const count = z.length;
    let loss = 0;
    for (let i = 0; i < count; i++) {
      const zi = z[i]!, yi = y[i]!;
      loss += Math.max(zi, 0) - zi * yi + Math.log1p(Math.exp(-Math.abs(zi)));
      dz[i] = (1 / (1 + Math.exp(-zi)) - yi) / count;
    }
    loss /= count;
    if (this.profile) this.#tally("loss (sigmoid BCE)", t0);
    this.#backward(plan);
    t0 = this.profile ? performance.now() : 0;
    if (weightDecay > 0) {
      const half = Math.fround(weightDecay / 2);
      let l2 = 0;
      for (const p of this.#trainable) {
        if (!p.decayed) continue;
        const v = p.value, gr = p.grad!;
        for (let i = 0; i < v.length; i++) {
          l2 += v[i]! * v[i]!;
          gr[i] = Math.fround(gr[i]! + Math.fround(half * Math.fround(2 * v[i]!)));
        }
      }
      loss += half * l2;
    }
    // SGD with momentum as tf.train.momentum: acc = momentum·acc + grad; value = value − lr·acc.
    const f = this.#flat, size = f.value.length;
    this.#ops.axpby(size, momentum, f.acc, 1, f.grad, f.acc);
    this.#ops.axpby(size, 1, f.value, -lr, f.acc, f.value);
    if (this.profile) this.#tally("update (weight decay, momentum)", t0);
    return Math.fround(loss);
  }

  /** Inference over `n` normalised images: sigmoid probabilities `[n, classes]` and features `[n, d]` (copies). */
  infer(x: Float32Array, n: number): { probs: Float32Array; features: Float32Array } {
    // Inference is per sample (batch norm uses its moving statistics), so a batch runs padded with zero images
    // to a multiple of INFER_ROUND: a pool that shrinks every round then reuses a few batch shapes instead of
    // building every primitive again for each new remainder (measured: about 0.3 s a new shape, CPU DenseNet).
    const m = Math.ceil(n / INFER_ROUND) * INFER_ROUND;
    const plan = this.#plan(m, false);
    const input = plan.act[this.graph.input]!;
    input.set(x);
    input.fill(0, x.length);
    this.#forward(plan);
    const classes = this.graph.tensors[this.graph.logits]![0]!,
      d = this.graph.tensors[this.graph.features]![0]!;
    const z = plan.act[this.graph.logits]!;
    const probs = new Float32Array(n * classes);
    for (let i = 0; i < probs.length; i++) probs[i] = 1 / (1 + Math.exp(-z[i]!));
    return { probs, features: plan.act[this.graph.features]!.slice(0, n * d) };
  }
}

const compiled = new WeakMap<Classifier, NativeStep | null>();
const said = new Set<string>();

/**
 * The compiled step for `model` when the native engine is active and `ALBENCH_NATIVE_STEP` does not ask for the
 * tape; `undefined` otherwise. A model the step cannot compile is said on stderr (naming the layer), once per
 * process and reason, and
 * runs on the tape path. Compiled once per model object.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../rng.ts";
 * import { buildClassifier } from "../model/classifier.ts";
 * import { nativeStepFor } from "./native_step.ts";
 * await tf.setBackend("cpu");
 * console.assert(nativeStepFor(buildClassifier("small-cnn", 16, 3, Rng.root(0))) === undefined); // not native
 * ```
 */
export function nativeStepFor(model: Classifier): NativeStep | undefined {
  if (tf.getBackend() !== NATIVE_BACKEND) return undefined;
  const ops = nativeOps();
  if (!ops || nativeStepKind() !== "compiled") return undefined;
  const have = compiled.get(model);
  if (have !== undefined) return have ?? undefined;
  try {
    const step = new NativeStep(model, ops);
    compiled.set(model, step);
    return step;
  } catch (e) {
    if (!(e instanceof GraphError)) throw e;
    compiled.set(model, null);
    // Once per process and reason: every model of a run is built alike.
    if (said.has(e.message)) return undefined;
    said.add(e.message);
    console.error(
      `native engine: the compiled step cannot run this model (${e.message}); using the tape path`,
    );
    return undefined;
  }
}
