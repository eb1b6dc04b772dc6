/**
 * Python query plug-ins in whole runs (issue #28): `compare` of the Python `uncertainty` port against the
 * TypeScript built-in gives a zero difference (the same selections and metrics, cell by cell); a scenario arm
 * `{"query": {"module": "x.py"}}` runs in `bench`; a Python failure or a Python select that never returns fails
 * its cell by name (scenario, arm, seed, iteration, the traceback's last lines), leaving the results folder to the
 * cells that finished.
 */
import assert from "node:assert/strict";
import { NO_PYTHON, PYTHON } from "../python_available.ts";
import { ROOT, runBench, spawnBench, spawnCompare, tinyScenario } from "./bench_cli.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);
// deno-lint-ignore no-explicit-any
type Loose = Record<string, any>;
const ignore = !PYTHON;

Deno.test(
  `python e2e: compare of uncertainty.py against the built-in uncertainty differs by exactly zero${NO_PYTHON}`,
  {
    ignore,
  },
  async () => {
    const out = await Deno.makeTempDir({ prefix: "albench-pycompare-" });
    const o = await spawnCompare([
      "uncertainty",
      "py_uncertainty=scenarios/examples/uncertainty.py",
      "--json",
      "--out",
      out,
    ]);
    assert.equal(o.code, 0, o.stderr);
    const json = JSON.parse(o.stdout);
    const [ts, py] = json.scenarios[0].arms;
    assert.deepEqual([ts.arm, py.arm], ["uncertainty", "py_uncertainty"]);
    // Both against random: the same paired differences, so Python minus TypeScript is zero.
    for (const m of ["macro", "micro"]) {
      for (const at of ["average", "aubc"]) assert.equal(py[m][at].diff, ts[m][at].diff, `${m} ${at}`);
    }
    for (const seed of [0, 1]) {
      const cell = async (arm: string) =>
        JSON.parse(await Deno.readTextFile(`${out}/cells/repro/${arm}/seed-${seed}.json`)).iterations.map((
          i: Loose,
        ) => ({ selected: i.selected, test: i.test }));
      assert.deepEqual(await cell("py_uncertainty"), await cell("uncertainty"), `seed ${seed}`);
    }
    // The module's text is part of the arm's identity, as a TypeScript module's is.
    const recorded = JSON.parse(await Deno.readTextFile(`${out}/compare.json`));
    const digest = await crypto.subtle.digest(
      "SHA-256",
      await Deno.readFile(`${ROOT}/scenarios/examples/uncertainty.py`),
    );
    const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    assert.equal(JSON.parse(recorded.arms["repro/py_uncertainty"]).moduleSha256, hex);
    await Deno.remove(out, { recursive: true });
  },
);

Deno.test(`python e2e: compare of uncertainty.py alone gives the digest examples/ci pins${NO_PYTHON}`, {
  ignore,
}, async () => {
  const out = await Deno.makeTempDir({ prefix: "albench-pycompare-" });
  const o = await spawnCompare(["scenarios/examples/uncertainty.py", "--json", "--out", out]);
  assert.equal(o.code, 0, o.stderr);
  const json = JSON.parse(o.stdout);
  assert.equal(json.scenarios[0].arms[0].arm, "uncertainty");
  assert.equal(json.digest, (await Deno.readTextFile(`${ROOT}/examples/ci/compare-python.digest`)).trim());
  await Deno.remove(out, { recursive: true });
});

Deno.test(
  `python e2e: a scenario arm naming a .py module runs in bench; a failing one names cell, round and traceback${NO_PYTHON}`,
  {
    ignore,
  },
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "albench-pybench-" });
    // The plug-ins in a folder of their own, apart from the results folder and cache (dir/out, dir/cache).
    await Deno.mkdir(`${dir}/py`);
    await Deno.copyFile(`${ROOT}/scenarios/examples/uncertainty.py`, `${dir}/py/unc.py`);
    await Deno.writeTextFile(
      `${dir}/py/boom.py`,
      `NEEDS = ["probs"]
def select(unlabelled, budget, *, labelled=None, seed=0, options=None):
    if len(unlabelled.ids) < 300:
        raise RuntimeError("boom in round two")
    return unlabelled.ids[:budget]
`,
    );
    await Deno.writeTextFile(
      `${dir}/py/never.py`,
      `import time
NEEDS = []
def select(unlabelled, budget, *, labelled=None, seed=0, options=None):
    while True:
        time.sleep(0.05)
`,
    );
    const s = await tinyScenario();
    s.arms = [{ name: "random", query: "random" }, { name: "py", query: { module: "./py/unc.py" } }];
    await Deno.writeTextFile(`${dir}/s.json`, JSON.stringify(s));
    const ok = await runBench(`${dir}/s.json`, dir, "--jobs", "1");
    assert.equal(ok.code, 0, ok.stderr);
    const cell = JSON.parse(await Deno.readTextFile(`${dir}/out/cells/repro/py/seed-0.json`));
    assert.equal(cell.complete, true);
    assert.equal(cell.iterations.length, 3);

    s.arms = [{ name: "random", query: "random" }, { name: "boom", query: { module: "./py/boom.py" } }];
    await Deno.writeTextFile(`${dir}/boom.json`, JSON.stringify(s));
    const bad = await spawnBench(`${dir}/boom.json`, `${dir}/out-boom`, `${dir}/cache`, "--jobs", "1");
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(
      bad.stderr,
      /cell repro\/boom\/seed-0 \(scenario repro, arm boom, seed 0, plug-in \.\/py\/boom\.py\) failed in iteration \d, phase query: query plug-in boom \(\.\/py\/boom\.py\): RuntimeError: boom in round two\nPython traceback \(last lines\):\nTraceback \(most recent call last\):\n {2}File ".*boom\.py", line 4, in select/,
    );
    // The cell of the other arm finished and was kept; the failed one kept its completed rounds only.
    assert.equal(
      JSON.parse(await Deno.readTextFile(`${dir}/out-boom/cells/repro/random/seed-0.json`)).complete,
      true,
    );

    s.arms = [{ name: "random", query: "random" }, { name: "never", query: { module: "./py/never.py" } }];
    s.al.queryTimeoutSeconds = 1;
    await Deno.writeTextFile(`${dir}/never.json`, JSON.stringify(s));
    const slow = await spawnBench(`${dir}/never.json`, `${dir}/out-never`, `${dir}/cache`, "--jobs", "1");
    assert.equal(slow.code, 1, slow.stderr);
    assert.match(
      slow.stderr,
      /cell repro\/never\/seed-0 \(scenario repro, arm never, seed 0, plug-in \.\/py\/never\.py\) failed in iteration 0, phase query: query function never did not return within the time limit of 1 s/,
    );
    assert.ok(slow.seconds < 60, `took ${slow.seconds} s`);
    await new Promise((r) => setTimeout(r, 1000));
    const ps = text(
      (await new Deno.Command("ps", { args: ["-eo", "args"], stdout: "piped" }).output()).stdout,
    );
    assert.ok(!ps.includes(`${dir}/py/never.py`), `a Python process of never.py is still running:\n${ps}`);
    await Deno.remove(dir, { recursive: true });
  },
);
