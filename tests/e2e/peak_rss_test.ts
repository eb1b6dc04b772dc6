/**
 * bench/peak_rss_row.ts (issue #27.5): a row alone in a fresh process reports its own peak resident memory, and
 * a row that holds more (DenseNet121 training, 7 M parameters with their gradients and momenta) reports more
 * than one that holds little (a small CNN's inference).
 */
import assert from "node:assert/strict";
import { albenchPeakRss, PEAK_RSS_ROW, PEAK_RSS_ROW_PERMISSIONS } from "../../src/perf/memory.ts";
import { nativeUnavailable } from "../native_available.ts";

const backend = nativeUnavailable() === undefined ? "native" : "wasm";

/** The script with bad flags: its exit code and stderr. */
async function refused(...args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command("deno", {
    args: ["run", ...PEAK_RSS_ROW_PERMISSIONS, PEAK_RSS_ROW, ...args],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test(`peak_rss_row: a DenseNet121 training step holds more than a small CNN's inference (${backend})`, async () => {
  const small = await albenchPeakRss(backend, {
    mode: "infer",
    backbone: "small-cnn",
    resolution: 16,
    batch: 8,
    steps: 1,
    n: 1,
  });
  const large = await albenchPeakRss(backend, {
    mode: "train",
    backbone: "densenet121",
    resolution: 64,
    batch: 10,
    steps: 1,
    n: 1,
  });
  // DenseNet121's weights, gradients and momenta alone are 3 x 28 MB.
  assert.ok(large > small + 80, `densenet121 training ${large} MiB, small-cnn inference ${small} MiB`);
});

Deno.test("peak_rss_row: bad flags are refused by name, exit 2", async () => {
  const a = await refused("--px", "0");
  assert.equal(a.code, 2);
  assert.match(a.stderr, /peak_rss_row: --px must be a whole number from 1 to 4096, got "0"/);
  const b = await refused("--mode", "fit");
  assert.equal(b.code, 2);
  assert.match(b.stderr, /peak_rss_row: --mode must be train or infer, got "fit"/);
  const c = await refused("--model", "resnet");
  assert.equal(c.code, 2);
  assert.match(c.stderr, /peak_rss_row: --model: "resnet" is not a backbone/);
});
