/**
 * `compare --until-decided` and `--preregister` end to end (issue #30) on the CI scenario: the looks agree with
 * an independent recomputation from the cell records, only the seeds the rule needed are run, a rerun resumes
 * to the same answer, a function against itself ends "equivalent", and a pre-registration is written before
 * the first cell and checked on every later run.
 */
import assert from "node:assert/strict";
import { spawnBench, spawnCompare } from "./bench_cli.ts";
import { sequentialLooks } from "../../src/report/sequential.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** The primary metric of a record file: macro F1 averaged over rounds 1…T. */
async function primary(path: string): Promise<number> {
  const r = JSON.parse(await Deno.readTextFile(path));
  const its = r.iterations.filter((i: { iteration: number }) => i.iteration >= 1);
  return its.reduce((s: number, i: { test: { macroF1: number } }) => s + i.test.macroF1, 0) / its.length;
}

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

Deno.test("compare --until-decided: looks recomputed from the records, only the needed seeds run, a rerun resumes", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "albench-sequential-" });
  try {
    const out = `${tmp}/out`;
    const args = [
      `poor=${ROOT}/scenarios/examples/most_confident.ts`,
      "--until-decided",
      "--max-seeds",
      "6",
      "--batch",
      "3",
      "--out",
      out,
      "--json",
    ];
    const first = await spawnCompare(args);
    assert.equal(first.code, 0, first.stderr);
    const json = JSON.parse(first.stdout);
    const pair = json.sequential.pairs[0];
    assert.deepEqual(json.sequential.design.looks, [3, 6]);
    assert.equal(pair.arm, "poor");
    // The looks from the records, recomputed here: per seed, poor − random in the primary metric.
    const diffs: number[] = [];
    for (let seed = 0; seed < pair.seeds; seed++) {
      diffs.push(
        await primary(`${out}/cells/repro/poor/seed-${seed}.json`) -
          await primary(`${out}/cells/repro/random/seed-${seed}.json`),
      );
    }
    const again = sequentialLooks(diffs, { alpha: 0.05, batch: 3, maxSeeds: 6 });
    assert.deepEqual(pair.looks, JSON.parse(JSON.stringify(again)));
    assert.equal(pair.verdict, again.at(-1)!.verdict);
    assert.ok(["higher", "lower", "undecided"].includes(pair.verdict), pair.verdict);
    // No cell beyond the last look's seeds.
    assert.equal(await exists(`${out}/cells/repro/poor/seed-${pair.seeds}.json`), false);
    // A rerun of the same command resumes: the same answer and digest, no cell recomputed.
    const before = (await Deno.stat(`${out}/cells/repro/poor/seed-0.json`)).mtime?.getTime();
    const second = await spawnCompare(args);
    assert.equal(second.code, 0, second.stderr);
    const json2 = JSON.parse(second.stdout);
    assert.deepEqual(json2.sequential, json.sequential);
    assert.equal(json2.digest, json.digest);
    assert.equal((await Deno.stat(`${out}/cells/repro/poor/seed-0.json`)).mtime?.getTime(), before);
    // The same design in two shards, run one after the other as a job array run twice would: a shard runs its
    // share of a look and goes on only when the look is complete; both end where the unsharded run ended.
    const sharded = args.map((a) => (a === out ? `${tmp}/sharded` : a));
    const shard = (i: number) => spawnCompare([...sharded, "--shard", `${i}/2`]);
    const waits: unknown[] = [];
    let final: Record<string, unknown> | undefined;
    for (const i of [0, 1, 0, 1, 0, 1]) {
      const r = await shard(i);
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      if (j.state === "waiting") waits.push(j);
      else final = j;
      if (final) break;
    }
    assert.deepEqual(waits[0], { shard: "0/2", state: "waiting", look: 1, seeds: 3, missing: 3, cells: 6 });
    assert.ok(final, "the shards never finished");
    assert.deepEqual(final.sequential, json.sequential);
    assert.equal(final.digest, json.digest);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("compare --until-decided --margin: a function against itself is equivalent at the first look", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "albench-equivalent-" });
  try {
    const r = await spawnCompare([
      "random2=random",
      "--until-decided",
      "--max-seeds",
      "6",
      "--batch",
      "3",
      "--margin",
      "3",
      "--out",
      `${tmp}/out`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /sequential verdict, repro, random2: equivalent to the baseline within ±3\.00 points after 3 seeds/,
    );
    assert.equal(await exists(`${tmp}/out/cells/repro/random2/seed-3.json`), false);
    // Its flags without --until-decided, or with --seeds, are refused.
    const bad = await spawnCompare(["random2=random", "--margin", "3", "--out", `${tmp}/x`]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--margin is a flag of --until-decided; add --until-decided/);
    const both = await spawnCompare([
      "random2=random",
      "--until-decided",
      "--seeds",
      "4",
      "--out",
      `${tmp}/x`,
    ]);
    assert.equal(both.code, 2);
    assert.match(
      both.stderr,
      /--seeds and --until-decided: the sequential run chooses the seeds; give --max-seeds/,
    );
    const margin = await spawnCompare([
      "random2=random",
      "--until-decided",
      "--margin=-1",
      "--out",
      `${tmp}/x`,
    ]);
    assert.equal(margin.code, 2);
    assert.match(margin.stderr, /--margin must be a number of F1 points above 0 and below 100/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("compare --preregister: the design is written before the first cell, then every run is checked against it", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "albench-prereg-" });
  try {
    const file = `${tmp}/prereg.json`;
    const run = (...extra: string[]) =>
      spawnCompare(["uncertainty", "--preregister", file, "--out", `${tmp}/out`, "--json", ...extra]);
    const first = await run();
    assert.equal(first.code, 0, first.stderr);
    const design = JSON.parse(await Deno.readTextFile(file));
    assert.equal(design.format, "albench-preregistration-v1");
    assert.deepEqual(design.rule, { kind: "fixed", seeds: 2 });
    assert.equal(design.primary.metric, "macro_f1");
    assert.deepEqual(design.arms, [{ name: "uncertainty", query: "uncertainty", sha256: null, options: {} }]);
    assert.equal(design.scenarios[0].id, "repro");
    // Written before any cell: its mtime is not after the first cell record's.
    const written = (await Deno.stat(file)).mtime!.getTime();
    const cell = (await Deno.stat(`${tmp}/out/cells/repro/uncertainty/seed-0.json`)).mtime!.getTime();
    assert.ok(written <= cell, `${written} > ${cell}`);
    const status = JSON.parse(first.stdout).preregistration;
    assert.equal(status.written, true);
    assert.deepEqual(status.differences, []);
    const html = await Deno.readTextFile(`${tmp}/out/index.html`);
    assert.match(
      html,
      /<p class="meta" id="preregistration">Pre-registered: the run followed the design in /,
    );
    // The same run again: found, followed, not rewritten.
    const again = await run();
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout).preregistration.differences, []);
    assert.equal(JSON.parse(again.stdout).preregistration.written, false);
    // Another stopping rule than registered: the run goes on, and its report does not call it pre-registered.
    const other = await spawnCompare([
      "uncertainty",
      "--preregister",
      file,
      "--out",
      `${tmp}/out2`,
      "--until-decided",
      "--max-seeds",
      "3",
      "--batch",
      "3",
    ]);
    assert.equal(other.code, 0, other.stderr);
    assert.match(
      other.stdout,
      /Not pre-registered: the run departs from .*prereg\.json .* in \d+ fields: .*rule: /,
    );
    assert.equal(
      JSON.parse(await Deno.readTextFile(file)).rule.kind,
      "fixed",
      "the registered design was changed",
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("bench with a scenario's sequential field and --preregister; report --preregister checks the folder", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "albench-bench-seq-" });
  try {
    const scenario = JSON.parse(await Deno.readTextFile(`${ROOT}/scenarios/ci/repro.json`));
    delete scenario.$schema;
    scenario.seeds = 6;
    scenario.sequential = { batch: 3, margin: 5 };
    const file = `${tmp}/s.json`, prereg = `${tmp}/prereg.json`, out = `${tmp}/out`;
    await Deno.writeTextFile(file, JSON.stringify(scenario));
    const r = await spawnBench(
      file,
      out,
      `${tmp}/cache`,
      "--backend",
      "wasm",
      "--jobs",
      "1",
      "--preregister",
      prereg,
    );
    assert.equal(r.code, 0, r.stderr);
    const design = JSON.parse(await Deno.readTextFile(prereg));
    assert.deepEqual(design.rule, {
      kind: "sequential",
      name: design.rule.name,
      batch: 3,
      maxSeeds: 6,
      margin: 0.05,
    });
    assert.deepEqual(design.arms, [{
      name: "mge-clustering",
      query: "mge-clustering",
      sha256: null,
      options: {},
    }]);
    // The verdict recomputed from the records: mge-clustering − random per seed, up to the seeds it ran.
    const manifest = JSON.parse(await Deno.readTextFile(`${out}/manifest.json`));
    const pair = manifest.sequential.pairs[0];
    const diffs: number[] = [];
    for (let seed = 0; seed < pair.seeds; seed++) {
      diffs.push(
        await primary(`${out}/cells/repro/mge-clustering/seed-${seed}.json`) -
          await primary(`${out}/cells/repro/random/seed-${seed}.json`),
      );
    }
    const again = sequentialLooks(diffs, { alpha: 0.05, batch: 3, maxSeeds: 6, margin: 0.05 });
    assert.deepEqual(pair.looks, JSON.parse(JSON.stringify(again)));
    assert.equal(await exists(`${out}/cells/repro/random/seed-${pair.seeds}.json`), false);
    const html = await Deno.readTextFile(`${out}/index.html`);
    assert.match(
      html,
      /<h2>Sequential verdicts<\/h2>\n<ul id="sequential"><li>sequential: looks at 3, 6 seeds/,
    );
    assert.match(html, /id="preregistration">Pre-registered: the run followed the design in /);
    assert.match(r.stdout, /^sequential verdict, repro, mge-clustering: /m);
    // report --preregister: followed; then a design with another α is a departure, named.
    const report = (f: string) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `${ROOT}/src/cli/report.ts`, out, "--preregister", f],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
    const ok = await report(prereg);
    assert.equal(ok.code, 0, new TextDecoder().decode(ok.stderr));
    assert.match(new TextDecoder().decode(ok.stdout), /^Pre-registered: the run followed the design in /);
    await Deno.writeTextFile(`${tmp}/other.json`, JSON.stringify({ ...design, alpha: 0.01 }));
    const departs = await report(`${tmp}/other.json`);
    assert.equal(departs.code, 0);
    assert.match(
      new TextDecoder().decode(departs.stdout),
      /^Not pre-registered: the run departs from .*other\.json .* in 1 field: alpha: 0\.01 was registered, the run has 0\.05\./,
    );
    assert.match(await Deno.readTextFile(`${out}/index.html`), /id="preregistration">Not pre-registered/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
