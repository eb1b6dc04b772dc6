/**
 * The native engine's compiled step (src/train/native_step.ts) against its oracle, the tape path (tfjs's autodiff
 * over the same native kernels): the same recipe from the same weights must give the same weights, moving
 * statistics, losses and inference outputs within 1e-4 relative, and the same seed twice bit-identical weights.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend/backend.ts";
import { Rng } from "../src/rng.ts";
import { syntheticImages, syntheticLabels } from "../src/data/synthetic.ts";
import { type BackboneName, buildBackbone } from "../src/model/backbones.ts";
import { type Classifier, withHead } from "../src/model/classifier.ts";
import { describeClassifier, GraphError } from "../src/model/graph.ts";
import { type EpochRecord, finetune, type FinetuneOptions, infer } from "../src/train/finetune.ts";
import { nativeStepFor } from "../src/train/native_step.ts";
import { nativeOps, nativeStepKind } from "../src/backend/native.ts";
import { engineIdentity } from "../src/backend/doctor.ts";
import { identityDifferences } from "../src/runner/identity.ts";
import { nativeUnavailable } from "./native_available.ts";

const missing = nativeUnavailable();
const skip = missing !== undefined;
const why = skip ? ` (skipped: ${missing})` : "";

const RECIPE: FinetuneOptions = {
  epochs: 2,
  lr: 0.02,
  momentum: 0.9,
  weightDecay: 0,
  decayEpochs: [1],
  decayFactor: 0.1,
  augment: { flip: true, rot90: true },
  batchSize: 8,
};

interface Outcome {
  readonly weights: Map<string, Float32Array>;
  readonly losses: EpochRecord[];
  readonly probs: Float32Array;
  readonly features: Float32Array;
  readonly compiled: boolean;
}

/** Fine-tune a fresh seeded classifier on the native engine with the step `kind`; its weights and outputs. */
async function run(
  kind: "compiled" | "tape",
  backbone: BackboneName,
  res: number,
  size: number,
  recipe: FinetuneOptions,
): Promise<Outcome> {
  Deno.env.set("ALBENCH_NATIVE_STEP", kind);
  await initBackend("native", { nativeThreads: 1 });
  try {
    const images = syntheticImages({ size, seed: 5 }, res), table = syntheticLabels({ size, seed: 5 });
    const model: Classifier = withHead(buildBackbone(backbone, res, Rng.root(3)), 17, Rng.root(3));
    const compiled = nativeStepFor(model) !== undefined;
    const ids = Array.from({ length: size }, (_, i) => i);
    const losses = await finetune(model, images, table, ids, recipe, Rng.root(4));
    const { probs, features } = await infer(model, images, ids, 7);
    const weights = new Map<string, Float32Array>();
    for (const w of [...model.backbone.weights, ...model.head.weights]) {
      weights.set(w.originalName, (w.read().dataSync() as Float32Array).slice());
    }
    model.backbone.dispose();
    model.head.dispose();
    return { weights, losses, probs, features, compiled };
  } finally {
    Deno.env.delete("ALBENCH_NATIVE_STEP");
    await tf.setBackend("cpu");
  }
}

/**
 * ‖a − b‖₂ / ‖b‖₂ over all the arrays together. A norm over the whole model rather than per array: an element
 * whose batch-norm output sits within rounding of zero can take the other side of the ReLU on the other path,
 * which moves that channel's β gradient by a whole element's share (measured: 0.4% of a β vector of magnitude
 * 1e-3, once in 24 steps), while the model as a whole stays within 1e-6.
 */
function relative(as: readonly Float32Array[], bs: readonly Float32Array[]): number {
  assert.equal(as.length, bs.length);
  let diff = 0, scale = 0;
  as.forEach((a, k) => {
    const b = bs[k]!;
    assert.equal(a.length, b.length);
    for (let i = 0; i < a.length; i++) {
      diff += (a[i]! - b[i]!) ** 2;
      scale += b[i]! ** 2;
    }
  });
  return Math.sqrt(diff / scale);
}

function assertClose(c: Outcome, t: Outcome, tol: number): void {
  assert.ok(c.compiled, "the compiled step ran");
  assert.ok(!t.compiled, "the tape path ran");
  assert.deepEqual([...c.weights.keys()], [...t.weights.keys()]);
  const names = [...c.weights.keys()];
  const w = relative(names.map((n) => c.weights.get(n)!), names.map((n) => t.weights.get(n)!));
  assert.ok(w < tol, `the weights differ by ${w} relative`);
  const trained = names.filter((n) => !/moving_/.test(n));
  assert.ok(trained.length > 0 && trained.length < names.length);
  assert.equal(c.losses.length, t.losses.length);
  c.losses.forEach((l, i) => {
    assert.equal(l.lr, t.losses[i]!.lr);
    assert.ok(Math.abs(l.loss - t.losses[i]!.loss) < tol * Math.abs(t.losses[i]!.loss), `loss of epoch ${i}`);
  });
  const p = relative([c.probs], [t.probs]), f = relative([c.features], [t.features]);
  assert.ok(p < tol, `probabilities differ by ${p} relative`);
  assert.ok(f < tol, `features differ by ${f} relative`);
}

Deno.test({
  name: `native step: one step on a partial batch (densenet-cpu): compiled = tape within 1e-4${why}`,
  ignore: skip,
  fn: async () => {
    // 5 samples in a batch of 8: the one step is the partial batch a round ends with.
    const recipe = { ...RECIPE, epochs: 1, decayEpochs: [] };
    assertClose(
      await run("compiled", "densenet-cpu", 16, 5, recipe),
      await run("tape", "densenet-cpu", 16, 5, recipe),
      1e-4,
    );
  },
});

Deno.test({
  name: `native step: one step with weight decay: compiled = tape within 1e-4${why}`,
  ignore: skip,
  fn: async () => {
    const recipe = { ...RECIPE, epochs: 1, decayEpochs: [], weightDecay: 5e-3 };
    const c = await run("compiled", "densenet-cpu", 16, 8, recipe);
    const t = await run("tape", "densenet-cpu", 16, 8, recipe);
    const plain = await run("compiled", "densenet-cpu", 16, 8, { ...recipe, weightDecay: 0 });
    assert.notEqual(c.losses[0]!.loss, plain.losses[0]!.loss, "the decay term is in the loss");
    assertClose(c, t, 1e-4);
  },
});

Deno.test({
  name: `native step: one step of DenseNet121 (padded stem, max pooling): compiled = tape within 1e-4${why}`,
  ignore: skip,
  fn: async () => {
    const recipe = { ...RECIPE, epochs: 1, decayEpochs: [] };
    assertClose(
      await run("compiled", "densenet121", 32, 6, recipe),
      await run("tape", "densenet121", 32, 6, recipe),
      1e-4,
    );
  },
});

Deno.test({
  name:
    `native step: 12 steps (partial batches, lr decay, minSteps, weight decay): compiled = tape within 1e-3${why}`,
  ignore: skip,
  fn: async () => {
    // Over many steps the paths drift apart as any two float32 orders do: after 6 steps at lr 0.05 the weights
    // of compiled vs tape, compiled vs the pure-JS cpu backend and tape vs cpu each differ by 1-2e-4 (measured).
    const recipe = { ...RECIPE, epochs: 2, decayEpochs: [1], minSteps: 12, weightDecay: 1e-3 };
    const c = await run("compiled", "densenet-cpu", 16, 21, recipe);
    assert.equal(c.losses.length, 4, "minSteps 12 over 3 batches an epoch: 4 epochs");
    assert.deepEqual(c.losses.map((l) => l.lr), [0.02, 0.02, 0.002, 0.002]);
    assertClose(c, await run("tape", "densenet-cpu", 16, 21, recipe), 1e-3);
  },
});

Deno.test({
  name: `native step: the same seed twice gives bit-identical weights${why}`,
  ignore: skip,
  fn: async () => {
    const a = await run("compiled", "small-cnn", 16, 12, RECIPE);
    const b = await run("compiled", "small-cnn", 16, 12, RECIPE);
    for (const [name, v] of a.weights) assert.deepEqual(v, b.weights.get(name), name);
    assert.deepEqual(a.probs, b.probs);
  },
});

Deno.test("native step: a layer the graph cannot describe is named (and the tape path runs it)", async () => {
  await tf.setBackend("cpu");
  const input = tf.input({ shape: [8, 8, 3] });
  const y = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: "biased", useBias: true }).apply(input);
  const pooled = tf.layers.globalAveragePooling2d({}).apply(y) as tf.SymbolicTensor;
  const backbone = tf.model({ inputs: input, outputs: pooled });
  const model = withHead(backbone, 2, Rng.root(0));
  assert.throws(
    () => describeClassifier(model),
    (e: unknown) =>
      e instanceof GraphError && e.layer === "biased" &&
      e.message === 'layer "biased": has a bias (albench\'s convolutions have none)',
  );
  backbone.dispose();
  model.head.dispose();
});

Deno.test("model graph: DenseNet121 read from its tfjs model, padding folded into the stem", async () => {
  await tf.setBackend("cpu");
  const model = withHead(buildBackbone("densenet121", 32, Rng.root(0)), 17, Rng.root(0));
  try {
    const g = describeClassifier(model);
    const count = (kind: string) => g.ops.filter((o) => o.kind === kind).length;
    // Convolutions: the stem, two in each of 58 dense layers, one in each of 3 transitions. Batch norms: one
    // before every convolution but the stem, one after the stem and the final one.
    assert.deepEqual(
      ["conv", "batchNorm", "pool", "concat", "globalAvgPool", "dense"].map(count),
      [120, 121, 4, 58, 1, 1],
    );
    const stem = g.ops[0]!;
    assert.ok(stem.kind === "conv");
    assert.deepEqual(stem.pad, { top: 3, bottom: 3, left: 3, right: 3 });
    assert.equal(stem.padding, "valid");
    assert.deepEqual(g.tensors[stem.y], [16, 16, 64]); // floor((32 + 6 - 7) / 2) + 1
    const maxPool = g.ops.find((o) => o.kind === "pool" && o.max)!;
    assert.ok(maxPool.kind === "pool" && maxPool.pad.top === 1);
    assert.deepEqual(g.tensors[g.features], [1024]);
    assert.deepEqual(g.tensors[g.logits], [17]);
    assert.ok(g.ops.every((o) => o.kind !== "batchNorm" || o.relu), "every batch norm carries its ReLU");
  } finally {
    model.backbone.dispose();
    model.head.dispose();
  }
});

Deno.test("native step: ALBENCH_NATIVE_STEP takes compiled or tape; anything else is refused by name", () => {
  assert.equal(nativeStepKind(undefined), "compiled");
  assert.equal(nativeStepKind("compiled"), "compiled");
  assert.equal(nativeStepKind("tape"), "tape");
  for (const bad of ["Tape", "fast", " compiled"]) {
    assert.throws(() => nativeStepKind(bad), {
      message: `ALBENCH_NATIVE_STEP=${JSON.stringify(bad)} is not "compiled" or "tape"`,
    });
  }
});

Deno.test("native step: the step is part of the engine identity, so tape and compiled results never mix", () => {
  const env = (detail: string) => ({ backend: { name: "native", detail, threads: 2 }, arch: "x86_64" });
  const tape = engineIdentity(env("oneDNN 2.6.3 avx2, 2 OpenMP threads (/usr/lib/libdnnl.so.2), tape step"));
  const old = engineIdentity(env("oneDNN 2.6.3 avx2, 2 OpenMP threads (/usr/lib/libdnnl.so.2)"));
  const compiled = engineIdentity(
    env("oneDNN 2.6.3 avx2, 2 OpenMP threads (/usr/lib/libdnnl.so.2), compiled step"),
  );
  assert.equal(tape, old, "records from before the compiled step were computed on the tape");
  assert.equal(compiled, "native (avx2, x86_64, 2 threads, compiled step)");
  assert.deepEqual(identityDifferences({ engine: tape }, { dataset: "d", code: "c", engine: compiled }), [
    `engine ${tape} → ${compiled}`,
  ]);
});

Deno.test({
  name: `native step: while profile is set, every planned operation is timed by phase and kind${why}`,
  ignore: skip,
  fn: async () => {
    await initBackend("native", { nativeThreads: 1 });
    try {
      const model = withHead(buildBackbone("small-cnn", 16, Rng.root(3)), 17, Rng.root(3));
      const step = nativeStepFor(model)!;
      step.load();
      const n = 4, x = new Float32Array(n * 16 * 16 * 3).fill(0.5), y = new Float32Array(n * 17);
      step.train(x, y, n, 0.01, 0.9, 0); // untimed: planning
      step.profile = new Map();
      step.train(x, y, n, 0.01, 0.9, 0);
      step.train(x, y, n, 0.01, 0.9, 0);
      const calls = Object.fromEntries([...step.profile].map(([k, r]) => [k, r.calls]));
      step.profile = undefined;
      step.train(x, y, n, 0.01, 0.9, 0); // not counted
      // small-cnn: 4 convolutions and batch norms, 2 max pools, global pooling, the head; two steps.
      assert.deepEqual(calls, {
        "forward conv": 8,
        "forward batchNorm": 8,
        "forward pool": 4,
        "forward globalAvgPool": 2,
        "forward dense": 2,
        "loss (sigmoid BCE)": 2,
        "backward dense": 2,
        "backward globalAvgPool": 2,
        "backward batchNorm": 8,
        "backward pool": 4,
        "backward conv": 8,
        "update (weight decay, momentum)": 2,
      });
      model.backbone.dispose();
      model.head.dispose();
    } finally {
      await tf.setBackend("cpu");
    }
  },
});

Deno.test({
  name: `native ops: axpby (oneDNN's scaled sum) = α·a + β·b in float32, in place and on views${why}`,
  ignore: skip,
  fn: async () => {
    await initBackend("native", { nativeThreads: 2 });
    try {
      const ops = nativeOps()!;
      const n = 100_003; // odd: no vector-width multiple
      const a = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 3);
      const b = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.7));
      const y = new Float32Array(n);
      ops.axpby(n, 0.9, a, -0.025, b, y);
      let worst = 0;
      for (let i = 0; i < n; i++) {
        const want = Math.fround(Math.fround(0.9) * a[i]!) + Math.fround(Math.fround(-0.025) * b[i]!);
        worst = Math.max(worst, Math.abs(y[i]! - want) / Math.max(Math.abs(want), 1e-3));
      }
      assert.ok(worst < 1e-6, `relative error ${worst}`);
      const inPlace = a.slice();
      ops.axpby(n, 0.9, inPlace, -0.025, b, inPlace);
      assert.deepEqual(inPlace, y, "in place on the first input gives the same bits");
      const big = new Float32Array(64).fill(1), view = big.subarray(8, 40);
      ops.axpby(32, 1, view, 2, new Float32Array(32).fill(3), view);
      assert.deepEqual(
        [big[7], big[8], big[39], big[40]],
        [1, 7, 7, 1],
        "a view is written, nothing around it",
      );
    } finally {
      await tf.setBackend("cpu");
    }
  },
});

Deno.test({
  name:
    `native step: a model it cannot compile is said once per reason on stderr and trains on the tape${why}`,
  ignore: skip,
  fn: async () => {
    await initBackend("native", { nativeThreads: 1 });
    const said: string[] = [];
    const error = console.error;
    console.error = (...args: unknown[]) => void said.push(args.join(" "));
    try {
      const stock = () =>
        withHead(buildBackbone("small-cnn", 16, Rng.root(3), "", { batchNorm: "layers" }), 17, Rng.root(3));
      const [a, b] = [stock(), stock()];
      assert.equal(nativeStepFor(a), undefined);
      assert.equal(nativeStepFor(b), undefined);
      assert.equal(nativeStepFor(a), undefined);
      assert.deepEqual(said, [
        'native engine: the compiled step cannot run this model (layer "bn1": is a BatchNormalization, which ' +
        "the compiled step does not run); using the tape path",
      ]);
      const images = syntheticImages({ size: 4, seed: 5 }, 16), table = syntheticLabels({ size: 4, seed: 5 });
      const losses = await finetune(a, images, table, [0, 1, 2, 3], { ...RECIPE, epochs: 1 }, Rng.root(4));
      assert.ok(Number.isFinite(losses[0]!.loss));
      for (const m of [a, b]) {
        m.backbone.dispose();
        m.head.dispose();
      }
    } finally {
      console.error = error;
      await tf.setBackend("cpu");
    }
  },
});
