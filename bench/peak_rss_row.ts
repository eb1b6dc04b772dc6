/**
 * One perf model row alone in this process, then its peak resident memory (issue #27.5), for the memory
 * columns of `deno task perf` (src/perf/memory.ts):
 *
 * `deno run --allow-read --allow-env --allow-ffi --allow-run=cat bench/peak_rss_row.ts --backend native --mode train --model densenet121 --px 224 --batch 10 --steps 1`
 *
 * Runs what bench/perf_models_bench.ts runs for the row's albench variant (src/perf/row.ts: one untimed step or
 * batch, then `--steps` more) and prints `{"peakRssKiB": n}` on stdout: this process's `VmHWM` from /proc/PID/status
 * (read by `cat`, since Deno reads /proc only with --allow-all).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { initBackend, isBackendName } from "../src/backend/backend.ts";
import { Rng } from "../src/rng.ts";
import { syntheticImages, syntheticLabels } from "../src/data/synthetic.ts";
import { buildBackbone } from "../src/model/backbones.ts";
import { isBackboneName } from "../src/model/names.ts";
import { withHead } from "../src/model/classifier.ts";
import { rowRunner } from "../src/perf/row.ts";
import { vmHwmKiB } from "../src/perf/memory.ts";

const fail = (msg: string): never => {
  console.error(`peak_rss_row: ${msg}`);
  Deno.exit(2);
};
let values;
try {
  values = parseArgs({
    args: Deno.args,
    options: {
      backend: { type: "string", default: "native" },
      mode: { type: "string", default: "train" },
      model: { type: "string", default: "densenet-cpu" },
      px: { type: "string", default: "32" },
      batch: { type: "string", default: "10" },
      steps: { type: "string", default: "1" },
    },
  }).values;
} catch (e) {
  fail(`${(e as Error).message} Flags: --backend --mode --model --px --batch --steps.`);
}
const { backend, mode, model } = values!;
const int = (name: string, v: string): number => {
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 1 && n <= 4096
    ? n
    : fail(`--${name} must be a whole number from 1 to 4096, got ${JSON.stringify(v)}`);
};
const px = int("px", values!.px), batch = int("batch", values!.batch), steps = int("steps", values!.steps);
if (!isBackendName(backend) || backend === "auto") {
  fail(`--backend: ${JSON.stringify(backend)} is not a concrete backend`);
}
if (mode !== "train" && mode !== "infer") fail(`--mode must be train or infer, got ${JSON.stringify(mode)}`);
if (!isBackboneName(model)) fail(`--model: ${JSON.stringify(model)} is not a backbone`);

await initBackend(backend as Parameters<typeof initBackend>[0]);
const n = batch * steps;
const images = syntheticImages({ size: n }, px), table = syntheticLabels({ size: n });
const rng = Rng.root(0);
const classifier = withHead(buildBackbone(model as Parameters<typeof buildBackbone>[0], px, rng), 17, rng);
const row = rowRunner(
  classifier,
  mode as "train",
  batch,
  images,
  table,
  Array.from({ length: n }, (_, k) => k),
);
await row.warmUp();
await row.run();
// Deno refuses to read /proc/self (or /proc/PID) without --allow-all; `cat` reads this process's status for it.
const status = await new Deno.Command("cat", { args: [`/proc/${Deno.pid}/status`], stdout: "piped" })
  .output();
if (!status.success) {
  fail(`cat /proc/${Deno.pid}/status failed (exit ${status.code}): peak memory is read on Linux only`);
}
console.log(JSON.stringify({ peakRssKiB: vmHwmKiB(new TextDecoder().decode(status.stdout)) }));
