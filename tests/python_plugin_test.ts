/**
 * Python query plug-ins (src/plugin/python.ts): the cross-language check of the example ports against the
 * TypeScript built-ins, the conformance suite on Python plug-ins, the bridge's guarantees (no state between calls,
 * one process per plug-in, a plug-in's prints never reach the protocol, a time limit kills the call) and the
 * hostile cases of issue #28, each with its message.
 */
import assert from "node:assert/strict";
import { NO_PYTHON, PYTHON, PYTHON_SKLEARN } from "./python_available.ts";
import { loadQueryModule } from "../src/plugin/loader.ts";
import { conformanceChecks, syntheticView } from "../src/al/conformance.ts";
import { uncertainty } from "../src/al/query/uncertainty.ts";
import { gradientNorms } from "../src/al/query/gradient.ts";
import { checkQueryResult, type QueryFunction, type QueryInput } from "../src/al/query.ts";
import { Rng } from "../src/rng.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const TMP = await Deno.makeTempDir({ prefix: "albench-python-" });
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const ignore = !PYTHON;

let counter = 0;
/** A plug-in file with `body` in a folder of its own; returns its path. */
async function plugin(body: string, name = "q.py"): Promise<string> {
  const dir = `${TMP}/p${counter++}`;
  await Deno.mkdir(dir);
  await Deno.writeTextFile(`${dir}/${name}`, body);
  return `${dir}/${name}`;
}

function input(fn: QueryFunction, n: number, b: number, seed: number, c = 17, d = 16): QueryInput {
  return {
    unlabelled: syntheticView(n, c, d, seed),
    numClasses: c,
    featureDim: d,
    budget: b,
    rng: Rng.root(seed).fork("q"),
    options: { ...(fn.defaults ?? {}) },
  };
}

const FIRST_B = `
NEEDS = ["probs"]
def select(unlabelled, budget, *, labelled=None, seed=0, options=None):
    return unlabelled.ids[:budget]
`;

Deno.test(
  `python: uncertainty.py selects what the built-in uncertainty selects, with its scores${NO_PYTHON}`,
  {
    ignore,
  },
  async () => {
    const py = await loadQueryModule(`${ROOT}/scenarios/examples/uncertainty.py`, "/");
    assert.equal(py.name, "uncertainty");
    assert.deepEqual(py.needs, ["probs"]);
    for (const [n, b, seed] of [[300, 20, 1], [1000, 50, 2], [40, 40, 3], [17, 3, 4]] as const) {
      const inp = input(py, n, b, seed);
      const [p, t] = [await py.select(inp), await uncertainty.select(inp)];
      checkQueryResult(py.name, p, inp.unlabelled.ids, b);
      assert.deepEqual(p.selected, t.selected, `n=${n} b=${b}`);
      // NumPy's log and V8's may differ in the last bit: the scores agree to 1e-12 relative, not bit for bit.
      for (const id of inp.unlabelled.ids) {
        const [a, e] = [p.scores![id]!, t.scores![id]!];
        assert.ok(Math.abs(a - e) <= 1e-12 * Math.abs(e), `${id}: ${a} vs ${e}`);
      }
    }
  },
);

Deno.test(
  `python: mge_clustering.py scores as the built-in does and picks one most-uncertain sample per cluster${NO_PYTHON}`,
  { ignore: !PYTHON_SKLEARN },
  async () => {
    const py = await loadQueryModule(`${ROOT}/scenarios/examples/mge_clustering.py`, "/");
    assert.equal(py.name, "mge_clustering");
    assert.deepEqual(Object.keys(py.optionSchema!), ["m", "mFactor", "includeBias"]);
    for (const includeBias of [false, true]) {
      const inp = { ...input(py, 400, 10, 5, 17, 8), options: { mFactor: 10, includeBias } };
      const r = await py.select(inp);
      checkQueryResult(py.name, r, inp.unlabelled.ids, 10);
      const norms = gradientNorms(inp.unlabelled.probs, inp.unlabelled.features, 400, 17, 8, includeBias);
      inp.unlabelled.ids.forEach((id, i) => {
        assert.ok(Math.abs(r.scores![id]! - norms[i]!) <= 1e-12 * norms[i]!, `${id}`);
      });
      // Every pick is among the m = 100 most uncertain (k-means' clusters differ from the built-in's: see the
      // module's docstring), and the most uncertain sample of all is always picked (it leads its cluster).
      const order = [...norms.keys()].sort((x, y) => norms[y]! - norms[x]! || x - y);
      const top = new Set(order.slice(0, 100).map((i) => inp.unlabelled.ids[i]));
      for (const id of r.selected) assert.ok(top.has(id), `${id} is not a candidate`);
      assert.ok(r.selected.includes(inp.unlabelled.ids[order[0]!]!));
    }
  },
);

Deno.test(
  `python: the conformance suite passes on the Python examples${NO_PYTHON}`,
  { ignore },
  async (t) => {
    const examples = ["uncertainty.py", ...(PYTHON_SKLEARN ? ["mge_clustering.py"] : [])];
    for (const f of examples) {
      const fn = await loadQueryModule(`${ROOT}/scenarios/examples/${f}`, "/");
      for (const check of conformanceChecks(fn, { largeN: 20_000 })) {
        await t.step(
          `${f}: ${check.name}`,
          check.run,
        );
      }
    }
  },
);

Deno.test(`python: the conformance suite fails a Python plug-in that breaks the contract${NO_PYTHON}`, {
  ignore,
}, async () => {
  // Not deterministic for a seed: it draws from the operating system's randomness.
  const path = await plugin(`
import random
OPTIONS = {}
def select(unlabelled, budget, *, labelled=None, seed=0, options=None):
    return random.SystemRandom().sample(unlabelled.ids, budget)
`);
  const fn = await loadQueryModule(path, "/");
  const check = conformanceChecks(fn, { largeN: 1000 }).find((c) =>
    c.name === "is deterministic for a seed"
  )!;
  await assert.rejects(check.run, /q: two runs with one seed differ/);
});

Deno.test(`python: no state survives between calls, and one process serves them all${NO_PYTHON}`, {
  ignore,
}, async () => {
  const path = await plugin(`
import os
CALLS = [0]
with open(os.path.join(os.path.dirname(__file__), "imports.log"), "a") as f:
    f.write("imported\\n")
NEEDS = []
def select(unlabelled, budget, *, labelled=None, seed=0, options=None):
    CALLS[0] += 1
    open("left-behind.txt", "w").write("x")  # in the call's own working folder, removed after it
    assert not os.path.exists("seen-before.txt")
    open("seen-before.txt", "w").write("x")
    return unlabelled.ids[CALLS[0]:CALLS[0] + budget]
`);
  const fn = await loadQueryModule(path, "/");
  const picks = [];
  for (let k = 0; k < 4; k++) picks.push((await fn.select(input(fn, 20, 2, k))).selected.join());
  assert.deepEqual(picks, Array(4).fill("u1,u2"));
  // Loaded twice (as a run does) and called four times: imported once.
  await loadQueryModule(path, "/");
  assert.equal(await Deno.readTextFile(path.replace("q.py", "imports.log")), "imported\n");
});

Deno.test(`python: a plug-in's prints (Python's and the C library's) never corrupt its answer${NO_PYTHON}`, {
  ignore,
}, async () => {
  const path = await plugin(`
import os, sys
print("x" * 100 + "\\n" * 3 + "\\x7f", flush=True)
def select(unlabelled, budget, *, labelled=None, seed=0, options=None):
    print("noise " * 200000)
    os.write(1, b"\\x05\\x05\\x05\\x05{bad}\\n" * 1000)  # a frame's shape, but no NUL for CI logs
    sys.stdout.flush()
    sys.stderr.write("more " * 200000)
    return unlabelled.ids[-budget:]
`);
  const fn = await loadQueryModule(path, "/");
  const r = await fn.select(input(fn, 30, 3, 0));
  assert.deepEqual(r.selected, ["u27", "u28", "u29"]);
});

Deno.test(`python: options, needs and the labelled set reach the plug-in as declared${NO_PYTHON}`, {
  ignore,
}, async () => {
  const path = await plugin(`
"""Echo: picks by what it was given.

More help here."""
NEEDS = ["features", "labelled"]
OPTIONS = {"k": {"type": "integer", "default": 2, "minimum": 1, "description": "offset"}}
def select(unlabelled, budget, *, labelled=None, seed=0, options=None):
    assert unlabelled.probs is None
    assert unlabelled.features.shape == (len(unlabelled.ids), 16) and str(unlabelled.features.dtype) == "float32"
    unlabelled.features[0, 0] = 1.0  # writable, as a TypeScript function's arrays are
    assert labelled is not None and labelled.features.shape[0] == 5
    k = options["k"] + (seed % 2)
    return unlabelled.ids[k:k + budget]
`);
  const fn = await loadQueryModule(path, "/");
  assert.equal(fn.description, "Echo: picks by what it was given.");
  assert.match(fn.doc!, /More help here\./);
  assert.deepEqual(fn.needs, ["features"]);
  assert.equal(fn.needsLabelled, true);
  assert.deepEqual(fn.optionSchema, { k: { type: "integer", min: 1, default: 2, description: "offset" } });
  const rng = Rng.root(3).fork("q");
  const seed = rng.fork("x").seed();
  const r = await fn.select({
    ...input(fn, 30, 3, 0),
    labelled: syntheticView(5, 17, 16, 9, "l"),
    rng: Rng.root(3).fork("q").fork("x"),
    options: { k: 4 },
  });
  const k = 4 + (seed % 2);
  assert.deepEqual(r.selected, [`u${k}`, `u${k + 1}`, `u${k + 2}`]);
});

Deno.test(
  `python: a call abandoned at its time limit kills the process, and the next call starts a new one${NO_PYTHON}`,
  {
    ignore,
  },
  async () => {
    const path = await plugin(`
import time
NEEDS = []
def select(unlabelled, budget, *, labelled=None, seed=0, options=None):
    if budget == 1:
        while True:
            time.sleep(0.01)
    return unlabelled.ids[:budget]
`);
    const fn = await loadQueryModule(path, "/");
    const t0 = performance.now();
    await assert.rejects(
      Promise.resolve(fn.select({ ...input(fn, 10, 1, 0), signal: AbortSignal.timeout(500) })),
      /query plug-in q \(.*q\.py\): the call was abandoned \(time limit\), so its Python process was stopped/,
    );
    assert.ok(performance.now() - t0 < 5000);
    assert.deepEqual((await fn.select(input(fn, 10, 2, 0))).selected, ["u0", "u1"]);
  },
);

/** The message of loading `body` as a plug-in, or of its first select. */
async function failure(body: string, name = "q.py", n = 10, b = 2): Promise<string> {
  const path = await plugin(body, name);
  try {
    const fn = await loadQueryModule(path, "/");
    checkQueryResult(fn.name, await fn.select(input(fn, n, b, 0)), input(fn, n, b, 0).unlabelled.ids, b);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("no failure");
}

const SELECT = "def select(unlabelled, budget, *, labelled=None, seed=0, options=None):\n";

const HOSTILE: [string, string, RegExp][] = [
  ["a syntax error", `${SELECT}    return [\n`, /could not be loaded: SyntaxError: .*\n.*\n.*q\.py", line/s],
  [
    "a Python 2 file",
    `print "hello"\n${SELECT}    return []\n`,
    /SyntaxError: Missing parentheses in call to 'print'/,
  ],
  [
    "no select",
    "def choose(u, b):\n    return []\n",
    /could not be loaded: it defines no function select\(unlabelled, budget, \*, labelled=None, seed=0, options=None\); it defines choose/,
  ],
  [
    "floats returned",
    `${SELECT}    return [0.5, 1.5]\n`,
    /select returned float 0\.5 at position 0; ids are strings from unlabelled\.ids/,
  ],
  [
    "a NumPy array of ids",
    `import numpy as np\n${SELECT}    return np.array(unlabelled.ids[:budget])\n`,
    /select returned a numpy array \(<U\d+, shape \(2,\)\); return a list of id strings.*\.tolist\(\)/,
  ],
  ["None returned", `${SELECT}    pass\n`, /select returned None; return a list of id strings/],
  ["duplicate ids", `${SELECT}    return [unlabelled.ids[0]] * budget\n`, /selected "u0" twice/],
  [
    "an unknown id",
    `${SELECT}    return ["nope", unlabelled.ids[0]]\n`,
    /selected "nope", which is not unlabelled/,
  ],
  ["too few ids", `${SELECT}    return unlabelled.ids[:1]\n`, /selected 1 samples; it must select exactly 2/],
  [
    "too many ids",
    `${SELECT}    return unlabelled.ids[:5]\n`,
    /selected 5 samples; it must select exactly 2/,
  ],
  [
    "an exception",
    `def helper(x):\n    raise ValueError("bad pool " + str(x))\n${SELECT}    return helper(len(unlabelled.ids))\n`,
    /ValueError: bad pool 10\nPython traceback \(last lines\):\nTraceback .*q\.py", line 4, in select\n.*\n.*line 2, in helper\n.*\nValueError: bad pool 10/s,
  ],
  [
    "sys.exit in select",
    `import sys\n${SELECT}    sys.exit(3)\n`,
    /SystemExit: 3/,
  ],
  [
    "os._exit in select",
    `import os\n${SELECT}    os._exit(3)\n`,
    /the plug-in's process exited with code 3 during select, without an answer/,
  ],
  [
    "a crash (SIGSEGV) in select",
    `import ctypes\n${SELECT}    ctypes.string_at(0)\n`,
    /the plug-in's process was ended by signal SIGSEGV during select/,
  ],
  [
    "exiting at import",
    `import os\nos._exit(4)\n${SELECT}    return []\n`,
    /the Python process \(.*\) ended before answering: it exited with code 4/,
  ],
  [
    "NaN in its own scores",
    `import numpy as np\n${SELECT}    s = np.zeros(len(unlabelled.ids)); s[3] = np.nan\n    return {"selected": unlabelled.ids[:budget], "scores": s}\n`,
    /its scores\[3\] \(id "u3"\) is NaN; scores must be finite numbers/,
  ],
  [
    "a missing package",
    `import albench_no_such_package\n${SELECT}    return []\n`,
    /ModuleNotFoundError: No module named 'albench_no_such_package' \(the plug-in imports a package that the Python albench started, .*, does not have: install it there, or set ALBENCH_PYTHON/,
  ],
  [
    "an unknown need",
    `NEEDS = ["labels"]\n${SELECT}    return []\n`,
    /NEEDS names 'labels'; the model outputs are "probs" and "features"/,
  ],
  [
    "a malformed option",
    `OPTIONS = {"k": {"type": "int"}}\n${SELECT}    return []\n`,
    /OPTIONS\['k'\]\['type'\] is 'int'; it must be one of boolean, integer, number, string/,
  ],
];

for (const [what, body, expected] of HOSTILE) {
  Deno.test(`python hostile: ${what} fails with a message naming it${NO_PYTHON}`, { ignore }, async () => {
    assert.match(await failure(body), expected);
  });
}

Deno.test(
  `python hostile: an interpreter without NumPy, or none at all, fails at load with the fix${NO_PYTHON}`,
  {
    ignore,
  },
  async () => {
    const path = await plugin(FIRST_B);
    const noNumpy = `${TMP}/python-without-numpy`;
    // -S leaves out site-packages, where NumPy lives.
    await Deno.writeTextFile(noNumpy, `#!/bin/sh\nexec ${PYTHON} -S "$@"\n`);
    await Deno.chmod(noNumpy, 0o755);
    const before = Deno.env.get("ALBENCH_PYTHON")!;
    try {
      Deno.env.set("ALBENCH_PYTHON", noNumpy);
      await assert.rejects(
        loadQueryModule(path, "/"),
        /has no NumPy, which albench needs to hand a plug-in its arrays: install it \(apt-get install python3-numpy, or pip install numpy\) or set ALBENCH_PYTHON/,
      );
      Deno.env.set("ALBENCH_PYTHON", `${TMP}/no-such-python`);
      await assert.rejects(
        loadQueryModule(path, "/"),
        /no Python interpreter ".*no-such-python" was found \(ALBENCH_PYTHON\): install Python 3 with NumPy/,
      );
    } finally {
      Deno.env.set("ALBENCH_PYTHON", before);
    }
  },
);

/** `deno task query` on a Python plug-in, as a user runs it. */
async function queryCli(module: string, ...extra: string[]) {
  return await queryCliWith({}, module, ...extra);
}

async function queryCliWith(env: Record<string, string>, module: string, ...extra: string[]) {
  const inputFile = `${TMP}/input.json`;
  await Deno.writeTextFile(
    inputFile,
    JSON.stringify({
      ids: ["a", "b", "c", "d"],
      probs: [[0.9, 0.1], [0.5, 0.5], [0.6, 0.2], [0.99, 0.01]],
      features: [[1, 0], [0, 1], [1, 1], [2, 2]],
    }),
  );
  const child = new Deno.Command("deno", {
    args: ["task", "--quiet", "query", "--fn", module, "--input", inputFile, "--b", "2", ...extra],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const r = await child.output().finally(() => clearTimeout(timer));
  return { code: r.code, stdout: text(r.stdout), stderr: text(r.stderr) };
}

Deno.test(
  `python: deno task query runs a Python plug-in and prints only the selection on stdout${NO_PYTHON}`,
  {
    ignore,
  },
  async () => {
    const path = await plugin(
      `print("chatter on stdout")\n${FIRST_B.replace("[:budget]", "[1:1 + budget]")}`,
    );
    const r = await queryCli(path);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { selected: ["b", "c"] });
    assert.match(r.stderr, /chatter on stdout/);
    const help = await queryCli(`${ROOT}/scenarios/examples/uncertainty.py`, "--help");
    assert.equal(help.code, 0, help.stderr);
    assert.match(
      help.stdout,
      /^uncertainty: uncertainty in Python: the b samples with the highest mean binary entropy/,
    );
    assert.match(help.stdout, /reads \["probs"\]\n {2}\(no options\)/);
  },
);

Deno.test(
  `python hostile: a select that never returns is stopped at --timeout and leaves no process behind${NO_PYTHON}`,
  {
    ignore,
  },
  async () => {
    const marker = `albench-never-returns-${crypto.randomUUID()}`;
    const path = await plugin(`
import time
MARKER = "${marker}"
${SELECT}    while True:
        time.sleep(0.05)
`);
    const t0 = performance.now();
    const r = await queryCli(path, "--timeout", "2");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /query function q did not return within the time limit of 2 s \(--timeout\)/);
    assert.ok(performance.now() - t0 < 30_000);
    // The host saw its input close and ended the call's process with it.
    await new Promise((res) => setTimeout(res, 1000));
    const ps = text(
      (await new Deno.Command("ps", { args: ["-eo", "args"], stdout: "piped" }).output()).stdout,
    );
    assert.ok(!ps.split("\n").some((l) => l.includes(path)), `a process of ${path} is still running:\n${ps}`);
  },
);

Deno.test(
  `python: the example in docs/query-functions.md loads, passes the conformance suite and selects by margin${NO_PYTHON}`,
  {
    ignore,
  },
  async () => {
    const doc = await Deno.readTextFile(`${ROOT}/docs/query-functions.md`);
    const code = /## Writing one in Python[\s\S]*?```python\n([\s\S]*?)```/.exec(doc)![1]!;
    const path = await plugin(code, "margin.py");
    const fn = await loadQueryModule(path, "/");
    assert.equal(fn.name, "margin");
    assert.equal(fn.description, "Margin: the b samples whose most uncertain class is closest to 0.5.");
    for (const check of conformanceChecks(fn, { largeN: 20_000 })) await check.run();
    const inp = input(fn, 200, 7, 11);
    const c = 17, p = inp.unlabelled.probs;
    const margin = inp.unlabelled.ids.map((_, i) => {
      let m = Infinity;
      for (let j = 0; j < c; j++) m = Math.min(m, Math.abs(p[i * c + j]! - 0.5));
      return m;
    });
    const want = [...margin.keys()].sort((x, y) => margin[x]! - margin[y]! || x - y).slice(0, 7);
    assert.deepEqual((await fn.select(inp)).selected, want.map((i) => `u${i}`));
  },
);

Deno.test(
  `python hostile: ALBENCH_PYTHON outside the task's --allow-run names the way to allow it${NO_PYTHON}`,
  {
    ignore,
  },
  async () => {
    const r = await queryCliWith(
      { ALBENCH_PYTHON: "/opt/elsewhere/bin/python" },
      `${ROOT}/scenarios/examples/uncertainty.py`,
    );
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      /this command may not start \/opt\/elsewhere\/bin\/python: the tasks start Python only as python3 or \/usr\/bin\/python3 \(their --allow-run in deno.json\); to use ALBENCH_PYTHON=\/opt\/elsewhere\/bin\/python, run the task's command with deno run and --allow-run=\/opt\/elsewhere\/bin\/python/,
    );
  },
);

/** Processes whose command line names `path` (the plug-in's host and anything forked from it). */
async function processesOf(path: string): Promise<string[]> {
  const ps = text((await new Deno.Command("ps", { args: ["-eo", "args"], stdout: "piped" }).output()).stdout);
  return ps.split("\n").filter((l) => l.includes(path));
}

Deno.test(
  `python hostile: a plug-in that forks in select cannot answer twice or hold the call open${NO_PYTHON}`,
  {
    ignore,
  },
  async () => {
    const path = await plugin(`
import os, time
NEEDS = []
${SELECT}    if budget == 3 and os.fork() == 0:
        time.sleep(300)  # a grandchild that holds the answer pipe open
        os._exit(0)
    os.fork()  # both processes go on to answer
    return unlabelled.ids[:budget]
`);
    const fn = await loadQueryModule(path, "/");
    for (const [b, seed] of [[2, 0], [3, 1], [2, 2], [4, 3]] as const) {
      const inp = { ...input(fn, 10, b, seed), unlabelled: syntheticView(10, 17, 16, seed, `r${seed}_`) };
      const t0 = performance.now();
      assert.deepEqual((await fn.select(inp)).selected, inp.unlabelled.ids.slice(0, b));
      assert.ok(performance.now() - t0 < 5000, `call ${seed} waited for the process it forked`);
    }
    // Only the host is left: what the calls forked ended with them.
    assert.equal((await processesOf(path)).length, 1, (await processesOf(path)).join("\n"));
  },
);

Deno.test(`python hostile: subprocesses a call starts end with it${NO_PYTHON}`, { ignore }, async () => {
  const tag = `${3000 + Math.floor(Math.random() * 900)}.25`;
  const path = await plugin(`
import subprocess
NEEDS = []
${SELECT}    subprocess.Popen(["sleep", "${tag}"])
    return unlabelled.ids[:budget]
`);
  const fn = await loadQueryModule(path, "/");
  await fn.select(input(fn, 10, 2, 0));
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(await processesOf(`sleep ${tag}`), []);
});

Deno.test(
  `python hostile: an abandoned call, or a host killed by its plug-in, leaves no files behind${NO_PYTHON}`,
  {
    ignore,
  },
  async () => {
    const exchange = `${ROOT}/.cache/python-exchange`;
    const listing = async () => {
      const out: string[] = [];
      try {
        for await (const e of Deno.readDir(exchange)) out.push(e.name);
      } catch {
        // Not made yet.
      }
      return out.sort();
    };
    const before = await listing();
    const marker = `marker-${crypto.randomUUID()}`;
    const path = await plugin(`
import os, signal, time
${SELECT}    open("${marker}", "w").write("x")
    if budget == 1:
        os.kill(os.getppid(), signal.SIGKILL)
    while True:
        time.sleep(0.05)
`);
    const fn = await loadQueryModule(path, "/");
    // Features of 600 x 512 float32: more than 1 MiB, so they travel in an exchange file.
    const big = (b: number) => ({ ...input(fn, 600, b, 0, 17, 512) });
    await assert.rejects(
      Promise.resolve(fn.select({ ...big(2), signal: AbortSignal.timeout(1000) })),
      /the call was abandoned \(time limit\)/,
    );
    await assert.rejects(
      Promise.resolve(fn.select(big(1))),
      /ended before answering: it was ended by SIGKILL/,
    );
    await new Promise((r) => setTimeout(r, 2500));
    assert.deepEqual(await listing(), before);
    const found = text(
      (await new Deno.Command("find", {
        args: [exchange, "/tmp", "-name", marker],
        stdout: "piped",
        stderr: "null",
      })
        .output()).stdout,
    );
    assert.equal(found, "");
    assert.deepEqual(await processesOf(path), []);
  },
);

Deno.test(`python: multiprocessing's spawned workers can import the plug-in's own functions${NO_PYTHON}`, {
  ignore,
}, async () => {
  const path = await plugin(
    `
import multiprocessing as mp
NEEDS = []
def square(x):
    return x * x
${SELECT}    with mp.get_context("spawn").Pool(2) as pool:
        k = sum(pool.map(square, [1, 2]))  # 5
    return unlabelled.ids[k:k + budget]
`,
    "spawny.py",
  );
  const fn = await loadQueryModule(path, "/");
  assert.deepEqual((await fn.select(input(fn, 10, 2, 0))).selected, ["u5", "u6"]);
});

const MORE_HOSTILE: [string, string, RegExp][] = [
  [
    "an option whose minimum is above its maximum",
    `OPTIONS = {"k": {"type": "integer", "minimum": 10, "maximum": 1}}\n${SELECT}    return []\n`,
    /OPTIONS\['k'\]: minimum 10 is above maximum 1/,
  ],
  [
    "a default above its maximum",
    `OPTIONS = {"k": {"type": "integer", "default": 50, "maximum": 5}}\n${SELECT}    return []\n`,
    /OPTIONS\['k'\]\['default'\] is 50, above its maximum 5/,
  ],
  [
    "a default of the wrong type",
    `OPTIONS = {"k": {"type": "integer", "default": "five"}}\n${SELECT}    return []\n`,
    /OPTIONS\['k'\]\['default'\] is 'five', not an integer/,
  ],
  [
    "a NaN default",
    `OPTIONS = {"w": {"type": "number", "default": float("nan")}}\n${SELECT}    return []\n`,
    /OPTIONS\['w'\]\['default'\] is nan, not a number/,
  ],
  [
    "scores given as strings",
    `${SELECT}    return {"selected": unlabelled.ids[:budget], "scores": [str(i) for i in range(len(unlabelled.ids))]}\n`,
    /select's 'scores' hold <U\d values; give numbers, one per unlabelled sample/,
  ],
  [
    "scores of the wrong shape",
    `import numpy as np\n${SELECT}    return {"selected": unlabelled.ids[:budget], "scores": np.zeros((5, 2))}\n`,
    /select's 'scores' have shape \(5, 2\); give one number per unlabelled sample \(10,\)/,
  ],
  [
    "writing to the protocol's file descriptors",
    `import os\n${SELECT}    os.write(4, b"\\x03\\x00\\x00\\x00{{{")\n    return unlabelled.ids[:budget]\n`,
    /OSError: \[Errno 9\] Bad file descriptor/,
  ],
  [
    "an exception whose message cannot be read",
    `class Odd(Exception):\n    def __str__(self):\n        raise RuntimeError("no")\n${SELECT}    raise Odd()\n`,
    /Odd \(its message could not be read\)/,
  ],
  [
    "a plug-in named like a standard module",
    `${SELECT}    return unlabelled.ids[:budget]\n`,
    /^no failure$/,
  ],
];

for (const [what, body, expected] of MORE_HOSTILE) {
  Deno.test(`python hostile: ${what} is refused naming it${NO_PYTHON}`, { ignore }, async () => {
    const name = what.includes("standard module") ? "mmap.py" : "q.py";
    let message: string;
    try {
      message = await failure(body, name);
    } catch (e) {
      message = (e as Error).message;
    }
    assert.match(message, expected);
  });
}
