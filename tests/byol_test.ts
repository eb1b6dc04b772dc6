import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../src/rng.ts";
import { initBackend } from "../src/backend/backend.ts";
import {
  applyParams,
  augmentView,
  BYOL_VIEW_1,
  BYOL_VIEW_2,
  drawParams,
  type SampleParams,
} from "../src/ssl/augment.ts";
import { normalizedMse, pretrainByol, tauAt } from "../src/ssl/byol.ts";
import { linearProbe } from "../src/ssl/probe.ts";
import { buildBackbone } from "../src/model/backbones.ts";
import { syntheticImages, syntheticLabels } from "../src/data/synthetic.ts";

await initBackend("wasm");

Deno.test("byol: eq. (1) equals the squared distance of the normalised vectors", async () => {
  const rng = Rng.root(1);
  const p = Array.from({ length: 12 }, () => rng.normal()),
    z = Array.from({ length: 12 }, () => rng.normal());
  const got = (await normalizedMse(tf.tensor2d(p, [3, 4]), tf.tensor2d(z, [3, 4])).data())[0]!;
  let want = 0;
  for (let i = 0; i < 3; i++) {
    const a = p.slice(i * 4, i * 4 + 4), b = z.slice(i * 4, i * 4 + 4);
    const na = Math.hypot(...a), nb = Math.hypot(...b);
    want += a.reduce((s, v, k) => s + (v / na - b[k]! / nb) ** 2, 0) / 3;
  }
  assert.ok(Math.abs(got - want) < 1e-5, `${got} vs ${want}`);
});

Deno.test("byol: the EMA rate follows the cosine schedule from base to final", () => {
  const t = { base: 0.996, final: 1 };
  assert.equal(tauAt(t, 0, 100), 0.996);
  assert.ok(Math.abs(tauAt(t, 50, 100) - 0.998) < 1e-12);
  assert.equal(tauAt(t, 100, 100), 1);
});

Deno.test("byol augment: identity parameters reproduce the input; draws are seeded; outputs stay in [0, 1]", async () => {
  const x = tf.randomUniform([3, 12, 12, 3], 0, 1, "float32", 3) as tf.Tensor4D;
  const identity: SampleParams = {
    box: [0, 0, 1, 1],
    flip: false,
    vflip: false,
    rot90: 0,
    brightness: 1,
    contrast: 1,
    saturation: 1,
    hue: 0,
    grayscale: false,
    sigma: 0,
    solarize: false,
  };
  const same = applyParams(x, [identity, identity, identity]);
  const [a, b] = [await x.data(), await same.data()];
  assert.ok(a.every((v, i) => Math.abs(v - b[i]!) < 1e-5));
  const flipped = await applyParams(x, [{ ...identity, flip: true }, identity, identity]).data();
  assert.ok(Math.abs(flipped[0]! - a[11 * 3]!) < 1e-5, "horizontal flip mirrors columns");
  assert.deepEqual(drawParams(BYOL_VIEW_2, 32, Rng.root(5)), drawParams(BYOL_VIEW_2, 32, Rng.root(5)));
  const v = await augmentView(x, BYOL_VIEW_2, Rng.root(9)).data();
  assert.ok(v.every((t) => t >= 0 && t <= 1));
  // Over many draws the probabilities show: blur always in view 1, solarise about 20% in view 2.
  const rng = Rng.root(4);
  const p1 = Array.from({ length: 2000 }, () => drawParams(BYOL_VIEW_1, 224, rng));
  const p2 = Array.from({ length: 2000 }, () => drawParams(BYOL_VIEW_2, 224, rng));
  assert.ok(p1.every((p) => p.sigma >= 0.1 && p.sigma <= 2.0));
  assert.ok(Math.abs(p2.filter((p) => p.solarize).length / 2000 - 0.2) < 0.03);
  assert.ok(Math.abs(p2.filter((p) => p.grayscale).length / 2000 - 0.2) < 0.03);
  const areas = p1.map((p) => (p.box[2] - p.box[0]) * (p.box[3] - p.box[1]));
  assert.ok(Math.min(...areas) >= 0.08 - 1e-9 && Math.max(...areas) <= 1 + 1e-9);
});

Deno.test("byol: no gradient reaches the target; it moves only by the EMA", async () => {
  const images = syntheticImages({ size: 42 }, 16);
  const ids = Array.from({ length: 40 }, (_, i) => i);
  const opts = { epochs: 1, batchSize: 20, lr: 0.01, projector: { hidden: 16, out: 8 }, predictorHidden: 16 };
  const read = (ws: tf.LayerVariable[]) => Promise.all(ws.map((w) => w.read().data()));
  // tau = 1: the target keeps the initial online weights exactly, while the online network trains.
  // Parameters only: batch-norm moving statistics of the target do change (its forward pass runs in training
  // mode), but they are not parameters and never reach the loss.
  const params = (ws: tf.LayerVariable[]) => ws.filter((w) => w.trainable);
  const enc = buildBackbone("small-cnn", 16, Rng.root(0), "o_");
  const initial = await read(params(enc.weights));
  let steps = 0;
  await pretrainByol(
    enc,
    () => buildBackbone("small-cnn", 16, Rng.root(1), "t_"),
    images,
    ids,
    {
      ...opts,
      tau: { base: 1, final: 1 },
    },
    Rng.root(0),
    undefined,
    async (_step, tau, online, target) => {
      steps++;
      assert.equal(tau, 1);
      const t = await read(params(target.slice(0, enc.weights.length)));
      assert.ok(
        t.every((w, i) => w.every((v, k) => v === initial[i]![k])),
        "the target changed although tau = 1",
      );
      assert.ok(
        (await read(online.slice(0, 1)))[0]!.some((v, k) => v !== initial[0]![k]),
        "the online network trains",
      );
    },
  );
  assert.equal(steps, 2);
  // tau = 0: after every step the target equals the online network.
  const enc2 = buildBackbone("small-cnn", 16, Rng.root(0), "o2_");
  let compared = 0;
  await pretrainByol(
    enc2,
    () => buildBackbone("small-cnn", 16, Rng.root(1), "t2_"),
    images,
    ids,
    {
      ...opts,
      tau: { base: 0, final: 0 },
    },
    Rng.root(0),
    undefined,
    async (_step, _tau, online, target) => {
      const [t, o] = [await read(params(target)), await read(params(online))];
      assert.ok(
        t.every((w, i) => w.every((v, k) => v === o[i]![k])),
        "the target differs from the online network",
      );
      compared++;
    },
  );
  // The check above ran after each of the two steps (a callback never called would pass silently).
  assert.equal(compared, 2);
});

Deno.test("byol: the loss falls and the pre-trained backbone beats random initialisation in a linear probe", async () => {
  const n = 420, r = 16;
  const table = syntheticLabels({ size: n }), images = syntheticImages({ size: n }, r);
  const all = Array.from({ length: n }, (_, i) => i);
  const random = buildBackbone("small-cnn", r, Rng.root(0));
  const base = await linearProbe(random, images, table, all, Rng.root(9));
  const enc = buildBackbone("small-cnn", r, Rng.root(0), "on_");
  const { losses } = await pretrainByol(
    enc,
    () => buildBackbone("small-cnn", r, Rng.root(0), "tg_"),
    images,
    all,
    {
      epochs: 4,
      batchSize: 100,
      lr: 0.001,
      projector: { hidden: 256, out: 64 },
      predictorHidden: 256,
      tau: { base: 0.99, final: 1 },
    },
    Rng.root(0).fork("byol"),
  );
  assert.ok(losses[losses.length - 1]! < losses[0]! * 0.7, `losses ${losses}`);
  const byol = await linearProbe(enc, images, table, all, Rng.root(9));
  assert.ok(
    byol.map > base.map + 0.02,
    `probe mAP: BYOL ${byol.map.toFixed(3)} vs random init ${base.map.toFixed(3)}`,
  );
});

Deno.test("pretrain: a backbone is trained once per key, then read from the cache; a damaged entry is rebuilt", async () => {
  const { pretrainedBackbone, pretrainKey } = await import("../src/ssl/pretrain.ts");
  const cache = await Deno.makeTempDir({ prefix: "albench-pretrain-" });
  const images = syntheticImages({ size: 21 }, 16);
  const spec = {
    datasetFingerprint: "synthetic-v1:size=21:seed=0",
    archiveIds: syntheticLabels({ size: 21 }).ids,
    backbone: "small-cnn" as const,
    resolution: 16,
    byol: {
      epochs: 1,
      batchSize: 10,
      lr: 1e-3,
      projector: { hidden: 8, out: 4 },
      predictorHidden: 8,
      tau: { base: 0.99, final: 1 },
    },
    seed: 0,
    backendFamily: "cpu",
  };
  const ids = Array.from({ length: 21 }, (_, i) => i);
  const first = await pretrainedBackbone(spec, images, ids, cache);
  assert.equal(first.cached, false);
  assert.equal(first.key, pretrainKey(spec));
  const second = await pretrainedBackbone(spec, images, ids, cache);
  assert.equal(second.cached, true);
  assert.deepEqual(second.losses, first.losses);
  const w = async (m: tf.LayersModel) => await Promise.all(m.weights.map((v) => v.read().data()));
  assert.deepEqual(await w(second.backbone), await w(first.backbone));
  await Deno.writeFile(`${first.dir}/weights.bin`, new Uint8Array(8));
  const third = await pretrainedBackbone(spec, images, ids, cache);
  assert.equal(third.cached, false, "a corrupt checkpoint is not used");
  assert.deepEqual(await w(third.backbone), await w(first.backbone), "retraining is deterministic");
  assert.notEqual(pretrainKey({ ...spec, archiveIds: spec.archiveIds.slice(1) }), first.key);
  await Deno.remove(cache, { recursive: true });
});
