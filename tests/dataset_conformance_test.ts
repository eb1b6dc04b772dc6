/**
 * One dataset conformance suite (`src/data/conformance.ts`) run on every dataset kind: synthetic, UCMerced (a
 * fixture made here, and the shared copy when present) and a folder of one's own (both CSV forms).
 */
import assert from "node:assert/strict";
import { datasetConformance, datasetConformanceChecks } from "../src/data/conformance.ts";
import type { DatasetSource } from "../src/data/dataset.ts";
import { syntheticSource } from "../src/data/synthetic.ts";
import { ucmercedSource } from "../src/data/ucmerced.ts";
import { folderSource } from "../src/data/folder.ts";
import { datasetSource } from "../src/scenario/dataset_source.ts";
import { encodeJpeg, encodePng, encodeTiff } from "../src/data/codecs.ts";
import { solid, writeFolderFixture } from "./folder_fixture.ts";

/** Temporary folders made by a test, removed at its end. */
function temps() {
  const made: string[] = [];
  return {
    dir: (prefix: string) => {
      const d = Deno.makeTempDirSync({ prefix });
      made.push(d);
      return d;
    },
    cleanup: async () => {
      for (const d of made) await Deno.remove(d, { recursive: true }).catch(() => {});
    },
  };
}

Deno.test("dataset conformance: synthetic", async (t) => {
  await datasetConformance(() => syntheticSource({ size: 210, seed: 3 }), t);
  // Through the scenario's dataset spec as well.
  await datasetConformance(() => datasetSource({ kind: "synthetic", size: 210, seed: 3, resolution: 32 }), t);
});

Deno.test("dataset conformance: ucmerced (a fixture: TIFF, PNG, JPEG in class folders)", async (t) => {
  const tmp = temps();
  const root = tmp.dir("albench-ucm-conf-");
  const images: [string, string, [number, number, number], string][] = [
    ["harbor", "harbor00.tif", [10, 20, 30], "tif"],
    ["harbor", "harbor01.png", [200, 100, 50], "png"],
    ["beach", "beach00.jpg", [120, 130, 140], "jpg"],
    ["beach", "beach01.png", [60, 180, 90], "png"],
  ];
  for (const [cls, name, rgb, ext] of images) {
    await Deno.mkdir(`${root}/Images/${cls}`, { recursive: true });
    const img = solid(12, 14, rgb);
    await Deno.writeFile(
      `${root}/Images/${cls}/${name}`,
      ext === "tif" ? encodeTiff(img) : ext === "png" ? encodePng(img) : encodeJpeg(img, 95),
    );
  }
  await Deno.writeTextFile(
    `${root}/LandUse_Multilabeled.txt`,
    "IMAGE\\LABEL\tdock\tsand\tship\r\nbeach01\t0\t1\t0\r\nharbor00\t1\t0\t1\r\nharbor01\t1\t0\t0\r\n" +
      "beach00\t0\t1\t0\r\n",
  );
  // Each open gets its own empty cache: the second load decodes again.
  await datasetConformance(() => ucmercedSource({ root, cacheDir: tmp.dir("albench-ucm-cache-") }), t, {
    known: [
      { id: "harbor00", positives: ["dock", "ship"], meanRgb: [10, 20, 30] },
      { id: "harbor01", positives: ["dock"], meanRgb: [200, 100, 50] },
      { id: "beach00", positives: ["sand"], meanRgb: [120, 130, 140] },
      { id: "beach01", positives: ["sand"], meanRgb: [60, 180, 90] },
    ],
  });
  await tmp.cleanup();
});

const SHARED = new URL("../../shared/data/ucmerced", import.meta.url).pathname;
const hasShared = await Deno.stat(`${SHARED}/LandUse_Multilabeled.txt`).then(() => true, () => false);

Deno.test({
  name: `dataset conformance: ucmerced (the shared copy${
    hasShared ? "" : "; skipped: ../shared/data/ucmerced is absent"
  })`,
  ignore: !hasShared,
  fn: async (t) => {
    const tmp = temps();
    // One cache for both opens (2100 images are decoded once): the second load reads the verified index and
    // the cache, which must give the same bytes.
    const cacheDir = tmp.dir("albench-ucm-shared-cache-");
    await datasetConformance(() => ucmercedSource({ root: SHARED, cacheDir }), t, { resolutions: [8] });
    await tmp.cleanup();
  },
});

for (const form of ["columns", "list"] as const) {
  Deno.test(`dataset conformance: folder (nested folders, PNG/JPEG/TIFF, ${form} CSV)`, async (t) => {
    const tmp = temps();
    const root = tmp.dir("albench-folder-conf-");
    const images = await writeFolderFixture(root, { n: 15, form, mixed: true });
    await datasetConformance(
      () => folderSource({ root, cacheDir: tmp.dir("albench-folder-cache-") }),
      t,
      { known: images.map((im) => ({ id: im.name, positives: im.positives, meanRgb: im.rgb })) },
    );
    await tmp.cleanup();
  });
}

Deno.test("dataset conformance: the suite catches broken sources", async () => {
  const good = syntheticSource({ size: 42 });
  const failures = async (src: () => DatasetSource, opts = {}) => {
    const failed: string[] = [];
    for (const c of datasetConformanceChecks(src, { everyClassPositive: false, ...opts })) {
      await c.run().catch((e) => failed.push(`${c.name}: ${(e as Error).message}`));
    }
    return failed;
  };
  assert.deepEqual(await failures(() => good), []);
  const wrap = (over: Partial<DatasetSource>): DatasetSource => ({ ...good, ...over });
  // Duplicate ids, a label of 2, a short pixel array, a wrong resolution, zeros everywhere, changing output.
  const dupIds = await failures(() =>
    wrap({
      labels: async () => {
        const t = await good.labels();
        return { ...t, ids: t.ids.map((id, i) => (i === 1 ? t.ids[0]! : id)) };
      },
    })
  );
  assert.match(dupIds.join("\n"), /label table.*ids\[1\] .* repeats an earlier id/);
  const two = await failures(() =>
    wrap({
      labels: async () => {
        const t = await good.labels();
        const labels = t.labels.slice();
        labels[5] = 2;
        return { ...t, labels };
      },
    })
  );
  assert.match(two.join("\n"), /is 2, not 0 or 1/);
  const short = await failures(() =>
    wrap({
      images: async (r) => {
        const img = await good.images(r);
        return { resolution: r, pixels: img.pixels.subarray(3) };
      },
    })
  );
  assert.match(short.join("\n"), /images at .*need \d+ bytes \(N x R x R x 3\)/);
  const wrongRes = await failures(() => wrap({ images: (r) => good.images(r + 1) }));
  assert.match(wrongRes.join("\n"), /asked for 8 px, got 9 px/);
  const blank = await failures(() =>
    wrap({ images: (r) => Promise.resolve({ resolution: r, pixels: new Uint8Array(42 * r * r * 3) }) })
  );
  assert.match(blank.join("\n"), /all 42 images are identical/);
  let calls = 0;
  const drifting = await failures(() => {
    const k = calls++;
    return syntheticSource({ size: 42, seed: k });
  });
  assert.match(drifting.join("\n"), /deterministic.*differ between two loads/);
  const unknown = await failures(() => good, { known: [{ id: "nope" }] });
  assert.match(unknown.join("\n"), /the known sample "nope" is not among the ids/);
  // A folder source whose images come in the reverse order of its ids is caught by the known colours.
  const tmp = temps();
  const root = tmp.dir("albench-folder-misaligned-");
  const images = await writeFolderFixture(root, { n: 6 });
  const known = images.map((im) => ({ id: im.name, positives: im.positives, meanRgb: im.rgb }));
  const reversed = (): DatasetSource => {
    const src = folderSource({ root, cacheDir: `${root}/.cache` });
    return {
      ...src,
      images: async (r) => {
        const img = await src.images(r);
        const per = r * r * 3, n = img.pixels.length / per, pixels = new Uint8Array(img.pixels.length);
        for (let i = 0; i < n; i++) {
          pixels.set(img.pixels.subarray(i * per, (i + 1) * per), (n - 1 - i) * per);
        }
        return { resolution: r, pixels };
      },
    };
  };
  assert.deepEqual(await failures(() => folderSource({ root, cacheDir: `${root}/.cache` }), { known }), []);
  assert.match(
    (await failures(reversed, { known })).join("\n"),
    /aligned.*: mean colour .*: its image is not the one its row names/,
  );
  await tmp.cleanup();
});
