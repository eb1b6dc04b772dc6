import assert from "node:assert/strict";
import { zipSync } from "fflate";
import { encodePng } from "../src/data/codecs.ts";
import { ROOT, runDeno } from "./deno_run.ts";

function run(
  script: string,
  args: string[],
  perms = ["--allow-read", "--allow-write", "--allow-net", "--allow-env"],
) {
  return runDeno(["run", ...perms, `${ROOT}/src/cli/${script}`, ...args]);
}

const px = (v: number) => encodePng({ width: 4, height: 4, rgb: new Uint8Array(48).fill(v) });
const LABELS = "IMAGE\\LABEL\tdock\tship\r\nharbor00\t1\t1\r\nharbor01\t1\t0\r\nbeach00\t0\t0\r\n";
const IMAGES: Record<string, Uint8Array> = {
  "UCMerced_LandUse/Images/harbor/harbor00.png": px(10),
  "UCMerced_LandUse/Images/harbor/harbor01.png": px(20),
  "UCMerced_LandUse/Images/beach/beach00.png": px(30),
};

Deno.test("data: prepares from a folder, verifies, and says where the data went", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "albench-data-" });
  for (const [p, b] of Object.entries(IMAGES)) {
    await Deno.mkdir(`${tmp}/src/${p.slice(0, p.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeFile(`${tmp}/src/${p}`, b);
  }
  await Deno.writeTextFile(`${tmp}/labels.txt`, LABELS);
  const r = await run("data.ts", [
    "ucmerced",
    "--from",
    `${tmp}/src`,
    "--labels",
    `${tmp}/labels.txt`,
    "--out",
    `${tmp}/out`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`prepared 3 images with 2 classes in ${tmp}/out`));
  assert.equal(await Deno.readTextFile(`${tmp}/out/LandUse_Multilabeled.txt`), LABELS.replace(/\r\n/g, "\n"));
  assert.match(await Deno.readTextFile(`${tmp}/out/SHA256SUMS`), / {2}Images\/beach\/beach00\.png/);
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("data: prepares from zips served by a local mirror (download path, progress), and from zip files", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "albench-data-" });
  const imagesZip = zipSync(IMAGES),
    labelsZip = zipSync({ "multilabels/LandUse_Multilabeled.txt": new TextEncoder().encode(LABELS) });
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/images.zip") {
        return new Response(imagesZip, {
          headers: { "content-length": String(imagesZip.length) },
        });
      }
      if (path === "/labels.zip") return new Response(labelsZip);
      return new Response("no", { status: 404 });
    },
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    const r = await run("data.ts", [
      "ucmerced",
      "--out",
      `${tmp}/dl`,
      "--images-url",
      `${base}/images.zip`,
      "--labels-url",
      `${base}/labels.zip`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /downloaded http:\/\/127\.0\.0\.1:\d+\/images\.zip/);
    assert.match(r.stdout, /prepared 3 images/);
    const bad = await run("data.ts", [
      "ucmerced",
      "--out",
      `${tmp}/dl`,
      "--images-url",
      `${base}/missing.zip`,
      "--labels-url",
      `${base}/labels.zip`,
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /cannot download .*missing\.zip: HTTP 404/);
    // The earlier copy is intact after the failed run.
    assert.ok((await Deno.stat(`${tmp}/dl/Images/beach/beach00.png`)).isFile);
  } finally {
    ac.abort();
    await server.finished;
  }
  await Deno.writeFile(`${tmp}/images.zip`, imagesZip);
  await Deno.writeFile(`${tmp}/labels.zip`, labelsZip);
  const z = await run("data.ts", [
    "ucmerced",
    "--from",
    `${tmp}/images.zip`,
    "--labels",
    `${tmp}/labels.zip`,
    "--out",
    `${tmp}/z`,
  ]);
  assert.equal(z.code, 0, z.stderr);
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("data: a mismatch fails naming the names, exit 1, nothing replaced", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "albench-data-" });
  await Deno.writeFile(`${tmp}/images.zip`, zipSync(IMAGES));
  await Deno.writeTextFile(`${tmp}/labels.txt`, LABELS + "river07\t0\t0\n");
  const r = await run("data.ts", [
    "ucmerced",
    "--from",
    `${tmp}/images.zip`,
    "--labels",
    `${tmp}/labels.txt`,
    "--out",
    `${tmp}/out`,
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /1 label rows have no image: river07/);
  assert.equal(await Deno.stat(`${tmp}/out`).then(() => true, () => false), false);
  assert.deepEqual(
    [...Deno.readDirSync(tmp)].map((e) => e.name).sort(),
    ["images.zip", "labels.txt"],
    "no staging left",
  );
  const usage = await run("data.ts", ["imagenet"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /name the dataset to prepare: `deno task data ucmerced`/);
  await Deno.remove(tmp, { recursive: true });
});

const TINY = {
  name: "tiny",
  dataset: { kind: "synthetic", size: 210, resolution: 16 },
  split: { val: 50, test: 50, pool: "rest" },
  imbalance: {
    candidates: ["airplane", "dock", "ship", "tanks"],
    classes: 2,
    removePerClass: 2,
    forbiddenPairs: [["dock", "ship"]],
  },
  model: { backbone: "small-cnn" },
  al: { initial: 10, batch: 5, iterations: 2 },
  arms: [{ name: "random", query: "random" }],
  seeds: [3, 4],
};

Deno.test("plan --json writes exactly the documented shape with sample names", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "albench-plan-" });
  await Deno.writeTextFile(`${tmp}/tiny.json`, JSON.stringify(TINY));
  const r = await run("plan.ts", ["--scenario", `${tmp}/tiny.json`, "--json"], ["--allow-read"]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(j), ["scenario", "hash", "seeds"]);
  assert.equal(j.scenario, "tiny");
  assert.match(j.hash, /^[0-9a-f]{64}$/);
  assert.deepEqual(j.seeds.map((s: { seed: number }) => s.seed), [3, 4]);
  const s = j.seeds[0];
  assert.deepEqual(Object.keys(s), ["seed", "val", "test", "pool", "removed", "initial"]);
  assert.deepEqual(Object.keys(s.removed), ["classes", "ids"]);
  assert.equal(s.val.length, 50);
  assert.equal(s.pool.length, 110 - 4);
  assert.equal(s.removed.ids.length, 4);
  assert.ok(s.initial.every((id: string) => s.pool.includes(id)));
  assert.match(s.val[0], /^[a-z]+\d\d$/);
  const human = await run("plan.ts", ["--scenario", `${tmp}/tiny.json`, "--seeds", "1"], ["--allow-read"]);
  assert.match(human.stdout, /seed 3: val 50, test 50, pool 110 → 106 after removing 4, initial 10/);
  assert.match(human.stdout, /class\s+archive\s+pool before\s+after/);
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("plan: a bad scenario or flag exits 2 with the field named and no stack", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "albench-plan-" });
  await Deno.writeTextFile(
    `${tmp}/bad.json`,
    JSON.stringify({ ...TINY, al: { initial: 10, batch: 0, iterations: 2 } }),
  );
  const r = await run("plan.ts", ["--scenario", `${tmp}/bad.json`], ["--allow-read"]);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /bad\.json is not a valid scenario:\n {2}- al\.batch: Too small: expected number to be >=1; got 0/,
  );
  assert.ok(!r.stderr.includes("    at "));
  const v = await run("plan.ts", ["--variant", "nope"], ["--allow-read"]);
  assert.equal(v.code, 2);
  // The names it lists are names --variant takes (issue #29: it listed default/scenario-1, which it refused).
  assert.match(
    v.stderr,
    /--variant "nope" is not in scenarios\/default\.json; its variants are scenario-1, scenario-2, scenario-3/,
  );
  for (const name of ["scenario-2", "default/scenario-2"]) {
    const ok = await run("plan.ts", ["--variant", name, "--seeds", "1"], ["--allow-read"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /default\/scenario-2/);
    assert.ok(!ok.stdout.includes("default/scenario-1"), ok.stdout);
  }
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("query CLI: round-trips a file; mge-clustering reports every score and the m candidates' clusters", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "albench-query-" });
  const n = 40;
  const input = {
    ids: Array.from({ length: n }, (_, i) => `s${i}`),
    probs: Array.from({ length: n }, (_, i) => [((i * 37) % 100) / 100, ((i * 11) % 100) / 100]),
    features: Array.from({ length: n }, (_, i) => [i % 5, (i * 3) % 7, 1]),
  };
  await Deno.writeTextFile(`${tmp}/in.json`, JSON.stringify(input));
  const r = await run("query.ts", [
    "--fn",
    "mge-clustering",
    "--input",
    `${tmp}/in.json`,
    "--b",
    "4",
    "--seed",
    "3",
    "--options",
    '{"mFactor": 3}',
  ], ["--allow-read"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.selected.length, 4);
  assert.equal(new Set(out.selected).size, 4);
  assert.equal(Object.keys(out.scores).length, n);
  assert.equal(Object.keys(out.clusters).length, 12);
  for (const id of out.selected) assert.ok(id in out.clusters, `${id} was not a candidate`);
  const again = await run("query.ts", [
    "--fn",
    "mge-clustering",
    "--input",
    `${tmp}/in.json`,
    "--b",
    "4",
    "--seed",
    "3",
    "--options",
    '{"mFactor": 3}',
  ], ["--allow-read"]);
  assert.equal(again.stdout, r.stdout, "same seed, same output");
  const plugin = await run("query.ts", [
    "--fn",
    "scenarios/examples/my_query.ts",
    "--input",
    `${tmp}/in.json`,
    "--b",
    "2",
  ], ["--allow-read", "--allow-run=deno"]); // a TypeScript plug-in runs in a deno process of its own
  assert.equal(plugin.code, 0, plugin.stderr);
  assert.equal(JSON.parse(plugin.stdout).selected.length, 2);
  const bad = await run("query.ts", ["--fn", "entropy", "--input", `${tmp}/in.json`, "--b", "2"], [
    "--allow-read",
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown query function "entropy"/);
  await Deno.remove(tmp, { recursive: true });
});
