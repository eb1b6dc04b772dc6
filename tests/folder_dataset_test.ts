/**
 * The `folder` dataset (issue #16, point 4): a label CSV in either form, validated strictly; images in any layout;
 * the same verification, decoding and cache as UCMerced; imbalance classes checked against the CSV's classes; and
 * a folder archive made here run through `deno task plan`, `bench` and `report`.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  folderSource,
  listFolderImages,
  matchRowsToImages,
  parseCsv,
  parseLabelCsv,
} from "../src/data/folder.ts";
import { encodePng } from "../src/data/codecs.ts";
import { planSeed } from "../src/data/plan.ts";
import { datasetKey, datasetSource } from "../src/scenario/dataset_source.ts";
import { resolveScenarios } from "../src/scenario/load.ts";
import { FIXTURE_CLASSES, solid, writeFolderFixture } from "./folder_fixture.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("folder: CSV records (quotes, CRLF, BOM, blank lines) and quoting errors name the line", () => {
  const r = parseCsv('\uFEFFname,labels\r\n"a, ""b"".png",x;y\r\n\r\n"multi\nline",\n', "l.csv");
  assert.deepEqual(r.map((x) => x.fields), [["name", "labels"], ['a, "b".png', "x;y"], ["multi\nline", ""]]);
  assert.deepEqual(r.map((x) => x.line), [1, 2, 4]);
  assert.throws(() => parseCsv('name,x\n"open,1\n', "l.csv"), /l\.csv: line 2: a quoted field is not closed/);
  assert.throws(() => parseCsv('name,x\n"a"b,1\n', "l.csv"), /l\.csv: line 2: text after a closing quote/);
});

Deno.test("folder: both label forms give the same table; class names come from the file", () => {
  const cols = parseLabelCsv("name,sea,ship,dock\na.png,1,1,1\nb.png,1,0,0\nc,0,1,0\n", "l.csv");
  assert.equal(cols.form, "columns");
  assert.deepEqual(cols.table.classNames, ["sea", "ship", "dock"]);
  assert.deepEqual(cols.table.ids, ["a.png", "b.png", "c"]);
  assert.deepEqual([...cols.table.labels], [1, 1, 1, 1, 0, 0, 0, 1, 0]);
  assert.deepEqual(cols.lines, [2, 3, 4]);
  const list = parseLabelCsv("Name,Labels\na.png, ship ; sea;dock\nb.png,sea\nc,ship\nd,\n", "l.csv");
  assert.equal(list.form, "list");
  assert.deepEqual(list.table.classNames, ["dock", "sea", "ship"]); // sorted
  assert.deepEqual([...list.table.labels], [1, 1, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0]); // d: no labels
  // Class names may hold spaces and any characters but the separator.
  assert.deepEqual(
    parseLabelCsv('name,labels\nx,"mobile home;tennis court"\n').table.classNames,
    ["mobile home", "tennis court"],
  );
});

Deno.test("folder: label file errors name the file, line, row and column", () => {
  const bad = (csv: string, re: RegExp) => assert.throws(() => parseLabelCsv(csv, "my/labels.csv"), re);
  bad("image,a\nx,1\n", /my\/labels\.csv: line 1 must be a header "name,<class1>,<class2>,\.\.\."/);
  bad("name;a;b\nx;1;0\n", /line 1 must be a header .*\(fields are separated by ","\)/);
  bad("name,a\n", /no rows after the header/);
  bad("", /line 1 must be a header/);
  bad("name,a,b\nx,1\n", /line 2 has 2 fields, expected 3 \(as the header\)/);
  bad("name,a\n,1\n", /line 2, column "name": the image name is empty/);
  bad("name,a\nx,1\ny,0\nx,1\n", /line 4 \(row "x"\): the name "x" is also on line 2/);
  bad(
    "name,a,b\nx,1,0\ny,0,yes\n",
    /my\/labels\.csv: line 3 \(row "y"\), column "b": expected 0 or 1, got "yes"/,
  );
  bad("name,a,b\nx,1,2\n", /line 2 \(row "x"\), column "b": expected 0 or 1, got "2"/);
  bad("name,a, ,c\nx,1,1,1\n", /line 1, column 3: empty class name/);
  bad("name,a,b,a\nx,1,1,1\n", /line 1, column 4: class "a" is also column 2/);
  bad("name,a,b,c\nx,1,0,0\ny,1,0,1\n", /column "b" has no positive \(no row holds 1\)/);
  bad("name,labels\nx,a;;b\n", /line 2 \(row "x"\), column "labels": an empty class name in "a;;b"/);
  bad("name,labels\nx,a;\n", /an empty class name in "a;"/);
  bad("name,labels\nx,a|b\n", /class "a\|b": separate classes with ";"/);
  bad("name,labels\nx,a;b;a\n", /line 2 \(row "x"\), column "labels": class "a" is listed twice/);
  bad("name,labels\nx,\ny,\n", /no image has a label; no classes/);
  // A one-class 0/1 column under the name "labels" is ambiguous: refused, never read as classes "0" and "1".
  for (const csv of ["name,labels\nx,0\ny,1\n", "name,labels\nx,1\ny,1\n", "name,Labels\nx,0;1\ny,\n"]) {
    bad(
      csv,
      /my\/labels\.csv: the header "name,labels" is the list form \(each row's classes, separated by ";"\), but every value is 0 or 1, which reads as classes named "0" and "1": for a single class with 0\/1 values name its column after the class \("name,<class>"\)/,
    );
  }
  // Digits among real class names are still classes.
  assert.deepEqual(parseLabelCsv("name,labels\nx,0;sea\ny,1\n", "l.csv").table.classNames, ["0", "1", "sea"]);
});

Deno.test("folder: rows and images match one to one; every mismatch is named with its line", () => {
  const files = ["a/x.png", "a/y.jpg", "b/x.tif", "b/z.png", "c/w.png"];
  assert.deepEqual(
    matchRowsToImages(["a/x", "y", "b/x.tif", "z.png", "c/w"], [2, 3, 4, 5, 6], files, "l.csv"),
    ["a/x.png", "a/y.jpg", "b/x.tif", "b/z.png", "c/w.png"],
  );
  assert.throws(
    () => matchRowsToImages(["x", "y.jpg", "a/y", "nope"], [2, 3, 4, 5], files, "l.csv"),
    (e: Error) => {
      assert.match(e.message, /^folder: images and l\.csv do not match one to one/);
      assert.match(e.message, /1 rows name no image: line 5 \("nope"\)/);
      assert.match(
        e.message,
        /1 rows name more than one image .*: line 2 \("x"\) matches a\/x\.png and b\/x\.tif/,
      );
      assert.match(
        e.message,
        /1 images have two rows: a\/y\.jpg is named by line 3 \("y\.jpg"\) and line 4 \("a\/y"\)/,
      );
      assert.match(
        e.message,
        /3 images have no row: a\/x\.png, b\/x\.tif, b\/z\.png|images have no row: a\/x\.png; b\/x\.tif; b\/z\.png; c\/w\.png/,
      );
      return true;
    },
  );
});

Deno.test("folder: images in any layout, hidden entries skipped, symlinked folders followed once", async () => {
  const root = await Deno.makeTempDir({ prefix: "albench-folder-list-" });
  const png = encodePng(solid(4, 4, [1, 2, 3]));
  for (
    const p of ["top.PNG", "a/b/c/deep.jpeg", "a/x.TIFF", ".hidden/h.png", "a/.h.png", "notes/readme.txt"]
  ) {
    await Deno.mkdir(`${root}/${p.slice(0, Math.max(0, p.lastIndexOf("/")))}`, { recursive: true });
    await Deno.writeFile(`${root}/${p}`, png);
  }
  await Deno.symlink(`${root}/a/b`, `${root}/link`);
  await Deno.symlink(`${root}`, `${root}/a/loop`); // a cycle: followed once
  assert.deepEqual(await listFolderImages(root), ["a/b/c/deep.jpeg", "a/x.TIFF", "top.PNG"].sort());
  await assert.rejects(() => listFolderImages(`${root}/nope`), /the dataset root .*\/nope does not exist/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("folder: source decodes, caches by content, and names missing files and damaged images", async () => {
  const root = await Deno.makeTempDir({ prefix: "albench-folder-src-" });
  const cacheDir = await Deno.makeTempDir({ prefix: "albench-folder-cache-" });
  const images = await writeFolderFixture(root, { n: 9, form: "list", mixed: true });
  const src = folderSource({ root, cacheDir });
  assert.equal(src.kind, "folder");
  const t = await src.labels();
  assert.deepEqual(t.classNames, [...FIXTURE_CLASSES]);
  assert.deepEqual(t.ids, images.map((im) => im.name));
  const px = await src.images(4);
  assert.deepEqual([...px.pixels.subarray(0, 3)], [...images[0]!.rgb]);
  const bins = () => [...Deno.readDirSync(`${cacheDir}/folder`)].filter((e) => e.name.endsWith(".bin"));
  assert.equal(bins().length, 1);
  assert.deepEqual((await folderSource({ root, cacheDir }).images(4)).pixels, px.pixels);
  // A changed image changes the fingerprint and so the cache entry.
  const fp = await src.fingerprint();
  await Deno.writeFile(`${root}/${images[0]!.path}`, encodePng(solid(16, 16, [1, 2, 3])));
  const changed = folderSource({ root, cacheDir });
  assert.notEqual(await changed.fingerprint(), fp);
  assert.deepEqual([...(await changed.images(4)).pixels.subarray(0, 3)], [1, 2, 3]);
  assert.equal(bins().length, 2);
  // An image without a row, a row without an image.
  await Deno.writeFile(`${root}/region-0/stray.png`, encodePng(solid(4, 4, [0, 0, 0])));
  await assert.rejects(
    () => folderSource({ root, cacheDir }).labels(),
    /1 images have no row: region-0\/stray\.png/,
  );
  await Deno.remove(`${root}/region-0/stray.png`);
  const gone = await Deno.readFile(`${root}/${images[3]!.path}`);
  await Deno.remove(`${root}/${images[3]!.path}`);
  await assert.rejects(
    () => folderSource({ root, cacheDir }).fingerprint(),
    new RegExp(`1 rows name no image: line 5 \\(${JSON.stringify(images[3]!.name)}\\)`),
  );
  await Deno.writeFile(`${root}/${images[3]!.path}`, gone);

  // Missing label file, wrong root.
  await assert.rejects(
    () => folderSource({ root, labels: "other.csv", cacheDir }).labels(),
    /the label file .*other\.csv does not exist .*"name,<class1>/,
  );
  await assert.rejects(() => folderSource({ root: `${root}/nope`, cacheDir }).labels(), /does not exist/);
  // Damaged images: all named at once, nothing cached.
  await Deno.writeFile(`${root}/${images[4]!.path}`, new Uint8Array(0));
  await Deno.writeFile(`${root}/${images[6]!.path}`, encodePng(solid(16, 16, [5, 5, 5])).subarray(0, 60));
  await assert.rejects(
    () => folderSource({ root, cacheDir }).images(6),
    (e: Error) => {
      assert.match(e.message, /^folder: 2 of 9 images in .* cannot be decoded/);
      assert.ok(e.message.includes(images[4]!.path) && e.message.includes(images[6]!.path), e.message);
      return true;
    },
  );
  assert.ok(!bins().some((b) => b.name.includes("-r6-")), "no cache entry from damaged images");
  await Deno.remove(root, { recursive: true });
  await Deno.remove(cacheDir, { recursive: true });
});

Deno.test("folder: a SHA256SUMS in the root is verified on every run, naming changed, missing and unlisted files", async () => {
  const root = await Deno.makeTempDir({ prefix: "albench-folder-sums-" });
  const cacheDir = await Deno.makeTempDir({ prefix: "albench-folder-sums-cache-" });
  const images = await writeFolderFixture(root, { n: 6 });
  const sha = async (p: string) =>
    createHash("sha256").update(await Deno.readFile(`${root}/${p}`)).digest("hex");
  const listed = ["labels.csv", ...images.map((im) => im.path)];
  const sums = async (paths: string[]) =>
    (await Promise.all(paths.map(async (p) => `${await sha(p)}  ./${p}`))).join("\n") + "\n";
  await Deno.writeTextFile(`${root}/SHA256SUMS`, await sums(listed));
  const src = folderSource({ root, cacheDir });
  const fp = await src.fingerprint();
  const pixels = (await src.images(4)).pixels;
  assert.ok([...Deno.readDirSync(`${cacheDir}/folder`)].some((e) => e.name.startsWith("verified-")));
  // A flipped byte.
  const file = `${root}/${images[1]!.path}`;
  const original = await Deno.readFile(file);
  const flipped = original.slice();
  flipped[40] = flipped[40]! ^ 1;
  await Deno.writeFile(file, flipped);
  const changed = new RegExp(
    `folder: the folder ${root} no longer matches its SHA256SUMS \\(1 file\\): ${file} \\(its content changed: ` +
      "SHA-256 [0-9a-f]{12}…\\)\\. .*Restore the files, or, if the change is intended, write SHA256SUMS again",
  );
  await assert.rejects(() => folderSource({ root, cacheDir }).labels(), changed);
  await Deno.writeFile(file, original);
  assert.equal(await folderSource({ root, cacheDir }).fingerprint(), fp);
  assert.deepEqual((await folderSource({ root, cacheDir }).images(4)).pixels, pixels);
  // The label file must be listed; an added image must be listed.
  await Deno.writeTextFile(`${root}/SHA256SUMS`, await sums(listed.slice(1)));
  await assert.rejects(
    () => folderSource({ root, cacheDir }).labels(),
    new RegExp(`${root}/labels\\.csv \\(not listed in SHA256SUMS`),
  );
  // Two label files over one verified root (the index is per root): each has its own fingerprint and order.
  const csv = await Deno.readTextFile(`${root}/labels.csv`);
  const [head, ...rows] = csv.trim().split("\r\n");
  await Deno.writeTextFile(`${root}/reversed.csv`, [head, ...rows.reverse()].join("\n") + "\n");
  await Deno.writeTextFile(`${root}/SHA256SUMS`, await sums([...listed, "reversed.csv"]));
  const fwd = folderSource({ root, cacheDir }),
    rev = folderSource({ root, labels: "reversed.csv", cacheDir });
  assert.equal(
    await fwd.fingerprint(),
    fp,
    "the fingerprint depends on the digests, not on SHA256SUMS's order",
  );
  assert.notEqual(await rev.fingerprint(), fp);
  assert.deepEqual((await rev.labels()).ids, [...images].reverse().map((im) => im.name));
  const revPixels = (await rev.images(4)).pixels, per = 4 * 4 * 3;
  assert.deepEqual(revPixels.subarray(0, per), pixels.subarray(5 * per, 6 * per));
  // A label file outside the root is not required in SHA256SUMS, and its changes still change the fingerprint.
  const outside = `${cacheDir}/outside.csv`;
  await Deno.writeTextFile(outside, csv);
  const o1 = await folderSource({ root, labels: outside, cacheDir }).fingerprint();
  await Deno.writeTextFile(outside, csv.replace("1,0", "0,1"));
  assert.notEqual(await folderSource({ root, labels: outside, cacheDir }).fingerprint(), o1);
  await Deno.writeTextFile(`${root}/SHA256SUMS`, await sums(listed));
  await Deno.remove(`${root}/reversed.csv`);
  await Deno.mkdir(`${root}/extra`);
  await Deno.writeFile(`${root}/extra/new.png`, encodePng(solid(4, 4, [0, 0, 0])));
  await assert.rejects(
    () => folderSource({ root, cacheDir }).labels(),
    new RegExp(`${root}/extra/new\\.png \\(not listed in SHA256SUMS`),
  );
  await Deno.remove(root, { recursive: true });
  await Deno.remove(cacheDir, { recursive: true });
});

Deno.test("folder: imbalance candidates and forbidden pairs are checked against the CSV's classes", async () => {
  const root = await Deno.makeTempDir({ prefix: "albench-folder-imb-" });
  await writeFolderFixture(root, { n: 48 });
  const table = await folderSource({ root, cacheDir: `${root}/.cache` }).labels();
  // Through the scenario's spec, with --data overriding root (as for ucmerced); datasetKey tells label files apart.
  const spec = { kind: "folder" as const, root: "elsewhere", labels: "labels.csv", resolution: 16 };
  const viaData = await datasetSource(spec, { dataRoot: root, cacheDir: `${root}/.cache` }).labels();
  assert.deepEqual(viaData.ids, table.ids);
  assert.notEqual(
    datasetKey(spec, { dataRoot: root }),
    datasetKey({ ...spec, labels: "b.csv" }, { dataRoot: root }),
  );
  assert.notEqual(datasetKey(spec), datasetKey(spec, { dataRoot: root }));
  const base = {
    name: "mine",
    dataset: { kind: "folder", root, resolution: 16 },
    split: { val: 8, test: 8 },
    model: { backbone: "small-cnn" },
    al: { initial: 4, batch: 2, iterations: 2 },
    arms: [{ name: "random", query: "random" }],
  };
  const ok = resolveScenarios({
    ...base,
    imbalance: {
      candidates: ["road", "trees", "water"],
      classes: 2,
      removePerClass: 2,
      forbiddenPairs: [["road", "water"]],
    },
  })[0]!;
  const plan = planSeed(table, ok.scenario, 0);
  assert.equal(plan.removedClasses.length, 2);
  assert.ok(!(plan.removedClasses.includes("road") && plan.removedClasses.includes("water")));
  assert.equal(plan.removed.length, 4);
  // UCMerced's classes are not this dataset's: refused naming the field and the dataset's classes.
  const ucm = resolveScenarios({
    ...base,
    imbalance: { candidates: ["road", "ship"], classes: 1, removePerClass: 1, forbiddenPairs: [] },
  })[0]!;
  assert.throws(
    () => planSeed(table, ucm.scenario, 0),
    /imbalance\.candidates: "ship" is not a class of this dataset \(field, road, trees, water\)/,
  );
  const pair = resolveScenarios({
    ...base,
    imbalance: {
      candidates: ["road", "trees"],
      classes: 1,
      removePerClass: 1,
      forbiddenPairs: [["dock", "ship"]],
    },
  })[0]!;
  assert.throws(() => planSeed(table, pair.scenario, 0), /imbalance\.forbiddenPairs: "dock" is not a class/);
  await Deno.remove(root, { recursive: true });
});

/** Run a task as a user would (`deno task NAME ...`), from the repository root. */
async function task(name: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", name, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("folder: an archive made here (48 PNGs in nested folders, 4 classes, a CSV) runs through plan, bench and report", async () => {
  // Inside the project (the tasks read only it; bench and report write only under reports/ and .cache/).
  const dir = `reports/.test-folder-${crypto.randomUUID().slice(0, 8)}`;
  const abs = `${ROOT}/${dir}`;
  try {
    await writeFolderFixture(`${abs}/archive`, { n: 48, form: "list" });
    const scenario = {
      name: "my-archive",
      dataset: { kind: "folder", root: `${dir}/archive`, labels: "labels.csv", resolution: 16 },
      split: { val: 8, test: 8, pool: "rest" },
      imbalance: { candidates: ["road", "trees", "water"], classes: 1, removePerClass: 2 },
      model: { backbone: "small-cnn" },
      pretrain: { method: "none" },
      finetune: { epochs: 1, batchSize: 8, decayEpochs: [] },
      al: { initial: 8, batch: 4, iterations: 2 },
      arms: [{ name: "random", query: "random" }, { name: "mge-clustering", query: "mge-clustering" }],
      seeds: 2,
      backend: "wasm",
    };
    await Deno.writeTextFile(`${abs}/scenario.json`, JSON.stringify(scenario, null, 2));

    const plan = await task("plan", ["--scenario", `${dir}/scenario.json`]);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /scenario my-archive .*48 samples/);
    const planJson = await task("plan", ["--scenario", `${dir}/scenario.json`, "--json"]);
    assert.equal(planJson.code, 0, planJson.stderr);
    const seeds = JSON.parse(planJson.stdout).seeds as { pool: string[]; removed: { classes: string[] } }[];
    assert.equal(seeds.length, 2);
    assert.ok(seeds.every((s) => s.pool.length === 30 && s.removed.classes.length === 1));

    const out = `${dir}/results`;
    const bench = await task("bench", [
      "--scenario",
      `${dir}/scenario.json`,
      "--out",
      out,
      "--cache",
      `${dir}/cache`,
      "--backend",
      "wasm",
      "--jobs",
      "1",
      "--quiet",
    ]);
    assert.equal(bench.code, 0, bench.stderr);
    const report = await task("report", [out]);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /merged 4 cells \(4 complete\)/);
    for (const f of ["index.html", "curves.csv", "stats.csv", "summary.csv", "manifest.json"]) {
      assert.ok((await Deno.stat(`${abs}/results/${f}`)).size > 0, f);
    }
    const curves = await Deno.readTextFile(`${abs}/results/curves.csv`);
    // 2 arms × 2 seeds × (initial round + 2 iterations) rows.
    assert.equal(curves.trim().split("\n").length - 1, 2 * 2 * 3);
    // The classes are the CSV's; the images went through the folder cache.
    const perClass = await Deno.readTextFile(`${abs}/results/per_class.csv`);
    for (const c of FIXTURE_CLASSES) assert.ok(perClass.includes(c), c);
    assert.ok([...Deno.readDirSync(`${abs}/cache/folder`)].some((e) => e.name.endsWith("-r16-area-v1.bin")));
  } finally {
    await Deno.remove(abs, { recursive: true }).catch(() => {});
  }
});
