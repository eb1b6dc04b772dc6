/**
 * Damaged images are never used silently (issue #12, point 4): `data` decodes every image and names every damaged
 * one, writing nothing; every run verifies the prepared copy against its SHA256SUMS and names a changed file.
 */
import assert from "node:assert/strict";
import UTIF from "utif2";
import { checkImageStructure, decodeImage, encodeJpeg, encodePng, encodeTiff } from "../src/data/codecs.ts";
import { IMAGE_EXTENSIONS } from "../src/data/codecs.ts";
import { LABEL_FILE, ucmercedSource } from "../src/data/ucmerced.ts";
import { parseSums, verifyPreparedCopy } from "../src/data/verify.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function cli(script: string, args: string[], perms: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...perms, `${ROOT}/src/cli/${script}`, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

const data = (from: string, labels: string, out: string) =>
  cli("data.ts", ["ucmerced", "--from", from, "--labels", labels, "--out", out], [
    "--allow-read",
    "--allow-write",
  ]);

/** A patterned image (not solid, so a truncated strip would change pixels). */
function pattern(w: number, h: number, seed: number) {
  return {
    width: w,
    height: h,
    rgb: Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 7 + seed * 31) % 256),
  };
}

const GOOD: Record<string, Uint8Array> = {
  "harbor/harbor00.tif": encodeTiff(pattern(12, 12, 1)),
  "harbor/harbor01.png": encodePng(pattern(10, 12, 2)),
  "beach/beach00.jpg": encodeJpeg(pattern(16, 16, 3), 95),
};
const tiff = encodeTiff(pattern(12, 12, 4)), png = encodePng(pattern(12, 12, 5));
const DAMAGED: Record<string, Uint8Array> = {
  "beach/beach01.png": new Uint8Array(0),
  "beach/beach02.jpg": Uint8Array.from({ length: 300 }, (_, i) => (i * 131 + 17) % 256),
  "harbor/harbor02.tif": tiff.subarray(0, tiff.length - 100), // the strip runs past the end
  "harbor/harbor03.png": png.subarray(0, png.length - 20),
};
const LABELS = "IMAGE\\LABEL\tdock\tship\nharbor00\t1\t1\nharbor01\t1\t0\nbeach00\t0\t0\n";
const DAMAGED_LABELS = "beach01\t0\t0\nbeach02\t0\t1\nharbor02\t1\t0\nharbor03\t1\t1\n";

async function writeImages(dir: string, images: Record<string, Uint8Array>) {
  for (const [p, b] of Object.entries(images)) {
    await Deno.mkdir(`${dir}/Images/${p.slice(0, p.indexOf("/"))}`, { recursive: true });
    await Deno.writeFile(`${dir}/Images/${p}`, b);
  }
}

Deno.test("codecs: empty, garbage and truncated TIFF/PNG/JPEG files are errors saying what is wrong", () => {
  // What made this necessary: utif2 decodes a TIFF whose strip runs past the end of the file, without an error.
  const cut = DAMAGED["harbor/harbor02.tif"]!;
  const buf = cut.slice().buffer;
  const ifd = UTIF.decode(buf)[0]!;
  UTIF.decodeImage(buf, ifd);
  assert.equal(UTIF.toRGBA8(ifd).length, 12 * 12 * 4, "utif2 alone accepts the truncated TIFF");

  assert.throws(
    () => decodeImage(cut, "h.tif"),
    /cannot decode h\.tif: truncated: strip 1 of 1 \(bytes \d+\.\.\d+\) runs past the end of the file/,
  );
  assert.throws(
    () => decodeImage(new Uint8Array(0), "e.png"),
    /cannot decode e\.png: empty file \(0 bytes\)/,
  );
  assert.throws(
    () => decodeImage(DAMAGED["beach/beach02.jpg"]!, "g.jpg"),
    /cannot decode g\.jpg: not a JPEG file/,
  );
  assert.throws(
    () => decodeImage(DAMAGED["beach/beach02.jpg"]!, "g.tif"),
    /cannot decode g\.tif: not a TIFF file/,
  );
  assert.throws(
    () => decodeImage(DAMAGED["beach/beach02.jpg"]!, "g.png"),
    /cannot decode g\.png: not a PNG file/,
  );
  assert.throws(
    () => decodeImage(DAMAGED["harbor/harbor03.png"]!, "t.png"),
    /cannot decode t\.png: truncated: chunk \w+ at byte \d+ needs \d+ bytes/,
  );
  const jpg = GOOD["beach/beach00.jpg"]!;
  for (const n of [jpg.length - 2, Math.floor(jpg.length * 0.8), 100, 3]) {
    assert.throws(
      () => decodeImage(jpg.subarray(0, n), "t.jpg"),
      /cannot decode t\.jpg: (truncated|not a JPEG)/,
      `${n}`,
    );
  }
  // A TIFF cut inside its directory, and a header alone.
  assert.throws(
    () => checkImageStructure(tiff.subarray(0, 40), "d.tif"),
    /truncated: the first image directory/,
  );
  assert.throws(() => checkImageStructure(tiff.subarray(0, 6), "d.tif"), /truncated: 6 bytes/);
  // Intact files pass, and decode exactly as before.
  for (const [p, b] of Object.entries(GOOD)) checkImageStructure(b, p);
  assert.deepEqual(decodeImage(GOOD["harbor/harbor00.tif"]!, "x.tif"), pattern(12, 12, 1));
  assert.deepEqual(decodeImage(GOOD["harbor/harbor01.png"]!, "x.png"), pattern(10, 12, 2));
});

/** A hand-made little-endian BigTIFF: one 8-bit grey strip of `w × h` bytes (utif2's encoder writes classic TIFF). */
function bigTiff(w: number, h: number): Uint8Array {
  const entries: [number, number, number][] = [[256, 4, w], [257, 4, h], [258, 3, 8], [259, 3, 1], [
    262,
    3,
    1,
  ]];
  const n = entries.length + 3;
  const dataAt = 16 + 8 + n * 20 + 8;
  entries.push([273, 16, dataAt], [277, 3, 1], [279, 16, w * h]);
  const bytes = new Uint8Array(dataAt + w * h);
  const dv = new DataView(bytes.buffer);
  bytes.set([0x49, 0x49]);
  dv.setUint16(2, 43, true);
  dv.setUint16(4, 8, true);
  dv.setBigUint64(8, 16n, true);
  dv.setBigUint64(16, BigInt(n), true);
  entries.forEach(([tag, type, value], k) => {
    const e = 24 + k * 20;
    dv.setUint16(e, tag, true);
    dv.setUint16(e + 2, type, true);
    dv.setBigUint64(e + 4, 1n, true);
    if (type === 3) dv.setUint16(e + 12, value, true);
    else if (type === 4) dv.setUint32(e + 12, value, true);
    else dv.setBigUint64(e + 12, BigInt(value), true);
  });
  return bytes;
}

Deno.test("codecs: BigTIFF structure, the size limit, and SHA256SUMS lines", () => {
  const big = bigTiff(5, 3);
  checkImageStructure(big, "b.tif");
  assert.throws(
    () => checkImageStructure(big.subarray(0, big.length - 1), "b.tif"),
    /truncated: strip 1 of 1 \(bytes \d+\.\.\d+\) runs past the end of the file/,
  );
  assert.throws(
    () => checkImageStructure(bigTiff(20000, 20000).subarray(0, 300), "b.tif"),
    /20000x20000, over the 100-megapixel limit/,
  );
  const ihdr = encodePng(pattern(2, 2, 0));
  new DataView(ihdr.buffer).setUint32(16, 50000);
  new DataView(ihdr.buffer).setUint32(20, 50000);
  assert.throws(
    () => decodeImage(ihdr, "p.png"),
    /cannot decode p\.png: the image is 50000x50000, over the 100-megapixel limit/,
  );
  const h = "0".repeat(64);
  assert.throws(() => parseSums(`${h}  a.png\n${h}  a.png\n`, "S"), /S: line 2 lists a\.png a second time/);
  assert.throws(() => parseSums(`${h}  ../x.png\n`, "S"), /S: line 1 names a path outside the folder/);
  assert.throws(() => parseSums(`${h} x.png\n`, "S"), /S: line 1 is not "<SHA-256> {2}<path>"/);
  assert.deepEqual([...parseSums(`${h} *./b/x.png\r\n\n`, "S")], [["b/x.png", h]]);
});

const SHARED = new URL("../../shared/data/ucmerced", import.meta.url).pathname;
const hasShared = await Deno.stat(`${SHARED}/tiff-sample`).then(() => true, () => false);

Deno.test({
  name:
    `codecs: a real UCMerced TIFF cut short is refused, whether the cut reaches its EXIF directory or its pixels${
      hasShared ? "" : " (skipped: no shared copy)"
    }`,
  ignore: !hasShared,
  fn: async () => {
    // harbor00.tif: header, IFD, Photoshop/XMP tags, one 196,608-byte strip, an EXIF directory, 2 padding bytes.
    const tif = await Deno.readFile(`${SHARED}/tiff-sample/harbor/harbor00.tif`);
    assert.equal(decodeImage(tif, "harbor00.tif").width, 256);
    assert.equal(decodeImage(tif.subarray(0, tif.length - 2), "harbor00.tif").width, 256, "padding only");
    assert.throws(
      () => decodeImage(tif.subarray(0, tif.length - 3), "harbor00.tif"),
      /truncated: the EXIF directory of the first image directory \(3 entries\) ends at byte 210206, the file has 210205/,
    );
    assert.throws(
      () => decodeImage(tif.subarray(0, 100_000), "harbor00.tif"),
      /truncated: strip 1 of 1 \(bytes 13554\.\.210162\) runs past the end of the file \(100000 bytes\)/,
    );
  },
});

Deno.test("data: every damaged image (empty, garbage, truncated TIFF, truncated PNG) is named, exit 1, nothing written", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "albench-verify-" });
  await writeImages(`${tmp}/src`, GOOD);
  await Deno.writeTextFile(`${tmp}/labels.txt`, LABELS);
  const ok = await data(`${tmp}/src`, `${tmp}/labels.txt`, `${tmp}/out`);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /decoding 3 images to check them\n {2}decoded 3\/3 images \(\d+\.\d s\)/);
  const sums = await Deno.readTextFile(`${tmp}/out/SHA256SUMS`);

  await writeImages(`${tmp}/src`, DAMAGED);
  await Deno.writeTextFile(`${tmp}/labels.txt`, LABELS + DAMAGED_LABELS);
  const bad = await data(`${tmp}/src`, `${tmp}/labels.txt`, `${tmp}/out`);
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, /decoded 7\/7 images, 4 damaged/);
  assert.match(bad.stderr, /error: 4 of 7 images are damaged or unreadable, so nothing was written:/);
  const src = `${tmp}/src/Images`;
  for (
    const re of [
      `${src}/beach/beach01\\.png: empty file \\(0 bytes\\)`,
      `${src}/beach/beach02\\.jpg: not a JPEG file`,
      `${src}/harbor/harbor02\\.tif: truncated: strip 1 of 1 \\(bytes \\d+\\.\\.\\d+\\) runs past the end of the file`,
      `${src}/harbor/harbor03\\.png: truncated: chunk`,
    ]
  ) assert.match(bad.stderr, new RegExp(`\n {2}${re}`));
  for (const good of Object.keys(GOOD)) assert.ok(!bad.stderr.includes(good), `${good} named: ${bad.stderr}`);
  // The earlier copy is untouched and no staging folder is left.
  assert.equal(await Deno.readTextFile(`${tmp}/out/SHA256SUMS`), sums);
  assert.deepEqual([...Deno.readDirSync(tmp)].map((e) => e.name).sort(), ["labels.txt", "out", "src"]);
  assert.ok(!(await Deno.stat(`${tmp}/out/Images/beach/beach01.png`).then(() => true, () => false)));

  // Each kind alone is refused too, named, from a zip as well (entries named archive:path).
  for (const [p, b] of Object.entries(DAMAGED)) {
    const one = `${tmp}/one-${p.replace("/", "-")}`;
    await writeImages(one, { ...GOOD, [p]: b });
    const name = p.slice(p.indexOf("/") + 1, p.lastIndexOf("."));
    await Deno.writeTextFile(`${one}/labels.txt`, LABELS + `${name}\t0\t1\n`);
    const r = await data(one, `${one}/labels.txt`, `${one}/out`);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`1 of 4 images is damaged or unreadable.*\n {2}${one}/Images/${p}: `));
    assert.ok(!(await Deno.stat(`${one}/out`).then(() => true, () => false)), "nothing written");
  }
  const { zipSync } = await import("fflate");
  await Deno.writeFile(
    `${tmp}/images.zip`,
    zipSync(Object.fromEntries(Object.entries({ ...GOOD, ...DAMAGED }).map(([p, b]) => [`Images/${p}`, b]))),
  );
  const z = await data(`${tmp}/images.zip`, `${tmp}/labels.txt`, `${tmp}/zout`);
  assert.equal(z.code, 1, z.stderr);
  assert.match(
    z.stderr,
    new RegExp(`\n {2}${tmp}/images\\.zip:Images/harbor/harbor02\\.tif: truncated: strip`),
  );
  assert.match(z.stderr, /4 of 7 images are damaged/);
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("verify: a prepared copy is checked on every run (stat-only once indexed); a changed, added or missing file is refused, named", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "albench-verify-" });
  await writeImages(`${tmp}/src`, GOOD);
  await Deno.writeTextFile(`${tmp}/labels.txt`, LABELS);
  const out = `${tmp}/out`, cacheDir = `${tmp}/cache`;
  assert.equal((await data(`${tmp}/src`, `${tmp}/labels.txt`, out)).code, 0);
  assert.deepEqual([...parseSums(await Deno.readTextFile(`${out}/SHA256SUMS`), "S").keys()].sort(), [
    "Images/beach/beach00.jpg",
    "Images/harbor/harbor00.tif",
    "Images/harbor/harbor01.png",
    LABEL_FILE,
  ]);
  // Files written within two seconds of an index are never trusted by their times alone.
  await new Promise((r) => setTimeout(r, 2100));

  // First run: hashes every file, stores the index; the fingerprint is the one computed without verification.
  const fp = await ucmercedSource({ root: out, cacheDir }).fingerprint();
  const indexes = [...Deno.readDirSync(`${cacheDir}/ucmerced`)].map((e) => e.name);
  assert.equal(indexes.filter((n) => /^verified-[0-9a-f]{16}\.json$/.test(n)).length, 1, indexes.join());
  await Deno.rename(`${out}/SHA256SUMS`, `${tmp}/SUMS`);
  assert.equal(
    await ucmercedSource({ root: out, cacheDir: `${tmp}/c2` }).fingerprint(),
    fp,
    "same cache keys",
  );
  await Deno.rename(`${tmp}/SUMS`, `${out}/SHA256SUMS`);
  // Next run: nothing is read but the sums; the stored fingerprint is used.
  const opts = {
    cacheDir,
    extensions: IMAGE_EXTENSIONS,
    required: [LABEL_FILE],
    fingerprint: () => Promise.reject(new Error("hashed although nothing changed")),
  };
  const v = await verifyPreparedCopy(out, opts);
  assert.equal(v?.hashed, 0);
  assert.equal(v?.fingerprint, fp);
  // A damaged or hostile index is ignored: everything is hashed again and the index rewritten.
  const [indexFile] = [...Deno.readDirSync(`${cacheDir}/ucmerced`)].map((e) => e.name).filter((n) =>
    n.startsWith("verified-")
  );
  const good = await Deno.readTextFile(`${cacheDir}/ucmerced/${indexFile}`);
  for (const junk of ["{", "null", JSON.stringify({ ...JSON.parse(good), files: null })]) {
    await Deno.writeTextFile(`${cacheDir}/ucmerced/${indexFile}`, junk);
    assert.equal(
      (await verifyPreparedCopy(out, { ...opts, fingerprint: () => Promise.resolve(fp) }))?.hashed,
      4,
    );
  }
  await Deno.writeTextFile(`${cacheDir}/ucmerced/${indexFile}`, good);
  const pixels = (await ucmercedSource({ root: out, cacheDir }).images(4)).pixels;

  // One flipped byte: refused by the next run (labels, fingerprint, and the plan CLI, read-only), naming the file.
  const file = `${out}/Images/harbor/harbor01.png`;
  const original = await Deno.readFile(file);
  const flipped = original.slice();
  flipped[40] = flipped[40]! ^ 1;
  await Deno.writeFile(file, flipped);
  const changed = new RegExp(
    `the prepared copy in ${out} no longer matches the SHA256SUMS .*\\(1 file\\): ${file} \\(its content changed: ` +
      `SHA-256 [0-9a-f]{12}…\\)\\. .*deno task data ucmerced --from DIR\\|ZIP --out ${out}`,
  );
  await assert.rejects(() => ucmercedSource({ root: out, cacheDir }).labels(), changed);
  await assert.rejects(() => ucmercedSource({ root: out, cacheDir }).fingerprint(), changed);
  const scenario = {
    name: "ucm",
    dataset: { kind: "ucmerced", root: out, resolution: 8 },
    split: { val: 2, test: 2, pool: "rest" },
    model: { backbone: "small-cnn" },
    al: { initial: 2, batch: 1, iterations: 1 },
    arms: [{ name: "random", query: "random" }],
    seeds: [0],
  };
  await Deno.writeTextFile(`${tmp}/ucm.json`, JSON.stringify(scenario));
  const plan = await cli("plan.ts", ["--scenario", `${tmp}/ucm.json`], ["--allow-read"]);
  assert.equal(plan.code, 1, plan.stderr);
  assert.match(plan.stderr, changed);
  const bench = await cli("bench.ts", [
    "--scenario",
    `${tmp}/ucm.json`,
    "--out",
    `${tmp}/reports`,
    "--cache",
    cacheDir,
    "--quiet",
    "--jobs",
    "1",
  ], ["--allow-read", "--allow-env", "--allow-write"]);
  assert.equal(bench.code, 1, bench.stderr);
  assert.match(bench.stderr, changed);
  assert.ok(!(await Deno.stat(`${tmp}/reports`).then(() => true, () => false)), "bench wrote nothing");

  // Restored: accepted again, same pixels.
  await Deno.writeFile(file, original);
  assert.deepEqual((await ucmercedSource({ root: out, cacheDir }).images(4)).pixels, pixels);

  // An added image (it would be preferred over the JPEG) and a missing one are refused too.
  await Deno.writeFile(`${out}/Images/beach/beach00.tif`, encodeTiff(pattern(4, 4, 9)));
  await assert.rejects(
    () => ucmercedSource({ root: out, cacheDir }).labels(),
    new RegExp(
      `${out}/Images/beach/beach00\\.tif \\(not listed in SHA256SUMS: added after the copy was prepared\\)`,
    ),
  );
  await Deno.remove(`${out}/Images/beach/beach00.tif`);
  await Deno.rename(`${out}/Images/beach/beach00.jpg`, `${tmp}/beach00.jpg`);
  await assert.rejects(
    () => ucmercedSource({ root: out, cacheDir }).labels(),
    new RegExp(`\\(1 file\\): ${out}/Images/beach/beach00\\.jpg \\(missing\\)`),
  );
  await Deno.rename(`${tmp}/beach00.jpg`, `${out}/Images/beach/beach00.jpg`);

  // A change that size and times do not show (simulated by an index that trusts it) is still caught when the
  // image cache is rebuilt: every image is hashed again as it is decoded.
  await new Promise((r) => setTimeout(r, 50));
  await ucmercedSource({ root: out, cacheDir }).labels(); // re-indexes after the restores
  await Deno.writeFile(file, flipped);
  const [indexName] = [...Deno.readDirSync(`${cacheDir}/ucmerced`)].map((e) => e.name).filter((n) =>
    n.startsWith("verified-")
  );
  const indexPath = `${cacheDir}/ucmerced/${indexName}`;
  const index = JSON.parse(await Deno.readTextFile(indexPath));
  const s = await Deno.stat(file);
  index.files["Images/harbor/harbor01.png"] = [s.size, s.mtime!.getTime(), s.ctime!.getTime(), s.ino];
  index.at = Date.now() + 60_000;
  await Deno.writeTextFile(indexPath, JSON.stringify(index));
  const fooled = ucmercedSource({ root: out, cacheDir });
  assert.equal(await fooled.fingerprint(), fp, "the stat check trusted the doctored index");
  await assert.rejects(() => fooled.images(6), changed);
  assert.ok(
    ![...Deno.readDirSync(`${cacheDir}/ucmerced`)].some((e) => e.name.includes("-r6-")),
    "no cache entry written from the changed image",
  );
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("ucmerced: a hand-made root (no SHA256SUMS) names every image it cannot decode when building the cache", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "albench-verify-" });
  await writeImages(tmp, { ...GOOD, ...DAMAGED });
  await Deno.writeTextFile(`${tmp}/${LABEL_FILE}`, LABELS + DAMAGED_LABELS);
  const err = await ucmercedSource({ root: tmp, cacheDir: `${tmp}/cache` }).images(4).then(
    () => assert.fail("decoded"),
    (e: Error) => e.message,
  );
  assert.match(err, new RegExp(`^ucmerced: 4 of 7 images in ${tmp} cannot be decoded: `));
  for (const p of Object.keys(DAMAGED)) assert.ok(err.includes(`${tmp}/Images/${p}: `), `${p}: ${err}`);
  assert.match(err, /deno task data ucmerced --from DIR\|ZIP/);
  assert.ok(!(await Deno.stat(`${tmp}/cache/ucmerced`).then(() => true, () => false)), "nothing cached");
  await Deno.remove(tmp, { recursive: true });
});
