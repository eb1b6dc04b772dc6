/**
 * The native engine end to end (issue #26, item 7): `bench --backend native` on the CI scenario (BYOL included)
 * with two jobs, the threads each job gets, bit-identical results on a second run into another folder, the
 * `--log-json` stream's content against the records, and a run killed mid-cell that resumes to the same digest.
 * Skipped, with the reason, where oneDNN does not load (`.ci/run` installs libdnnl2).
 */
import assert from "node:assert/strict";
import { nativeUnavailable } from "../native_available.ts";
import { ROOT, spawnBenchWith } from "./bench_cli.ts";
import { readAllCells } from "../../src/runner/store.ts";
import { resultDigest } from "../../src/report/digest.ts";
import { parseLogLines } from "../../src/records/log_events.ts";

const why = nativeUnavailable();

/** `bench` with every permission: the engine needs --allow-ffi. */
const spawnBench = (scenario: string, out: string, cache: string, ...extra: string[]) =>
  spawnBenchWith(["-A"], scenario, out, cache, extra);
const SCENARIO = `${ROOT}/scenarios/ci/repro.json`;

Deno.test({
  name: `native run: two jobs, bit-identical twice, the --log-json stream matches the records${
    why ? ` (skipped: ${why})` : ""
  }`,
  ignore: why !== undefined,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "albench-native-run-" });
    try {
      const log = `${tmp}/events.jsonl`;
      const a = await spawnBench(
        SCENARIO,
        `${tmp}/a`,
        `${tmp}/cache`,
        "--backend",
        "native",
        "--jobs",
        "2",
        "--log-json",
        log,
      );
      assert.equal(a.code, 0, a.stderr);
      const records = await readAllCells(`${tmp}/a`);
      assert.equal(records.length, 4);
      for (const r of records) {
        const env = r.environment as { backend: { name: string }; nativeThreadsPerJob?: number };
        assert.equal(env.backend.name, "native");
        // Two jobs share the two cores: one oneDNN thread each (on a machine with more, its share).
        assert.equal(env.nativeThreadsPerJob, Math.max(1, Math.floor(navigator.hardwareConcurrency / 2)));
        assert.ok(r.complete && r.pretrain, `${r.key}: complete, with its BYOL backbone`);
      }
      // The stream: the run's size, then a start naming 4 cells and 2 jobs, one iteration event per recorded round
      // with its scores, a cell-done per cell and a done at the end.
      // deno-lint-ignore no-explicit-any
      const events: any[] = parseLogLines(log, await Deno.readTextFile(log)); // each line validated
      assert.equal(events[0].type, "size");
      assert.match(events[0].lines[0], /^size: 4 cells, /);
      const start = events.find((e) => e.type === "start");
      assert.equal(start.cells, 4);
      assert.equal(start.jobs, 2);
      assert.equal(events.at(-1).type, "done");
      const done = events.filter((e) => e.type === "cell-done").map((e) => e.cell).sort();
      assert.deepEqual(done, records.map((r) => r.key).sort());
      for (const r of records) {
        const its = events.filter((e) => e.type === "iteration" && e.cell === r.key);
        assert.deepEqual(its.map((e) => e.iteration), r.iterations.map((i) => i.iteration));
        its.forEach((e, k) => assert.equal(e.macroF1, r.iterations[k]!.test.macroF1, `${r.key} round ${k}`));
      }
      // The same run again, into another folder, with the backbones cached: the same numbers, bit for bit.
      const b = await spawnBench(SCENARIO, `${tmp}/b`, `${tmp}/cache`, "--backend", "native", "--jobs", "2");
      assert.equal(b.code, 0, b.stderr);
      assert.equal(resultDigest(await readAllCells(`${tmp}/b`)), resultDigest(records));
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: `native run: killed mid-cell, a rerun resumes to the uninterrupted digest${
    why ? ` (skipped: ${why})` : ""
  }`,
  ignore: why !== undefined,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "albench-native-resume-" });
    try {
      const whole = await spawnBench(
        SCENARIO,
        `${tmp}/whole`,
        `${tmp}/cache`,
        "--backend",
        "native",
        "--jobs",
        "1",
      );
      assert.equal(whole.code, 0, whole.stderr);
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${ROOT}/src/cli/bench.ts`,
          "--scenario",
          SCENARIO,
          "--out",
          `${tmp}/cut`,
          "--cache",
          `${tmp}/cache`,
          "--backend",
          "native",
          "--jobs",
          "1",
          "--quiet",
        ],
        cwd: ROOT,
        stdout: "null",
        stderr: "null",
      }).spawn();
      let killed = false;
      for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
        await new Promise((r) => setTimeout(r, 50));
        const cells = await readAllCells(`${tmp}/cut`, () => {}).catch(() => []);
        if (cells.some((c) => !c.complete && c.iterations.length >= 1)) {
          child.kill("SIGKILL");
          killed = true;
          break;
        }
      }
      await child.status;
      assert.ok(killed, "the run finished before a cell was seen part-way");
      const rest = await spawnBench(
        SCENARIO,
        `${tmp}/cut`,
        `${tmp}/cache`,
        "--backend",
        "native",
        "--jobs",
        "1",
      );
      assert.equal(rest.code, 0, rest.stderr);
      assert.equal(
        resultDigest(await readAllCells(`${tmp}/cut`)),
        resultDigest(await readAllCells(`${tmp}/whole`)),
      );
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
