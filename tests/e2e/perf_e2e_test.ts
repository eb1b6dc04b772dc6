/** `deno task perf` run end to end: bad flags, --only, and the quick set with the peer and peak memory. */
import { BUILTIN_QUERY_FUNCTIONS } from "../../src/al/query/registry.ts";
import assert from "node:assert/strict";
import { findTorchPython, pythonCandidates } from "../../src/perf/peer.ts";
import { BACKEND_NAMES } from "../../src/backend/names.ts";
import { PYTHON } from "../python_available.ts";
import { parseRecord } from "../../src/records/records.ts";
import { runDeno } from "../deno_run.ts";

function perf(...args: string[]) {
  return runDeno([
    "run",
    "--allow-read",
    "--allow-env",
    "--allow-run",
    "--allow-write",
    "src/cli/perf.ts",
    ...args,
  ]);
}

Deno.test("deno task perf: bad flags name the flag and the allowed values", async () => {
  const a = await perf("--set", "fast");
  assert.equal(a.code, 2);
  assert.match(a.stderr, /--set: perf set "fast" is not one of quick, default/);
  const b = await perf("--backends", "auto");
  assert.equal(b.code, 2);
  assert.match(b.stderr, /--backends: "auto" is not a concrete backend/);
  for (const name of BACKEND_NAMES.filter((n) => n !== "auto")) assert.ok(b.stderr.includes(name), name);
  const c = await perf("--skip", "models,gpu");
  assert.equal(c.code, 2);
  assert.match(c.stderr, /--skip: "gpu" is not one of models, query, data, pytorch, memory/);
  const d = await perf("--only", "train:densenet-cpu");
  assert.equal(d.code, 2);
  assert.match(d.stderr, /--only: "train:densenet-cpu" is not MODE:MODEL@PX \(MODE train or infer\)/);
  const e = await perf("--only", "train:densenet-cpu@32,infer:resnet@32");
  assert.equal(e.code, 2);
  assert.match(
    e.stderr,
    /--only: "infer:resnet@32": resnet is not a model \(densenet121, densenet-cpu, small-cnn\)/,
  );
  const f = await perf("--set", "quick", "--only", "train:densenet121@224");
  assert.equal(f.code, 2);
  assert.match(
    f.stderr,
    /--only: train:densenet121@224: no such row in this set; the rows are train:small-cnn@16, infer:small-cnn@16\n/,
  );
});

Deno.test("deno task perf --only: only the rows named are measured, by the engine and by the peer", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-perf-only-" });
  try {
    const r = await perf(
      "--set",
      "quick",
      "--only",
      "infer:small-cnn@16",
      "--skip",
      "query,data,memory",
      "--out",
      dir,
    );
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/perf.json`));
    assert.deepEqual(
      json.models.map((m: { mode: string; backbone: string; resolution: number }) =>
        `${m.mode}:${m.backbone}@${m.resolution}`
      ),
      ["infer:small-cnn@16"],
    );
    assert.ok(json.models[0].imgPerS.albench > 0);
    assert.equal(json.only, "infer:small-cnn@16");
    assert.ok(!("peakRssMiB" in json.models[0]), "--skip memory leaves the memory columns out");
    assert.doesNotMatch(r.stdout, /albench MiB/);
    assert.match(r.stdout, /model rows: only infer:small-cnn@16 \(--only\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task perf --set quick: baseline and albench from one run, table printed and written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-perf-" });
  try {
    const r = await perf("--set", "quick", "--out", dir);
    assert.equal(r.code, 0, r.stderr);
    const text = await Deno.readTextFile(`${dir}/perf.json`);
    parseRecord("perf", `${dir}/perf.json`, text); // what it wrote reads through its schema
    const json = JSON.parse(text);
    assert.equal(json.set, "quick");
    assert.equal(json.models.length, 2);
    const torch = "found" in await findTorchPython(pythonCandidates(Deno.env.get("ALBENCH_PYTHON")));
    for (const row of json.models) {
      assert.ok(row.imgPerS.stock > 0 && row.imgPerS.albench > 0, JSON.stringify(row));
      assert.ok(Math.abs(row.ratio - row.imgPerS.albench / row.imgPerS.stock) < 1e-9);
      // Peak memory of the row alone in a fresh process: a Deno with tfjs holds more than 50 MiB, and this
      // machine has less than 1 TiB.
      assert.ok(row.peakRssMiB.albench > 50 && row.peakRssMiB.albench < 2 ** 20, JSON.stringify(row));
      if (torch) {
        assert.ok(row.peakRssMiB.pytorch > 50 && row.peakRssMiB.pytorch < 2 ** 20, JSON.stringify(row));
        assert.ok(row.imgPerS.pytorch > 0 && row.imgPerS.pytorch1 > 0, JSON.stringify(row));
        assert.ok(Math.abs(row.pytorchRatio - row.imgPerS.albench / row.imgPerS.pytorch) < 1e-9);
      } else {
        assert.ok(!("pytorch" in row.peakRssMiB), "no peer, no peer memory");
        assert.ok(!("pytorch" in row.imgPerS) && !("pytorch1" in row.imgPerS) && row.pytorchRatio === null);
      }
    }
    if (torch) {
      assert.equal(json.pytorch.threads.pytorch1, 1);
      assert.equal(json.pytorch.threads.pytorch, navigator.hardwareConcurrency);
      assert.match(r.stdout, /ratio\s+pytorch1 img\/s\s+pytorch img\/s\s+albench\/pytorch/);
    } else {
      assert.equal(json.pytorch, null);
      assert.match(r.stdout, /PyTorch peer: not run: no Python with torch/);
    }
    // Every built-in but random (which reads nothing) is timed, and, where a Python with NumPy is found, the
    // Python bridge alone and the uncertainty.py port.
    assert.deepEqual(
      json.queries.map((q: { query: string }) => q.query).sort(),
      [
        ...Object.keys(BUILTIN_QUERY_FUNCTIONS).filter((n) => n !== "random"),
        ...(PYTHON ? ["python-bridge", "uncertainty.py"] : []),
      ].sort(),
    );
    assert.match(r.stdout, /backend\s+mode\s+model\s+px\s+batch\s+stock img\/s\s+albench img\/s\s+ratio/);
    assert.match(r.stdout, /albench MiB\s+pytorch MiB\s+GFLOP\/s/);
    assert.match(r.stdout, /target: native densenet121 224 px training peak memory not measured/);
    assert.match(r.stdout, /wasm\s+train\s+small-cnn\s+16\s+10/);
    assert.match(r.stdout, /query seconds \(d = 1024, C = 17, b = 20\)/);
    assert.match(r.stdout, /target: wasm densenet-cpu 32 px training \(batch 10\) not measured/);
    // --set quick times N = 1000 only: the bridge's target is at N = 100,000.
    assert.match(r.stdout, /target: Python bridge at N = 100k \(d = 1024, C = 17\) not measured a call/);
    assert.equal(json.targets.pythonBridgeSecondsAt100k.target, 0.5);
    assert.match(r.stdout, /target: webgpu densenet-cpu 32 px training \(batch 10\) not measured/);
    assert.equal(json.targets.webgpuTrainSpeedupDensenetCpu32.value, null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
