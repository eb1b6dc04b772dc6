/**
 * The BYOL linear probe measures features on images the backbone never saw (issue #31, item 1): each backbone is
 * probed on its own seed's validation images less any image of its pre-training archive. Before, every backbone
 * was probed on seed 0's validation set, which overlapped the other seeds' pools (their BYOL archives).
 */
import assert from "node:assert/strict";
import { runGrid } from "../src/runner/run.ts";
import { initBackend } from "../src/backend/backend.ts";
import { resolveScenarios } from "../src/scenario/load.ts";
import { readAllCells } from "../src/runner/store.ts";
import { planSeed } from "../src/data/plan.ts";
import { syntheticLabels } from "../src/data/synthetic.ts";
import { probeImages } from "../src/ssl/probe.ts";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("probe: each backbone is probed on its own seed's validation images, none of them in its BYOL archive", async () => {
  await initBackend("wasm");
  const repro = JSON.parse(await Deno.readTextFile(`${ROOT}/scenarios/ci/repro.json`));
  delete repro.$schema;
  const tmp = await Deno.makeTempDir({ prefix: "albench-probe-" });
  try {
    for (const archive of ["pool", "all"] as const) {
      const scenario = {
        ...repro,
        name: `probe-${archive}`,
        pretrain: { ...repro.pretrain, archive },
        al: { ...repro.al, iterations: 1 },
        arms: [{ name: "random", query: "random" }],
        seeds: 3,
      };
      const [s] = resolveScenarios(scenario, "probe.json");
      await runGrid({
        scenarios: [s!],
        out: `${tmp}/${archive}`,
        cacheDir: `${tmp}/cache`,
        backend: "wasm",
        jobs: 1,
        progress: { quiet: true },
        estimate: false,
      });
      const table = syntheticLabels({ size: 420 });
      const records = await readAllCells(`${tmp}/${archive}`);
      assert.equal(records.length, 3);
      for (const r of records) {
        const probe = r.pretrain!.probe;
        // Recomputed here from the plan: the seed's validation ids and its pool (the BYOL archive with "pool").
        const plan = planSeed(table, s!.scenario, r.seed);
        const val = new Set(plan.val.map((i) => table.ids[i]!));
        const archiveIds = new Set(archive === "pool" ? plan.pool.map((i) => table.ids[i]!) : table.ids);
        assert.deepEqual(new Set(r.split!.val.ids), val, "the record's validation ids are the plan's");
        if (archive === "pool") {
          assert.equal(probe.valSeed, r.seed, `seed ${r.seed}'s backbone probed on seed ${probe.valSeed}`);
          assert.equal(probe.heldOut, true);
          assert.equal(probe.images, val.size);
          assert.equal(
            [...val].filter((id) => archiveIds.has(id)).length,
            0,
            "a probe image was pre-trained on",
          );
        } else {
          // Every image is in the archive: the probe cannot be held out, and its record says so.
          assert.equal(probe.heldOut, false);
          assert.equal(probe.valSeed, 0);
          assert.equal(probe.images, plan.val.length);
        }
      }
      if (archive === "pool") {
        // Three seeds, three backbones, three different probe sets: before #31 all three used seed 0's.
        assert.equal(new Set(records.map((r) => r.pretrain!.key)).size, 3);
      }
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("probe: probeImages keeps the validation images outside the archive, in order", () => {
  assert.deepEqual(probeImages([9, 4, 7, 1], [4, 100]), { indices: [9, 7, 1], heldOut: true });
  assert.deepEqual(probeImages([3], [3]), { indices: [3], heldOut: false });
  assert.deepEqual(probeImages([], [3]), { indices: [], heldOut: false });
});
