/**
 * Thumbnails of what each arm picked first: per scenario and arm, the images the first query (after round 0) of
 * the first complete seed selected, at most {@linkcode MAX_THUMBNAILS}, as small PNGs for `index.html`.
 *
 * The choice of images ({@linkcode pickedImages}), the area-average downscale ({@linkcode downscaleArea}) and the
 * PNG of one image ({@linkcode thumbnailOf}) are pure; {@linkcode readThumbnails} is the thin shell that reads the
 * dataset as a run reads it (`datasetSource`, decoded images from the cache). Thumbnails are presentation: they
 * never enter the result digest, and a dataset that cannot be read costs the report one sentence, never the
 * report.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { CellRecord } from "../records/records.ts";
import type { ResolvedScenario } from "../scenario/load.ts";
import type { ImageTable, LabelTable } from "../data/dataset.ts";
import { datasetKey, datasetSource } from "../scenario/dataset_source.ts";
import { encodePng } from "../data/codecs.ts";

/** The most thumbnails shown per scenario and arm. */
export const MAX_THUMBNAILS = 8;
/** The largest side a thumbnail is encoded at, in pixels: larger images are downscaled by an integer factor. */
export const MAX_THUMBNAIL_SIDE = 96;
/** The smallest side a thumbnail is shown at, in CSS pixels: smaller ones are scaled up by an integer factor. */
export const MIN_SHOWN_SIDE = 64;

/** One arm's first query in one scenario: the ids it picked, the first {@linkcode MAX_THUMBNAILS} of them. */
export interface PickedImages {
  readonly scenario: string;
  readonly arm: string;
  /** The seed whose picks these are: the smallest with a complete record. */
  readonly seed: number;
  /** The ids shown, in the order the cell recorded them. */
  readonly ids: readonly string[];
  /** How many ids that query picked in all. */
  readonly selected: number;
  /** The dataset fingerprint the cell was computed on (`identity.dataset`; absent in older records). */
  readonly dataset?: string;
}

const rank = (order: readonly string[], id: string) => {
  const i = order.indexOf(id);
  return i < 0 ? order.length : i;
};

/**
 * Per scenario and arm (baseline included), the ids the first query picked — `iterations[0].selected` of the
 * complete record with the smallest seed — at most `maxPerArm`, in the order recorded. Scenarios come in `order`
 * (their scenario-file order; others after, by id), arms by name. An arm without a complete record whose first
 * query picked anything has no entry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pickedImages } from "./thumbnails.ts";
 * const rec = (arm: string, seed: number, selected: string[], complete = true) =>
 *   ({ scenario: "s", arm, seed, complete, iterations: [{ selected }, { selected: [] }] }) as never;
 * const p = pickedImages([rec("b", 1, ["x", "y", "z"]), rec("b", 0, ["u"], false), rec("a", 2, ["v", "w"])], 2);
 * assert.deepEqual(p.map((r) => `${r.arm}/${r.seed}: ${r.ids.join()} of ${r.selected}`), ["a/2: v,w of 2", "b/1: x,y of 3"]);
 * ```
 */
export function pickedImages(
  records: readonly CellRecord[],
  maxPerArm: number = MAX_THUMBNAILS,
  order: readonly string[] = [],
): PickedImages[] {
  const first = new Map<string, CellRecord>();
  for (const r of records) {
    if (!r.complete || !(r.iterations[0]?.selected.length)) continue;
    const k = JSON.stringify([r.scenario, r.arm]);
    const held = first.get(k);
    if (!held || r.seed < held.seed) first.set(k, r);
  }
  return [...first.values()]
    .sort((a, b) =>
      rank(order, a.scenario) - rank(order, b.scenario) ||
      (a.scenario < b.scenario ? -1 : a.scenario > b.scenario ? 1 : 0) ||
      (a.arm < b.arm ? -1 : a.arm > b.arm ? 1 : 0)
    )
    .map((r) => {
      const selected = r.iterations[0]!.selected;
      return {
        scenario: r.scenario,
        arm: r.arm,
        seed: r.seed,
        ids: selected.slice(0, Math.max(0, maxPerArm)),
        selected: selected.length,
        ...(r.identity?.dataset !== undefined ? { dataset: r.identity.dataset } : {}),
      };
    });
}

/**
 * How an image of side `resolution` becomes a thumbnail: downscaled by the smallest integer `factor` that brings
 * it to at most `maxSide` pixels (`side` = ⌊resolution / factor⌋; the last `resolution mod factor` rows and columns
 * are left out), then shown `shown` CSS pixels wide, an integer multiple of `side` of at least `minShown`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { thumbnailSize } from "./thumbnails.ts";
 * assert.deepEqual(thumbnailSize(32), { factor: 1, side: 32, shown: 64 });
 * assert.deepEqual(thumbnailSize(16), { factor: 1, side: 16, shown: 64 });
 * assert.deepEqual(thumbnailSize(256), { factor: 3, side: 85, shown: 85 });
 * assert.deepEqual(thumbnailSize(120), { factor: 2, side: 60, shown: 120 });
 * ```
 */
export function thumbnailSize(
  resolution: number,
  maxSide: number = MAX_THUMBNAIL_SIDE,
  minShown: number = MIN_SHOWN_SIDE,
): { factor: number; side: number; shown: number } {
  if (!Number.isInteger(resolution) || resolution < 1) {
    throw new RangeError(`thumbnail: the resolution must be a positive integer, got ${resolution}`);
  }
  const factor = Math.max(1, Math.ceil(resolution / maxSide));
  const side = Math.floor(resolution / factor);
  return { factor, side, shown: side * Math.max(1, Math.ceil(minShown / side)) };
}

/**
 * Image `index` of an `N × R × R × 3` table, downscaled by the integer `factor`: each output pixel is the mean of
 * a `factor × factor` block, per channel, rounded to the nearest integer (halves up). Rows and columns past
 * `⌊R / factor⌋ · factor` are left out. `factor` 1 copies the image.
 *
 * @example
 * ```ts
 * import { downscaleArea } from "./thumbnails.ts";
 * // One 2×2 image of grey levels 0, 1, 2, 4 (all three channels) → one pixel, (0 + 1 + 2 + 4) / 4 = 1.75 → 2.
 * const px = new Uint8Array([0, 0, 0, 1, 1, 1, 2, 2, 2, 4, 4, 4]);
 * console.assert(downscaleArea({ resolution: 2, pixels: px }, 0, 2).join() === "2,2,2");
 * console.assert(downscaleArea({ resolution: 2, pixels: px }, 0, 1).join() === px.join());
 * ```
 */
export function downscaleArea(table: ImageTable, index: number, factor: number): Uint8Array {
  const r = table.resolution;
  if (!Number.isInteger(factor) || factor < 1 || factor > r) {
    throw new RangeError(`thumbnail: the downscale factor must be an integer from 1 to ${r}, got ${factor}`);
  }
  const at = index * r * r * 3;
  if (!Number.isInteger(index) || index < 0 || at + r * r * 3 > table.pixels.length) {
    throw new RangeError(
      `thumbnail: image ${index} is outside the table of ${table.pixels.length / (r * r * 3)} images`,
    );
  }
  if (factor === 1) return table.pixels.slice(at, at + r * r * 3);
  const side = Math.floor(r / factor), area = factor * factor;
  const out = new Uint8Array(side * side * 3);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let dy = 0; dy < factor; dy++) {
          const row = at + ((y * factor + dy) * r + x * factor) * 3 + c;
          for (let dx = 0; dx < factor; dx++) sum += table.pixels[row + dx * 3]!;
        }
        out[(y * side + x) * 3 + c] = Math.floor(sum / area + 0.5);
      }
    }
  }
  return out;
}

/** One thumbnail: which image, its labels, and its PNG. */
export interface Thumbnail {
  /** The sample id. */
  readonly id: string;
  /** The class names of its labels, in label-column order. */
  readonly labels: readonly string[];
  /** The PNG's side in pixels. */
  readonly side: number;
  /** The side it is shown at, in CSS pixels. */
  readonly shown: number;
  /** The PNG (RGB, `side × side`). */
  readonly png: Uint8Array;
}

/**
 * The thumbnail of sample `id` from a label table and the image table of the same dataset (see
 * {@linkcode thumbnailSize} and {@linkcode downscaleArea}). Throws naming the id when the table does not hold it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { thumbnailOf } from "./thumbnails.ts";
 * import { decodeImage } from "../data/codecs.ts";
 * const labels = { ids: ["a", "b"], classNames: ["x", "y"], labels: new Uint8Array([1, 0, 1, 1]) };
 * const images = { resolution: 8, pixels: new Uint8Array(2 * 8 * 8 * 3).map((_, i) => i % 251) };
 * const t = thumbnailOf("b", labels, images);
 * assert.deepEqual([t.labels, t.side, t.shown], [["x", "y"], 8, 64]);
 * assert.deepEqual(decodeImage(t.png, "b.png").rgb, images.pixels.slice(192));
 * assert.throws(() => thumbnailOf("c", labels, images), /sample "c" is not in the dataset/);
 * ```
 */
export function thumbnailOf(id: string, labels: LabelTable, images: ImageTable): Thumbnail {
  const i = labels.ids.indexOf(id);
  if (i < 0) {
    throw new Error(
      `sample ${
        JSON.stringify(id)
      } is not in the dataset read (${labels.ids.length} samples): it is not the ` +
        "data the run read",
    );
  }
  const { factor, side, shown } = thumbnailSize(images.resolution);
  const c = labels.classNames.length;
  return {
    id,
    labels: labels.classNames.filter((_, j) => labels.labels[i * c + j] === 1),
    side,
    shown,
    png: encodePng({ width: side, height: side, rgb: downscaleArea(images, i, factor) }),
  };
}

/**
 * A PNG as a `data:` URL.
 *
 * @example
 * ```ts
 * import { pngDataUrl } from "./thumbnails.ts";
 * console.assert(pngDataUrl(new Uint8Array([137, 80, 78, 71])) === "data:image/png;base64,iVBORw==");
 * ```
 */
export function pngDataUrl(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString("base64")}`;
}

/** One row of the section: a scenario and arm, and the thumbnails of its first query's picks. */
export interface ThumbnailRow {
  readonly scenario: string;
  readonly arm: string;
  readonly seed: number;
  /** How many ids the query picked in all (the row shows at most {@linkcode MAX_THUMBNAILS}). */
  readonly selected: number;
  readonly thumbnails: readonly Thumbnail[];
}

/** The section "What each arm picked first": its rows, and a sentence for each scenario left without. */
export interface Thumbnails {
  readonly rows: readonly ThumbnailRow[];
  /** Why some or all thumbnails are absent, one sentence each. */
  readonly notes: readonly string[];
}

/** The sentence when no arm has a first query to show. */
export const NO_PICKS_NOTE = "No thumbnails yet: no arm has a complete cell whose first query picked images.";

/**
 * The section without the dataset: no rows, and one sentence saying why (`why`, or that nothing was picked yet).
 *
 * @example
 * ```ts
 * import { noThumbnails, NO_PICKS_NOTE } from "./thumbnails.ts";
 * console.assert(noThumbnails([], "unused").notes[0] === NO_PICKS_NOTE);
 * const p = [{ scenario: "s", arm: "a", seed: 0, ids: ["x"], selected: 1 }];
 * console.assert(noThumbnails(p, "No thumbnails: no dataset.").notes.join() === "No thumbnails: no dataset.");
 * ```
 */
export function noThumbnails(picked: readonly PickedImages[], why: string): Thumbnails {
  return { rows: [], notes: [picked.length ? why : NO_PICKS_NOTE] };
}

/** The sentence when the report is written without a way to read the datasets. */
export const NO_DATASET_NOTE =
  "No thumbnails: this report was written without reading the datasets (deno task report DIR --data ROOT " +
  "--cache DIR reads them).";

/** A fingerprint short enough for a sentence. */
const short = (fingerprint: string) => fingerprint.length > 40 ? `${fingerprint.slice(0, 32)}…` : fingerprint;

/** Why a dataset could not be read, as the end of a sentence that names the fix. */
function whyUnreadable(e: unknown, root: string | null, cacheDir: string): string {
  const first = (e instanceof Error ? e.message : String(e)).split("\n")[0]!;
  const where = root ? ` at ${root}` : "";
  if (e instanceof Deno.errors.NotCapable && /write access/.test(first)) {
    // Read, decoded, then refused when caching them: the cache given is not the run's (the report only reads it).
    return `its images${where} are not decoded in the cache ${cacheDir}, and the report may not write them there ` +
      `(${first}); give --cache the cache folder the run used`;
  }
  if (e instanceof Deno.errors.NotCapable) {
    return `the report may not read its dataset${where} (${first}); deno task report may read each scenario's ` +
      "dataset root, --data and --cache: give the dataset's folder with --data";
  }
  if (e instanceof Deno.errors.NotFound) {
    return `its dataset${where} is not there; give --data the folder that holds it`;
  }
  return `its dataset${where} cannot be read (${first})`;
}

/**
 * Read the thumbnails of `picked` from each scenario's dataset as a run reads it: `datasetSource` with `dataRoot`
 * (the `--data` flag) and `cacheDir`, its labels and its images at the scenario's resolution (one read per
 * dataset and resolution). A scenario whose file is unknown, whose dataset cannot be read, or whose dataset is not
 * the one its cells were computed on (another fingerprint, or a picked id it lacks) gets a sentence in `notes`
 * instead of rows; nothing here throws.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readThumbnails } from "./thumbnails.ts";
 * const s = { id: "f/s", scenario: { dataset: { kind: "synthetic", size: 21, seed: 0, resolution: 16 } } };
 * const picked = [{ scenario: "f/s", arm: "random", seed: 0, ids: ["airplane00"], selected: 10 }];
 * const t = await readThumbnails(picked, [s as never], { cacheDir: ".cache" });
 * assert.deepEqual([t.rows[0]!.thumbnails[0]!.side, t.notes], [16, []]);
 * const none = await readThumbnails(picked, [], { cacheDir: ".cache" });
 * assert.match(none.notes[0]!, /its scenario file could not be read/);
 * ```
 */
export async function readThumbnails(
  picked: readonly PickedImages[],
  scenarios: readonly Pick<ResolvedScenario, "id" | "scenario">[],
  images: { readonly dataRoot?: string; readonly cacheDir: string },
): Promise<Thumbnails> {
  if (!picked.length) return noThumbnails(picked, "");
  const rows: ThumbnailRow[] = [], notes: string[] = [];
  const read = new Map<string, Promise<{ labels: LabelTable; fingerprint: string; images: ImageTable }>>();
  for (const id of [...new Set(picked.map((p) => p.scenario))]) {
    const mine = picked.filter((p) => p.scenario === id);
    const s = scenarios.find((x) => x.id === id);
    if (!s) {
      notes.push(`No thumbnails for ${id}: its scenario file could not be read, so its dataset is unknown.`);
      continue;
    }
    const spec = s.scenario.dataset;
    const root = spec.kind === "synthetic" ? null : (images.dataRoot ?? spec.root);
    const key = `${datasetKey(spec, images)}@${spec.resolution}`;
    // A synthetic archive is made from the scenario and the generator's version alone.
    const fix = root
      ? "give --data the folder the run read."
      : "the synthetic data is made otherwise now (another scenario or generator version).";
    const load = () => {
      const src = datasetSource(spec, images);
      return (async () => ({
        labels: await src.labels(),
        fingerprint: await src.fingerprint(),
        images: await src.images(spec.resolution),
      }))();
    };
    try {
      // A root that is not there (or may not be read) is said as such, before the source's own words on files.
      if (root !== null) await Deno.stat(root);
      if (!read.has(key)) read.set(key, load());
      const data = await read.get(key)!;
      const other = mine.find((p) => p.dataset !== undefined && p.dataset !== data.fingerprint);
      if (other) {
        notes.push(
          `No thumbnails for ${id}: the dataset${root ? ` at ${root}` : ""} is not the one its cells were ` +
            `computed on (fingerprint ${short(data.fingerprint)}, the cells' ${
              short(other.dataset!)
            }); ${fix}`,
        );
        continue;
      }
      const known = new Set(data.labels.ids);
      const absent = mine.flatMap((p) => p.ids).find((x) => !known.has(x));
      if (absent !== undefined) {
        notes.push(
          `No thumbnails for ${id}: the dataset${root ? ` at ${root}` : ""} has no sample ${
            JSON.stringify(absent)
          }, which its cells picked, so it is not the data the run read; ${fix}`,
        );
        continue;
      }
      const built = mine.map((p) => ({
        scenario: p.scenario,
        arm: p.arm,
        seed: p.seed,
        selected: p.selected,
        thumbnails: p.ids.map((x) => thumbnailOf(x, data.labels, data.images)),
      }));
      rows.push(...built);
    } catch (e) {
      notes.push(`No thumbnails for ${id}: ${whyUnreadable(e, root, images.cacheDir)}.`);
    }
  }
  return { rows, notes };
}
