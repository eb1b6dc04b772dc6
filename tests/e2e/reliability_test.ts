/**
 * Issue #12 (reliability): runs that must fail fast with a message naming the cell, iteration and phase, and input
 * that must be refused before anything is written.
 */
import assert from "node:assert/strict";
import { checkOutputPaths } from "../../src/runner/store.ts";
import { probeWebGpuInChild, ROOT, runBench, spawnBench, tinyScenario } from "./bench_cli.ts";
import { PYTHON } from "../python_available.ts";
import { writeFolderFixture } from "../folder_fixture.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
// Scenario edits poke at arbitrary nested fields, which is what `any` is for here.
// deno-lint-ignore no-explicit-any
type Loose = Record<string, any>;

async function bench(scenario: Record<string, unknown>, dir: string, ...extra: string[]) {
  await Deno.writeTextFile(`${dir}/s.json`, JSON.stringify(scenario));
  return await runBench(`${dir}/s.json`, dir, ...extra);
}

Deno.test("reliability: a diverging model (finetune.lr 1e308) fails fast naming cell, iteration and phase", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-nan-" });
  const s = await tinyScenario();
  s.finetune.lr = 1e308;
  for (const jobs of ["1", "2"]) {
    const r = await bench(s, dir, "--jobs", jobs);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /^error: cell repro\/(mge-clustering|random)\/seed-0 \(scenario repro, arm (mge-clustering|random), seed 0\) failed in iteration 0, phase finetune: the training loss is (NaN|-?Infinity) in epoch \d of 2: the model diverged; a smaller finetune\.lr \(now 1e\+308\) usually fixes it\. Nothing of that iteration was saved\./,
    );
    assert.ok(r.seconds < 60, `took ${r.seconds} s`);
    await Deno.remove(`${dir}/out`, { recursive: true });
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reliability: a query function that never returns fails the cell at al.queryTimeoutSeconds", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-slow-" });
  // Plug-ins in a folder of their own, apart from the results folder (which a plug-in must not reach).
  await Deno.mkdir(`${dir}/plugins`);
  await Deno.writeTextFile(
    `${dir}/plugins/never.ts`,
    'export default { name: "never", description: "awaits forever", needs: [], select: () => new Promise(() => {}) };',
  );
  // A synchronous endless loop cannot be interrupted in its thread; the runner ends its worker thread.
  await Deno.writeTextFile(
    `${dir}/plugins/spin.ts`,
    'export default { name: "spin", description: "spins", needs: [], select: () => { for (;;) {} } };',
  );
  const s = await tinyScenario();
  s.al.queryTimeoutSeconds = 1;
  // Plug-ins run in the sandbox's own worker (src/plugin/sandbox.ts), so even a spinning one leaves the cell's thread
  // free and the cell's timer fails it; the runner's watchdog (its worker thread stopped) remains the fallback.
  for (
    const [fn, tail] of [["never", "raise the limit"], [
      "spin",
      "(raise the limit|so its worker thread was stopped)",
    ]]
  ) {
    s.arms = [{ name: "random", query: "random" }, {
      name: `mine-${fn}`,
      query: { module: `./plugins/${fn}.ts` },
    }];
    const r = await bench(s, dir, "--jobs", "1");
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^error: cell repro/mine-${fn}/seed-0 \\(scenario repro, arm mine-${fn}, seed 0, plug-in \\./plugins/${fn}\\.ts\\) ` +
          "failed in iteration 0, " +
          `phase query: query function ${fn} did not return within the time limit of 1 s \\(al\\.queryTimeoutSeconds\\)` +
          `.*${tail}`,
      ),
    );
    assert.ok(r.seconds < 60, `took ${r.seconds} s`);
    await Deno.remove(`${dir}/out`, { recursive: true });
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reliability: a missing, throwing or malformed plug-in fails before the results folder exists", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-plugin-" });
  await Deno.writeTextFile(`${dir}/throws.ts`, 'throw new Error("boom at import");');
  await Deno.writeTextFile(`${dir}/five.ts`, "export default 5;");
  await Deno.writeTextFile(
    `${dir}/needs.ts`,
    'export default { name: "needs", description: "x", needs: ["labels"], select: () => ({ selected: [] }) };',
  );
  const s = await tinyScenario();
  const cases: [string, RegExp][] = [
    [
      "./nope.ts",
      /arms\[1\].*query module \.\/nope\.ts \(.*nope\.ts\) could not be loaded: Module not found/,
    ],
    [
      "./throws.ts",
      /arms\[1\].*query module \.\/throws\.ts .*could not be loaded: .*boom at import/,
    ],
    ["./five.ts", /arms\[1\].*query module \.\/five\.ts must export a QueryFunction/],
    [
      "./needs.ts",
      /arms\[1\].*query module \.\/needs\.ts .*could not be loaded: query function needs: unknown need "labels"; the model outputs are probs, features/,
    ],
    ["./nope.py", /arms\[1\].*query module \.\/nope\.py \(.*nope\.py\) could not be loaded: No such file/],
    // Python plug-ins that do not load (where a Python with NumPy is found: tests/python_available.ts).
    ...(PYTHON
      ? [
        ["./syntax.py", /arms\[1\].*query module \.\/syntax\.py .*could not be loaded: SyntaxError/],
        [
          "./nosel.py",
          /arms\[1\].*query module \.\/nosel\.py .*could not be loaded: it defines no function select/,
        ],
      ] as [string, RegExp][]
      : []),
  ];
  await Deno.writeTextFile(`${dir}/syntax.py`, "def select(:\n");
  await Deno.writeTextFile(`${dir}/nosel.py`, "NEEDS = []\n");
  for (const [module, expected] of cases) {
    s.arms = [{ name: "random", query: "random" }, { name: "mine", query: { module } }];
    const r = await bench(s, dir);
    // Refused as a scenario problem at load (exit 2) by bench; runGrid checks again for other callers (exit 1).
    assert.ok(r.code === 1 || r.code === 2, `exit ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, expected);
    assert.ok(!(await exists(`${dir}/out`)), `${module}: the results folder was created`);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reliability: a pool that removal leaves too small for initial + iterations × batch is refused before writing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-pool-" });
  const s = await tinyScenario();
  // 420 - 80 - 100 = 240 in the pool before removal (so the file loads); removal takes some of them.
  s.al = { initial: 20, batch: 10, iterations: 22 };
  const r = await bench(s, dir);
  // A scenario that does not fit its dataset is a scenario error (exit 2), as at load and in deno task plan.
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /seed 0: al: initial \+ iterations × batch = 20 \+ 22 × 10 = 240 labelled samples exceed the pool of 2\d\d samples \(after imbalance removal\); lower al\.iterations or al\.batch/,
  );
  assert.ok(!(await exists(`${dir}/out`)));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reliability: out-of-bounds sizes and over-long names are refused at load, nothing written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-bounds-" });
  const cases: [(s: Loose) => void, RegExp][] = [
    [(s) => (s.al.batch = 1e12), /al\.batch: must be at most 1000000 \(samples\); got 1000000000000/],
    [(s) => (s.seeds = 1e9), /seeds: .*must be at most 1000 \(seeds\)/],
    [(s) => (s.al.iterations = 1e9), /al\.iterations: must be at most 10000 \(AL rounds\)/],
    [(s) => (s.name = "n".repeat(300)), /name: must be at most 100 characters/],
  ];
  for (const [edit, expected] of cases) {
    const s = await tinyScenario();
    edit(s);
    const r = await bench(s, dir);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, expected);
    assert.ok(!(await exists(`${dir}/out`)));
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reliability: output paths too long for the file system are refused by name", () => {
  const cell = { key: "s/random/seed-0", scenario: { iterations: 2 } };
  checkOutputPaths("reports/s", [cell]);
  assert.throws(
    () => checkOutputPaths("reports/s", [{ ...cell, key: `${"s".repeat(300)}/random/seed-0` }]),
    /a file or folder name of 300 bytes \("s{40}"\.\.\.\), more than the 255 file systems accept; shorten --out/,
  );
  const deep = `reports/${Array.from({ length: 21 }, () => "d".repeat(200)).join("/")}`;
  assert.throws(
    () => checkOutputPaths(deep, [cell]),
    /a path of \d+ bytes, more than the 4095 file systems accept/,
  );
});

Deno.test("reliability: the query CLI refuses non-finite numbers, probabilities outside [0, 1], duplicate and non-string ids", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-querycli-" });
  const good = () => ({
    ids: ["a", "b", "c"],
    probs: [[0.1, 0.9], [0.5, 0.5], [0, 1]],
    features: [[1, 2], [3, 4], [5, 6]],
  });
  const run = async (input: unknown, raw?: string) => {
    await Deno.writeTextFile(`${dir}/in.json`, raw ?? JSON.stringify(input));
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        `${ROOT}/src/cli/query.ts`,
        "--fn",
        "uncertainty",
        "--input",
        `${dir}/in.json`,
        "--b",
        "1",
      ],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
  };
  const ok = await run(good());
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout).selected, ["b"]);
  const cases: [string, RegExp][] = [
    [
      // JSON has no Infinity, but 1e999 parses to it.
      JSON.stringify(good()).replace("0.9", "1e999"),
      /in\.json: row 0 \(id "a"\): probs\[0\]\[1\] is Infinity; probabilities must be numbers in \[0, 1\]/,
    ],
    [
      JSON.stringify(good()).replace("[5,6]", "[5,-1e999]"),
      /row 2 \(id "c"\): features\[2\]\[1\] is -Infinity; features must be finite numbers/,
    ],
    [
      JSON.stringify({ ...good(), probs: [[0.1, 0.9], [0.5, 1.5], [0, 1]] }),
      /row 1 \(id "b"\): probs\[1\]\[1\] is 1\.5; probabilities must be numbers in \[0, 1\]/,
    ],
    [JSON.stringify({ ...good(), probs: [[0.1, 0.9], [-0.1, 0.5], [0, 1]] }), /probs\[1\]\[0\] is -0\.1/],
    [
      JSON.stringify({ ...good(), ids: ["a", "b", "a"] }),
      /ids\[2\] "a" repeats ids\[0\]; every sample needs its own id/,
    ],
    [JSON.stringify({ ...good(), ids: ["a", 7, "c"] }), /ids\[1\] must be a string; got 7 \(number\)/],
    [JSON.stringify({ ...good(), ids: ["a", null, "c"] }), /ids\[1\] must be a string; got null \(object\)/],
  ];
  for (const [raw, expected] of cases) {
    const r = await run(undefined, raw);
    assert.equal(r.code, 2, `${raw}: ${r.stderr}`);
    assert.match(r.stderr, expected);
    assert.equal(r.stdout, "");
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reliability: --backend webgpu on a software adapter says so on stderr, and that it is slow", async () => {
  const { webGpuWarning } = await import("../../src/backend/webgpu.ts");
  assert.match(
    webGpuWarning({ available: true, fallback: true, description: "llvmpipe" })!,
    /^warning: webgpu: the WebGPU adapter is a software \(fallback\) adapter \(llvmpipe\), which emulates a GPU on the CPU: results are correct but slow, several times slower than --backend wasm/,
  );
  assert.equal(webGpuWarning({ available: true, fallback: false, description: "NVIDIA" }), undefined);
  const probe = probeWebGpuInChild();
  if (!probe.available || !probe.fallback) {
    console.log(
      `skipped the CLI half: no software WebGPU adapter here (${probe.reason ?? probe.description})`,
    );
    return;
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-env",
      `${ROOT}/src/cli/bench.ts`,
      "--print-env",
      "--backend",
      "webgpu",
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  assert.equal(out.code, 0, text(out.stderr));
  // Deno itself may print lines of its own (e.g. about XDG_RUNTIME_DIR) around albench's warning.
  assert.match(text(out.stderr), /^warning: webgpu: the WebGPU adapter is a software \(fallback\) adapter/m);
  assert.match(text(out.stdout), /^backend\s+webgpu/m);
});

Deno.test("reliability: every file `bench --help` names exists", async () => {
  const { BENCH_HELP } = await import("../../src/cli/bench.ts");
  const named = [...BENCH_HELP.matchAll(/\b((?:tests|scenarios|src|examples)\/[\w./-]+\.\w+)/g)].map((m) =>
    m[1]!
  );
  assert.ok(named.includes("tests/golden/repro.json"), named.join());
  for (const f of named) {
    assert.ok(await exists(`${ROOT}/${f}`), `bench --help names ${f}, which does not exist`);
  }
});

Deno.test("reliability: test-query on a missing or malformed module is one line and exit 2, not a test-runner trace", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-testquery-" });
  await Deno.writeTextFile(`${dir}/five.ts`, "export default 5;");
  await Deno.writeTextFile(
    `${dir}/needs.ts`,
    'export default { name: "needs", description: "x", needs: ["labels"], select: () => ({ selected: [] }) };',
  );
  const run = async (module: string) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-env", "--allow-run", `${ROOT}/src/cli/test_query.ts`, module],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    return { code: out.code, all: text(out.stdout) + text(out.stderr) };
  };
  const missing = await run("./nope.ts");
  assert.equal(missing.code, 2, missing.all);
  assert.equal(
    missing.all,
    `error: ./nope.ts: no such module (${dir}/nope.ts); give the path to your query module, e.g. ./my_query.ts\n`,
  );
  const five = await run("./five.ts");
  assert.equal(five.code, 2, five.all);
  assert.match(five.all, /^error: query module .*five\.ts must export a QueryFunction .*\n$/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reliability: `data` names the source label file in its errors and refuses one image name in two class folders", async () => {
  const { zipSync } = await import("fflate");
  const { encodePng } = await import("../../src/data/codecs.ts");
  const { ucmercedSource } = await import("../../src/data/ucmerced.ts");
  const px = (v: number) => encodePng({ width: 4, height: 4, rgb: new Uint8Array(48).fill(v) });
  const labels = "IMAGE\\LABEL\tdock\tship\nharbor00\t1\t1\nbeach00\t0\t0\n";
  const tmp = await Deno.makeTempDir({ prefix: "albench-data-" });
  const data = async (from: string, labelFile: string) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        // As the task does: a stale registry cache must not make Deno print "Download …" before the error.
        "--frozen",
        "--cached-only",
        "--allow-read",
        "--allow-write",
        `${ROOT}/src/cli/data.ts`,
        "ucmerced",
        "--from",
        from,
        "--labels",
        labelFile,
        "--out",
        `${tmp}/out`,
      ],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    return { code: out.code, stderr: text(out.stderr) };
  };
  const entries = () => [...Deno.readDirSync(tmp)].map((e) => e.name).sort();
  await Deno.writeFile(
    `${tmp}/images.zip`,
    zipSync({ "Images/harbor/harbor00.png": px(10), "Images/beach/beach00.png": px(30) }),
  );
  await Deno.writeTextFile(`${tmp}/labels.txt`, labels + "river07\t1\n");
  const bad = await data(`${tmp}/images.zip`, `${tmp}/labels.txt`);
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, new RegExp(`^error: ${tmp}/labels\\.txt: line 4 has 2 fields, expected 3`));
  assert.ok(!bad.stderr.includes("staging"), bad.stderr);
  assert.deepEqual(entries(), ["images.zip", "labels.txt"], "nothing written");

  await Deno.writeTextFile(`${tmp}/labels.txt`, labels);
  await Deno.writeFile(
    `${tmp}/dup.zip`,
    zipSync({
      "Images/harbor/harbor00.png": px(10),
      "Images/beach/beach00.png": px(30),
      "Images/beach/harbor00.png": px(40),
    }),
  );
  const dup = await data(`${tmp}/dup.zip`, `${tmp}/labels.txt`);
  assert.equal(dup.code, 1, dup.stderr);
  assert.match(
    dup.stderr,
    new RegExp(
      `the image name "harbor00" is in two class folders, ${tmp}/dup\\.zip:Images/beach/harbor00\\.png and ` +
        `${tmp}/dup\\.zip:Images/harbor/harbor00\\.png`,
    ),
  );
  assert.deepEqual(entries(), ["dup.zip", "images.zip", "labels.txt"], "nothing written");

  // A hand-made dataset root (bench reads it directly) is refused the same way.
  const root = `${tmp}/root`;
  for (const [cls, v] of [["harbor", 10], ["beach", 40]] as const) {
    await Deno.mkdir(`${root}/Images/${cls}`, { recursive: true });
    await Deno.writeFile(`${root}/Images/${cls}/harbor00.png`, px(v));
  }
  await Deno.writeTextFile(`${root}/LandUse_Multilabeled.txt`, "IMAGE\\LABEL\tdock\nharbor00\t1\n");
  await assert.rejects(
    () => ucmercedSource({ root, cacheDir: `${tmp}/cache` }).fingerprint(),
    new RegExp(
      `the image name "harbor00" is in two class folders, ${root}/Images/beach/harbor00\\.png and ` +
        `${root}/Images/harbor/harbor00\\.png; a label row names one image`,
    ),
  );
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("reliability: a diverging BYOL pre-training (pretrain.lr 1e308) fails fast, naming the scenario and epoch", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-nan-byol-" });
  const s = JSON.parse(await Deno.readTextFile(`${ROOT}/scenarios/ci/repro.json`));
  delete s.$schema;
  s.pretrain.lr = 1e308;
  s.seeds = 1;
  const r = await bench(s, dir, "--jobs", "1");
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^error: pre-training [0-9a-f]{12} of scenario repro \(BYOL\) failed in epoch 1 of 1: the loss is (NaN|-?Infinity), the network diverged; a smaller pretrain\.lr \(now 1e\+308\) usually fixes it\. Nothing was cached\./,
  );
  assert.ok(
    !(await exists(`${dir}/cache/pretrain`)) || [...Deno.readDirSync(`${dir}/cache/pretrain`)].length === 0,
  );
  assert.ok(r.seconds < 60, `took ${r.seconds} s`);
  await Deno.remove(dir, { recursive: true });
});

// Issue #12, point 2 (results of two scenario versions are never mixed) and point 6 (recovery that leads
// somewhere): a folder is bound to one version of each scenario, atomically; records are checked against it;
// damaged records and checkpoints are set aside and the cell recomputed.

/** `bench` on a scenario file into a given folder, one worker. */
function benchInto(file: string, out: string, cache: string, ...extra: string[]) {
  return spawnBench(file, out, cache, "--jobs", "1", ...extra);
}

async function reportOn(out: string) {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", "--allow-write", `${ROOT}/src/cli/report.ts`, out],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: o.code, stdout: text(o.stdout), stderr: text(o.stderr) };
}

async function allRecords(out: string): Promise<Loose[]> {
  const found: Loose[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await walk(`${d}/${e.name}`);
      else if (e.name.endsWith(".json")) found.push(JSON.parse(await Deno.readTextFile(`${d}/${e.name}`)));
    }
  };
  await walk(`${out}/cells`);
  return found;
}

Deno.test("reliability: a folder is bound to one scenario version atomically; concurrent shards share it, another version is refused", async () => {
  const { claimScenarios } = await import("../../src/runner/store.ts");
  const dir = await Deno.makeTempDir({ prefix: "albench-claim-" });
  const v = (hash: string) => [{ id: "s/v", hash }] as never;
  // In one process: two shards of one run at once both go on; of two versions at once exactly one does.
  await Promise.all([
    claimScenarios(`${dir}/a`, v("a".repeat(64))),
    claimScenarios(`${dir}/a`, v("a".repeat(64))),
  ]);
  const race = await Promise.allSettled([
    claimScenarios(`${dir}/b`, v("a".repeat(64))),
    claimScenarios(`${dir}/b`, v("b".repeat(64))),
  ]);
  assert.equal(race.filter((r) => r.status === "fulfilled").length, 1);
  const lost = race.find((r) => r.status === "rejected") as PromiseRejectedResult;
  assert.match(
    lost.reason.message,
    /holds results of scenario s\/v with hash (a{12}|b{12}), but the scenario now hashes to (a{12}|b{12}) .*versions\/s\/v\.json\)\. Results are never mixed/,
  );
  // Two runs of different versions started at once, both past the folder check before either writes: exactly one
  // goes on, the other is refused before it writes anything.
  const { runGrid } = await import("../../src/runner/run.ts");
  await (await import("../../src/backend/backend.ts")).initBackend("wasm"); // once: two at once in a thread fail
  const { resolveScenarios } = await import("../../src/scenario/load.ts");
  const tiny = await tinyScenario();
  const [one] = resolveScenarios(tiny),
    [two] = resolveScenarios({ ...tiny, finetune: { ...tiny.finetune, lr: 0.005 } });
  const settled = await Promise.allSettled([one!, two!].map((x) =>
    runGrid({
      scenarios: [x],
      out: `${dir}/inproc`,
      cacheDir: `${dir}/cache`,
      backend: "wasm",
      jobs: 1,
      progress: { quiet: true },
    })
  ));
  assert.deepEqual(settled.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
  assert.match(
    (settled.find((r) => r.status === "rejected") as PromiseRejectedResult).reason.message,
    /holds results of scenario repro with hash [0-9a-f]{12}, but the scenario now hashes to [0-9a-f]{12} .*Results are never mixed/,
  );
  const winner = settled[0]!.status === "fulfilled" ? one! : two!;
  assert.deepEqual(
    new Set((await allRecords(`${dir}/inproc`)).map((r) => r.scenarioHash)),
    new Set([winner.hash]),
  );
  // Two bench processes: shards 0/2 and 1/2 of one run at once both finish; then two versions at once: one is refused.
  const s = await tinyScenario();
  await Deno.writeTextFile(`${dir}/one.json`, JSON.stringify(s));
  await Deno.writeTextFile(
    `${dir}/two.json`,
    JSON.stringify({ ...s, finetune: { ...s.finetune, lr: 0.005 } }),
  );
  const shards = await Promise.all(
    ["0/2", "1/2"].map((sh) => benchInto(`${dir}/one.json`, `${dir}/out`, `${dir}/cache`, "--shard", sh)),
  );
  for (const r of shards) assert.equal(r.code, 0, r.stderr);
  const merged = await reportOn(`${dir}/out`);
  assert.equal(merged.code, 0, merged.stderr);
  assert.match(merged.stdout, /merged 2 cells \(2 complete\)/);
  const both = await Promise.all([
    benchInto(`${dir}/one.json`, `${dir}/race`, `${dir}/cache`),
    benchInto(`${dir}/two.json`, `${dir}/race`, `${dir}/cache`),
  ]);
  assert.deepEqual(both.map((r) => r.code).sort(), [0, 1], both.map((r) => r.stderr).join("\n"));
  const loser = both.find((r) => r.code === 1)!;
  assert.match(loser.stderr, /hash [0-9a-f]{12}, but the scenario now hashes to [0-9a-f]{12}.*never mixed/);
  // Nothing of the refused version is in the folder; the report renders the winner's cells alone.
  const hashes = new Set((await allRecords(`${dir}/race`)).map((r) => r.scenarioHash));
  assert.equal(hashes.size, 1);
  const run = JSON.parse(await Deno.readTextFile(`${dir}/race/run.json`));
  assert.deepEqual(run.scenarios.map((x: Loose) => x.hash), [...hashes]);
  const rendered = await reportOn(`${dir}/race`);
  assert.equal(rendered.code, 0, rendered.stderr);
  assert.match(rendered.stdout, /merged 2 cells \(2 complete\)/);
  assert.equal(rendered.stderr, "");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reliability: a cell record of another scenario version is neither reused by bench nor reported", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-stale-" });
  const s = await tinyScenario();
  const r0 = await bench(s, dir);
  assert.equal(r0.code, 0, r0.stderr);
  const path = `${dir}/out/cells/repro/random/seed-0.json`;
  const record = JSON.parse(await Deno.readTextFile(path));
  const current: string = record.scenarioHash;
  // A complete record made by another version (a copied file, an older albench racing): refused, left untouched.
  const foreign = JSON.stringify({ ...record, scenarioHash: "f".repeat(64) });
  await Deno.writeTextFile(path, foreign);
  const r1 = await bench(s, dir);
  assert.equal(r1.code, 1, r1.stderr);
  assert.match(
    r1.stderr,
    new RegExp(
      `^error: ${path} was made by scenario repro with hash f{12}, but the scenario now hashes to ` +
        `${
          current.slice(0, 12)
        }; results of two versions of a scenario are never mixed\\. Move that file out of ` +
        "the results folder \\(the cell is then recomputed\\), or use another --out\\.",
    ),
  );
  assert.equal(await Deno.readTextFile(path), foreign);
  // report refuses (issue #25: a folder whose records disagree is never rendered), leaving index.html as it was.
  const index = await Deno.readTextFile(`${dir}/out/index.html`);
  const rep = await reportOn(`${dir}/out`);
  assert.equal(rep.code, 1, rep.stderr);
  assert.match(
    rep.stderr,
    new RegExp(
      `is not reported: ${path} was made by scenario repro with hash f{12}, but the scenario now hashes to ${
        current.slice(0, 12)
      }`,
    ),
  );
  assert.equal(await Deno.readTextFile(`${dir}/out/index.html`), index, "index.html was rewritten");
  // A partial record of another version is not resumed either.
  await Deno.writeTextFile(
    path,
    JSON.stringify({ ...record, scenarioHash: "f".repeat(64), complete: false }),
  );
  const r2 = await bench(s, dir);
  assert.equal(r2.code, 1, r2.stderr);
  assert.match(r2.stderr, /seed-0\.json was made by scenario repro with hash f{12}/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reliability: rounds recorded on another split are not resumed; the record names the set that differs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-split-" });
  const s = await tinyScenario();
  const r0 = await bench(s, dir);
  assert.equal(r0.code, 0, r0.stderr);
  const path = `${dir}/out/cells/repro/random/seed-0.json`;
  const record = JSON.parse(await Deno.readTextFile(path));
  assert.equal(record.split.initial.n, s.al.initial);
  // As if the archive's labels had changed under the same root since the first rounds were computed.
  const moved = {
    ...record,
    complete: false,
    iterations: record.iterations.slice(0, 1),
    split: { ...record.split, initial: { ...record.split.initial, sha256: "0".repeat(64) } },
  };
  await Deno.writeTextFile(path, JSON.stringify(moved));
  const r1 = await bench(s, dir);
  assert.equal(r1.code, 1, r1.stderr);
  assert.match(
    r1.stderr,
    new RegExp(
      `^error: ${path}: cell repro/random/seed-0 was computed on another split than its scenario gives now ` +
        `\\(initial set sha256 0{12} in the record, ${
          record.split.initial.sha256.slice(0, 12)
        } now\\), though the scenario is the same version`,
    ),
  );
  assert.equal(await Deno.readTextFile(path), JSON.stringify(moved), "the record is left as it was");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reliability: a damaged cell record is reported as missing, then set aside and recomputed to the same digest", async () => {
  const { readAllCells } = await import("../../src/runner/store.ts");
  const { resultDigest } = await import("../../src/report/digest.ts");
  const dir = await Deno.makeTempDir({ prefix: "albench-damaged-" });
  const s = await tinyScenario();
  const r0 = await bench(s, dir);
  assert.equal(r0.code, 0, r0.stderr);
  const digest = resultDigest(await readAllCells(`${dir}/out`));
  const path = `${dir}/out/cells/repro/mge-clustering/seed-0.json`;
  const whole = await Deno.readTextFile(path);
  await Deno.writeTextFile(path, whole.slice(0, whole.length >> 1)); // truncated, as by a full disk
  const rep = await reportOn(`${dir}/out`);
  assert.equal(rep.code, 0, rep.stderr);
  assert.match(
    rep.stderr,
    new RegExp(`warning: ${path}: damaged cell record \\(not valid JSON: .*\\); left out`),
  );
  assert.match(rep.stdout, /missing 1 cells: repro\/mge-clustering\/seed-0/);
  const r1 = await bench(s, dir);
  assert.equal(r1.code, 0, r1.stderr);
  assert.match(
    r1.stderr,
    new RegExp(
      `warning: ${path}: damaged cell record \\(not valid JSON: .*\\); set aside as ${path}\\.damaged-1, and cell ` +
        "repro/mge-clustering/seed-0 is recomputed from the start",
    ),
  );
  assert.equal((await Deno.readTextFile(`${path}.damaged-1`)).length, whole.length >> 1);
  assert.equal(resultDigest(await readAllCells(`${dir}/out`)), digest);
  // Valid JSON that does not match the cell format (a string where a score belongs) is damaged the same way,
  // and both warnings name the field.
  const wrong = JSON.parse(whole);
  wrong.iterations[1].test.macroF1 = "0.5";
  await Deno.writeTextFile(path, JSON.stringify(wrong));
  const field = "field iterations\\[1\\]\\.test\\.macroF1: [^)]*";
  const rep2 = await reportOn(`${dir}/out`);
  assert.match(rep2.stderr, new RegExp(`warning: ${path}: damaged cell record \\(${field}\\); left out`));
  assert.match(rep2.stdout, /missing 1 cells: repro\/mge-clustering\/seed-0/);
  const r2 = await bench(s, dir);
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(
    r2.stderr,
    new RegExp(
      `warning: ${path}: damaged cell record \\(${field}\\); set aside as ${path}\\.damaged-2, and cell`,
    ),
  );
  assert.equal(resultDigest(await readAllCells(`${dir}/out`)), digest);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reliability: a corrupt or missing resume checkpoint is set aside and the cell recomputed to the same digest", async () => {
  const { readAllCells } = await import("../../src/runner/store.ts");
  const { resultDigest } = await import("../../src/report/digest.ts");
  const dir = await Deno.makeTempDir({ prefix: "albench-ckpt-" });
  const s = await tinyScenario();
  const r0 = await bench(s, dir);
  assert.equal(r0.code, 0, r0.stderr);
  const digest = resultDigest(await readAllCells(`${dir}/out`));
  const key = "repro/mge-clustering/seed-0";
  const path = `${dir}/out/cells/${key}.json`;
  const whole = JSON.parse(await Deno.readTextFile(path));
  // As after a crash in iteration 2: the record holds iterations 0 and 1, its checkpoint is state/.../iter-1.
  const partial = JSON.stringify({ ...whole, iterations: whole.iterations.slice(0, 2), complete: false });
  const checkpoint = `${dir}/out/state/${key}/iter-1`;
  for (const damage of ["corrupt", "missing"]) {
    await Deno.writeTextFile(path, partial);
    if (damage === "corrupt") {
      await Deno.mkdir(checkpoint, { recursive: true });
      await Deno.writeTextFile(
        `${checkpoint}/manifest.json`,
        JSON.stringify({
          format: "albench-weights-v1",
          sha256: "0".repeat(64),
          bytes: 4,
          weights: [],
          meta: {},
        }),
      );
      await Deno.writeFile(`${checkpoint}/weights.bin`, new Uint8Array([1, 2, 3]));
    }
    const r = await bench(s, dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        damage === "corrupt"
          ? `warning: ${checkpoint}: the resume checkpoint of cell ${key} is damaged \\(checkpoint ${checkpoint}: ` +
            `weights\\.bin does not match its manifest \\(corrupt or partial\\)\\); set aside as ${dir}/out/state/${key}\\.iter-1\\.damaged-1, ` +
            "so the cell is recomputed from the start"
          : `warning: ${checkpoint}: the resume checkpoint of cell ${key} is missing, so the cell is recomputed from the start`,
      ),
    );
    assert.ok(!r.stderr.includes("delete the folder"));
    if (damage === "corrupt") assert.ok(await exists(`${dir}/out/state/${key}.iter-1.damaged-1/weights.bin`));
    assert.equal(resultDigest(await readAllCells(`${dir}/out`)), digest, damage);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reliability: an unreadable versions/ file is an error naming it, never a run or report without the check", async () => {
  const { checkRunFolder, claimScenarios, readAllCells } = await import("../../src/runner/store.ts");
  const dir = await Deno.makeTempDir({ prefix: "albench-versions-" });
  const scenarios = [{ id: "repro", hash: "a".repeat(64) }] as never;
  await claimScenarios(`${dir}/out`, scenarios);
  await Deno.writeTextFile(`${dir}/out/versions/repro.json`, '{"format": "albench-vers');
  const expected = new RegExp(
    `${dir}/out/versions/repro\\.json is damaged; it records which version of a scenario the results folder ` +
      "holds, so nothing can be checked without it: restore it, or use another --out",
  );
  await assert.rejects(() => checkRunFolder(`${dir}/out`, scenarios), expected);
  await assert.rejects(() => claimScenarios(`${dir}/out`, scenarios), expected);
  await assert.rejects(() => readAllCells(`${dir}/out`), expected);
  const rep = await reportOn(`${dir}/out`);
  assert.equal(rep.code, 1);
  assert.match(rep.stderr, expected);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reliability: a plug-in whose folder reaches the dataset (a scenario beside its data) is refused before anything is written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-beside-" });
  await writeFolderFixture(`${dir}/archive`, { n: 24, form: "list" });
  const plugin = 'export default { name: "peek", description: "first b", optionSchema: {}, needs: [], ' +
    "select: ({ unlabelled, budget }) => ({ selected: unlabelled.ids.slice(0, budget) }) };\n";
  await Deno.writeTextFile(`${dir}/q.ts`, plugin);
  await Deno.mkdir(`${dir}/plugins`);
  await Deno.writeTextFile(`${dir}/plugins/q.ts`, plugin);
  const scenario = (module: string) => ({
    name: "beside",
    dataset: { kind: "folder", root: `${dir}/archive`, labels: "labels.csv", resolution: 16 },
    split: { val: 4, test: 4, pool: "rest" },
    model: { backbone: "small-cnn" },
    pretrain: { method: "none" },
    finetune: { epochs: 1, batchSize: 8, decayEpochs: [] },
    al: { initial: 8, batch: 4, iterations: 1 },
    arms: [{ name: "random", query: "random" }, { name: "peek", query: { module } }],
    seeds: 1,
    backend: "wasm",
  });
  // The documented layout: the scenario (and so a plug-in beside it) in the folder that holds the data.
  await Deno.writeTextFile(`${dir}/s.json`, JSON.stringify(scenario("./q.ts")));
  const r = await spawnBench(`${dir}/s.json`, `${dir}/out`, `${dir}/cache`);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /arms\[1\] \(peek\): the plug-in .*\/q\.ts may read its folder, which reaches the dataset's .*\/archive, labels included: keep the plug-in in a folder of its own, apart from the data/,
  );
  assert.ok(!(await exists(`${dir}/out`)), "the results folder was created");
  // In a folder of its own, the same plug-in runs.
  await Deno.writeTextFile(`${dir}/s.json`, JSON.stringify(scenario("./plugins/q.ts")));
  const ok = await spawnBench(`${dir}/s.json`, `${dir}/out`, `${dir}/cache`);
  assert.equal(ok.code, 0, ok.stderr);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reliability: cells of another engine are never added to a folder, and report refuses a folder that mixes engines", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-engines-" });
  const s = await tinyScenario();
  await Deno.writeTextFile(`${dir}/s.json`, JSON.stringify(s));
  const first = await spawnBench(`${dir}/s.json`, `${dir}/out`, `${dir}/cache`, "--backend", "wasm");
  assert.equal(first.code, 0, first.stderr);
  const cell = `${dir}/out/cells/repro/random/seed-0.json`;
  const before = await Deno.readTextFile(cell);
  // Another engine into the same folder: refused before anything is written, naming both and the way out.
  await Deno.remove(cell); // even with a cell to compute, the other cells' engine decides
  const second = await spawnBench(`${dir}/s.json`, `${dir}/out`, `${dir}/cache`, "--backend", "cpu");
  assert.equal(second.code, 1, second.stderr);
  assert.match(
    second.stderr,
    /holds cell repro\/mge-clustering\/seed-0 computed with another engine than this run \(engine wasm → cpu\)\. Results of different data, code or engines are never mixed: give this run another --out, or run with the engine the folder holds \(--backend/s,
  );
  assert.ok(!(await exists(cell)), "a cell of the other engine was written");
  // A folder mixed by hand (or by an older albench) is refused by report, not rendered.
  const mixed = JSON.parse(before);
  mixed.environment.backend.name = "cpu";
  await Deno.writeTextFile(cell, JSON.stringify(mixed));
  const index = await Deno.readTextFile(`${dir}/out/index.html`);
  const report = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}/src/cli/report.ts`, `${dir}/out`],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(report.code, 1, text(report.stderr));
  assert.match(
    text(report.stderr),
    /is not reported: cell repro\/random\/seed-0 names the engine wasm in its identity but cpu in its environment/,
  );
  assert.equal(await Deno.readTextFile(`${dir}/out/index.html`), index, "index.html was rewritten");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reliability: a plug-in that runs out of memory, throws or exits fails its own cell; the others finish and are reported", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-oom-" });
  await Deno.mkdir(`${dir}/plugins`);
  const plugin = (name: string, select: string) =>
    `export default { name: "${name}", description: "misbehaves", optionSchema: {}, needs: [], select: ${select} };`;
  await Deno.writeTextFile(
    `${dir}/plugins/oom.ts`,
    plugin("oom", "() => { const a = []; for (;;) a.push(new Array(1e6).fill(1.5)); }"),
  );
  await Deno.writeTextFile(`${dir}/plugins/boom.ts`, plugin("boom", '() => { throw new Error("kaboom"); }'));
  await Deno.writeTextFile(`${dir}/plugins/quit.ts`, plugin("quit", "() => Deno.exit(3)"));
  const s = await tinyScenario();
  s.arms = [
    { name: "random", query: "random" },
    { name: "oom", query: { module: "./plugins/oom.ts" } },
    { name: "boom", query: { module: "./plugins/boom.ts" } },
    { name: "quit", query: { module: "./plugins/quit.ts" } },
  ];
  const r = await bench(s, dir, "--jobs", "2");
  assert.equal(r.code, 1, r.stderr);
  // Each failure names its cell, plug-in, round and phase; the process survived the one that exhausted its heap.
  assert.match(
    r.stderr,
    /cell repro\/oom\/seed-0 \(scenario repro, arm oom, seed 0, plug-in \.\/plugins\/oom\.ts\) failed in iteration 0, phase query: query plug-in oom \(\.\/plugins\/oom\.ts\): it ran out of memory: its JavaScript heap reached the plug-in limit of 2048 MiB/,
  );
  assert.match(
    r.stderr,
    /cell repro\/boom\/seed-0 \(.*plug-in \.\/plugins\/boom\.ts\) failed in iteration 0, phase query: .*kaboom/,
  );
  assert.match(
    r.stderr,
    /cell repro\/quit\/seed-0 \(.*plug-in \.\/plugins\/quit\.ts\) failed in iteration 0, phase query: /,
  );
  assert.match(
    r.stderr,
    /\(3 of 4 cells this run computed failed; the others finished and their records stand\)/,
  );
  assert.match(r.stdout, /report of the cells that finished: .*index\.html \(1 complete\)/);
  const { readAllCells } = await import("../../src/runner/store.ts");
  const records = await readAllCells(`${dir}/out`, () => {});
  assert.deepEqual(records.filter((c) => c.complete).map((c) => c.key), ["repro/random/seed-0"]);
  assert.ok(await exists(`${dir}/out/index.html`));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("reliability: each pre-trained backbone is announced once per run, also with worker threads (issue #29)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-announce-" });
  const o = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-prompt",
      `${ROOT}/src/cli/bench.ts`,
      "--scenario",
      `${ROOT}/scenarios/ci/repro.json`,
      "--out",
      `${dir}/out`,
      "--cache",
      `${dir}/cache`,
      "--jobs",
      "2",
      "--backend",
      "wasm",
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const r = { code: o.code, stderr: new TextDecoder().decode(o.stderr) };
  assert.equal(r.code, 0, r.stderr);
  const keys = [...r.stderr.matchAll(/^pre-training ([0-9a-f]{12}): (?:from cache|done)$/gm)].map((m) =>
    m[1]!
  );
  assert.ok(keys.length >= 1, r.stderr);
  assert.equal(keys.length, new Set(keys).size, `a backbone announced more than once:\n${r.stderr}`);
  await Deno.remove(dir, { recursive: true });
});
