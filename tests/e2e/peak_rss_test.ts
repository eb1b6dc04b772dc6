/**
 * bench/peak_rss_row.ts (issue #27.5): a row alone in a fresh process reports its own peak resident memory, and
 * a row that holds more (DenseNet121 training, 7 M parameters with their gradients and momenta) reports more
 * than one that holds little (a small CNN's inference).
 */
import assert from "node:assert/strict";
import { parsePeakRss } from "../../src/perf/memory.ts";
import { nativeUnavailable } from "../native_available.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const backend = nativeUnavailable() === undefined ? "native" : "wasm";

async function peak(...args: string[]): Promise<{ code: number; mib?: number; stderr: string }> {
  const out = await new Deno.Command("deno", {
    args: [
      "run",
      "--no-prompt",
      "--allow-read",
      "--allow-env",
      "--allow-ffi",
      "--allow-run=cat",
      `${ROOT}bench/peak_rss_row.ts`,
      ...args,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) return { code: out.code, stderr };
  return { code: 0, mib: parsePeakRss(new TextDecoder().decode(out.stdout), "peak_rss_row"), stderr };
}

Deno.test(`peak_rss_row: a DenseNet121 training step holds more than a small CNN's inference (${backend})`, async () => {
  const small = await peak(
    "--backend",
    backend,
    "--mode",
    "infer",
    "--model",
    "small-cnn",
    "--px",
    "16",
    "--batch",
    "8",
  );
  const large = await peak(
    "--backend",
    backend,
    "--mode",
    "train",
    "--model",
    "densenet121",
    "--px",
    "64",
    "--batch",
    "10",
  );
  assert.equal(small.code, 0, small.stderr);
  assert.equal(large.code, 0, large.stderr);
  // DenseNet121's weights, gradients and momenta alone are 3 x 28 MB.
  assert.ok(
    large.mib! > small.mib! + 80,
    `densenet121 training ${large.mib} MiB, small-cnn inference ${small.mib} MiB`,
  );
});

Deno.test("peak_rss_row: bad flags are refused by name, exit 2", async () => {
  const a = await peak("--px", "0");
  assert.equal(a.code, 2);
  assert.match(a.stderr, /peak_rss_row: --px must be a whole number from 1 to 4096, got "0"/);
  const b = await peak("--mode", "fit");
  assert.equal(b.code, 2);
  assert.match(b.stderr, /peak_rss_row: --mode must be train or infer, got "fit"/);
  const c = await peak("--model", "resnet");
  assert.equal(c.code, 2);
  assert.match(c.stderr, /peak_rss_row: --model: "resnet" is not a backbone/);
});
