import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { classCounts, validateLabelTable } from "../src/data/dataset.ts";
import { SCENES, syntheticImages, syntheticLabels, UCMERCED_CLASSES } from "../src/data/synthetic.ts";
import { resizeArea } from "../src/data/resize.ts";

const table = syntheticLabels();
const col = (name: string) => UCMERCED_CLASSES.indexOf(name as never);

Deno.test("synthetic: 2100 images, 17 UCMerced classes, ids like UCMerced's, valid table", () => {
  validateLabelTable(table);
  assert.equal(table.ids.length, 2100);
  assert.deepEqual(table.classNames, [...UCMERCED_CLASSES]);
  assert.equal(table.ids[0], "agricultural00");
  assert.equal(table.ids[2099], "tenniscourt99");
  assert.equal(SCENES.length, 21);
});

Deno.test("synthetic: long-tailed positives (about 100 to 1300), about 3 labels per image, none empty", () => {
  const counts = classCounts(table);
  assert.ok(Math.min(...counts) >= 80 && Math.min(...counts) <= 130, `min ${Math.min(...counts)}: ${counts}`);
  assert.ok(
    Math.max(...counts) >= 1000 && Math.max(...counts) <= 1400,
    `max ${Math.max(...counts)}: ${counts}`,
  );
  const total = counts.reduce((a, b) => a + b, 0);
  assert.ok(total / 2100 > 2.6 && total / 2100 < 3.8, `mean labels ${total / 2100}`);
  for (let i = 0; i < 2100; i++) {
    assert.ok(
      table.labels.subarray(i * 17, i * 17 + 17).some((v) => v === 1),
      `${table.ids[i]} has no label`,
    );
  }
});

Deno.test("synthetic: dock and ship co-occur almost always, as in UCMerced", () => {
  // P(ship | dock) = 0.98 by construction; over five generator seeds the realised rate is within sampling error.
  let dock = 0, both = 0, shipWithoutDock = 0;
  for (const seed of [0, 1, 2, 3, 4]) {
    const t = seed === 0 ? table : syntheticLabels({ seed });
    for (let i = 0; i < 2100; i++) {
      const d = t.labels[i * 17 + col("dock")]!, s = t.labels[i * 17 + col("ship")]!;
      dock += d;
      both += d & s;
      shipWithoutDock += s & (1 - d);
    }
  }
  assert.ok(both / dock >= 0.95, `${both}/${dock}`);
  assert.equal(shipWithoutDock, 0);
});

Deno.test("synthetic: labels and pixels are a pure function of (seed, index)", () => {
  const small = syntheticImages({ size: 21 }, 16), large = syntheticImages({ size: 42 }, 16);
  const px = 16 * 16 * 3;
  assert.deepEqual(small.pixels.subarray(5 * px, 6 * px), large.pixels.subarray(5 * px, 6 * px));
  const other = syntheticImages({ size: 21, seed: 1 }, 16);
  assert.notDeepEqual(other.pixels.subarray(0, px), small.pixels.subarray(0, px));
  assert.deepEqual(syntheticLabels({ size: 21 }).labels, table.labels.subarray(0, 21 * 17));
});

Deno.test("synthetic: geometry is resolution-independent (64 px area-downscaled ≈ 32 px render)", () => {
  const n = 21;
  const a = syntheticImages({ size: n }, 64), b = syntheticImages({ size: n }, 32);
  let diff = 0;
  for (let i = 0; i < n; i++) {
    const img = { width: 64, height: 64, rgb: a.pixels.subarray(i * 64 * 64 * 3, (i + 1) * 64 * 64 * 3) };
    const down = resizeArea(img, 32);
    for (let k = 0; k < down.length; k++) diff += Math.abs(down[k]! - b.pixels[i * 32 * 32 * 3 + k]!);
  }
  const mean = diff / (n * 32 * 32 * 3);
  assert.ok(mean < 12, `mean absolute difference ${mean} grey levels`);
});

Deno.test("synthetic: texture classes have their colours (water blue-dark, sand bright, grass, field and trees green)", () => {
  // Images whose only label is one texture are filled with it: compare mean colours.
  const r = 16, img = syntheticImages({ size: 2100 }, r);
  const mean = (cls: string) => {
    const sum = [0, 0, 0];
    let n = 0;
    for (let i = 0; i < 2100; i++) {
      const row = table.labels.subarray(i * 17, i * 17 + 17);
      if (row.reduce((a, b) => a + b, 0) !== 1 || row[col(cls)] !== 1) continue;
      n++;
      for (let p = 0; p < r * r; p++) {
        for (let c = 0; c < 3; c++) sum[c]! += img.pixels[(i * r * r + p) * 3 + c]!;
      }
    }
    assert.ok(n > 0, `no image labelled only ${cls}`);
    return sum.map((s) => s / (n * r * r));
  };
  const field = mean("field"), trees = mean("trees"), sand = mean("sand");
  const water = mean("water"), grass = mean("grass");
  assert.ok(water[2]! > water[0]! && Math.max(...water) < 100, `water ${water}`);
  assert.ok(grass[1]! > grass[0]! + 30 && grass[1]! > grass[2]! + 40, `grass ${grass}`);
  assert.ok(field[1]! > field[2]! + 40, `field ${field}`);
  assert.ok(trees[1]! < 110 && trees[1]! > trees[0]!, `trees ${trees}`);
  assert.ok(sand[0]! > 180, `sand ${sand}`);
});

Deno.test("synthetic: golden digest of the first 21 images at 32 px (regenerate on purpose only)", async () => {
  const golden = (await Deno.readTextFile(new URL("golden/synthetic-32.digest", import.meta.url))).trim();
  const digest = createHash("sha256").update(syntheticImages({ size: 21 }, 32).pixels).digest("hex");
  assert.equal(
    digest,
    golden,
    "the synthetic generator changed: bump its fingerprint version in synthetic.ts",
  );
});
