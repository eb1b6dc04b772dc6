/**
 * Recompute the held-out BYOL linear probe of a committed reference run's backbones (issue #31, item 1): for each
 * cell of one arm, rebuild (or find in the cache) the backbone its record names, probe it on its own seed's
 * validation images less its pre-training archive, and write one CSV row per backbone with how the rebuilt
 * backbone compares with the recorded one (same cache key; largest difference of the per-epoch BYOL losses) and
 * the probe's scores. Resumable: backbones and probes stay in the cache.
 *
 *   deno run -A bench/reprobe.ts SCENARIO.json RESULTS_DIR OUT.csv [--arm random] [--backend native]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { initBackend, isBackendName } from "../src/backend/backend.ts";
import { RunContext } from "../src/runner/cells.ts";
import { loadScenarioFile } from "../src/scenario/load.ts";
import { readAllCells } from "../src/runner/store.ts";
import { writeFileAtomic } from "../src/atomic_write.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: { arm: { type: "string", default: "random" }, backend: { type: "string", default: "native" } },
  allowPositionals: true,
});
if (positionals.length !== 3 || !isBackendName(values.backend!)) {
  console.error(
    "usage: deno run -A bench/reprobe.ts SCENARIO.json RESULTS_DIR OUT.csv [--arm A] [--backend B]",
  );
  Deno.exit(2);
}
const [scenarioFile, folder, outCsv] = positionals as [string, string, string];
const info = await initBackend(values.backend as "native");
const scenarios = await loadScenarioFile(scenarioFile);
const records = (await readAllCells(folder)).filter((r) => r.arm === values.arm && r.pretrain)
  .sort((a, b) => (a.scenario < b.scenario ? -1 : a.scenario > b.scenario ? 1 : a.seed - b.seed));
const ctx = new RunContext({
  cacheDir: ".cache",
  backendName: info.name,
  environment: {},
  emit: (e) => {
    if (e.type === "message" || e.type === "pretrain-start") console.error(JSON.stringify(e));
  },
});
const header = [
  "scenario",
  "seed",
  "key",
  "same_key",
  "max_loss_diff",
  "recorded_random_init_map",
  "recorded_pretrained_map",
  "probe_images",
  "held_out",
  "random_init_map",
  "pretrained_map",
  "lift_map",
  "random_init_macro_f1",
  "pretrained_macro_f1",
];
const rows: string[] = [header.join(",")];
const t0 = performance.now();
for (const [k, r] of records.entries()) {
  const s = scenarios.find((x) => x.id === r.scenario);
  if (!s) throw new Error(`${r.scenario} is not a scenario of ${scenarioFile}`);
  if (s.hash !== r.scenarioHash) throw new Error(`${r.scenario}: ${scenarioFile} changed since the run`);
  const p = (await ctx.ensurePretrained(s, r.seed))!;
  const was = r.pretrain!;
  const diff = Math.max(...p.losses.map((l, i) => Math.abs(l - (was.losses[i] ?? NaN))));
  rows.push([
    r.scenario,
    r.seed,
    p.key.slice(0, 16),
    p.key === was.key,
    diff.toExponential(3),
    was.probe.randomInitMap.toFixed(4),
    was.probe.pretrainedMap.toFixed(4),
    p.probe.images,
    p.probe.heldOut,
    p.probe.randomInitMap.toFixed(4),
    p.probe.pretrainedMap.toFixed(4),
    (p.probe.pretrainedMap - p.probe.randomInitMap).toFixed(4),
    p.probe.randomInitMacroF1.toFixed(4),
    p.probe.pretrainedMacroF1.toFixed(4),
  ].join(","));
  await writeFileAtomic(outCsv, rows.join("\n") + "\n");
  console.error(
    `${k + 1}/${records.length} ${r.scenario} seed ${r.seed}: lift ${
      (p.probe.pretrainedMap - p.probe.randomInitMap).toFixed(3)
    } (loss diff ${diff.toExponential(2)}), ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
}
