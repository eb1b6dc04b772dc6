import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../src/rng.ts";
import { kmeans, kmeansPlusPlus } from "../src/al/kmeans.ts";
import { gradientNorms } from "../src/al/query/gradient.ts";
import { mgeClustering } from "../src/al/query/mge_clustering.ts";
import { greedyKCenter } from "../src/al/query/coreset.ts";
import { mmc, mmcScores } from "../src/al/query/mmc.ts";
import { adaptive, adaptiveScores } from "../src/al/query/adaptive.ts";
import { cvirs, labelVectorDistance, rankAggregation, vectorInconsistency } from "../src/al/query/cvirs.ts";
import { conformanceChecks, syntheticView } from "../src/al/conformance.ts";
import { guardedInput } from "../src/al/guard.ts";
import { BUILTIN_QUERY_FUNCTIONS } from "../src/al/query/registry.ts";
import { loadQueryModule, resolveQuery } from "../src/plugin/loader.ts";
import { BUILTIN_QUERIES, checkScenarioQueries, loadScenarioFile } from "../src/scenario/load.ts";
import type { QueryFunction } from "../src/al/query.ts";

Deno.test("mge: the closed-form gradient norm equals the autodiff norm of eq. (2) w.r.t. the last layer", async () => {
  await tf.setBackend("cpu");
  const rng = Rng.root(3);
  const n = 6, c = 5, d = 7;
  const h = Float32Array.from({ length: n * d }, () => rng.normal());
  const W = tf.tensor2d(Float32Array.from({ length: d * c }, () => rng.normal(0, 0.5)), [d, c]);
  const bias = tf.tensor1d(Float32Array.from({ length: c }, () => rng.normal(0, 0.5)));
  const probs = (await tf.sigmoid(tf.add(tf.matMul(tf.tensor2d(h, [n, d]), W), bias)).data()) as Float32Array;
  for (const includeBias of [false, true]) {
    const closed = gradientNorms(probs, h, n, c, d, includeBias);
    for (let i = 0; i < n; i++) {
      const hi = tf.tensor2d(h.subarray(i * d, (i + 1) * d), [1, d]);
      const pseudo = tf.tensor2d(Array.from(probs.subarray(i * c, (i + 1) * c), (p) => (p >= 0.5 ? 1 : 0)), [
        1,
        c,
      ]);
      const loss = (w: tf.Tensor, b: tf.Tensor) => {
        const p = tf.sigmoid(tf.add(tf.matMul(hi, w as tf.Tensor2D), b));
        // Eq. (2): -1/C Σ y log p + (1 - y) log(1 - p)
        return tf.neg(
          tf.mean(tf.add(tf.mul(pseudo, tf.log(p)), tf.mul(tf.sub(1, pseudo), tf.log(tf.sub(1, p))))),
        );
      };
      const [gw, gb] = tf.grads(loss)([W, bias]);
      let sq = (await tf.sum(tf.square(gw!)).data())[0]!;
      if (includeBias) sq += (await tf.sum(tf.square(gb!)).data())[0]!;
      assert.ok(
        Math.abs(Math.sqrt(sq) - closed[i]!) < 1e-5,
        `sample ${i}: autodiff ${Math.sqrt(sq)} vs closed ${closed[i]}`,
      );
    }
  }
});

Deno.test("kmeans: every point ends at its nearest centroid, each centroid is the mean of its points", () => {
  const n = 300, d = 4, k = 7;
  const view = syntheticView(n, 1, d, 2);
  const { assignments, centroids } = kmeans(view.features, n, d, k, Rng.root(1));
  const dist = (i: number, c: number) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += (view.features[i * d + j]! - centroids[c * d + j]!) ** 2;
    return s;
  };
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) assert.ok(dist(i, assignments[i]!) <= dist(i, c) + 1e-9, `point ${i}`);
  }
  for (let c = 0; c < k; c++) {
    const members = [...assignments.keys()].filter((i) => assignments[i] === c);
    assert.ok(members.length > 0, `cluster ${c} is empty`);
    for (let j = 0; j < d; j++) {
      const mean = members.reduce((s, i) => s + view.features[i * d + j]!, 0) / members.length;
      assert.ok(Math.abs(mean - centroids[c * d + j]!) < 1e-6);
    }
  }
});

Deno.test("kmeans: empty clusters are re-seeded; duplicates and k = n are handled", () => {
  // Two far groups and k = 4: Lloyd would leave clusters empty without re-seeding.
  const pts = new Float32Array([0, 0, 0.1, 0, 0, 0.1, 100, 100, 100.1, 100, 100, 100.1]);
  const r = kmeans(pts, 6, 2, 4, Rng.root(0));
  assert.equal(new Set(r.assignments).size, 4);
  const same = new Float32Array(10).fill(1);
  const seeds = kmeansPlusPlus(same, 5, 2, 3, Rng.root(0));
  assert.equal(new Set(seeds).size, 3, "distinct indices even when all points coincide");
  const all = kmeans(new Float32Array([1, 2, 3]), 3, 1, 3, Rng.root(0));
  assert.equal(new Set(all.assignments).size, 3);
  assert.throws(() => kmeansPlusPlus(same, 5, 2, 6, Rng.root(0)), /cannot choose 6 centres from 5 points/);
});

Deno.test("mge-clustering: picks the most uncertain sample of each cluster among the top m", async () => {
  // Two well-separated feature groups; uncertainty = |p - ŷ| with equal feature norms.
  const ids = ["a", "b", "c", "d", "e", "f"];
  const probs = new Float32Array([0.45, 0.4, 0.99, 0.3, 0.55, 0.98]);
  const features = new Float32Array([1, 0, 1, 0.01, 1, 0.02, 0, 1, 0.01, 1, 0.02, 1]);
  const r = await mgeClustering.select({
    unlabelled: { ids, probs, features },
    numClasses: 1,
    featureDim: 2,
    budget: 2,
    rng: Rng.root(0),
    options: { m: 4 },
  });
  // Norms: a .45, b .4, c .01, d .3, e .45, f .02 (×‖h‖≈1). Top 4: a, e, b, d; clusters {a, b} and {d, e}.
  assert.deepEqual([...r.selected].sort(), ["a", "e"]);
  assert.equal(Object.keys(r.clusters!).length, 4);
  assert.ok(Math.abs(r.scores!["b"]! - 0.4 * Math.hypot(1, 0.01)) < 1e-6);
});

Deno.test("query input: reading a field the interface does not define (labels) throws", () => {
  const input = guardedInput({
    unlabelled: syntheticView(5, 2, 2, 0),
    numClasses: 2,
    featureDim: 2,
    budget: 1,
    rng: Rng.root(0),
    options: {},
  });
  assert.throws(() => (input as unknown as { labels: unknown }).labels, /no field "labels"/);
  assert.throws(() => (input.unlabelled as unknown as { truth: unknown }).truth, /no field "truth"/);
});

Deno.test("query conformance catches functions that break the contract", async () => {
  const failures = async (fn: QueryFunction) => {
    const failed: string[] = [];
    for (const check of conformanceChecks(fn, { largeN: 1000 })) {
      try {
        await check.run();
      } catch {
        failed.push(check.name);
      }
    }
    return failed;
  };
  const tooMany: QueryFunction = {
    name: "too-many",
    description: "selects one sample too many",
    select: ({ unlabelled, budget }) => ({ selected: unlabelled.ids.slice(0, budget + 1) }),
  };
  assert.ok((await failures(tooMany)).includes("selects exactly b distinct unlabelled ids"));
  const peeking: QueryFunction = {
    name: "peeking",
    description: "reads labels",
    select: (input) => ({ selected: [(input as unknown as { labels: string[] }).labels[0]!] }),
  };
  assert.ok((await failures(peeking)).includes("cannot read hidden labels"));
  let calls = 0;
  const unseeded: QueryFunction = {
    name: "unseeded",
    description: "ignores its stream",
    // Alternates between two selections, as a function drawing from an unseeded generator would differ.
    select: ({ unlabelled, budget }) => {
      const offset = calls++ % 2;
      return { selected: unlabelled.ids.slice(offset, offset + budget) };
    },
  };
  assert.ok((await failures(unseeded)).includes("is deterministic for a seed"));
  assert.deepEqual(await failures(BUILTIN_QUERY_FUNCTIONS["random"]!), []);
});

Deno.test("registry: built-ins match the scenario schema's list; plug-ins load; bad modules are named", async () => {
  assert.deepEqual(Object.keys(BUILTIN_QUERY_FUNCTIONS).sort(), [...BUILTIN_QUERIES].sort());
  assert.equal((await resolveQuery("badge", ".")).name, "badge");
  await assert.rejects(
    () => resolveQuery("entropy", "."),
    /unknown query function "entropy"; built-in ones are random/,
  );
  const root = new URL("..", import.meta.url).pathname;
  assert.equal(
    (await resolveQuery({ module: "./my_query.ts" }, `${root}/scenarios/examples`)).name,
    "margin",
  );
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/bad.ts`, "export const x = 1;\n");
  await assert.rejects(() => loadQueryModule("./bad.ts", dir), /must export a QueryFunction .* it exports x/);
  await assert.rejects(() => loadQueryModule("./none.ts", dir), /could not be loaded/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("query CLI: --list shows every built-in with its options; --fn NAME --help one; bad --options exit 2", async () => {
  const root = new URL("..", import.meta.url).pathname;
  const run = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", `${root}/src/cli/query.ts`, ...args],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };
  const list = await run("--list");
  assert.equal(list.code, 0, list.stderr);
  for (const name of BUILTIN_QUERIES) assert.match(list.stdout, new RegExp(`^${name}: `, "m"));
  assert.match(list.stdout, /mFactor: a number >= 1, default 10\./);
  assert.match(list.stdout, /beta: a number >= 0 and <= 1, default 0\.5\./);
  const help = await run("--fn", "mmc", "--help");
  assert.equal(help.code, 0);
  assert.match(
    help.stdout,
    /^mmc: .*\n.*\n {2}cardinality: one of "expected", "threshold", default "expected"/,
  );
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/in.json`,
    JSON.stringify({ ids: ["a", "b"], probs: [[0.9, 0.1], [0.5, 0.5]], features: [[1], [2]] }),
  );
  const typo = await run(
    "--fn",
    "mge-clustering",
    "--input",
    `${dir}/in.json`,
    "--b",
    "1",
    "--options",
    '{"mFactr":5}',
  );
  assert.equal(typo.code, 2);
  assert.match(
    typo.stderr,
    /--options: unknown option "mFactr"; mge-clustering's options are: m, mFactor, includeBias/,
  );
  const ok = await run(
    "--fn",
    "mmc",
    "--input",
    `${dir}/in.json`,
    "--b",
    "1",
    "--options",
    '{"cardinality":"threshold"}',
  );
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout).selected, ["b"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("plug-in options are checked when a run or plan loads the scenario: schema'd ones strictly, others with a warning", async () => {
  const dir = await Deno.makeTempDir();
  const plugin = (schema: string) =>
    `export default { name: "first", description: "first b ids", needs: [], ${schema}
      select: ({ unlabelled, budget }) => ({ selected: unlabelled.ids.slice(0, budget) }) };\n`;
  await Deno.writeTextFile(
    `${dir}/typed.ts`,
    plugin(`optionSchema: { k: { type: "integer", min: 1, default: 2, description: "k" } },`),
  );
  await Deno.writeTextFile(`${dir}/legacy.ts`, plugin(`defaults: { k: 2 },`));
  const scenario = (arms: unknown[]) => ({
    name: "p",
    dataset: { kind: "synthetic", size: 210 },
    split: { val: 0.25, test: 0.25 },
    model: { backbone: "small-cnn" },
    al: { initial: 10, batch: 5, iterations: 2 },
    arms: [{ name: "random", query: "random" }, ...arms],
  });
  const load = async (arms: unknown[]) => {
    await Deno.writeTextFile(`${dir}/s.json`, JSON.stringify(scenario(arms)));
    return checkScenarioQueries(await loadScenarioFile(`${dir}/s.json`));
  };
  assert.deepEqual(await load([{ name: "t", query: { module: "./typed.ts" }, options: { k: 3 } }]), []);
  await assert.rejects(
    () => load([{ name: "t", query: { module: "./typed.ts" }, options: { kk: 3 } }]),
    /arms\[1\] "t" \(first\): unknown option "kk"; first's options are: k/,
  );
  await assert.rejects(
    () => load([{ name: "t", query: { module: "./typed.ts" }, options: { k: 0 } }]),
    /arms\[1\] "t" \(first\): k: must be an integer >= 1; got 0/,
  );
  await assert.rejects(
    () => load([{ name: "m", query: { module: "./missing.ts" } }]),
    /arms\[1\] "m": query module \.\/missing\.ts .* could not be loaded/,
  );
  // Without a schema: known defaults pass silently, other keys pass with a warning.
  assert.deepEqual(await load([{ name: "l", query: { module: "./legacy.ts" }, options: { k: 3 } }]), []);
  const warned = await load([{ name: "l", query: { module: "./legacy.ts" }, options: { kk: 3 } }]);
  assert.equal(warned.length, 1);
  assert.match(
    warned[0]!,
    /^p: arms\[1\] "l" \(first\): option kk: passed unchecked to first, which declares no optionSchema/,
  );
  await Deno.remove(dir, { recursive: true });
});

/** The O(b·N·D) core-set as it was before the lazy evaluation: the reference the fast one must equal. */
function plainCoreset(
  f: Float32Array,
  n: number,
  lf: Float32Array,
  m: number,
  d: number,
  b: number,
  start: number,
) {
  const nearest = new Float64Array(n).fill(Infinity);
  const update = (src: Float32Array, j: number) => {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (f[i * d + k]! - src[j * d + k]!) ** 2;
      if (s < nearest[i]!) nearest[i] = s;
    }
  };
  for (let j = 0; j < m; j++) update(lf, j);
  const chosen = new Uint8Array(n), picks: number[] = [];
  if (m === 0) {
    picks.push(start);
    chosen[start] = 1;
    update(f, start);
  }
  while (picks.length < Math.min(b, n)) {
    let far = -1;
    for (let i = 0; i < n; i++) if (!chosen[i] && (far < 0 || nearest[i]! > nearest[far]!)) far = i;
    picks.push(far);
    chosen[far] = 1;
    update(f, far);
  }
  return picks;
}

Deno.test("coreset: the lazy greedy k-center selects exactly what the full recomputation selects, ties included", async () => {
  const cases: {
    name: string;
    u: Float32Array;
    n: number;
    l: Float32Array;
    m: number;
    d: number;
    b: number;
  }[] = [];
  for (
    const [n, m, d, b, seed] of [[300, 20, 8, 25, 1], [500, 0, 16, 40, 2], [64, 5, 3, 64, 3], [
      200,
      50,
      32,
      10,
      4,
    ]]
  ) {
    const u = syntheticView(n!, 1, d!, seed!), l = syntheticView(Math.max(m!, 1), 1, d!, seed! + 9);
    cases.push({
      name: `synthetic ${n}/${m}/${d}`,
      u: u.features,
      n: n!,
      l: l.features,
      m: m!,
      d: d!,
      b: b!,
    });
  }
  // Integer grid points: many exactly equal distances (ties go to the lowest position).
  const grid = Float32Array.from({ length: 2 * 100 }, (_, i) => (i % 2 ? Math.floor(i / 20) : (i / 2) % 10));
  cases.push({
    name: "grid with ties",
    u: grid,
    n: 100,
    l: new Float32Array([0, 0, 9, 9]),
    m: 2,
    d: 2,
    b: 30,
  });
  // Duplicates: a point equal to a labelled one has distance 0.
  const dup = new Float32Array([1, 1, 1, 5, 5, 5, 2, 2]);
  cases.push({ name: "duplicates", u: dup, n: 8, l: new Float32Array([1]), m: 1, d: 1, b: 8 });
  for (const c of cases) {
    const start = c.m === 0 ? 7 : -1;
    assert.deepEqual(
      greedyKCenter(c.u, c.n, c.l, c.m, c.d, c.b, start),
      plainCoreset(c.u, c.n, c.l, c.m, c.d, c.b, start),
      c.name,
    );
  }
  // Through the query function, without a labelled set: the seeded start, then the same greedy picks.
  const u = syntheticView(150, 17, 4, 8);
  const r = await BUILTIN_QUERY_FUNCTIONS["coreset"]!.select({
    unlabelled: u,
    numClasses: 17,
    featureDim: 4,
    budget: 12,
    rng: Rng.root(3),
    options: {},
  });
  const start = Rng.root(3).int(150);
  assert.deepEqual(
    r.selected,
    plainCoreset(u.features, 150, new Float32Array(0), 0, 4, 12, start).map((i) => `u${i}`),
  );
});

Deno.test("mmc: scores equal the hand-computed Σ (1 − ŷ_j f_j)/2 with f = 2p − 1 and m(x) from Σp or p ≥ 0.5", async () => {
  const probs = new Float32Array([0.9, 0.6, 0.2, 0.7, 0.7, 0.7, 0.1, 0.1, 0.3]);
  // x0: Σp = 1.7 → m = 2, ŷ = (+, +, −), f = (.8, .2, −.6): .1 + .4 + .2 = .7
  // x1: Σp = 2.1 → m = 2, ŷ = (+, +, −), f = .4 each: .3 + .3 + .7 = 1.3   (threshold: m = 3 → .3·3 = .9)
  // x2: Σp = 0.5 → m = 1 (round half up), ŷ = (−, −, +), f = (−.8, −.8, −.4): .1 + .1 + .7 = .9   (threshold: m = 0 → 1)
  const close = (a: Float64Array, b: number[]) =>
    b.forEach((v, i) => assert.ok(Math.abs(a[i]! - v) < 1e-6, `${i}`));
  close(mmcScores(probs, 3, 3, "expected"), [0.7, 1.3, 0.9]);
  close(mmcScores(probs, 3, 3, "threshold"), [0.7, 0.9, 0.9]);
  const r = await mmc.select({
    unlabelled: { ids: ["x0", "x1", "x2"], probs, features: new Float32Array(3) },
    numClasses: 3,
    featureDim: 1,
    budget: 2,
    rng: Rng.root(0),
    options: { cardinality: "expected" },
  });
  assert.deepEqual(r.selected, ["x1", "x2"]);
});

Deno.test("adaptive: q = (1/sep)^β · |card − μ_L|^(1−β) with logit margins and the labelled set's predicted cardinality", async () => {
  const probs = new Float32Array([0.9, 0.6, 0.2, 0.3, 0.2, 0.1, 0.8, 0.7, 0.6]);
  // Labelled predictions (0.9, 0.9, 0.1) and (0.9, 0.1, 0.1): cardinalities 2 and 1 → μ = 1.5.
  const labelled = new Float32Array([0.9, 0.9, 0.1, 0.9, 0.1, 0.1]);
  // x0: card 2, sep = logit .6 − logit .2 = ln 1.5 − ln .25 = ln 6, c = .5
  // x1: card 0 → top-1 against second: sep = ln(3/7) − ln(1/4) = ln(12/7), c = 1.5
  // x2: card 3 → second-smallest against smallest: sep = ln(7/3) − ln(1.5) = ln(14/9), c = 1.5
  const want = [[Math.log(6), 0.5], [Math.log(12 / 7), 1.5], [Math.log(14 / 9), 1.5]];
  for (const beta of [0, 0.3, 1]) {
    const q = adaptiveScores(probs, 3, 3, 1.5, beta);
    want.forEach(([sep, c], i) => {
      const expected = (1 / sep!) ** beta * c! ** (1 - beta);
      assert.ok(Math.abs(q[i]! - expected) < 1e-5 * expected, `β ${beta}, x${i}: ${q[i]} vs ${expected}`);
    });
  }
  const r = await adaptive.select({
    unlabelled: { ids: ["x0", "x1", "x2"], probs, features: new Float32Array(3) },
    labelled: { ids: ["l0", "l1"], probs: labelled, features: new Float32Array(2) },
    numClasses: 3,
    featureDim: 1,
    budget: 3,
    rng: Rng.root(0),
    options: { beta: 0.5 },
  });
  assert.ok(Math.abs(r.diagnostics!["meanLabelledCardinality"] as number - 1.5) < 1e-12);
  // q(x2) = √(1.5 / ln(14/9)) ≈ 1.84 > q(x1) = √(1.5 / ln(12/7)) ≈ 1.67 > q(x0) = √(.5 / ln 6) ≈ .53
  assert.deepEqual(r.selected, ["x2", "x1", "x0"]);
});

Deno.test("cvirs: Borda-ranked margins times the mean entropy distance to the labelled set's predicted vectors", async () => {
  const probs = new Float32Array([0.9, 0.2, 0.6, 0.7, 0.3, 0.55]);
  // Margins |2p − 1|: class 0 (.8, .2, .4) → ranks 3, 1, 2; class 1 (.6, .4, .1) → ranks 3, 2, 1.
  // s = Σ (3 − r) / (2 · 2): x0 0, x1 .75, x2 .75.
  const s = rankAggregation(probs, 3, 2);
  assert.deepEqual([...s], [0, 0.75, 0.75]);
  // Predicted vectors: x0 (1,0), x1 (1,1), x2 (0,1); labelled (1,0) and (1,1).
  // x0: equal to (1,0): joint entropy 1 bit, H(x) = H(y) = 1 → 0; against (1,1): (2·1 − 1 − 0)/1 = 1 → v = .5
  // x1: against (1,0): (2·1 − 0 − 1)/1 = 1; equal to (1,1): both constant → 0 → v = .5
  // x2: against (1,0): differs everywhere → 1; against (1,1): (2·1 − 1 − 0)/1 = 1 → v = 1
  const labelled = new Float32Array([0.8, 0.1, 0.9, 0.9]);
  assert.deepEqual([...vectorInconsistency(probs, 3, labelled, 2, 2)], [0.5, 0.5, 1]);
  assert.equal(labelVectorDistance(4, 2, 2, 2), 0);
  assert.equal(labelVectorDistance(4, 2, 2, 0), 1);
  const r = await cvirs.select({
    unlabelled: { ids: ["x0", "x1", "x2"], probs, features: new Float32Array(3) },
    labelled: { ids: ["l0", "l1"], probs: labelled, features: new Float32Array(2) },
    numClasses: 2,
    featureDim: 1,
    budget: 3,
    rng: Rng.root(0),
    options: {},
  });
  assert.deepEqual(r.selected, ["x2", "x1", "x0"]);
  assert.deepEqual([r.scores!["x0"], r.scores!["x1"], r.scores!["x2"]], [0, 0.375, 0.75]);
  // Many classes (more than one 32-bit word, no lookup table) agree with a direct computation.
  const c = 70, n = 5, rr = 4, rng = Rng.root(1);
  const pu = Float32Array.from({ length: n * c }, () => rng.next()),
    pl = Float32Array.from({ length: rr * c }, () => rng.next());
  const v = vectorInconsistency(pu, n, pl, rr, c);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let l = 0; l < rr; l++) {
      let kx = 0, ky = 0, a = 0;
      for (let j = 0; j < c; j++) {
        const x = pu[i * c + j]! >= 0.5, y = pl[l * c + j]! >= 0.5;
        kx += +x;
        ky += +y;
        a += +(x && y);
      }
      sum += labelVectorDistance(c, kx, ky, a);
    }
    assert.ok(Math.abs(v[i]! - sum / rr) < 1e-12);
  }
});
