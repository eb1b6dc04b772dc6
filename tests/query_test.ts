import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../src/rng.ts";
import { kmeans, kmeansPlusPlus } from "../src/al/kmeans.ts";
import { gradientNorms } from "../src/al/query/gradient.ts";
import { mgeClustering } from "../src/al/query/mge_clustering.ts";
import { conformanceChecks, guardedInput, syntheticView } from "../src/al/conformance.ts";
import { BUILTIN_QUERY_FUNCTIONS, loadQueryModule, resolveQuery } from "../src/al/query/registry.ts";
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
