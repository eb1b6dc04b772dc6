/**
 * Data, scenarios and results outside the clone, end to end (issue #29): `plan`, `bench`, `compare` and
 * `report` through their tasks with everything in a temporary folder, and the Slurm and Kubernetes examples as
 * written. (The launcher's rules themselves are tested in tests/launch_test.ts.)
 */
import assert from "node:assert/strict";
import { writeFolderFixture } from "../folder_fixture.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const text = (b: Uint8Array) => new TextDecoder().decode(b);

const TINY = {
  name: "tiny",
  dataset: { kind: "synthetic", size: 210 },
  split: { val: 0.25, test: 0.25 },
  model: { backbone: "small-cnn" },
  al: { initial: 10, batch: 5, iterations: 2 },
  arms: [{ name: "random", query: "random" }],
};

/** `deno task NAME ...` from the repository root, as a user runs it. */
async function task(name: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", name, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** Every path under the project that git would show as new or changed. */
async function gitStatus(): Promise<string> {
  const out = await new Deno.Command("git", { args: ["status", "--porcelain"], cwd: ROOT, stdout: "piped" })
    .output();
  return text(out.stdout);
}

Deno.test("outside the clone: plan, bench, compare and report with the data, scenario, plug-in and results in a temporary folder", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "albench-outside-" });
  assert.ok(!tmp.startsWith(ROOT));
  const before = await gitStatus();
  try {
    await writeFolderFixture(`${tmp}/archive`, { n: 48, form: "list" });
    await Deno.mkdir(`${tmp}/plugins`);
    await Deno.writeTextFile(
      `${tmp}/plugins/first.ts`,
      `export default { name: "first", description: "the first b", optionSchema: {}, needs: [],
  select: (v: { unlabelled: { ids: readonly string[] }; budget: number }) => ({ selected: v.unlabelled.ids.slice(0, v.budget) }) };\n`,
    );
    const scenario = {
      name: "outside",
      dataset: { kind: "folder", root: `${tmp}/archive`, labels: "labels.csv", resolution: 16 },
      split: { val: 8, test: 8, pool: "rest" },
      model: { backbone: "small-cnn" },
      pretrain: { method: "none" },
      finetune: { epochs: 1, batchSize: 8, decayEpochs: [] },
      al: { initial: 8, batch: 4, iterations: 3 },
      arms: [{ name: "random", query: "random" }, {
        name: "first",
        query: { module: "../plugins/first.ts" },
      }],
      seeds: 1,
      backend: "wasm",
    };
    await Deno.mkdir(`${tmp}/scenarios`);
    const file = `${tmp}/scenarios/s.json`;
    await Deno.writeTextFile(file, JSON.stringify(scenario));

    const plan = await task("plan", ["--scenario", file, "--set", "al.iterations=1"]);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /scenario outside .*48 samples/);

    const out = `${tmp}/results/run`;
    const common = ["--cache", `${tmp}/cache`, "--jobs", "1", "--quiet"];
    const bench = await task("bench", [
      "--scenario",
      file,
      "--out",
      out,
      "--set",
      "al.iterations=1",
      ...common,
    ]);
    assert.equal(bench.code, 0, bench.stderr);
    assert.match(bench.stdout, new RegExp(`report: ${out}/index.html`));
    const version = JSON.parse(await Deno.readTextFile(`${out}/versions/outside.json`));
    assert.deepEqual(version.overrides, ["al.iterations=1"]);
    // The same folder with another --set is refused, naming both.
    const other = await task("bench", ["--scenario", file, "--out", out, ...common]);
    assert.equal(other.code, 1);
    assert.match(
      other.stderr,
      /The folder's run applied --set al\.iterations=1; this one applies no --set\./,
    );

    const cmp = await task("compare", [
      "uncertainty",
      "--scenario",
      file,
      "--out",
      `${tmp}/results/cmp`,
      "--set",
      "al.iterations=1",
      ...common,
    ]);
    assert.equal(cmp.code, 0, cmp.stderr);
    assert.match(cmp.stdout, /uncertainty/);

    const report = await task("report", [out]);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /merged 2 cells \(2 complete\)/);
    // Nothing a run wrote is anywhere in the project.
    assert.equal(await gitStatus(), before);

    // A --out that is a file is refused before anything is written, outside the clone as inside.
    const refused = await task("bench", ["--scenario", file, "--out", file, ...common]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /is a file; give --out a folder/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("the Slurm example runs as written: two array tasks on a folder outside the clone, then report", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "albench-slurm-" });
  try {
    const scenario = {
      ...TINY,
      name: "slurm",
      seeds: 2,
      pretrain: { method: "none" },
      finetune: { epochs: 1, batchSize: 10, decayEpochs: [] },
      al: { initial: 10, batch: 5, iterations: 1 },
      backend: "wasm",
    };
    const file = `${tmp}/s.json`;
    await Deno.writeTextFile(file, JSON.stringify(scenario));
    const out = `${tmp}/shared/albench/run`;
    for (const id of ["0", "1"]) {
      const r = await new Deno.Command("bash", {
        args: [`${ROOT}/examples/slurm_array.sh`, file, out],
        cwd: tmp,
        env: {
          NO_COLOR: "1",
          SLURM_SUBMIT_DIR: ROOT,
          SLURM_ARRAY_TASK_ID: id,
          SLURM_ARRAY_TASK_COUNT: "2",
          SLURM_ARRAY_TASK_MIN: "0",
          ALBENCH_BACKEND: "wasm",
          ALBENCH_CACHE: `${tmp}/shared/cache`,
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(r.code, 0, text(r.stderr));
      assert.match(text(r.stdout), new RegExp(`shard ${id}/2 done \\(1 cells\\)`));
    }
    const report = await task("report", [out]);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /merged 2 cells \(2 complete\)/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("the Kubernetes example's command runs as written, with its /data volume in a temporary folder", async () => {
  const yaml = await Deno.readTextFile(`${ROOT}/examples/k8s_indexed_job.yaml`);
  const list = /command: \[([^\]]*)\]/.exec(yaml)?.[1];
  assert.ok(list, "examples/k8s_indexed_job.yaml: no command: [...]");
  const command = [...list.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
  assert.deepEqual(command.slice(0, 4), ["deno", "task", "--quiet", "bench"]);
  const tmp = await Deno.makeTempDir({ prefix: "albench-k8s-" });
  try {
    const scenario = {
      ...TINY,
      name: "k8s",
      seeds: 2,
      pretrain: { method: "none" },
      finetune: { epochs: 1, batchSize: 10, decayEpochs: [] },
      al: { initial: 10, batch: 5, iterations: 1 },
      backend: "wasm",
    };
    await Deno.writeTextFile(`${tmp}/s.json`, JSON.stringify(scenario));
    // The pod's volume is /data; here it is the temporary folder, and the scenario a tiny one.
    const args = command.slice(1).map((a) =>
      a === "scenarios/paper/paper.json" ? `${tmp}/s.json` : a.replace(/^\/data\//, `${tmp}/data/`)
    );
    assert.ok(args.includes(`${tmp}/data/paper`) && args.includes(`${tmp}/data/cache`), args.join(" "));
    const r = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT,
      env: { NO_COLOR: "1", JOB_COMPLETION_INDEX: "1", ALBENCH_SHARD_COUNT: "2" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(r.code, 0, text(r.stderr));
    assert.match(text(r.stdout), /shard 1\/2 done \(1 cells\)/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
