/**
 * Data, scenarios and results outside the clone (issue #29): the launcher grants a command exactly what its
 * arguments name, and `--set` changes a scenario field (and its hash). The runs through the tasks, the Slurm and
 * the Kubernetes examples are in tests/e2e/launch_e2e_test.ts.
 */
import assert from "node:assert/strict";
import { commandScope, LAUNCHED, scenarioPaths } from "../src/cli/scope.ts";
import { childArgs } from "../src/cli/launch.ts";
import { applyOverrides, parseOverrides } from "../src/scenario/overrides.ts";
import { resolveScenarios, ScenarioError } from "../src/scenario/load.ts";

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

Deno.test("scope: bench --preregister FILE may create FILE once (through FILE.partial); report --preregister only reads it", () => {
  const files = { "/s/x.json": { dataset: { kind: "synthetic" }, arms: [{ name: "r", query: "random" }] } };
  const b = commandScope(
    "bench",
    ["--scenario", "/s/x.json", "--out", "/r", "--preregister", "/reg/p.json"],
    ctx(files),
  );
  assert.ok(b.read.includes("/reg/p.json"));
  assert.deepEqual(b.write.filter((p) => p.startsWith("/reg")), ["/reg/p.json", "/reg/p.json.partial"]);
  const r = commandScope("report", ["/r", "--preregister", "/reg/p.json"], ctx(files));
  assert.ok(r.read.includes("/reg/p.json"));
  assert.ok(!r.write.some((p) => p.startsWith("/reg")), `report may write ${r.write}`);
});
