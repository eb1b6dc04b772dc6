import assert from "node:assert/strict";
import { gridCells, shardCells, shardFromEnv } from "../src/runner/grid.ts";
import { loadScenarioFile, resolveScenarios } from "../src/scenario/load.ts";
import { readAllCells } from "../src/runner/store.ts";
import { bench, referenceRun, ROOT, text } from "./repro_reference.ts";

Deno.test("grid: shards partition the cells deterministically; Slurm and Kubernetes variables map to shards", async () => {
  const scenarios = await loadScenarioFile(`${ROOT}/scenarios/default.json`);
  const cells = gridCells(scenarios);
  assert.equal(cells.length, 3 * 2 * 5);
  const a = shardCells(cells, { index: 0, count: 3 }),
    b = shardCells(cells, { index: 1, count: 3 }),
    c = shardCells(cells, { index: 2, count: 3 });
  assert.equal(new Set([...a, ...b, ...c].map((x) => x.key)).size, 30);
  assert.deepEqual(
    shardCells(gridCells(scenarios), { index: 1, count: 3 }).map((x) => x.key),
    b.map((x) => x.key),
  );
  assert.deepEqual(
    shardFromEnv({ SLURM_ARRAY_TASK_ID: "5", SLURM_ARRAY_TASK_COUNT: "4", SLURM_ARRAY_TASK_MIN: "2" }),
    { index: 3, count: 4 },
  );
  assert.deepEqual(shardFromEnv({ JOB_COMPLETION_INDEX: "0", ALBENCH_SHARD_COUNT: "2" }), {
    index: 0,
    count: 2,
  });
  assert.equal(shardFromEnv({}), undefined);
  assert.throws(() => shardFromEnv({ JOB_COMPLETION_INDEX: "1" }), /ALBENCH_SHARD_COUNT .* got undefined/);
  assert.throws(
    () => shardFromEnv({ SLURM_ARRAY_TASK_ID: "4", SLURM_ARRAY_TASK_COUNT: "4" }),
    /out of range/,
  );
});

Deno.test("runner: bad input fails with one paragraph, non-zero, and creates no results folder", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "albench-bad-" });
  const bad = JSON.parse(await Deno.readTextFile(`${ROOT}/scenarios/ci/repro.json`));
  bad.al.batch = 0;
  await Deno.writeTextFile(`${tmp}/bad.json`, JSON.stringify(bad));
  const r = await bench(["--scenario", `${tmp}/bad.json`, "--out", `${tmp}/out`]).output();
  assert.equal(r.code, 2);
  assert.match(text(r.stderr), /bad\.json is not a valid scenario:\n {2}- al\.batch/);
  assert.equal(await Deno.stat(`${tmp}/out`).then(() => true, () => false), false);
  const missing = await bench(["--scenario", `${tmp}/nope.json`, "--out", `${tmp}/out`]).output();
  assert.equal(missing.code, 2);
  assert.match(text(missing.stderr), /nope\.json is not a valid scenario:\n {2}- file not found/);
  const infeasible = JSON.parse(await Deno.readTextFile(`${ROOT}/scenarios/ci/repro.json`));
  infeasible.imbalance.removePerClass = 500;
  await Deno.writeTextFile(`${tmp}/inf.json`, JSON.stringify(infeasible));
  const inf = await bench(["--scenario", `${tmp}/inf.json`, "--out", `${tmp}/out`]).output();
  // A scenario that does not fit its dataset is a scenario error, as at load and in deno task plan.
  assert.equal(inf.code, 2);
  assert.match(
    text(inf.stderr),
    /seed 0: imbalance: no allowed set of 2 candidate classes has 500 positives/,
  );
  assert.equal(await Deno.stat(`${tmp}/out`).then(() => true, () => false), false);
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("runner: a results folder made from another version of the scenario is refused", async () => {
  const { checkRunFolder, writeRunFile } = await import("../src/runner/store.ts");
  const tmp = await Deno.makeTempDir({ prefix: "albench-hash-" });
  const raw = JSON.parse(await Deno.readTextFile(`${ROOT}/scenarios/ci/repro.json`));
  const [a] = resolveScenarios(raw);
  await writeRunFile(tmp, null, [a!]);
  const [b] = resolveScenarios({ ...raw, finetune: { ...raw.finetune, lr: 0.01 } });
  await assert.rejects(
    () => checkRunFolder(tmp, [b!]),
    /holds results of scenario repro with hash .* now hashes to .* Results are never mixed/,
  );
  assert.ok(await checkRunFolder(tmp, [a!]));
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("runner: al.validation opts into per-round validation scores and changes nothing else", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "albench-val-" });
  const raw = JSON.parse(await Deno.readTextFile(`${ROOT}/scenarios/ci/repro.json`));
  // Leaving the field out keeps a scenario's hash (the golden's records were made before the field existed).
  const golden = JSON.parse(await Deno.readTextFile(`${ROOT}/tests/golden/repro.json`)) as {
    content: { scenarioHash: string }[];
  };
  assert.equal(resolveScenarios(raw)[0]!.hash, golden.content[0]!.scenarioHash);
  raw.al.validation = true;
  await Deno.writeTextFile(`${tmp}/val.json`, JSON.stringify(raw));
  const r = await bench([
    "--scenario",
    `${tmp}/val.json`,
    "--out",
    `${tmp}/out`,
    "--cache",
    `${tmp}/cache`,
    "--seeds",
    "1",
    "--quiet",
  ]).output();
  assert.equal(r.code, 0, text(r.stderr));
  const cells = await readAllCells(`${tmp}/out`);
  assert.equal(cells.length, 2);
  for (const c of cells) {
    assert.ok(c.iterations.every((it) => it.val && it.val.perClassF1.length === 17), `${c.key} has val`);
    const want = (await referenceRun()).find((g) => g.key === c.key)!;
    assert.deepEqual(
      c.iterations.map((it) => [it.selected, it.test, it.classCounts, it.trainLoss]),
      want.iterations.map((it) => [it.selected, it.test, it.classCounts, it.trainLoss]),
      `${c.key}: selected ids and test scores as in a run without validation`,
    );
  }
  await Deno.remove(tmp, { recursive: true });
});
