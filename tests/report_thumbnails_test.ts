/**
 * The report's thumbnails of what each arm picked first (issue #29, item 4): which images (the first query of the
 * first complete seed), their pixels (the dataset's, as a run reads it, downscaled by hand here), the section on
 * the page, and the sentence that replaces it when the dataset cannot be read — each checked against numbers
 * worked out here, never by the report code.
 */
import assert from "node:assert/strict";
// @ts-types="@types/pngjs"
import { PNG } from "pngjs";
import { Buffer } from "node:buffer";
import { CHROMIUM, dumpDom } from "./chromium.ts";
import type { CellRecord } from "../src/records/records.ts";
import { cellPath } from "../src/runner/store.ts";
import { resultDigest } from "../src/report/digest.ts";
import { writeReport } from "../src/report/report.ts";
import { downscaleArea, pickedImages, thumbnailSize } from "../src/report/thumbnails.ts";
import { type ResolvedScenario, resolveScenarios } from "../src/scenario/load.ts";
import { datasetSource } from "../src/scenario/dataset_source.ts";
import { writeFolderFixture } from "./folder_fixture.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** A record whose rounds picked `picks[t]` after round t (the last round picks nothing). */
function rec(
  scenario: string,
  arm: string,
  seed: number,
  picks: string[][],
  options: { complete?: boolean; dataset?: string } = {},
): CellRecord {
  return {
    format: "albench-cell-v1",
    key: `${scenario}/${arm}/seed-${seed}`,
    scenario,
    scenarioHash: "h",
    arm,
    query: arm === "random" ? "random" : "first",
    seed,
    classNames: ["a", "b"],
    pretrainKey: null,
    environment: { backend: { name: "wasm" } },
    ...(options.dataset !== undefined
      ? { identity: { dataset: options.dataset, code: `builtin:${arm}`, engine: "wasm" } }
      : {}),
    complete: options.complete ?? true,
    iterations: [...picks, []].map((selected, t) => ({
      iteration: t,
      labelled: 10 + 5 * t,
      selected,
      test: { microF1: 0.5, macroF1: 0.5, mAP: 0.5, perClassF1: [0.5, 0.5] },
      classCounts: [1, 1],
      trainLoss: 0,
      seconds: { finetune: 1, inference: 1, query: 0 },
    })),
  };
}

Deno.test("pickedImages: per scenario and arm, the first query of the smallest complete seed, at most 8, in order", () => {
  const ten = Array.from({ length: 10 }, (_, i) => `p${i}`);
  const records = [
    // s2 before s1 in the records; the scenario order given puts s1 first.
    rec("f/s2", "random", 0, [["q0", "q1"]]),
    // Seed 3 is complete, seed 1 is not, seed 2 is complete: seed 2's picks, its first 8 of 10 in their order.
    rec("f/s1", "random", 3, [["z0"]]),
    rec("f/s1", "random", 1, [["y0"]], { complete: false }),
    rec("f/s1", "random", 2, [ten, ["later"]], { dataset: "d1" }),
    // Only an incomplete cell: no row. A complete cell without a query round (al.iterations 0): no row.
    rec("f/s1", "beta", 0, [["b0"]], { complete: false }),
    rec("f/s1", "alpha", 0, []),
    rec("f/s1", "first", 4, [["f0", "f1", "f2"]]),
  ];
  const got = pickedImages(records, 8, ["f/s1", "f/s2"]);
  assert.deepEqual(got, [
    { scenario: "f/s1", arm: "first", seed: 4, ids: ["f0", "f1", "f2"], selected: 3 },
    {
      scenario: "f/s1",
      arm: "random",
      seed: 2,
      ids: ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7"],
      selected: 10,
      dataset: "d1",
    },
    { scenario: "f/s2", arm: "random", seed: 0, ids: ["q0", "q1"], selected: 2 },
  ]);
  // Without an order, scenarios by id; a smaller cap cuts every row.
  assert.deepEqual(pickedImages(records, 1).map((p) => `${p.scenario}/${p.arm}:${p.ids}`), [
    "f/s1/first:f0",
    "f/s1/random:p0",
    "f/s2/random:q0",
  ]);
  assert.deepEqual(pickedImages([]), []);
});

/** Independent downscale: per output pixel and channel, the f × f block's values listed, averaged, rounded. */
function blockMean(pixels: Uint8Array, r: number, index: number, f: number): number[] {
  const side = Math.floor(r / f), out: number[] = [];
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      for (let c = 0; c < 3; c++) {
        const vals: number[] = [];
        for (let yy = y * f; yy < y * f + f; yy++) {
          for (let xx = x * f; xx < x * f + f; xx++) {
            vals.push(pixels[index * r * r * 3 + (yy * r + xx) * 3 + c]!);
          }
        }
        out.push(Math.round(vals.reduce((a, b) => a + b, 0) / vals.length));
      }
    }
  }
  return out;
}

Deno.test("thumbnails: sizes by hand, and the area-average downscale by an integer factor", () => {
  // At most 96 px encoded, shown at least 64 CSS pixels wide by an integer factor.
  assert.deepEqual([16, 32, 64, 96, 97, 128, 256, 512].map((r) => thumbnailSize(r)), [
    { factor: 1, side: 16, shown: 64 },
    { factor: 1, side: 32, shown: 64 },
    { factor: 1, side: 64, shown: 64 },
    { factor: 1, side: 96, shown: 96 },
    { factor: 2, side: 48, shown: 96 },
    { factor: 2, side: 64, shown: 64 },
    { factor: 3, side: 85, shown: 85 },
    { factor: 6, side: 85, shown: 85 },
  ]);
  // A 5×5 image (second of two) by 2: four 2×2 blocks, the fifth row and column left out. Red = 10·y + x,
  // green = 255 − red, blue = 7 at odd x. Block (0,0): red 0, 1, 10, 11 → 5.5 → 6; (1,1): 22, 23, 32, 33 → 27.5 → 28.
  const r = 5, pixels = new Uint8Array(2 * r * r * 3);
  for (let y = 0; y < r; y++) {
    for (let x = 0; x < r; x++) {
      const at = (r * r + y * r + x) * 3;
      pixels.set([10 * y + x, 255 - (10 * y + x), x % 2 ? 7 : 0], at);
    }
  }
  const out = downscaleArea({ resolution: r, pixels }, 1, 2);
  assert.deepEqual([out[0], out[1], out[2]], [6, 250, 4]); // 249.5 → 250; blue (0 + 7 + 0 + 7) / 4 = 3.5 → 4
  assert.deepEqual([out[9], out[10]], [28, 228]); // 255 − 27.5 = 227.5 → 228
  assert.deepEqual([...out], blockMean(pixels, r, 1, 2));
  assert.throws(
    () => downscaleArea({ resolution: r, pixels }, 2, 2),
    /image 2 is outside the table of 2 images/,
  );
});

/** The page's thumbnails: each `<img>`'s alt text, width attribute and decoded PNG. */
function imagesOf(html: string): { alt: string; width: number; png: PNG }[] {
  return [
    ...html.matchAll(/<img src="data:image\/png;base64,([A-Za-z0-9+/=]+)" width="(\d+)"[^>]* alt="([^"]*)"/g),
  ]
    .map((m) => ({ alt: m[3]!, width: Number(m[2]), png: PNG.sync.read(Buffer.from(m[1]!, "base64")) }));
}

/** PNG RGBA as RGB. */
const rgbOf = (png: PNG) => [...png.data].filter((_, i) => i % 4 !== 3);

/** A scenario file of two scenarios on the synthetic data (sizes 60), at 16 px and at 100 px. */
function scenarios(): ResolvedScenario[] {
  const base = {
    split: { val: 10, test: 10, pool: "rest" },
    model: { backbone: "small-cnn" },
    pretrain: { method: "none" },
    finetune: { epochs: 1, batchSize: 5, decayEpochs: [] },
    al: { initial: 10, batch: 10, iterations: 1 },
    arms: [{ name: "random", query: "random" }, { name: "first", query: "random" }],
    seeds: 2,
  };
  return [
    ...resolveScenarios({
      ...base,
      name: "thumbs-a",
      dataset: { kind: "synthetic", size: 60, resolution: 16 },
    }),
    ...resolveScenarios({
      ...base,
      name: "thumbs-b",
      dataset: { kind: "synthetic", size: 60, resolution: 100 },
    }),
  ];
}

/** Cell records written into `out` by hand: seed 0 incomplete, seed 1 complete; 10 picks of random, 5 of first. */
async function writeRun(out: string, list: ResolvedScenario[], fingerprint: string): Promise<CellRecord[]> {
  const ids = (await datasetSource(list[0]!.scenario.dataset).labels()).ids;
  const records: CellRecord[] = [];
  for (const s of list) {
    for (const [arm, picks] of [["random", ids.slice(20, 30)], ["first", ids.slice(40, 45)]] as const) {
      for (const seed of [0, 1]) {
        const r = {
          ...rec(s.id, arm, seed, [[...picks].reverse().map((x) => (seed === 0 ? ids[0]! : x))], {
            complete: seed === 1,
            dataset: fingerprint,
          }),
          scenarioHash: s.hash,
        };
        records.push(r);
        await Deno.mkdir(cellPath(out, r.key).replace(/\/[^/]+$/, ""), { recursive: true });
        await Deno.writeTextFile(cellPath(out, r.key), JSON.stringify(r));
      }
    }
  }
  return records;
}

Deno.test("writeReport: the thumbnails are the dataset's pixels of the first query's picks; digest unchanged", async () => {
  const out = await Deno.makeTempDir({ prefix: "albench-thumbs-" });
  try {
    const list = scenarios();
    const records = await writeRun(out, list, "synthetic-v1:size=60:seed=0");
    const keys = records.map((r) => r.key);
    const r = await writeReport(out, list, keys, { images: { cacheDir: `${out}/cache` } });
    assert.equal(r.digest, resultDigest(records));
    const html = await Deno.readTextFile(`${out}/index.html`);
    assert.ok(html.indexOf("</figure>") < html.indexOf("<h2>What each arm picked first</h2>"));
    assert.ok(html.indexOf("<h2>What each arm picked first</h2>") < html.indexOf("<h2>Tables</h2>"));
    assert.match(html, /first query picked \(after round 0\) in seed 1, at most 8/);
    assert.match(html, /Fig\. 5 and queried_classes\.csv/);
    // Two scenarios × (8 of random's 10 + first's 5).
    const imgs = imagesOf(html);
    assert.equal(imgs.length, 2 * (8 + 5));
    assert.equal((html.match(/ of 10 picked/g) ?? []).length, 2);
    // The dataset as a run reads it, independently of the report: ids, labels and pixels at each resolution.
    const src = datasetSource(list[0]!.scenario.dataset);
    const table = await src.labels();
    const px16 = (await src.images(16)).pixels, px100 = (await src.images(100)).pixels;
    const ids = table.ids;
    // In the order recorded: seed 1's picks were reversed, so random's row starts with id 29, first's with 44.
    const expectedIds = [
      ...[29, 28, 27, 26, 25, 24, 23, 22],
      ...[44, 43, 42, 41, 40],
    ].map((i) => ids[i]!);
    // Rows: scenario a (first, random by name), then b.
    const order = [...expectedIds.slice(8), ...expectedIds.slice(0, 8)];
    assert.deepEqual(imgs.map((i) => i.alt.split(":")[0]), [...order, ...order]);
    const c = table.classNames.length;
    imgs.forEach((img, k) => {
      const id = order[k % order.length]!, i = ids.indexOf(id);
      const names = table.classNames.filter((_, j) => table.labels[i * c + j] === 1);
      assert.equal(img.alt, `${id}: ${names.join(", ")}`);
      if (k < order.length) {
        // 16 px: the image itself, shown at 64.
        assert.deepEqual([img.png.width, img.png.height, img.width], [16, 16, 64]);
        assert.deepEqual(rgbOf(img.png), [...px16.subarray(i * 16 * 16 * 3, (i + 1) * 16 * 16 * 3)]);
      } else {
        // 100 px: 2 × 2 blocks averaged to 50 px, shown at 100.
        assert.deepEqual([img.png.width, img.png.height, img.width], [50, 50, 100]);
        assert.deepEqual(rgbOf(img.png), blockMean(px100, 100, i, 2));
      }
    });
    assert.ok(html.includes('title="'), "each image has a title");
    assert.ok(!/(src|href)="https?:/.test(html), "self-contained HTML");

    // Without the datasets: one sentence, no image, the same digest and the same other files.
    const before = await Deno.readTextFile(`${out}/summary.csv`);
    const bare = await writeReport(out, list, keys);
    assert.equal(bare.digest, r.digest);
    const page = await Deno.readTextFile(`${out}/index.html`);
    assert.ok(!page.includes("<img"));
    assert.match(
      page,
      /<h2>What each arm picked first<\/h2>\n<p class="meta">No thumbnails: this report was written without reading the datasets \(deno task report DIR --data ROOT --cache DIR reads them\)\.<\/p>/,
    );
    assert.equal(await Deno.readTextFile(`${out}/summary.csv`), before);
    // Apart from the section, the page is the same as with thumbnails.
    const cut = (h: string) =>
      h.replace(/<h2>What each arm picked first<\/h2>[\s\S]*?(?=<h2>Tables<\/h2>)/, "").replace(
        /<style>[^<]*/,
        "",
      );
    assert.equal(cut(page), cut(html));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("writeReport: a dataset that is not there, or not the run's, costs its scenario one sentence", async () => {
  const out = await Deno.makeTempDir({ prefix: "albench-thumbs-" });
  try {
    const [a] = scenarios();
    // A folder dataset whose root does not exist, and the synthetic one with cells of another dataset.
    const [gone] = resolveScenarios({
      name: "thumbs-gone",
      dataset: { kind: "folder", root: `${out}/no-such-archive`, labels: "labels.csv", resolution: 16 },
      split: { val: 10, test: 10, pool: "rest" },
      model: { backbone: "small-cnn" },
      al: { initial: 10, batch: 10, iterations: 1 },
      arms: [{ name: "random", query: "random" }],
      seeds: 1,
    });
    const list = [a!, gone!];
    const records = await writeRun(out, [a!], "synthetic-v1:size=61:seed=0");
    const mine = { ...rec(gone!.id, "random", 0, [["x"]]), scenarioHash: gone!.hash };
    await Deno.mkdir(`${out}/cells/${gone!.id}/random`, { recursive: true });
    await Deno.writeTextFile(cellPath(out, mine.key), JSON.stringify(mine));
    const r = await writeReport(out, list, [...records.map((x) => x.key), mine.key], {
      images: { cacheDir: `${out}/cache` },
    });
    assert.equal(r.complete, 3);
    const html = await Deno.readTextFile(`${out}/index.html`);
    assert.ok(!html.includes("<img"));
    assert.match(
      html,
      /No thumbnails for thumbs-a: the dataset is not the one its cells were computed on \(fingerprint synthetic-v1:size=60:seed=0, the cells' synthetic-v1:size=61:seed=0\); the synthetic data is made otherwise now \(another scenario or generator version\)\./,
    );
    assert.ok(
      html.includes(
        `No thumbnails for thumbs-gone: its dataset at ${out}/no-such-archive is not there; give --data the folder ` +
          "that holds it.",
      ),
    );
    // A scenario the report does not know (its file unreadable): a sentence too.
    await writeReport(out, [], [], { images: { cacheDir: `${out}/cache` } });
    assert.match(
      await Deno.readTextFile(`${out}/index.html`),
      /No thumbnails for thumbs-a: its scenario file could not be read, so its dataset is unknown\./,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("index.html: in headless Chromium every thumbnail loads and nothing is wider than the page", async () => {
  if (!CHROMIUM) {
    console.log(
      "note: headless-Chromium thumbnail check skipped: Debian's chromium is not installed (.ci/run installs it)",
    );
    return;
  }
  const out = await Deno.makeTempDir({ prefix: "albench-thumbs-" });
  try {
    const list = scenarios();
    const records = await writeRun(out, list, "synthetic-v1:size=60:seed=0");
    await writeReport(out, list, records.map((r) => r.key), { images: { cacheDir: `${out}/cache` } });
    const probe = `<script>
const imgs = [...document.querySelectorAll("figure.thumb img")];
const vw = document.documentElement.clientWidth, wide = [];
for (const el of document.querySelectorAll("body *")) {
  const r = el.getBoundingClientRect();
  if (r.width > 0 && (r.right > vw + 1 || r.left < -1)) wide.push(el.tagName + ":" + Math.round(r.right));
}
document.title = "probe " + JSON.stringify({
  n: imgs.length, loaded: imgs.filter((i) => i.complete && i.naturalWidth > 0).map((i) => [i.naturalWidth, i.width]),
  wide: wide.slice(0, 10),
});
</script>`;
    const html = await Deno.readTextFile(`${out}/index.html`);
    await Deno.writeTextFile(`${out}/probe.html`, html.replace("</body>", `${probe}</body>`));
    for (const width of [1280, 800]) {
      const dom = await dumpDom(`${out}/probe.html`, [`--window-size=${width},900`]);
      const title = dom.match(/<title>probe (.*?)<\/title>/)?.[1];
      assert.ok(title, "the probe ran");
      const found = JSON.parse(title.replaceAll("&quot;", '"'));
      assert.equal(found.n, 26);
      // Every image decoded: 16 px shown at 64, 50 px shown at 100.
      assert.deepEqual(found.loaded, [...Array(13).fill([16, 64]), ...Array(13).fill([50, 100])]);
      assert.deepEqual(found.wide, [], `at ${width} px wide: ${title}`);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** `deno run` of a command of src/cli with `permissions`, in the project root. */
function cli(
  command: string,
  args: string[],
  permissions = ["--allow-read", "--allow-env", "--allow-write"],
) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--cached-only", ...permissions, `${ROOT}src/cli/${command}.ts`, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
}

Deno.test("bench and report: thumbnails of a folder dataset's picks; report --data/--cache; unreadable data is a sentence", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "albench-thumbs-cli-" });
  try {
    const fixture = await writeFolderFixture(`${tmp}/archive`, { n: 48, form: "list" });
    const file = `${tmp}/s.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        name: "thumbs",
        dataset: { kind: "folder", root: `${tmp}/archive`, labels: "labels.csv", resolution: 16 },
        split: { val: 8, test: 8, pool: "rest" },
        model: { backbone: "small-cnn" },
        pretrain: { method: "none" },
        finetune: { epochs: 1, batchSize: 8, decayEpochs: [] },
        al: { initial: 8, batch: 4, iterations: 1 },
        arms: [{ name: "random", query: "random" }, { name: "mge-clustering", query: "mge-clustering" }],
        seeds: 1,
        backend: "wasm",
      }),
    );
    const out = `${tmp}/run`, cache = `${tmp}/cache`;
    const bench = await cli("bench", [
      "--scenario",
      file,
      "--out",
      out,
      "--cache",
      cache,
      "--jobs",
      "1",
      "--quiet",
      "--no-estimate",
    ]);
    assert.equal(bench.code, 0, text(bench.stderr));
    // Independently of the report: each arm's first query from its cell file, each image's colour from the
    // fixture (solid colours, so every pixel of a thumbnail is its image's colour).
    const colour = new Map(fixture.map((f) => [f.name, f.rgb]));
    const positives = new Map(fixture.map((f) => [f.name, f.positives]));
    const picks: string[] = [];
    for (const arm of ["mge-clustering", "random"]) {
      const cell = JSON.parse(await Deno.readTextFile(`${out}/cells/thumbs/${arm}/seed-0.json`));
      assert.equal(cell.iterations[0].selected.length, 4);
      picks.push(...cell.iterations[0].selected);
    }
    const check = (html: string) => {
      const imgs = imagesOf(html);
      assert.deepEqual(imgs.map((i) => i.alt.slice(0, i.alt.lastIndexOf(":"))), picks);
      imgs.forEach((img, k) => {
        const id = picks[k]!;
        assert.equal(img.alt, `${id}: ${positives.get(id)!.join(", ") || "no labels"}`);
        assert.deepEqual([img.png.width, img.png.height, img.width], [16, 16, 64]);
        const rgb = rgbOf(img.png);
        assert.ok(rgb.every((v, i) => v === colour.get(id)![i % 3]), `${id}: every pixel ${colour.get(id)}`);
      });
    };
    check(await Deno.readTextFile(`${out}/index.html`));

    // deno task report with the run's --cache: the same thumbnails.
    const report = await cli("report", [out, "--cache", cache]);
    assert.equal(report.code, 0, text(report.stderr));
    check(await Deno.readTextFile(`${out}/index.html`));
    // A --data that is not there: a sentence naming it, and the report otherwise written.
    const gone = await cli("report", [out, "--data", `${tmp}/elsewhere`, "--cache", cache]);
    assert.equal(gone.code, 0, text(gone.stderr));
    const goneHtml = await Deno.readTextFile(`${out}/index.html`);
    assert.ok(!goneHtml.includes("<img"));
    assert.ok(
      goneHtml.includes(
        `<p class="meta">No thumbnails for thumbs: its dataset at ${tmp}/elsewhere is not there; give --data the ` +
          "folder that holds it.</p>",
      ),
    );
    // Not permitted to read the archive: a sentence saying so and what grants it; exit 0.
    const denied = await cli("report", [out, "--cache", cache], [
      `--allow-read=${ROOT},${out},${file},${cache}`,
      `--allow-write=${out}`,
      "--allow-env",
    ]);
    assert.equal(denied.code, 0, text(denied.stderr));
    const deniedHtml = await Deno.readTextFile(`${out}/index.html`);
    assert.ok(!deniedHtml.includes("<img"));
    assert.match(
      deniedHtml,
      new RegExp(
        `No thumbnails for thumbs: the report may not read its dataset at ${tmp}/archive \\(Requires read access` +
          `[^<]*\\); deno task report may read each scenario's dataset root, --data and --cache: give the ` +
          "dataset's folder with --data\\.",
      ),
    );
    // Another cache, empty, that the report may not write: the images would be decoded for nothing; it says so.
    const cold = await cli("report", [out, "--cache", `${tmp}/other-cache`], [
      "--allow-read",
      `--allow-write=${out}`,
      "--allow-env",
    ]);
    assert.equal(cold.code, 0, text(cold.stderr));
    const coldHtml = await Deno.readTextFile(`${out}/index.html`);
    assert.ok(!coldHtml.includes("<img"));
    assert.match(
      coldHtml,
      new RegExp(
        `No thumbnails for thumbs: its images at ${tmp}/archive are not decoded in the cache ${tmp}/other-cache, ` +
          "and the report may not write them there \\(Requires write access[^<]*\\); give --cache the cache " +
          "folder the run used\\.",
      ),
    );
    // The help names the flags.
    const help = await cli("report", ["--help"]);
    assert.match(text(help.stdout), /--data DIR[\s\S]*--cache DIR[\s\S]*default \.cache/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
