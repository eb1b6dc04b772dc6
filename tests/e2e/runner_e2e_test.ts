/**
 * The runner end to end (slow: each test runs the repro scenario in child processes): a run killed mid-cell
 * resumes to the uninterrupted digest; two shards merged by `report` give the one-shard digest.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { CHROMIUM, dumpDom } from "../chromium.ts";
import { readAllCells } from "../../src/runner/store.ts";
import { resultDigest } from "../../src/report/digest.ts";
import { bench, referenceDigest, ROOT, text } from "../repro_reference.ts";

Deno.test("runner: killed mid-run with SIGKILL, a rerun resumes and ends with the uninterrupted digest", async () => {
  const out = await Deno.makeTempDir({ prefix: "albench-kill-" });
  const cache = await Deno.makeTempDir({ prefix: "albench-kill-cache-" });
  const args = [
    "--scenario",
    "scenarios/ci/repro.json",
    "--out",
    `${out}/r`,
    "--cache",
    cache,
    "--jobs",
    "1",
    "--quiet",
  ];
  const child = bench(args).spawn();
  // Wait until some cell has a record with an unfinished loop, then kill the process outright.
  const deadline = Date.now() + 120_000;
  let killedMidCell = false;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    const cells = await readAllCells(`${out}/r`).catch(() => []);
    if (cells.some((c) => !c.complete && c.iterations.length >= 1)) {
      child.kill("SIGKILL");
      killedMidCell = true;
      break;
    }
  }
  const status = await child.status;
  await child.stdout.cancel();
  await child.stderr.cancel();
  assert.ok(killedMidCell, "the run ended before it could be interrupted");
  assert.equal(status.signal, "SIGKILL");
  const partial = await readAllCells(`${out}/r`);
  assert.ok(partial.some((c) => !c.complete));
  const rerun = await bench(args).output();
  assert.equal(rerun.code, 0, text(rerun.stderr));
  assert.equal(resultDigest(await readAllCells(`${out}/r`)), await referenceDigest());
  await Deno.remove(out, { recursive: true });
  await Deno.remove(cache, { recursive: true });
});

Deno.test("runner: shards 0/2 and 1/2 merged by `report` give the one-shard digest; the report renders", async (t) => {
  const out = await Deno.makeTempDir({ prefix: "albench-shard-" });
  const cache = await Deno.makeTempDir({ prefix: "albench-shard-cache-" });
  const base = ["--scenario", "scenarios/ci/repro.json", "--out", `${out}/r`, "--cache", cache, "--quiet"];
  const s0 = await bench([...base, "--shard", "0/2"]).output();
  assert.equal(s0.code, 0, text(s0.stderr));
  assert.match(text(s0.stdout), /shard 0\/2 done \(2 cells\).*deno task report/);
  const s1 = await bench(base, { SLURM_ARRAY_TASK_ID: "1", SLURM_ARRAY_TASK_COUNT: "2" }).output();
  assert.equal(s1.code, 0, text(s1.stderr));
  const report = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", "--allow-write", `${ROOT}/src/cli/report.ts`, `${out}/r`],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(report.code, 0, text(report.stderr));
  assert.match(text(report.stdout), /merged 4 cells \(4 complete\)/);
  const manifest = JSON.parse(await Deno.readTextFile(`${out}/r/manifest.json`));
  assert.equal(manifest.digest, await referenceDigest());
  assert.deepEqual(manifest.cells.missing, []);
  // The manifest records the inference share of the model's time, as summed from the cells' iteration records.
  let finetune = 0, inference = 0;
  for (const c of await readAllCells(`${out}/r`)) {
    for (const it of c.iterations) (finetune += it.seconds.finetune), (inference += it.seconds.inference);
  }
  assert.ok(finetune > 0 && inference > 0);
  // Every cell records its split (issue #18.4): checkable without the project's code, equal across arms.
  const scenario = JSON.parse(await Deno.readTextFile(`${ROOT}/scenarios/ci/repro.json`));
  const bySeed = new Map<number, string>();
  for (const c of await readAllCells(`${out}/r`)) {
    const s = c.split!;
    const sha = (ids: readonly string[]) =>
      createHash("sha256").update([...ids].sort().join("\n")).digest("hex");
    assert.equal(s.test.sha256, sha(s.test.ids!));
    assert.equal(s.initial.sha256, sha(s.initial.ids!));
    assert.equal(s.initial.n, scenario.al.initial);
    assert.ok(s.initial.ids!.every((id) => !s.test.ids!.includes(id)), "initial set outside the test set");
    const other = bySeed.get(c.seed);
    if (other) assert.equal(JSON.stringify(s), other, `${c.key}: same split as the other arm`);
    bySeed.set(c.seed, JSON.stringify(s));
  }
  assert.equal(bySeed.size, 2);
  assert.notEqual(bySeed.get(0), bySeed.get(1));
  assert.ok(Math.abs(manifest.wallSeconds.inferenceShare - inference / (finetune + inference)) < 1e-4);
  assert.match(
    text(report.stdout),
    /wall time: fine-tuning .* s, inference .* s \(\d+\.\d% of fine-tuning \+ inference\)/,
  );
  for (const fig of ["fig1_learning_curves", "fig2_scenarios", "fig3_per_class", "fig4_paired_difference"]) {
    const svg = await Deno.readTextFile(`${out}/r/${fig}.svg`);
    assert.ok(svg.startsWith("<svg") && svg.length > 2000, `${fig}.svg`);
    const png = await Deno.readFile(`${out}/r/${fig}.png`);
    assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], `${fig}.png signature`);
    const vl = JSON.parse(await Deno.readTextFile(`${out}/r/${fig}.vl.json`));
    assert.match(vl.$schema, /vega-lite/);
  }
  const html = await Deno.readTextFile(`${out}/r/index.html`);
  assert.ok(html.includes("<svg") && !/(src|href)="https?:/.test(html), "self-contained HTML");
  // Headless Chromium loads the report offline and sees its figures (ignored, not passed, without Chromium).
  await t.step({
    name: "headless Chromium renders the report with its figures",
    ignore: !CHROMIUM,
    fn: async () => {
      const dom = await dumpDom(`${out}/r/index.html`);
      assert.ok(dom.includes("<svg") && dom.includes("albench report"), "Chromium rendered the report");
    },
  });
  const curves = (await Deno.readTextFile(`${out}/r/curves.csv`)).trim().split("\n");
  assert.equal(
    curves[0],
    "scenario,arm,seed,iteration,labelled,micro_f1,macro_f1,mAP,val_micro_f1,val_macro_f1,train_loss,seconds_finetune,seconds_inference,seconds_query",
  );
  assert.equal(curves.length, 1 + 4 * 3);
  // The repro scenario does not ask for validation scores: their columns stay, empty.
  assert.ok(curves.slice(1).every((line) => line.split(",").slice(8, 10).join() === ","));
  // A partial folder reports which cells are missing.
  await Deno.remove(`${out}/r/cells/repro/random/seed-1.json`);
  const partial = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", "--allow-write", `${ROOT}/src/cli/report.ts`, `${out}/r`],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  assert.match(text(partial.stdout), /missing 1 cells: repro\/random\/seed-1/);
  await Deno.remove(out, { recursive: true });
  await Deno.remove(cache, { recursive: true });
});
