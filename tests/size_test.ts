/**
 * Size before you run (issue #29): the image passes a run will spend, counted by hand here; the estimate's
 * arithmetic; the progress lines (the size, a pre-training's start, progress inside its epochs, the ETA from
 * the estimate); and `plan` printing the size and the estimate first.
 */
import assert from "node:assert/strict";
import { labelledSizes, roundWork, runSize, sizeLine } from "../src/runner/size.ts";
import { estimateRun } from "../src/runner/sizing.ts";
import { Progress } from "../src/runner/progress.ts";
import { resolveScenarios } from "../src/scenario/load.ts";
import { runDeno } from "./deno_run.ts";

const SCENARIO = {
  name: "sized",
  dataset: { kind: "synthetic", size: 210 },
  split: { val: 30, test: 40, pool: "rest" },
  model: { backbone: "small-cnn" },
  pretrain: { epochs: 3, batchSize: 20 },
  finetune: { epochs: 2, batchSize: 10, decayEpochs: [1], minSteps: 6 },
  al: { initial: 20, batch: 15, budget: 60, validation: true },
  arms: [{ name: "random", query: "random" }, { name: "unc", query: "uncertainty" }],
  seeds: 2,
};

Deno.test("size: fine-tuning, inference and BYOL passes of a small run, counted by hand", () => {
  const [s] = resolveScenarios(SCENARIO);
  assert.equal(s!.iterations, 3); // ceil((60 − 20) / 15)
  // Rounds on 20, 35, 50, 60 labelled (the budget cuts the last batch to 10).
  assert.deepEqual(labelledSizes({ ...s!.scenario.al, iterations: 3 }, 140), [20, 35, 50, 60]);
  // minSteps 6 with batch 10: 20 → 2 batches, 3 epochs; 35 → 4 batches, 2 epochs (8 steps ≥ 6); 50, 60: 2.
  const ft = 3 * 20 + 2 * 35 + 2 * 50 + 2 * 60;
  // Inference per round: test 40 + val 30; the pool (140 − labelled) before each query, only for "unc".
  const evalPasses = 4 * (40 + 30);
  const poolPasses = (140 - 20) + (140 - 35) + (140 - 50);
  const seeds = [0, 1].map((seed) => ({
    seed,
    pool: 140,
    val: 30,
    test: 40,
    pretrain: { key: `k${seed}`, images: 140, cached: seed === 1 },
  }));
  const arms = [{ name: "random", outputs: false, labelled: false }, {
    name: "unc",
    outputs: true,
    labelled: false,
  }];
  const size = runSize([{ scenario: s!, seeds, arms }]);
  assert.deepEqual(size, {
    cells: 4,
    rounds: 16,
    pretrainings: 1,
    cachedPretrainings: 1,
    byol: 3 * 140, // one pre-training to compute: 3 epochs over its 140 images
    finetune: 4 * ft,
    inference: 4 * evalPasses + 2 * poolPasses + 2 * 30, // + the linear probe's two validation passes
  });
  assert.equal(
    sizeLine(size),
    `size: 4 cells, 16 fine-tuning rounds, 1 pre-training (and 1 from the cache); image passes: BYOL 420, ` +
      `fine-tuning ${(4 * ft).toLocaleString("en-US")}, inference ${
        (4 * evalPasses + 2 * poolPasses + 60).toLocaleString("en-US")
      }`,
  );
  // Skipped cells (complete, or another shard's) and their pre-trainings are not counted.
  const skip = new Set(["sized/random/seed-0", "sized/unc/seed-0"]);
  const rest = runSize([{ scenario: s!, seeds, arms, skip }]);
  assert.deepEqual([rest.cells, rest.pretrainings, rest.cachedPretrainings, rest.byol], [2, 0, 1, 0]);
  // A function that reads the labelled set too costs those passes as well.
  const w = roundWork(s!.scenario, seeds[0]!, { name: "l", outputs: true, labelled: true }, 35, false);
  assert.deepEqual(w, { byol: 0, finetune: 70, inference: 40 + 30 + 105 + 35 });
});

Deno.test("size: the estimate is passes × seconds per pass, pre-training alone, cells shared among the jobs", () => {
  const [s] = resolveScenarios(SCENARIO);
  const seeds = [{
    seed: 0,
    pool: 140,
    val: 30,
    test: 40,
    pretrain: { key: "k", images: 140, cached: false },
  }];
  const arms = [{ name: "unc", outputs: true, labelled: false }];
  const rates = { byol: 0.01, finetune: 0.002, inference: 0.0005 };
  const plans = [{ scenario: s!, seeds, arms }];
  const one = estimateRun(plans, new Map([["sized", rates]]), 1);
  const two = estimateRun(plans, new Map([["sized", rates]]), 2);
  const ft = 3 * 20 + 2 * 35 + 2 * 50 + 2 * 60, inf = 4 * 70 + (120 + 105 + 90);
  assert.ok(Math.abs(one.pretrainSeconds - (420 * 0.01 + 60 * 0.0005)) < 1e-9);
  assert.ok(Math.abs(one.cellSeconds - (ft * 0.002 + inf * 0.0005)) < 1e-9);
  assert.equal(two.pretrainSeconds, one.pretrainSeconds);
  assert.ok(Math.abs(two.cellSeconds - one.cellSeconds / 2) < 1e-9);
  // Each event's cost adds up to the estimate: every round of the cell and every pre-training step.
  let done = 0;
  for (const [t, n] of [20, 35, 50, 60].entries()) {
    done += one.cost({
      type: "iteration",
      cell: "sized/unc/seed-0",
      iteration: t,
      iterations: 3,
      labelled: n,
      microF1: 0,
      macroF1: 0,
      seconds: 0,
    });
  }
  done += one.cost({ type: "pretrain-step", key: "k", epoch: 2, epochs: 3, step: 7, steps: 7, images: 420 });
  assert.ok(Math.abs(done - (one.seconds - 60 * 0.0005)) < 1e-9, `${done} vs ${one.seconds}`);
});

Deno.test("progress: the size lines, a pre-training's start, steps only on a terminal, and the ETA from the estimate", () => {
  const lines: string[] = [];
  const p = new Progress({ live: false, write: (t) => lines.push(t) }, 2, 4);
  p.useEstimate(100, (e) => (e.type === "iteration" ? 25 : 0));
  p.emit({ type: "size", lines: ["size: 2 cells", "estimate: about 2 min"] });
  p.emit({ type: "pretrain-start", key: "abcdef0123456789", images: 1046, epochs: 3 });
  p.emit({
    type: "pretrain-step",
    key: "abcdef0123456789",
    epoch: 0,
    epochs: 3,
    step: 5,
    steps: 33,
    images: 160,
  });
  p.emit({
    type: "iteration",
    cell: "s/a/seed-0",
    iteration: 0,
    iterations: 1,
    labelled: 40,
    microF1: 0.5,
    macroF1: 0.25,
    seconds: 1,
  });
  assert.deepEqual(lines.slice(0, 3), [
    "size: 2 cells\n",
    "estimate: about 2 min\n",
    "pre-training abcdef012345: BYOL, 3 epochs on 1046 images\n",
  ]);
  // Within the first seconds the pace is the estimate's own: 100 − 25 estimated seconds left.
  assert.match(lines[3]!, /^\[0\/2 cells \| 0:00 \| eta 1:15\] s\/a\/seed-0 iteration 0\/1: 40 labelled/);
  assert.equal(lines.length, 4, "a step is shown on a terminal only");
  const term: string[] = [];
  const q = new Progress({ live: true, write: (t) => term.push(t) }, 1, 1);
  q.emit({
    type: "pretrain-step",
    key: "abcdef0123456789",
    epoch: 1,
    epochs: 3,
    step: 5,
    steps: 33,
    images: 160,
  });
  q.close();
  assert.match(term[0]!, /pre-training abcdef012345 epoch 2\/3, step 5\/33$/);
});

Deno.test("plan prints the size and the estimate first, then the seeds", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-plan-size-" });
  try {
    const file = `${dir}/s.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({ ...SCENARIO, pretrain: { method: "none" }, backend: "wasm" }),
    );
    const run = (...extra: string[]) =>
      runDeno(["task", "-q", "plan", "--scenario", file, "--jobs", "2", ...extra]);
    const r = await run();
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n");
    // Two seeds of 140 in the pool: the counts above, without pre-training.
    const ft = 3 * 20 + 2 * 35 + 2 * 50 + 2 * 60;
    assert.equal(
      lines[0],
      `size: 4 cells, 16 fine-tuning rounds, no pre-training; image passes: BYOL 0, fine-tuning ${
        (4 * ft).toLocaleString("en-US")
      }, inference ${(4 * 280 + 2 * 315).toLocaleString("en-US")}`,
    );
    assert.match(
      lines[1]!,
      /^estimate: about \d+ (s|min) on wasm with 2 cells at a time, from a short probe/,
    );
    assert.match(lines[3]!, /^scenario sized \(hash [0-9a-f]{12}\), 210 samples$/);
    const quick = await run("--no-estimate");
    assert.equal(quick.code, 0, quick.stderr);
    assert.equal(quick.stdout.split("\n")[0], lines[0]);
    assert.equal(quick.stdout.split("\n")[1], "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
