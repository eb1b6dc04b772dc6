import assert from "node:assert/strict";
import { parseBenchFlags } from "../src/cli/bench.ts";
import { runDeno } from "./deno_run.ts";

Deno.test("bench flags: defaults and valid values", () => {
  const f = parseBenchFlags([]);
  assert.deepEqual(f.scenarios, ["scenarios/default.json"]);
  assert.equal(f.backend, "auto");
  const g = parseBenchFlags([
    "--scenario",
    "a.json",
    "--scenario",
    "b.json",
    "--seeds",
    "3",
    "--shard",
    "2/3",
  ]);
  assert.deepEqual(g.scenarios, ["a.json", "b.json"]);
  assert.equal(g.seeds, 3);
  assert.deepEqual(g.shard, { index: 2, count: 3 });
});

Deno.test("bench flags: each bad value names the flag and what is allowed", () => {
  assert.throws(() => parseBenchFlags(["--backend", "cuda"]), /--backend must be one of auto, .*got "cuda"/);
  assert.throws(
    () => parseBenchFlags(["--seeds", "0"]),
    /--seeds must be an integer from 1 to 1000 .*; got "0"/,
  );
  // Every number is bounded as the schema bounds it, and written as digits.
  assert.throws(
    () => parseBenchFlags(["--seeds", "5000"]),
    /--seeds must be an integer from 1 to 1000 \(the scenario schema's limit on seeds\); got "5000"/,
  );
  assert.throws(
    () => parseBenchFlags(["--seeds", "99999999999"]),
    /--seeds must be an integer from 1 to 1000/,
  );
  assert.throws(
    () => parseBenchFlags(["--seeds", "1e2"]),
    /--seeds must be an integer from 1 to 1000.*got "1e2"/,
  );
  assert.throws(
    () => parseBenchFlags(["--jobs", "100000"]),
    /--jobs must be an integer from 1 to 256; got "100000"/,
  );
  assert.throws(() => parseBenchFlags(["--out", "/"]), /--out "\/" is the file system's root/);
  assert.throws(() => parseBenchFlags(["--out", "///"]), /--out "\/\/\/" is the file system's root/);
  assert.throws(
    () => parseBenchFlags(["--seeds", "-5"]),
    /--seeds is followed by "-5", which looks like a flag: write --seeds=-5 if that is the value/,
  );
  assert.throws(() => parseBenchFlags(["--shard", "3/3"]), /--shard must be i\/n with 0 <= i < n/);
  assert.throws(
    () => parseBenchFlags(["--frobnicate"]),
    /Unknown option '--frobnicate'.*deno task bench --help/,
  );
  assert.throws(() => parseBenchFlags(["--out"]), {
    message: "Option '--out <value>' argument missing. Run `deno task bench --help` for the flags it takes.",
  });
});

function bench(...args: string[]) {
  return runDeno(["run", "--allow-read", "--allow-env", "src/cli/bench.ts", ...args]);
}

Deno.test("bench CLI: --help lists the flags and exits 0", async () => {
  const r = await bench("--help");
  assert.equal(r.code, 0);
  for (const flag of ["--scenario", "--backend", "--seeds", "--shard", "--print-env", "--out", "--data"]) {
    assert.ok(r.stdout.includes(flag), `help lacks ${flag}`);
  }
});

Deno.test("bench CLI: a bad flag is one line on stderr, no stack, exit 2", async () => {
  const r = await bench("--backend", "cuda");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error: --backend must be one of/);
  assert.ok(!r.stderr.includes("    at "), "no stack trace without --debug");
});

Deno.test("bench CLI: --print-env --backend cpu reports the backend", async () => {
  const r = await bench("--print-env", "--backend", "cpu");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^backend\s+cpu \(tfjs cpu 4\.22\.0\)/m);
});

Deno.test("bench CLI: an absent tensorflow backend fails with install instructions", async () => {
  const r = await bench("--print-env", "--backend", "tensorflow-gpu");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /tensorflow-gpu backend is not available/);
  assert.match(r.stderr, /deno install --allow-scripts=npm:@tensorflow\/tfjs-node-gpu/);
});

Deno.test("cli: --debug prints the error's stack and what it was made from (cause), outermost first", async () => {
  const { stackChain, UsageError } = await import("../src/cli/errors.ts");
  const inner = new Deno.errors.NotFound("no such file: /x/run.json");
  const outer = new UsageError("the results folder /x is unreadable", 1, { cause: inner });
  const text = stackChain(outer);
  assert.match(text, /^UsageError: the results folder \/x is unreadable\n/);
  assert.match(text, /\ncaused by: NotFound: no such file: \/x\/run\.json\n/);
  assert.ok(text.indexOf("UsageError") < text.indexOf("caused by"));
  assert.equal(outer.exitCode, 1);
});
