import assert from "node:assert/strict";
import { Rng } from "../src/rng.ts";

Deno.test("rng: same seed and path give the same numbers", () => {
  const a = Rng.root(42).fork("split");
  const b = Rng.root(42).fork("split");
  const xs = Array.from({ length: 100 }, () => a.next());
  const ys = Array.from({ length: 100 }, () => b.next());
  assert.deepEqual(xs, ys);
});

Deno.test("rng: a fork does not depend on draws from the parent or siblings", () => {
  const clean = Rng.root(9).fork("al/iter-3/query").next();
  const root = Rng.root(9);
  for (let i = 0; i < 50; i++) root.next();
  root.fork("data").shuffle([1, 2, 3, 4, 5]);
  assert.equal(root.fork("al").fork("iter-3").fork("query").next(), clean);
});

Deno.test("rng: different names and different seeds give different streams", () => {
  const r = Rng.root(1);
  assert.notEqual(r.fork("a").next(), r.fork("b").next());
  assert.notEqual(Rng.root(1).next(), Rng.root(2).next());
});

Deno.test("rng: state round-trips exactly mid-stream", () => {
  const r = Rng.root(5).fork("x");
  for (let i = 0; i < 17; i++) r.next();
  const saved = JSON.parse(JSON.stringify(r.state()));
  const copy = Rng.restore(saved);
  assert.equal(copy.path, "5/x");
  for (let i = 0; i < 20; i++) assert.equal(copy.next(), r.next());
});

Deno.test("rng: uniform draws pass a chi-square test over 10 bins", () => {
  const r = Rng.root(123);
  const bins = new Array(10).fill(0);
  const n = 100_000;
  for (let i = 0; i < n; i++) bins[Math.floor(r.next() * 10)]++;
  const chi2 = bins.reduce((s, c) => s + (c - n / 10) ** 2 / (n / 10), 0);
  assert.ok(chi2 < 27.88, `chi2=${chi2} exceeds the 0.001 critical value for 9 dof`); // p = 0.001
});

Deno.test("rng: normal draws have mean 0 and variance 1 within sampling error", () => {
  const r = Rng.root(7);
  const n = 50_000;
  let s = 0, s2 = 0;
  for (let i = 0; i < n; i++) {
    const x = r.normal();
    s += x;
    s2 += x * x;
  }
  const mean = s / n, variance = s2 / n - mean * mean;
  assert.ok(Math.abs(mean) < 4 / Math.sqrt(n), `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 4 * Math.sqrt(2 / n), `variance ${variance}`);
});

Deno.test("rng: sample draws distinct items, each position uniform", () => {
  const r = Rng.root(3);
  const counts = new Array(5).fill(0);
  for (let t = 0; t < 20_000; t++) {
    const s = r.sample([0, 1, 2, 3, 4], 2);
    assert.notEqual(s[0], s[1]);
    counts[s[0] as number]++;
  }
  for (const c of counts) assert.ok(Math.abs(c - 4000) < 250, `counts ${counts}`);
  assert.throws(() => r.sample([1, 2], 3), /k must be an integer in \[0, 2\], got 3/);
});

Deno.test("rng: shuffle is a permutation and int stays in range", () => {
  const r = Rng.root(11);
  const xs = r.shuffle(Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual([...xs].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
  for (let i = 0; i < 1000; i++) {
    const k = r.int(7);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 7);
  }
  assert.throws(() => r.int(0), /positive integer, got 0/);
  assert.throws(() => r.fork(""), /non-empty path segments/);
  assert.throws(() => Rng.root(1.5), /safe integer, got 1.5/);
});

Deno.test("rng: no Math.random anywhere in src/", async () => {
  const offenders: string[] = [];
  async function walk(dir: string) {
    for await (const e of Deno.readDir(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (p.endsWith(".ts")) {
        const text = await Deno.readTextFile(p);
        text.split("\n").forEach((line, i) => {
          if (/Math\.random\s*\(/.test(line)) offenders.push(`${p}:${i + 1}: ${line.trim()}`);
        });
      }
    }
  }
  await walk(new URL("../src", import.meta.url).pathname);
  assert.deepEqual(offenders, [], `Math.random found; use Rng streams instead:\n${offenders.join("\n")}`);
});
