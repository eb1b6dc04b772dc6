/**
 * The documentation's commands run as written (slow: each spawns what a reader would type).
 */
import assert from "node:assert/strict";

const ROOT = new URL("../..", import.meta.url).pathname;

Deno.test("docs: the data benchmark runs as docs/datasets.md writes it (issue #29)", async () => {
  const text = await Deno.readTextFile(`${ROOT}/docs/datasets.md`);
  const command = /`(deno bench [^`]*bench\/data_bench\.ts)`/.exec(text)?.[1];
  assert.ok(command, "docs/datasets.md names no deno bench command for bench/data_bench.ts");
  const [exe, ...args] = command.split(" ");
  assert.equal(exe, "deno");
  // Only the synthetic benchmarks (no UCMerced copy here): they need the same permissions.
  const o = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { ALBENCH_UCMERCED: "/nonexistent", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr);
  assert.equal(o.code, 0, out);
  assert.match(out, /synthetic: 2100 images at 32 px/);
});
