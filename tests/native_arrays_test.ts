/**
 * The native engine's library-free array code (`src/backend/native/arrays.ts`) against tfjs's `cpu` kernels, on
 * seeded random shapes and values: no oneDNN needed, so these run everywhere.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  type BinaryName,
  broadcast,
  concatRows,
  copyBox,
  elementwise,
  gatherByAxis,
  meanHW,
  splitRows,
  stridesOf,
} from "../src/backend/native/arrays.ts";
import { Rng } from "../src/rng.ts";

await tf.setBackend("cpu");

const alloc = (n: number) => new Float32Array(n);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const values = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => rng.normal() + 0.1);
const shape = (rng: Rng, rank: number, max = 4) => Array.from({ length: rank }, () => 1 + rng.int(max));
const cpu = (fn: () => tf.Tensor) => tf.tidy(() => fn().dataSync() as Float32Array);

const OPS: Record<BinaryName, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
  Add: tf.add,
  Sub: tf.sub,
  Multiply: tf.mul,
  RealDiv: tf.div,
};

Deno.test("native arrays: concatRows and splitRows are tfjs's concat and split along the last axis", () => {
  const rng = Rng.root(1);
  for (let trial = 0; trial < 30; trial++) {
    const rows = 1 + rng.int(5), widths = shape(rng, 1 + rng.int(4), 6);
    const parts = widths.map((w) => values(rng, rows * w));
    const y = alloc(rows * size([widths.reduce((a, b) => a + b, 0)]));
    concatRows(parts, widths, rows, y);
    const want = cpu(() => tf.concat(parts.map((p, i) => tf.tensor2d(p, [rows, widths[i]!])), 1));
    assert.deepEqual(y, want, `rows ${rows}, widths ${widths}`);
    const back = splitRows(y, widths, rows, alloc);
    back.forEach((b, i) => assert.deepEqual(b, parts[i], `part ${i} of ${widths}`));
  }
});

Deno.test("native arrays: elementwise and broadcast give tfjs cpu's bits for every operation and broadcastable pair", () => {
  const rng = Rng.root(2);
  for (const name of Object.keys(OPS) as BinaryName[]) {
    const n = 1 + rng.int(50);
    const a = values(rng, n), b = values(rng, n);
    const want = cpu(() => OPS[name](tf.tensor1d(a), tf.tensor1d(b)));
    assert.deepEqual(elementwise(name, a, b, alloc(n)), want, name);
    for (let trial = 0; trial < 25; trial++) {
      const rank = rng.int(5);
      const out = shape(rng, rank);
      // Each operand: a suffix of the output's axes, some of them 1.
      const operand = () => out.slice(rng.int(rank + 1)).map((d) => (rng.next() < 0.3 ? 1 : d));
      const as = operand(), bs = operand();
      const av = values(rng, size(as)), bv = values(rng, size(bs));
      const r = broadcast(name, as, av, bs, bv, alloc);
      const t = tf.tidy(() => {
        const y = OPS[name](tf.tensor(av, as), tf.tensor(bv, bs));
        return { shape: y.shape, values: y.dataSync() as Float32Array };
      });
      assert.deepEqual(r.shape, t.shape, `${name} ${as} with ${bs}`);
      assert.deepEqual(r.values, t.values, `${name} ${as} with ${bs}`);
    }
  }
});

Deno.test("native arrays: copyBox is tfjs's slice (box out of a tensor) and pad (tensor into a box)", () => {
  const rng = Rng.root(3);
  for (let trial = 0; trial < 40; trial++) {
    const rank = 1 + rng.int(4);
    const s = shape(rng, rank, 5);
    const x = values(rng, size(s));
    const begin = s.map((d) => rng.int(d));
    const box = s.map((d, i) => 1 + rng.int(d - begin[i]!));
    const y = alloc(size(box));
    copyBox(x, s, begin, y, box, box.map(() => 0), box);
    assert.deepEqual(y, cpu(() => tf.slice(tf.tensor(x, s), begin, box)), `slice ${s} at ${begin} of ${box}`);
    const pads = s.map(() => [rng.int(3), rng.int(3)] as [number, number]);
    const padded = s.map((d, i) => d + pads[i]![0] + pads[i]![1]);
    const p = alloc(size(padded)); // zeros, as tf.pad's constant
    copyBox(x, s, s.map(() => 0), p, padded, pads.map((q) => q[0]), s);
    assert.deepEqual(p, cpu(() => tf.pad(tf.tensor(x, s), pads)), `pad ${s} by ${JSON.stringify(pads)}`);
  }
});

Deno.test("native arrays: gatherByAxis with per-axis maps is tfjs's transpose, reverse and tile", () => {
  const rng = Rng.root(4);
  for (let trial = 0; trial < 30; trial++) {
    const rank = 1 + rng.int(4);
    const s = shape(rng, rank);
    const x = values(rng, size(s));
    const st = stridesOf(s);
    // Transpose by a random permutation: output axis d walks input axis perm[d].
    const perm = [...s.keys()];
    for (let i = rank - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    }
    const tMaps = perm.map((a) => Int32Array.from({ length: s[a]! }, (_, k) => k * st[a]!));
    const ty = alloc(x.length);
    gatherByAxis(x, tMaps, ty);
    assert.deepEqual(ty, cpu(() => tf.transpose(tf.tensor(x, s), perm)), `transpose ${s} by ${perm}`);
    // Reverse along a random subset of axes.
    const axes = [...s.keys()].filter(() => rng.next() < 0.5);
    const rMaps = s.map((d, a) =>
      Int32Array.from({ length: d }, (_, k) => (axes.includes(a) ? d - 1 - k : k) * st[a]!)
    );
    const ry = alloc(x.length);
    gatherByAxis(x, rMaps, ry);
    assert.deepEqual(ry, cpu(() => tf.reverse(tf.tensor(x, s), axes)), `reverse ${s} along ${axes}`);
    // Tile by random repeats.
    const reps = s.map(() => 1 + rng.int(3));
    const gMaps = s.map((d, a) => Int32Array.from({ length: d * reps[a]! }, (_, k) => (k % d) * st[a]!));
    const gy = alloc(x.length * size(reps));
    gatherByAxis(x, gMaps, gy);
    assert.deepEqual(gy, cpu(() => tf.tile(tf.tensor(x, s), reps)), `tile ${s} by ${reps}`);
  }
});

Deno.test("native arrays: meanHW is tfjs's mean over height and width (within float32 rounding)", () => {
  const rng = Rng.root(5);
  for (let trial = 0; trial < 20; trial++) {
    const [n, h, w, c] = shape(rng, 4, 6) as [number, number, number, number];
    const x = values(rng, n * h * w * c);
    const y = alloc(n * c);
    meanHW(x, n, h * w, c, y);
    const want = cpu(() => tf.mean(tf.tensor4d(x, [n, h, w, c]), [1, 2]));
    for (let i = 0; i < y.length; i++) {
      const tol = 1e-6 * Math.max(1, Math.abs(want[i]!));
      assert.ok(
        Math.abs(y[i]! - want[i]!) <= tol,
        `[${n}, ${h}, ${w}, ${c}] channel ${i}: ${y[i]} vs ${want[i]}`,
      );
    }
  }
});
