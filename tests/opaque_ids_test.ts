import assert from "node:assert/strict";
import { opaqueIds } from "../src/al/opaque_ids.ts";
import { syntheticLabels } from "../src/data/synthetic.ts";

Deno.test("opaque ids: distinct over 200,000 ids, carrying no part of the id, stable per seed", () => {
  const ids = Array.from({ length: 200_000 }, (_, i) => `tenniscourt${String(i).padStart(6, "0")}`);
  const a = opaqueIds(ids, 7);
  assert.equal(new Set(a).size, ids.length);
  for (const o of a.slice(0, 1000)) {
    assert.match(o, /^s[0-9a-f]{16}$/);
    assert.ok(!o.includes("tennis") && !o.includes("court"));
  }
  assert.deepEqual(opaqueIds(ids.slice(0, 50), 7), a.slice(0, 50));
  // Another seed changes every token; so does one character of the id.
  const b = opaqueIds(ids.slice(0, 1000), 8);
  assert.ok(b.every((o, i) => o !== a[i]));
  assert.notEqual(opaqueIds(["airplane00"], 7)[0], opaqueIds(["airplane01"], 7)[0]);
  // Seeds beyond 2^32 are keyed too.
  assert.notEqual(opaqueIds(["x"], 2 ** 32)[0], opaqueIds(["x"], 0)[0]);
});

Deno.test("opaque ids: a token tells nothing of the class its id names (first hex digits spread evenly per class)", () => {
  const table = syntheticLabels({ size: 2100 });
  const c = table.classNames.length;
  for (const seed of [0, 1, 2, 99]) {
    const o = opaqueIds(table.ids, seed);
    assert.equal(new Set(o).size, table.ids.length);
    // Ids name the scene (airplane00, …): group tokens by that name and check no name shows in its tokens'
    // leading digit. With 100 ids a scene, each of 16 digits is expected ~6 times; 25 would be a clear tell.
    const byScene = new Map<string, Map<string, number>>();
    table.ids.forEach((id, i) => {
      const scene = id.replace(/\d+$/, "");
      const counts = byScene.get(scene) ?? new Map<string, number>();
      counts.set(o[i]![1]!, (counts.get(o[i]![1]!) ?? 0) + 1);
      byScene.set(scene, counts);
    });
    for (const [scene, counts] of byScene) {
      assert.ok(Math.max(...counts.values()) < 25, `${scene}, seed ${seed}: ${JSON.stringify([...counts])}`);
    }
    assert.ok(byScene.size > 1 && c > 1);
  }
});
