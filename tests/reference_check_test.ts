/**
 * reports/reference/check.py (issue #18): the outside check of a committed reference folder, run here on the v1
 * reference, which fails exactly the rules v1 was known to break.
 */
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;
const python = await new Deno.Command("python3", { args: ["--version"], stdout: "null", stderr: "null" })
  .output()
  .then((o) => o.success, () => false);

async function check(...args: string[]) {
  const o = await new Deno.Command("python3", {
    args: [`${ROOT}reports/reference/check.py`, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: o.code, out: new TextDecoder().decode(o.stdout), err: new TextDecoder().decode(o.stderr) };
}

Deno.test({
  name:
    "reference check: v1 Fig. 2 fails the healthy-regime, seed, inference and split rules, and only those",
  ignore: !python,
  async fn() {
    const r = await check("reports/reference/cpu-v1/fig2");
    assert.equal(r.code, 1, r.err);
    const fails = r.out.split("\n").filter((l) => l.startsWith("FAIL"));
    assert.deepEqual(fails, [
      "FAIL  cpu-fig2/scenario-1 mge-clustering: the mean macro F1 over seeds falls at most 6.41 points below its best at an earlier round (limit 2)",
      "FAIL  cpu-fig2/scenario-1 random: the mean macro F1 over seeds falls at most 2.24 points below its best at an earlier round (limit 2)",
      "FAIL  cpu-fig2/scenario-2 mge-clustering: the mean macro F1 over seeds falls at most 9.39 points below its best at an earlier round (limit 2)",
      "FAIL  cpu-fig2/scenario-2 random: the mean macro F1 over seeds falls at most 2.65 points below its best at an earlier round (limit 2)",
      "FAIL  cpu-fig2/scenario-3 mge-clustering: the mean macro F1 over seeds falls at most 6.89 points below its best at an earlier round (limit 2)",
      "FAIL  cpu-fig2/scenario-1 random: final mean macro F1 0.5224 at round 20 (at least 0.6)",
      "FAIL  cpu-fig2/scenario-1: 5 seeds per arm, the same seeds in every arm (at least 10)",
      "FAIL  cpu-fig2/scenario-2: 5 seeds per arm, the same seeds in every arm (at least 10)",
      "FAIL  cpu-fig2/scenario-3: 5 seeds per arm, the same seeds in every arm (at least 10)",
      "FAIL  inference 43.6% of fine-tuning + inference (curves.csv), manifest 43.6% (at most 25%)",
      "FAIL  splits of 30 cells: hashes match ids, equal across arms, initial set in the pool \u2014 30 problems, first: cpu-fig2/scenario-1/mge-clustering/seed-0: no split",
    ]);
    // The recomputed averages over rounds 1..T agree with the report's tables (the README's numbers).
    assert.match(
      r.out,
      /ok {4}cpu-fig2\/scenario-1 mge-clustering - random macro_f1 averaged: paired mean \+2\.73 points/,
    );
    assert.match(
      r.out,
      /ok {4}cpu-fig2\/scenario-3: every arm has seeds \[0, 1, 2, 3, 4\] with rounds 0\.\.20/,
    );
    assert.match(r.out, /11 of the checks failed/);
  },
});

Deno.test({
  name: "reference check: a run that is not the first rounds of another is told apart",
  ignore: !python,
  async fn() {
    const r = await check(
      "reports/reference/cpu-v1/fig1",
      "--min-seeds",
      "5",
      "--prefix-of",
      "reports/reference/cpu-v1/fig2",
    );
    assert.match(
      r.out,
      /FAIL {2}cpu-fig1: its 110 rounds are identical in cpu-fig2\/scenario-1 .* 110 differ/,
    );
  },
});

const SHARED_LABELS = `${ROOT}../shared/data/ucmerced/LandUse_Multilabeled.txt`;
const haveLabels = await Deno.stat(SHARED_LABELS).then(() => true, () => false);

Deno.test({
  name:
    "reference check: v2 Fig. 2 passes every rule (healthy regime, 10 paired seeds, inference share, splits)",
  ignore: !python,
  async fn() {
    const r = await check("reports/reference/cpu/fig2");
    assert.equal(r.code, 0, r.out + r.err);
    assert.deepEqual(r.out.split("\n").filter((l) => l.startsWith("FAIL")), []);
    for (const s of [1, 2, 3]) {
      assert.match(
        r.out,
        new RegExp(
          `ok {4}cpu-fig2/scenario-${s}: every arm has seeds \\[0, 1, 2, 3, 4, 5, 6, 7, 8, 9\\] with rounds 0\\.\\.20`,
        ),
      );
    }
  },
});

Deno.test({
  name: "reference check: v2 splits match UCMerced's label file (skipped without ../shared/data/ucmerced)",
  ignore: !python || !haveLabels,
  async fn() {
    const r = await check("reports/reference/cpu/fig2", "--labels", SHARED_LABELS);
    assert.equal(r.code, 0, r.out + r.err);
  },
});

Deno.test({
  name: "reference check: v2 Fig. 1 passes and is the first ten rounds of v2 Fig. 2's Scenario 1",
  ignore: !python,
  async fn() {
    // Fig. 1 ends at 240 labels: the final-score rule belongs to Fig. 2's last round (440 labels).
    const r = await check(
      "reports/reference/cpu/fig1",
      "--min-final-random",
      "0",
      "--prefix-of",
      "reports/reference/cpu/fig2",
    );
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /ok {4}cpu-fig1: its 220 rounds are identical in cpu-fig2\/scenario-1/);
  },
});

Deno.test({
  name: "reference check: a one-seed run is checked, its undefined sd as such, not a crash (issue #29)",
  ignore: !python,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "albench-check-1seed-" });
    const s = JSON.parse(await Deno.readTextFile(`${ROOT}scenarios/ci/repro.json`));
    delete s.$schema;
    s.seeds = 1;
    await Deno.writeTextFile(`${dir}/s.json`, JSON.stringify(s));
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-prompt",
        `${ROOT}src/cli/bench.ts`,
        "--scenario",
        `${dir}/s.json`,
        "--out",
        `${dir}/out`,
        "--cache",
        `${dir}/cache`,
        "--backend",
        "wasm",
        "--jobs",
        "1",
        "--quiet",
      ],
      cwd: ROOT,
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    const r = await check(
      `${dir}/out`,
      "--min-seeds",
      "1",
      "--min-final-random",
      "0",
      "--max-drop",
      "1",
      "--max-inference-share",
      "1",
    );
    assert.equal(r.err, "");
    assert.match(
      r.out,
      /ok {4}repro mge-clustering - random macro_f1 averaged: paired mean [+-]\d+\.\d\d points, sd undefined \(one seed\), as stats\.csv/,
    );
    assert.equal(r.code, 0, r.out);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name:
    "reference check: v2 Fig. 2 fails the issue #31 gate (court, tanks, training BCE) and the held-out probe rule",
  ignore: !python,
  async fn() {
    const r = await check("reports/reference/cpu/fig2", "--probe-held-out", "--gate");
    assert.equal(r.code, 1, r.err);
    const fails = r.out.split("\n").filter((l) => l.startsWith("FAIL"));
    assert.deepEqual(fails, [
      "FAIL  probes of 60 cells: each on its own seed's validation images, none in its pre-training archive \u2014 60 problems, first: cpu-fig2/scenario-1/mge-clustering/seed-0: probe heldOut None, on seed None's validation set (the cell's seed is 0)",
      "FAIL  gate: cpu-fig2/scenario-1 random court: mean per-class F1 0.020 at the final round over 10 seeds (at least 0.3)",
      "FAIL  gate: cpu-fig2/scenario-1 random tanks: mean per-class F1 0.093 at the final round over 10 seeds (at least 0.3)",
      "FAIL  gate: cpu-fig2/scenario-1 random: every round's fine-tuning ends with training BCE at most 0.3449 (limit 0.1)",
    ]);
    // The seven other candidates pass, each recomputed from the final round's per-class F1 of the 10 records.
    assert.match(r.out, /ok {4}gate: cpu-fig2\/scenario-1 random airplane: mean per-class F1 0\.367 /);
    assert.match(r.out, /ok {4}gate: BYOL lifts the probe mAP by \+0\.0643 on average over 10 backbones/);
  },
});

Deno.test({
  name:
    "reference check: --preregistration compares the run's hashes, arms and seeds with the registered design",
  ignore: !python,
  async fn() {
    const manifest = JSON.parse(await Deno.readTextFile(`${ROOT}reports/reference/cpu/fig2/manifest.json`));
    const design = {
      format: "albench-preregistration-v1",
      primary: { metric: "macro_f1", contrast: "c", test: "t" },
      alpha: 0.05,
      rule: { kind: "fixed", seeds: 10 },
      scenarios: manifest.scenarios.map((s: { id: string; hash: string }) => ({ id: s.id, hash: s.hash })),
      baseline: "random",
      arms: [{ name: "mge-clustering", query: "mge-clustering", sha256: null, options: {} }],
    };
    const tmp = await Deno.makeTempDir({ prefix: "albench-check-prereg-" });
    try {
      await Deno.writeTextFile(`${tmp}/ok.json`, JSON.stringify(design));
      const ok = await check("reports/reference/cpu/fig2", "--preregistration", `${tmp}/ok.json`);
      assert.equal(ok.code, 0, ok.out);
      assert.match(
        ok.out,
        /ok {4}pre-registration: cpu-fig2\/scenario-3 mge-clustering ran 10 seeds \(the registered 10\)/,
      );
      const more = { ...design, rule: { kind: "fixed", seeds: 25 }, scenarios: design.scenarios.slice(1) };
      await Deno.writeTextFile(`${tmp}/more.json`, JSON.stringify(more));
      const bad = await check("reports/reference/cpu/fig2", "--preregistration", `${tmp}/more.json`);
      assert.equal(bad.code, 1);
      const fails = bad.out.split("\n").filter((l) => l.startsWith("FAIL"));
      assert.equal(fails.length, 7, bad.out);
      assert.equal(fails[0], "FAIL  pre-registration: the run's 3 scenarios have the 2 registered hashes");
      assert.equal(
        fails[1],
        "FAIL  pre-registration: cpu-fig2/scenario-1 random ran 10 seeds (the registered 25)",
      );
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
