/**
 * Issue #12, points 3 and 9: plug-ins run sandboxed and no run fetches anything or changes a tracked file; every
 * task's permissions are scoped. The commands are run through `deno task`, with the flags deno.json gives them.
 */
import assert from "node:assert/strict";
import { escapingLink, explainPluginError, pluginReadScope } from "../src/plugin/sandbox.ts";
import { loadQueryModule } from "../src/plugin/loader.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

/** `deno task NAME ARGS…` from the project root, as a user runs it. */
async function task(name: string, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--config", `${ROOT}/deno.json`, name, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  // `deno task` echoes the command on stderr first.
  const stderr = text(out.stderr).split("\n").filter((l) => !l.startsWith("Task ")).join("\n");
  return { code: out.code, stdout: text(out.stdout), stderr };
}

/** What a run must never change: the lockfile and the installed packages. */
async function snapshot() {
  const names = async (dir: string) =>
    (await Array.fromAsync(Deno.readDir(dir)).catch(() => [])).map((e) => e.name).sort().join("\n");
  return {
    lock: await Deno.readTextFile(`${ROOT}/deno.lock`),
    nodeModules: await names(`${ROOT}/node_modules`),
    installed: await names(`${ROOT}/node_modules/.deno`),
  };
}

/** Plug-ins that each try one thing a plug-in may not do, in `select` or at load, and the words that must say so. */
function hostile(dir: string): { name: string; body: string; atLoad?: boolean; expected: RegExp }[] {
  return [
    {
      name: "passwd",
      body: 'Deno.readTextFileSync("/etc/passwd");',
      expected: /sandbox refused read access to "\/etc\/passwd"/,
    },
    {
      name: "reports",
      body: `Deno.readDirSync(${JSON.stringify(`${ROOT}/reports`)});`,
      expected: /sandbox refused read access to ".*\/reports"/,
    },
    {
      name: "cells",
      body: `await import(${JSON.stringify(`${ROOT}/deno.json`)}, { with: { type: "json" } });`,
      expected: /sandbox refused read access to ".*\/deno\.json"/,
    },
    { name: "env", body: 'Deno.env.get("HOME");', expected: /sandbox refused env access to "HOME"/ },
    {
      name: "env-load",
      body: 'Deno.env.get("PATH");',
      atLoad: true,
      expected: /refused env access to "PATH"/,
    },
    {
      name: "write",
      body: `Deno.writeTextFileSync(${JSON.stringify(`${dir}/written.txt`)}, "x");`,
      expected: /sandbox refused write access to ".*written\.txt"/,
    },
    {
      name: "fetch",
      body: 'await fetch("https://example.com/");',
      expected: /refused net access to "example\.com/,
    },
    {
      name: "run",
      body: 'new Deno.Command("true").outputSync();',
      expected: /sandbox refused run access to "true"/,
    },
    {
      // Refused before the module is imported (its specifier is a string literal), though only select imports it.
      name: "npm",
      body: 'await import("npm:left-pad@1.3.0");',
      expected: /tried to import "npm:left-pad.*" that is not installed: runs never download anything/,
    },
    { name: "exit", body: "Deno.exit(3);", expected: /a query plug-in may not call Deno\.exit\(\)/ },
    {
      name: "close",
      body: "self.close(); await new Promise(() => {});",
      expected: /a query plug-in may not call close\(\)/,
    },
    {
      name: "later",
      body: 'setTimeout(() => { throw new Error("thrown later"); }, 10); await new Promise(() => {});',
      expected: /query plug-in later .*: thrown later/,
    },
    {
      name: "npm-load",
      body: 'await import("npm:left-pad@1.3.0");',
      atLoad: true,
      expected: /tried to import "npm:left-pad.*" that is not installed/,
    },
    // Storage and channels that need no permission: the Cache API persists across calls and processes,
    // BroadcastChannel and Web Locks reach the process's other threads.
    {
      name: "caches",
      body: 'await (await caches.open("x")).put("http://x/", new Response("1"));',
      expected:
        /a query plug-in may not use caches: no state may survive between calls or pass between plug-ins/,
    },
    {
      name: "caches-load",
      body: 'await caches.open("x");',
      atLoad: true,
      expected: /a query plug-in may not use caches/,
    },
    {
      name: "cache-class",
      body: "Object.getPrototypeOf(CacheStorage);",
      expected: /a query plug-in may not use CacheStorage/,
    },
    {
      name: "broadcast",
      body: 'new BroadcastChannel("albench").postMessage(1);',
      expected: /a query plug-in may not use BroadcastChannel/,
    },
    {
      name: "locks",
      body: 'await navigator.locks.request("albench", () => {});',
      expected: /a query plug-in may not use locks/,
    },
    { name: "kv", body: "await Deno.openKv();", expected: /a query plug-in may not use openKv/ },
    // albench's modules other than the three the sandbox runs on (docs/query-functions.md) are out of reach.
    {
      name: "albench",
      body: `await import(${JSON.stringify(`${ROOT}/src/al/query/random.ts`)});`,
      expected: /sandbox refused read access to ".*\/src\/al\/query\/random\.ts"/,
    },
  ];
}

async function writePlugins(dir: string) {
  const cases = hostile(dir);
  for (const c of cases) {
    await Deno.writeTextFile(
      `${dir}/${c.name}.ts`,
      `${
        c.atLoad ? c.body : ""
      }\nexport default { name: "${c.name}", description: "hostile", optionSchema: {}, ` +
        `needs: ["probs"], async select({ unlabelled, budget }) { ${c.atLoad ? "" : c.body} ` +
        "return { selected: unlabelled.ids.slice(0, budget) }; } };\n",
    );
  }
  await Deno.writeTextFile(
    `${dir}/fine.ts`,
    'export default { name: "fine", description: "first b", optionSchema: {}, needs: [], ' +
      "select: ({ unlabelled, budget }) => ({ selected: unlabelled.ids.slice(0, budget) }) };\n",
  );
  return cases;
}

Deno.test("sandbox: pluginReadScope is the plug-in's folder, or only the module where that would reach the project", () => {
  assert.deepEqual(pluginReadScope("/home/me/plugins/q.ts", "/home/me/albench"), ["/home/me/plugins"]);
  assert.deepEqual(pluginReadScope("/home/me/albench/q.ts", "/home/me/albench"), ["/home/me/albench/q.ts"]);
  assert.deepEqual(pluginReadScope("/home/me/q.ts", "/home/me/albench"), ["/home/me/q.ts"]);
  assert.deepEqual(pluginReadScope("/q.ts", "/home/me/albench"), ["/q.ts"]);
  assert.deepEqual(
    pluginReadScope("/home/me/albench/reports/x/q.ts", "/home/me/albench"),
    ["/home/me/albench/reports/x/q.ts"],
  );
  assert.deepEqual(pluginReadScope("/home/me/albench/.cache/q.ts", "/home/me/albench"), [
    "/home/me/albench/.cache/q.ts",
  ]);
  assert.deepEqual(pluginReadScope("/home/me/albench/scenarios/mine/q.ts", "/home/me/albench"), [
    "/home/me/albench/scenarios/mine",
  ]);
  assert.match(
    explainPluginError('Requires net access to "example.com:443", run again with the --allow-net flag', [
      "/p",
    ]),
    /^the plug-in sandbox refused net access to "example\.com:443": a query plug-in may read only \/p /,
  );
});

Deno.test("sandbox: deno.json scopes every task's permissions and freezes what runs resolve", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  // A frozen lockfile for every command (tests and `deno run` by hand too); worker permissions for the sandbox.
  assert.equal(config.lock?.frozen, true, "deno.json: lock.frozen");
  assert.ok(config.unstable?.includes("worker-options"), 'deno.json: unstable ["worker-options"]');
  // Read and environment stay unscoped only where the task reads what the user names anywhere, or where the
  // library reads variables we cannot list; everything else is scoped to the project and named variables.
  const unscopedReadOk = new Set([
    "query", // the --input file the user names; the plug-in itself is sandboxed
    "test-query", // the module the user names; the plug-in itself is sandboxed
  ]);
  const unscopedEnvOk = new Set([
    // debug@2.6.9, loaded by the @stdlib t-distribution functions the statistics use, lists every variable at
    // load (Object.keys(process.env)), which Deno allows only with unscoped --allow-env. albench itself reads only
    // the ALBENCH_*, SLURM_ARRAY_TASK_* and JOB_COMPLETION_INDEX variables, and plug-ins none (the sandbox).
    "bench-tf", // also @tensorflow/tfjs-node, which reads and sets libtensorflow's TF_* variables
  ]);
  // The launcher reads the scenario files it is given, to find the paths the command needs, and runs the
  // command in a child with exactly those (src/cli/scope.ts, tests/launch_test.ts): no other permission.
  const launched = ["bench", "compare", "plan", "report", "data"];
  for (const name of launched) {
    assert.equal(
      config.tasks[name],
      `deno run --no-prompt --frozen --cached-only --allow-read --allow-run=deno src/cli/launch.ts ${name}`,
      `${name}: the launcher`,
    );
  }
  for (const [name, command] of Object.entries(config.tasks as Record<string, string>)) {
    // `test` runs the suite, which starts local servers and spawns every CLI with the flags under test; `check`
    // runs fmt, lint and check, which take no permissions.
    if (name === "test" || name === "test-e2e" || name === "check" || launched.includes(name)) continue;
    for (const part of command.split("&&").map((p) => p.trim().split(/\s+/))) {
      if (part[0] !== "deno" || part[1] !== "run") continue;
      const flags = part.filter((t) => t.startsWith("-"));
      assert.ok(!flags.includes("-A") && !flags.includes("--allow-all"), `${name}: -A`);
      for (const f of ["--allow-write", "--allow-run", "--allow-net"]) {
        assert.ok(!flags.includes(f), `${name}: ${f} without a list of paths, programs or hosts`);
      }
      assert.ok(
        flags.includes("--frozen") && flags.includes("--cached-only"),
        `${name}: --frozen --cached-only`,
      );
      // A refused permission must be an error, never Deno's interactive prompt on a terminal.
      assert.ok(flags.includes("--no-prompt"), `${name}: --no-prompt`);
      if (!unscopedReadOk.has(name)) {
        assert.ok(!flags.includes("--allow-read"), `${name}: unscoped --allow-read`);
      }
      if (!unscopedEnvOk.has(name)) {
        assert.ok(!flags.includes("--allow-env"), `${name}: unscoped --allow-env`);
      }
    }
  }
});

Deno.test("sandbox: a query plug-in that reads, writes, fetches, runs or imports npm: fails `deno task query` naming the permission; nothing changes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-sandbox-" });
  const cases = await writePlugins(dir);
  const input = {
    ids: ["a", "b", "c"],
    probs: [[0.1, 0.9], [0.5, 0.5], [0.3, 0.2]],
    features: [[1], [0], [2]],
  };
  await Deno.writeTextFile(`${dir}/in.json`, JSON.stringify(input));
  const before = await snapshot();
  const ok = await task("query", "--fn", `${dir}/fine.ts`, "--input", `${dir}/in.json`, "--b", "2");
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout).selected, ["a", "b"]);
  // What a plug-in may do: import a helper module and read a file from its own folder.
  await Deno.mkdir(`${dir}/lib`);
  await Deno.writeTextFile(`${dir}/lib/order.json`, JSON.stringify(["c", "a", "b"]));
  await Deno.writeTextFile(
    `${dir}/lib/helper.ts`,
    'export const order = (): string[] => JSON.parse(Deno.readTextFileSync(new URL("./order.json", import.meta.url)));\n',
  );
  await Deno.writeTextFile(
    `${dir}/own.ts`,
    'import { order } from "./lib/helper.ts";\n' +
      'export default { name: "own", description: "reads its folder", optionSchema: {}, needs: [], ' +
      "select: ({ budget }) => ({ selected: order().slice(0, budget) }) };\n",
  );
  const own = await task("query", "--fn", `${dir}/own.ts`, "--input", `${dir}/in.json`, "--b", "2");
  assert.equal(own.code, 0, own.stderr);
  assert.deepEqual(JSON.parse(own.stdout).selected, ["c", "a"]);
  // A plug-in's console.log goes to stderr, so the selection on stdout stays parseable.
  await Deno.writeTextFile(
    `${dir}/chatty.ts`,
    'console.log("loading");\nexport default { name: "chatty", description: "prints", needs: [], ' +
      'select: ({ unlabelled, budget }) => { console.log("selecting"); return { selected: unlabelled.ids.slice(0, budget) }; } };\n',
  );
  const chatty = await task("query", "--fn", `${dir}/chatty.ts`, "--input", `${dir}/in.json`, "--b", "1");
  assert.equal(chatty.code, 0, chatty.stderr);
  assert.deepEqual(JSON.parse(chatty.stdout).selected, ["a"]);
  assert.match(chatty.stderr, /selecting/);
  for (const c of cases) {
    const r = await task("query", "--fn", `${dir}/${c.name}.ts`, "--input", `${dir}/in.json`, "--b", "2");
    assert.notEqual(r.code, 0, `${c.name}: exit 0`);
    assert.match(r.stderr, c.expected, c.name);
    assert.match(r.stderr, new RegExp(`${c.name}`), `${c.name}: the plug-in is named`);
    assert.equal(r.stdout, "", `${c.name}: printed a selection`);
  }
  assert.ok(!(await exists(`${dir}/written.txt`)), "a plug-in wrote a file");
  assert.deepEqual(await snapshot(), before, "deno.lock or node_modules changed");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("sandbox: a hostile plug-in fails its `deno task bench` cell naming the permission; a benign one runs; nothing changes", async () => {
  // Inside the project (the bench task reads only there), in .cache/ (ignored by git).
  await Deno.mkdir(`${ROOT}/.cache/tmp`, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: `${ROOT}/.cache/tmp`, prefix: "sandbox-" });
  const out = `reports/.sandbox-test-${dir.split("-").pop()}`;
  const cases = await writePlugins(dir);
  const s = JSON.parse(await Deno.readTextFile(`${ROOT}/scenarios/ci/repro.json`));
  delete s.$schema;
  s.pretrain = { method: "none" };
  s.seeds = 1;
  s.al.iterations = 1;
  const before = await snapshot();
  try {
    for (const name of ["fine", "passwd", "env-load", "npm-load", "write"]) {
      s.arms = [{ name: "random", query: "random" }, {
        name: `mine-${name}`,
        query: { module: `./${name}.ts` },
      }];
      await Deno.writeTextFile(`${dir}/s.json`, JSON.stringify(s));
      const r = await task("bench", "--scenario", `${dir}/s.json`, "--out", out, "--quiet", "--jobs", "1");
      if (name === "fine") {
        assert.equal(r.code, 0, r.stderr);
        const report = await task("report", out);
        assert.equal(report.code, 0, report.stderr);
      } else {
        const c = cases.find((c) => c.name === name)!;
        // Refused at load (exit 2) when the module does it on import; in the cell (exit 1) when `select` does.
        assert.equal(r.code, c.atLoad ? 2 : 1, r.stderr);
        assert.match(r.stderr, c.expected, name);
        if (!c.atLoad) {
          assert.match(r.stderr, new RegExp(`cell repro/mine-${name}/seed-0 .*failed in iteration 0`));
        }
      }
      await Deno.remove(`${ROOT}/${out}`, { recursive: true }).catch(() => {});
    }
    assert.ok(!(await exists(`${dir}/written.txt`)), "a plug-in wrote a file");
    assert.deepEqual(await snapshot(), before, "deno.lock or node_modules changed");
  } finally {
    await Deno.remove(`${ROOT}/${out}`, { recursive: true }).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sandbox: `deno task test-query` runs the suite in the sandbox and refuses a plug-in that reads the environment", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-sandbox-tq-" });
  await writePlugins(dir);
  const bad = await task("test-query", `${dir}/env-load.ts`);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(
    bad.stderr,
    /^error: query module .*env-load\.ts .*could not be loaded: the plug-in sandbox refused env access to "PATH"/m,
  );
  const select = await task("test-query", `${dir}/passwd.ts`);
  assert.equal(select.code, 1, select.stderr);
  assert.match(
    select.stdout,
    /FAILED {2}selects exactly b distinct unlabelled ids: .*refused read access to "\/etc\/passwd"/,
  );
  await Deno.remove(dir, { recursive: true });
});

/** `src/cli/bench.ts` run by hand with the project-only permissions the bench task had before its launcher. */
async function scopedBench(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      `--allow-read=${ROOT}`,
      "--allow-env",
      `--allow-write=${ROOT}/reports,${ROOT}/.cache`,
      "--allow-run=deno,python3,/usr/bin/python3",
      `${ROOT}/src/cli/bench.ts`,
      ...args,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("sandbox: a command refused a path outside its permissions says what a task grants and how to widen it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-outside-" });
  await Deno.writeTextFile(`${dir}/s.json`, "{}");
  const r = await scopedBench("--scenario", `${dir}/s.json`);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^error: the command may not read ".*s\.json": a task is granted only the project and what its arguments name .* with deno run, widen --allow-read/m,
  );
  assert.doesNotMatch(r.stderr, /run again with the --allow-read flag/);
  // A plug-in outside what the command may read: the sandbox cannot give it more than the command has.
  await Deno.writeTextFile(
    `${dir}/fine.ts`,
    'export default { name: "fine", description: "", needs: [], select: () => ({ selected: [] }) };\n',
  );
  await Deno.mkdir(`${ROOT}/.cache/tmp`, { recursive: true });
  const inside = await Deno.makeTempDir({ dir: `${ROOT}/.cache/tmp`, prefix: "sandbox-outside-" });
  const s = JSON.parse(await Deno.readTextFile(`${ROOT}/scenarios/ci/repro.json`));
  delete s.$schema;
  s.arms = [{ name: "random", query: "random" }, { name: "mine", query: { module: `${dir}/fine.ts` } }];
  await Deno.writeTextFile(`${inside}/s.json`, JSON.stringify(s));
  const p = await scopedBench(
    "--scenario",
    `${inside}/s.json`,
    "--out",
    "reports/.sandbox-outside",
    "--quiet",
  );
  assert.equal(p.code, 2, p.stderr);
  assert.match(p.stderr, /this command may not read .* \(the plug-in's folder\), so neither may the plug-in/);
  assert.ok(!(await exists(`${ROOT}/reports/.sandbox-outside`)), "a results folder was created");
  await Deno.remove(inside, { recursive: true });
  await Deno.remove(dir, { recursive: true });
});

const HAS_SCRIPT = (() => {
  try {
    return new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
})();

/** `deno task ARGS…` under a pseudo-terminal (util-linux `script`), as a person at a terminal runs it. */
async function onTerminal(args: string[], seconds = 120) {
  const quoted = args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const child = new Deno.Command("script", {
    args: ["-qec", `deno task --quiet ${quoted}`, "/dev/null"],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Nobody answers: a prompt would wait until the time limit.
  const timer = setTimeout(() => child.kill("SIGKILL"), seconds * 1000);
  const t0 = performance.now();
  const out = await child.output().finally(() => clearTimeout(timer));
  return {
    code: out.code,
    all: text(out.stdout) + text(out.stderr),
    seconds: (performance.now() - t0) / 1000,
  };
}

Deno.test({
  name: `sandbox: on a terminal a refused permission is an error, never a prompt (query, compare, bench)${
    HAS_SCRIPT ? "" : " [ignored: no util-linux script for a pseudo-terminal]"
  }`,
  ignore: !HAS_SCRIPT,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "albench-tty-" });
    const inside = `${ROOT}/.cache/tty-test-${crypto.randomUUID()}`;
    await Deno.mkdir(inside, { recursive: true });
    try {
      // Reads /etc/passwd when selecting (query) and, in the second form, when it loads (compare, bench).
      const body = (atLoad: boolean) =>
        `${atLoad ? 'Deno.readTextFileSync("/etc/passwd");\n' : ""}export default { name: "peek", ` +
        'description: "reads /etc/passwd", needs: [], optionSchema: {}, async select({ unlabelled, budget }) {\n' +
        '  await Deno.readTextFile("/etc/passwd");\n  return { selected: unlabelled.ids.slice(0, budget) };\n} };\n';
      await Deno.writeTextFile(`${dir}/peek.ts`, body(false));
      await Deno.writeTextFile(`${dir}/peek_load.ts`, body(true));
      await Deno.writeTextFile(
        `${dir}/in.json`,
        JSON.stringify({ ids: ["a", "b"], probs: [[0.1], [0.9]], features: [[1], [2]] }),
      );
      const s = JSON.parse(await Deno.readTextFile(`${ROOT}/scenarios/ci/repro.json`));
      delete s.$schema;
      s.arms = [{ name: "random", query: "random" }, { name: "peek", query: { module: "./peek_load.ts" } }];
      await Deno.copyFile(`${dir}/peek_load.ts`, `${inside}/peek_load.ts`);
      await Deno.writeTextFile(`${inside}/s.json`, JSON.stringify(s));
      const runs = [
        await onTerminal(["query", "--fn", `${dir}/peek.ts`, "--input", `${dir}/in.json`, "--b", "1"]),
        await onTerminal(["compare", `${dir}/peek_load.ts`, "--out", `${inside}/out-compare`]),
        await onTerminal(["bench", "--scenario", `${inside}/s.json`, "--out", `${inside}/out-bench`]),
      ];
      for (const r of runs) {
        assert.doesNotMatch(r.all, /Allow\?|Deno requests/, r.all);
        assert.notEqual(r.code, 0, r.all);
        assert.match(r.all, /the plug-in sandbox refused read access to "\/etc\/passwd"/, r.all);
        assert.ok(r.seconds < 100, `took ${r.seconds} s`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(inside, { recursive: true });
    }
  },
});

Deno.test("sandbox: a link in a plug-in's folder that leads out of it refuses the plug-in, at load and at each call; links inside are fine", async () => {
  const FINE = 'export default { name: "fine", description: "first b", optionSchema: {}, needs: [], ' +
    "select: ({ unlabelled, budget }) => ({ selected: unlabelled.ids.slice(0, budget) }) };\n";
  const outside = await Deno.makeTempDir({ prefix: "albench-outside-" });
  await Deno.writeTextFile(`${outside}/secret.txt`, "x");
  for (
    const [what, make] of [
      ["a file link", (d: string) => Deno.symlink("/etc/passwd", `${d}/pw`)],
      ["a folder link", (d: string) => Deno.symlink(outside, `${d}/out`)],
      ["a relative link, deep down", async (d: string) => {
        await Deno.mkdir(`${d}/a/b`, { recursive: true });
        await Deno.symlink(`../../../${outside.split("/").pop()}/secret.txt`, `${d}/a/b/s`);
      }],
    ] as [string, (d: string) => Promise<void>][]
  ) {
    const dir = await Deno.makeTempDir({ prefix: "albench-links-" });
    await Deno.writeTextFile(`${dir}/q.ts`, FINE);
    // Links that stay inside the folder are allowed.
    await Deno.symlink(`${dir}/q.ts`, `${dir}/alias.ts`);
    const fn = await loadQueryModule(`${dir}/q.ts`, "/");
    await make(dir);
    const call = () =>
      Promise.resolve(fn.select({
        unlabelled: { ids: ["a", "b"], probs: new Float32Array(0), features: new Float32Array(0) },
        numClasses: 1,
        featureDim: 1,
        budget: 1,
        rng: { state: () => ({ path: "x", alea: { c: 1, s0: 0.1, s1: 0.2, s2: 0.3 } }) } as never,
        options: {},
      }));
    await assert.rejects(
      call,
      /is a link to .*, outside the plug-in's folder .*: a plug-in may read only its own folder/,
      what,
    );
    await assert.rejects(
      loadQueryModule(`${dir}/q.ts`, "/"),
      /could not be loaded: .* is a link to .*, outside the plug-in's folder/,
      what,
    );
    await Deno.remove(dir, { recursive: true });
  }
  await Deno.remove(outside, { recursive: true });
  // A folder too large to check is refused, not read unchecked.
  const many = {
    readDir: (d: string) =>
      d === "/p"
        ? Array.from({ length: 10_001 }, (_, i) => ({ name: `f${i}`, isDirectory: false, isSymlink: false }))
        : [],
    realPath: (p: string) => p,
  };
  assert.match(escapingLink(["/p"], many)!, /holds more than 10000 entries, too many to check/);
});

Deno.test("sandbox: a plug-in is described once per version and process; an edited one is loaded again", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-memo-" });
  const text = (name: string) =>
    `export default { name: "${name}", description: "first b", optionSchema: {}, needs: [], ` +
    "select: ({ unlabelled, budget }) => ({ selected: unlabelled.ids.slice(0, budget) }) };\n";
  try {
    await Deno.writeTextFile(`${dir}/q.ts`, text("one"));
    const a = await loadQueryModule(`${dir}/q.ts`, "/");
    const b = await loadQueryModule("q.ts", dir);
    assert.equal(a, b, "the same plug-in version was described twice");
    await Deno.writeTextFile(`${dir}/q.ts`, text("two"));
    const c = await loadQueryModule(`${dir}/q.ts`, "/");
    assert.notEqual(c, a);
    assert.equal(c.name, "two");
    // A helper file added to the folder is a new version too.
    await Deno.writeTextFile(`${dir}/helper.ts`, "export const h = 1;\n");
    assert.notEqual(await loadQueryModule(`${dir}/q.ts`, "/"), c);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
