/**
 * Data, scenarios and results outside the clone (issue #29): the launcher grants a command exactly what its
 * arguments name, `--set` changes a scenario field (and its hash), and the Slurm example runs as written against
 * a folder outside the clone.
 */
import assert from "node:assert/strict";
import { commandScope, LAUNCHED, scenarioPaths } from "../src/cli/scope.ts";
import { childArgs } from "../src/cli/launch.ts";
import { applyOverrides, parseOverrides } from "../src/scenario/overrides.ts";
import { resolveScenarios, ScenarioError } from "../src/scenario/load.ts";
import { writeFolderFixture } from "./folder_fixture.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const text = (b: Uint8Array) => new TextDecoder().decode(b);

const ctx = (files: Record<string, unknown>) => ({
  cwd: "/p",
  project: "/p",
  readText: (p: string) => (p in files ? JSON.stringify(files[p]) : undefined),
});

Deno.test("scope: bench grants the scenario, its datasets (variants, --set), plug-in folders, --data, --out, --cache, --log-json", () => {
  const files = {
    "/s/x.json": {
      dataset: { kind: "folder", root: "/data/a", labels: "/labels/l.csv" },
      arms: [{ name: "r", query: "random" }, { name: "m", query: { module: "q/m.ts" } }],
      variants: [{
        name: "v",
        dataset: { root: "rel/b" },
        arms: [{ name: "p", query: { module: "/py/u.py" } }],
      }],
    },
  };
  const s = commandScope("bench", [
    "--scenario",
    "/s/x.json",
    "--data",
    "/d",
    "--out",
    "/r/run",
    "--cache",
    "/c",
    "--log-json",
    "/logs/l.jsonl",
    "--jobs",
    "2",
  ], ctx(files));
  assert.deepEqual(s.read, [
    "/p",
    "/s/x.json",
    "/data/a",
    "/labels/l.csv",
    "/s/q",
    "/py",
    "/d",
    "/r/run",
    "/c",
    "/logs/l.jsonl",
  ]);
  assert.deepEqual(s.write, ["/r/run", "/c", "/p/.cache/python-exchange", "/logs/l.jsonl"]);
  // A variant's root inside the project (rel/b) is readable as part of it: nothing more to grant.
  assert.ok(!s.read.includes("/p/rel/b"));
  // --set dataset.root replaces the file's root in what is granted, as in what runs.
  const set = commandScope(
    "bench",
    ["--scenario", "/s/x.json", "--set", "dataset.root=/elsewhere"],
    ctx(files),
  );
  assert.ok(set.read.includes("/elsewhere") && !set.read.includes("/data/a"), set.read.join(" "));
  // Defaults: the default scenario, reports/ and .cache/ (inside the project, so read already).
  const d = commandScope("bench", [], ctx({}));
  assert.deepEqual(d, { read: ["/p"], write: ["/p/reports", "/p/.cache"] });
});

Deno.test("scope: compare grants its modules' folders, plan writes nothing, report its folder, data its --out", () => {
  const c = commandScope("compare", ["/q/mine.ts", "b=../other/x.py", "uncertainty", "--out", "/o"], ctx({}));
  assert.deepEqual(c.read, ["/p", "/q", "/other", "/o"]);
  assert.deepEqual(c.write, ["/o", "/p/.cache"]);
  assert.deepEqual(commandScope("plan", ["--scenario", "/s.json", "--data", "/d"], ctx({})), {
    read: ["/p", "/s.json", "/d"],
    write: [],
  });
  assert.deepEqual(commandScope("report", ["/shared/run"], ctx({})), {
    read: ["/p", "/shared/run"],
    write: ["/shared/run", "/p/.cache"],
  });
  // A folder's run.json names its scenario files: report reads them (their text) and their datasets
  // (thumbnails), with the --set its run applied; --data and --cache as given.
  const held = ctx({
    "/shared/run/run.json": {
      scenarios: [{ id: "s", hash: "h", file: "/s/x.json", overrides: ["dataset.root=/d2"] }],
    },
    "/s/x.json": { dataset: { kind: "ucmerced", root: "/d1" } },
  });
  assert.deepEqual(commandScope("report", ["/shared/run", "--cache", "/c"], held), {
    read: ["/p", "/shared/run", "/s/x.json", "/d2", "/c"],
    write: ["/shared/run", "/c"],
  });
  assert.deepEqual(commandScope("data", ["ucmerced", "--out", "/data/ucm"], ctx({})).write, [
    "/p/.cache",
    "/data/ucm",
  ]);
  // An unreadable or broken scenario adds nothing (the command reports it).
  assert.deepEqual(scenarioPaths("/nope.json", [], ctx({})), []);
  assert.deepEqual(scenarioPaths("/s.json", [], { ...ctx({}), readText: () => "{not json" }), []);
});

Deno.test("launcher: the child's permissions are the scope's; a path with a comma is refused by name", () => {
  const a = childArgs("bench", ["--out", "/o"], { read: ["/p", "/o"], write: ["/o"] }, "/p");
  assert.deepEqual(a.slice(0, 7), [
    "run",
    "--no-prompt",
    "--frozen",
    "--cached-only",
    "--config=/p/deno.json",
    "--allow-read=/p,/o",
    "--allow-write=/o",
  ]);
  assert.ok(a.some((x) => x.startsWith("--allow-ffi=") && x.includes("libdnnl.so.2")));
  assert.ok(!a.some((x) => x === "--allow-write" || x === "--allow-all" || x === "-A"));
  assert.deepEqual(a.slice(-3), ["/p/src/cli/bench.ts", "--out", "/o"]);
  assert.equal(
    childArgs("plan", [], { read: ["/p"], write: [] }, "/p").some((x) => x.startsWith("--allow-write")),
    false,
  );
  // Every launched command: nothing unscoped but data's read (the archives it copies from, wherever they are).
  for (const c of LAUNCHED) {
    const args = childArgs(
      c,
      [],
      commandScope(c, [], { cwd: "/p", project: "/p", readText: () => undefined }),
      "/p",
    );
    for (const bad of ["-A", "--allow-all", "--allow-write", "--allow-run", "--allow-net", "--allow-ffi"]) {
      assert.ok(!args.includes(bad), `${c}: ${bad}`);
    }
    assert.equal(args.includes("--allow-read"), c === "data", `${c}: unscoped --allow-read`);
    assert.ok(args.includes("--no-prompt") && args.includes("--frozen") && args.includes("--cached-only"), c);
  }
  assert.throws(
    () => childArgs("bench", [], { read: ["/p", "/a,b"], write: [] }, "/p"),
    /^Error: the path \/a,b holds a comma, which a permission list cannot name/,
  );
});

const TINY = {
  name: "tiny",
  dataset: { kind: "synthetic", size: 210 },
  split: { val: 0.25, test: 0.25 },
  model: { backbone: "small-cnn" },
  al: { initial: 10, batch: 5, iterations: 2 },
  arms: [{ name: "random", query: "random" }],
};

Deno.test("--set: parsed as JSON or text, applied to every variant, validated, and the hash follows", () => {
  assert.deepEqual(parseOverrides(["a.b=[1,2]", "c=true", "d=x y"]).map((o) => o.value), [
    [1, 2],
    true,
    "x y",
  ]);
  assert.throws(() => parseOverrides(["=3"]), /needs the form path\.to\.field=value/);
  assert.throws(() => parseOverrides(["a.constructor.x=1"]), /"constructor" is not a field name/);
  assert.throws(() => parseOverrides(["variants.0.name=x"]), /variants are edited in the scenario file/);
  assert.throws(() => parseOverrides(["al.batch=1", "al.batch=2"]), /--set al\.batch is given twice/);
  assert.throws(() => applyOverrides({ arms: [] }, parseOverrides(["arms.3.name=x"])), /arms is a list of 0/);
  // Nothing reaches Object.prototype, whatever the path.
  applyOverrides({}, parseOverrides(["a.b=1"]));
  assert.equal(({} as Record<string, unknown>).b, undefined);

  const [plain] = resolveScenarios(TINY);
  const [set] = resolveScenarios(TINY, "scenario", ["al.iterations=3"]);
  assert.equal(set!.scenario.al.iterations, 3);
  assert.equal(set!.iterations, 3);
  assert.notEqual(set!.hash, plain!.hash);
  assert.deepEqual(set!.overrides, ["al.iterations=3"]);
  assert.equal(plain!.overrides, undefined);
  // Setting a field to its value is the same scenario (same hash): the hash is of what runs.
  assert.equal(resolveScenarios(TINY, "scenario", ["al.iterations=2"])[0]!.hash, plain!.hash);
  // A variant's own value does not win over --set.
  const withVariants = {
    ...TINY,
    variants: [{ name: "a" }, { name: "b", al: { iterations: 4 } }],
  };
  const vs = resolveScenarios(withVariants, "scenario", ["al.iterations=1"]);
  assert.deepEqual(vs.map((s) => s.scenario.al.iterations), [1, 1]);
  // A bad value is the schema's message, with the --set named.
  assert.throws(
    () => resolveScenarios(TINY, "s.json", ["al.iterations=0", "nope=1"]),
    (e: unknown) =>
      e instanceof ScenarioError &&
      /al\.iterations: Too small/.test(e.message) &&
      /unknown key "nope"/.test(e.message) &&
      e.message.endsWith("(with --set al.iterations=0, --set nope=1)"),
  );
});

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
