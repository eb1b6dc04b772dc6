import assert from "node:assert/strict";
import { decodeImage, encodeJpeg, encodePng, encodeTiff } from "../src/data/codecs.ts";
import { matchImagesToLabels, parseLabelFile, ucmercedSource } from "../src/data/ucmerced.ts";
import { classCounts } from "../src/data/dataset.ts";
import { resizeArea } from "../src/data/resize.ts";

/** A solid-colour image. */
function solid(w: number, h: number, rgb: [number, number, number]) {
  const px = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) px.set(rgb, i * 3);
  return { width: w, height: h, rgb: px };
}

/** A fixture archive: 3 classes folders, mixed formats, CRLF label file. */
async function makeFixture(opts: { extraImage?: boolean; dropImage?: boolean } = {}) {
  const root = await Deno.makeTempDir({ prefix: "albench-ucm-" });
  const images: [string, string, Uint8Array][] = [
    ["harbor", "harbor00.tif", encodeTiff(solid(12, 12, [10, 20, 30]))],
    ["harbor", "harbor01.png", encodePng(solid(10, 12, [200, 100, 50]))], // not square, like UCMerced's odd ones
    ["beach", "beach00.jpg", encodeJpeg(solid(16, 16, [120, 130, 140]), 95)],
  ];
  if (opts.extraImage) images.push(["beach", "beach07.png", encodePng(solid(4, 4, [0, 0, 0]))]);
  if (opts.dropImage) images.pop();
  for (const [cls, name, bytes] of images) {
    await Deno.mkdir(`${root}/Images/${cls}`, { recursive: true });
    await Deno.writeFile(`${root}/Images/${cls}/${name}`, bytes);
  }
  const labels =
    "IMAGE\\LABEL\tdock\tsand\tship\r\nharbor00\t1\t0\t1\r\nharbor01\t1\t0\t0\r\nbeach00\t0\t1\t0\r\n";
  await Deno.writeTextFile(`${root}/LandUse_Multilabeled.txt`, labels);
  return root;
}

Deno.test("codecs: PNG and TIFF round-trip exactly, JPEG within compression error", () => {
  const img = { width: 3, height: 2, rgb: Uint8Array.from({ length: 18 }, (_, i) => i * 13) };
  assert.deepEqual(decodeImage(encodePng(img), "a.png"), img);
  assert.deepEqual(decodeImage(encodeTiff(img), "a.tif"), img);
  const j = decodeImage(encodeJpeg(solid(8, 8, [100, 150, 200]), 95), "a.jpeg");
  assert.ok(j.rgb.every((v, i) => Math.abs(v - [100, 150, 200][i % 3]!) <= 3), `${j.rgb.slice(0, 6)}`);
  assert.throws(() => decodeImage(new Uint8Array([1, 2, 3]), "x.png"), /cannot decode x\.png/);
  assert.throws(() => decodeImage(new Uint8Array(), "x.bmp"), /unsupported extension "\.bmp"/);
});

Deno.test("resize: area filter averages exactly and preserves solid colours", () => {
  const out = resizeArea(solid(10, 12, [7, 8, 9]), 4);
  assert.ok(out.every((v, i) => v === [7, 8, 9][i % 3]));
  // 3 -> 2: output pixel 0 covers input 0 fully and input 1 half: (0*1 + 90*0.5) / 1.5 = 30.
  const row = { width: 3, height: 1, rgb: new Uint8Array([0, 0, 0, 90, 90, 90, 180, 180, 180]) };
  const r = resizeArea(row, 2);
  assert.equal(r[0], 30);
  assert.equal(r[3], 150);
});

Deno.test("ucmerced: label file parsing (CRLF, BOM) and its errors name the line", () => {
  const t = parseLabelFile("\uFEFFIMAGE\\LABEL\ta\tb\r\nx\t0\t1\r\n\r\n");
  assert.deepEqual(t.ids, ["x"]);
  assert.deepEqual([...t.labels], [0, 1]);
  assert.throws(() => parseLabelFile("NAME\ta\nx\t1\n"), /line 1 must be the header "IMAGE\\LABEL/);
  assert.throws(() => parseLabelFile("IMAGE\\LABEL\ta\tb\nx\t1\n"), /line 2 has 2 fields, expected 3/);
  assert.throws(
    () => parseLabelFile("IMAGE\\LABEL\ta\nx\t2\n"),
    /line 2, column a: expected 0 or 1, got "2"/,
  );
  assert.throws(() => parseLabelFile("IMAGE\\LABEL\ta\nx\t1\nx\t0\n"), /duplicate sample id "x"/);
});

Deno.test("ucmerced: images and labels must match one to one; errors list missing and extra names", async () => {
  assert.throws(
    () => matchImagesToLabels(["a", "b"], new Map([["a", "a.jpg"], ["c", "c.jpg"]])),
    /1 label rows have no image: b; 1 images have no label row: c/,
  );
  const extra = await makeFixture({ extraImage: true });
  await assert.rejects(() => ucmercedSource({ root: extra }).images(4), /images have no label row: beach07/);
  const missing = await makeFixture({ dropImage: true });
  await assert.rejects(
    () => ucmercedSource({ root: missing }).images(4),
    /label rows have no image: beach00/,
  );
  await assert.rejects(
    () => ucmercedSource({ root: `${missing}/nope` }).labels(),
    /LandUse_Multilabeled\.txt not found.*deno task data ucmerced/,
  );
  for (const d of [extra, missing]) await Deno.remove(d, { recursive: true });
});

Deno.test("ucmerced: decodes TIFF/PNG/JPEG fixtures, resizes, and caches by content", async () => {
  const root = await makeFixture();
  const cacheDir = await Deno.makeTempDir({ prefix: "albench-cache-" });
  const src = ucmercedSource({ root, cacheDir });
  const labels = await src.labels();
  assert.deepEqual(labels.ids, ["harbor00", "harbor01", "beach00"]);
  assert.deepEqual(classCounts(labels), [2, 1, 1]);
  const first = await src.images(4);
  const px = (i: number) => [...first.pixels.subarray(i * 48, i * 48 + 3)];
  assert.deepEqual(px(0), [10, 20, 30]);
  assert.deepEqual(px(1), [200, 100, 50]);
  assert.ok(px(2).every((v, k) => Math.abs(v - [120, 130, 140][k]!) <= 3));
  // A cache entry now exists; a fresh source reads it and gets identical bytes.
  const entries = [...Deno.readDirSync(`${cacheDir}/ucmerced`)].map((e) => e.name);
  assert.equal(entries.filter((e) => e.endsWith(".bin")).length, 1);
  const again = await ucmercedSource({ root, cacheDir }).images(4);
  assert.deepEqual(again.pixels, first.pixels);
  // A corrupt entry is not trusted: the images are decoded again, correctly.
  const bin = entries.find((e) => e.endsWith(".bin"))!;
  await Deno.writeFile(`${cacheDir}/ucmerced/${bin}`, new Uint8Array(first.pixels.length));
  assert.deepEqual((await ucmercedSource({ root, cacheDir }).images(4)).pixels, first.pixels);
  // Changing an image changes the key: a different resolution or content gets its own entry.
  await Deno.writeFile(`${root}/Images/harbor/harbor01.png`, encodePng(solid(10, 12, [1, 2, 3])));
  const changed = await ucmercedSource({ root, cacheDir }).images(4);
  assert.deepEqual([...changed.pixels.subarray(48, 51)], [1, 2, 3]);
  await Deno.remove(root, { recursive: true });
  await Deno.remove(cacheDir, { recursive: true });
});

const SHARED = new URL("../../shared/data/ucmerced", import.meta.url).pathname;
const hasShared = await Deno.stat(`${SHARED}/LandUse_Multilabeled.txt`).then(() => true, () => false);

Deno.test({
  name: `ucmerced: the shared copy matches its README${
    hasShared ? "" : " (skipped: ../shared/data/ucmerced absent)"
  }`,
  ignore: !hasShared,
  fn: async () => {
    const src = ucmercedSource({ root: SHARED });
    const t = await src.labels();
    assert.equal(t.ids.length, 2100);
    assert.deepEqual(t.classNames, [
      "airplane",
      "bare-soil",
      "buildings",
      "cars",
      "chaparral",
      "court",
      "dock",
      "field",
      "grass",
      "mobile-home",
      "pavement",
      "sand",
      "sea",
      "ship",
      "tanks",
      "trees",
      "water",
    ]);
    assert.deepEqual(classCounts(t), [
      100,
      718,
      691,
      886,
      115,
      105,
      100,
      103,
      975,
      102,
      1300,
      294,
      100,
      102,
      100,
      1009,
      203,
    ]);
    // One image per label row (matching throws otherwise), through the real folder scan.
    assert.match(await src.fingerprint(), /^ucmerced:[0-9a-f]{64}$/);
  },
});

Deno.test({
  name: `ucmerced: the original TIFFs (uncompressed RGB, Photoshop tags) decode${
    hasShared ? "" : " (skipped: no shared copy)"
  }`,
  ignore: !hasShared,
  fn: async () => {
    const dir = `${SHARED}/tiff-sample`;
    let n = 0;
    for await (const cls of Deno.readDir(dir)) {
      for await (const f of Deno.readDir(`${dir}/${cls.name}`)) {
        const img = decodeImage(await Deno.readFile(`${dir}/${cls.name}/${f.name}`), f.name);
        assert.equal(img.width, 256, f.name);
        assert.equal(img.rgb.length, img.width * img.height * 3);
        const jpg = decodeImage(
          await Deno.readFile(`${SHARED}/Images/${cls.name}/${f.name.replace(".tif", ".jpg")}`),
          "x.jpg",
        );
        let diff = 0;
        for (let k = 0; k < img.rgb.length; k++) diff += Math.abs(img.rgb[k]! - jpg.rgb[k]!);
        assert.ok(
          diff / img.rgb.length < 4,
          `${f.name}: the JPEG re-encode differs by ${diff / img.rgb.length} on average`,
        );
        n++;
      }
    }
    assert.equal(n, 21);
  },
});
