/**
 * Preparing UCMerced: from a local folder or zip, or by downloading the official archives, into one folder of the
 * layout `ucmercedSource` reads (`Images/<class>/<name>.<ext>`, `LandUse_Multilabeled.txt` with LF endings,
 * `SHA256SUMS`).
 *
 * Every image is decoded first (strictly: a truncated TIFF, PNG or JPEG, an empty or garbage file is an error),
 * and all the damaged ones are named together before anything is written. The folder is then built beside the
 * destination and moved into place only after it verifies, so a failed run leaves an earlier prepared copy as it
 * was. Every later run checks the copy against its `SHA256SUMS` (see `verify.ts`).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { SUMS_FILE } from "./verify.ts";
import { unzipSync } from "fflate";
import { decodeImage, IMAGE_EXTENSIONS } from "./codecs.ts";
import { checkNamesAcrossClasses, LABEL_FILE, parseLabelFile, ucmercedSource } from "./ucmerced.ts";
import { classCounts } from "./dataset.ts";

/** The official archives. */
export const OFFICIAL_URLS = {
  images: "http://weegee.vision.ucmerced.edu/datasets/UCMerced_LandUse.zip",
  labels: "https://bigearth.eu/assets/docs/multilabels.zip",
} as const;

/** Options of {@linkcode prepareUcmerced}. */
export interface PrepareOptions {
  /** A folder holding `Images/` (or `UCMerced_LandUse/Images/`), or the official zip. Downloaded when absent. */
  readonly from?: string;
  /** `LandUse_Multilabeled.txt`, or the multi-label zip. Taken from `from` when it has one, else downloaded. */
  readonly labels?: string;
  /** Destination folder. */
  readonly out: string;
  /** Download URLs (for mirrors); default {@linkcode OFFICIAL_URLS}. */
  readonly urls?: { images: string; labels: string };
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

/** What was prepared. */
export interface PrepareResult {
  readonly out: string;
  readonly images: number;
  readonly classes: string[];
  readonly positives: number[];
}

interface ImageFile {
  readonly cls: string;
  readonly file: string;
  /** Where it comes from (a file, or `archive.zip:entry`), for errors. */
  readonly path: string;
  readonly bytes: () => Promise<Uint8Array>;
}

const isImage = (name: string) =>
  (IMAGE_EXTENSIONS as readonly string[]).includes(name.slice(name.lastIndexOf(".")).toLowerCase());

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/**
 * Download `url` to memory, reporting progress every 10%.
 *
 * @example
 * ```ts ignore
 * import { download } from "./prepare.ts";
 * const bytes = await download("http://127.0.0.1:8000/x.zip", console.log);
 * ```
 */
export async function download(url: string, log: (line: string) => void): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(
      `cannot download ${url}: ${
        (e as Error).message
      }. On a machine without internet access, copy the archive ` +
        "here and pass it with --from (images) or --labels (multi-labels).",
      { cause: e },
    );
  }
  if (!res.ok || !res.body) throw new Error(`cannot download ${url}: HTTP ${res.status} ${res.statusText}`);
  const total = Number(res.headers.get("content-length") ?? 0);
  const chunks: Uint8Array[] = [];
  let received = 0, nextReport = 0.1;
  for await (const chunk of res.body) {
    chunks.push(chunk);
    received += chunk.length;
    if (total > 0 && received / total >= nextReport) {
      log(`  ${url}: ${Math.floor((100 * received) / total)}% of ${(total / 2 ** 20).toFixed(1)} MiB`);
      nextReport += 0.1;
    }
  }
  if (total > 0 && received !== total) {
    throw new Error(`download of ${url} stopped at ${received} of ${total} bytes`);
  }
  const out = new Uint8Array(received);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  log(`  downloaded ${url} (${(received / 2 ** 20).toFixed(1)} MiB)`);
  return out;
}

function unzip(bytes: Uint8Array, what: string): Record<string, Uint8Array> {
  try {
    return unzipSync(bytes); // checks every entry's CRC-32
  } catch (e) {
    throw new Error(`${what} is not a valid zip archive: ${(e as Error).message}`, { cause: e });
  }
}

/** Image files from a zip: entries `.../Images/<class>/<name>.<ext>`. */
function imagesFromZip(entries: Record<string, Uint8Array>, what: string): ImageFile[] {
  const files: ImageFile[] = [];
  for (const [path, data] of Object.entries(entries)) {
    const m = /(?:^|\/)Images\/([^/]+)\/([^/]+)$/.exec(path);
    if (m && isImage(m[2]!)) {
      files.push({ cls: m[1]!, file: m[2]!, path: `${what}:${path}`, bytes: () => Promise.resolve(data) });
    }
  }
  if (!files.length) throw new Error(`${what} holds no Images/<class>/<name>.{tif,jpg,png} entries`);
  return files;
}

/** Image files from a folder holding `Images/` or `UCMerced_LandUse/Images/`. */
async function imagesFromDir(dir: string): Promise<ImageFile[]> {
  const base = (await exists(`${dir}/Images`)) ? `${dir}/Images` : `${dir}/UCMerced_LandUse/Images`;
  if (!(await exists(base))) {
    throw new Error(
      `--from ${dir}: no Images/ or UCMerced_LandUse/Images/ folder inside; point --from at the dataset`,
    );
  }
  const files: ImageFile[] = [];
  for await (const cls of Deno.readDir(base)) {
    if (!cls.isDirectory) continue;
    for await (const f of Deno.readDir(`${base}/${cls.name}`)) {
      if (f.isFile && isImage(f.name)) {
        files.push({
          cls: cls.name,
          file: f.name,
          path: `${base}/${cls.name}/${f.name}`,
          bytes: () => Deno.readFile(`${base}/${cls.name}/${f.name}`),
        });
      }
    }
  }
  return files;
}

function labelsFromZip(entries: Record<string, Uint8Array>, what: string): { text: string; source: string } {
  const key = Object.keys(entries).find((k) => k.endsWith(LABEL_FILE));
  if (!key) throw new Error(`${what} holds no ${LABEL_FILE}`);
  return { text: new TextDecoder().decode(entries[key]), source: `${what}:${key}` };
}

/**
 * Decode every image (strictly, see {@linkcode decodeImage}) and throw naming every one that is damaged or
 * unreadable, with progress lines every 100 images.
 *
 * @example
 * ```ts ignore
 * import { checkImages } from "./prepare.ts";
 * await checkImages([{ path: "a.png", bytes: () => Deno.readFile("a.png") }], console.error);
 * ```
 */
export async function checkImages(
  images: readonly { readonly path: string; readonly bytes: () => Promise<Uint8Array> }[],
  log: (line: string) => void,
): Promise<void> {
  const bad: string[] = [];
  const t0 = performance.now();
  log(`decoding ${images.length} images to check them`);
  for (const [i, img] of images.entries()) {
    try {
      decodeImage(await img.bytes(), img.path);
    } catch (e) {
      bad.push((e as Error).message.replace(/^cannot decode /, ""));
    }
    if ((i + 1) % 100 === 0 || i + 1 === images.length) {
      log(
        `  decoded ${i + 1}/${images.length} images${bad.length ? `, ${bad.length} damaged` : ""} (${
          ((performance.now() - t0) / 1000).toFixed(1)
        } s)`,
      );
    }
  }
  if (bad.length) {
    const one = bad.length === 1;
    const are = one ? "is" : "are", them = one ? "it" : "them";
    const copies = one ? "an intact copy" : "intact copies",
      rows = one ? "its label row" : "their label rows";
    throw new Error(
      `${bad.length} of ${images.length} images ${are} damaged or unreadable, so nothing was written:\n  ` +
        `${
          bad.join("\n  ")
        }\nReplace ${them} with ${copies} (or remove ${them} and ${rows}) and run the task again.`,
    );
  }
}

/**
 * Prepare UCMerced into `options.out`, verify it, and return what it holds.
 *
 * @example
 * ```ts ignore
 * import { prepareUcmerced } from "./prepare.ts";
 * await prepareUcmerced({ from: "../shared/data/ucmerced", out: ".cache/data/ucmerced", log: console.log });
 * ```
 */
export async function prepareUcmerced(options: PrepareOptions): Promise<PrepareResult> {
  const log = options.log ?? (() => {});
  const urls = options.urls ?? OFFICIAL_URLS;
  let images: ImageFile[];
  let labelText: string | undefined;
  /** Where the label text came from, for its errors (never the staging copy, which is gone by then). */
  let labelSource = LABEL_FILE;
  if (options.from === undefined) {
    log(`downloading the images from ${urls.images}`);
    images = imagesFromZip(unzip(await download(urls.images, log), urls.images), urls.images);
  } else if ((await Deno.stat(options.from).catch(() => null))?.isDirectory) {
    images = await imagesFromDir(options.from);
    if (options.labels === undefined && (await exists(`${options.from}/${LABEL_FILE}`))) {
      labelSource = `${options.from}/${LABEL_FILE}`;
      labelText = await Deno.readTextFile(labelSource);
    }
  } else if (await exists(options.from)) {
    const entries = unzip(await Deno.readFile(options.from), options.from);
    images = imagesFromZip(entries, options.from);
    if (options.labels === undefined && Object.keys(entries).some((k) => k.endsWith(LABEL_FILE))) {
      ({ text: labelText, source: labelSource } = labelsFromZip(entries, options.from));
    }
  } else {
    throw new Error(`--from ${options.from}: no such file or folder`);
  }
  if (labelText === undefined) {
    if (options.labels === undefined) {
      log(`downloading the multi-labels from ${urls.labels}`);
      ({ text: labelText, source: labelSource } = labelsFromZip(
        unzip(await download(urls.labels, log), urls.labels),
        urls.labels,
      ));
    } else if (!(await exists(options.labels))) {
      throw new Error(`--labels ${options.labels}: no such file`);
    } else if (options.labels.toLowerCase().endsWith(".zip")) {
      ({ text: labelText, source: labelSource } = labelsFromZip(
        unzip(await Deno.readFile(options.labels), options.labels),
        options.labels,
      ));
    } else {
      labelText = await Deno.readTextFile(options.labels);
      labelSource = options.labels;
    }
  }
  // Checked where they come from, before anything is written: errors name the source, not a staging copy.
  parseLabelFile(labelText, labelSource);
  checkNamesAcrossClasses(images);
  images.sort((a, b) => (a.cls + a.file < b.cls + b.file ? -1 : 1));
  await checkImages(images, log);

  const out = options.out.replace(/\/+$/, "");
  const parent = out.includes("/") ? out.slice(0, out.lastIndexOf("/")) : ".";
  await Deno.mkdir(parent, { recursive: true });
  const staging = `${out}.staging-${crypto.randomUUID().slice(0, 8)}`;
  try {
    const sums: string[] = [];
    const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
    const labelsLf = labelText.replace(/^\uFEFF/, "").replace(/\r\n/g, "\n");
    await Deno.mkdir(staging, { recursive: true });
    await Deno.writeTextFile(`${staging}/${LABEL_FILE}`, labelsLf);
    sums.push(`${sha(new TextEncoder().encode(labelsLf))}  ${LABEL_FILE}`);
    for (const [i, img] of images.entries()) {
      await Deno.mkdir(`${staging}/Images/${img.cls}`, { recursive: true });
      const bytes = await img.bytes();
      await Deno.writeFile(`${staging}/Images/${img.cls}/${img.file}`, bytes);
      sums.push(`${sha(bytes)}  Images/${img.cls}/${img.file}`);
      if ((i + 1) % 500 === 0 || i + 1 === images.length) log(`  copied ${i + 1}/${images.length} images`);
    }
    await Deno.writeTextFile(`${staging}/${SUMS_FILE}`, sums.join("\n") + "\n");
    // Verify with the reader itself: label file well-formed, names and images one to one, SHA256SUMS true.
    const source = ucmercedSource({ root: staging, writeVerifiedIndex: false });
    const table = await source.labels();
    await source.fingerprint();
    // Swap in the verified copy; the old one is removed only once the new one is in place.
    const old = `${out}.old-${crypto.randomUUID().slice(0, 8)}`;
    const hadOld = await exists(out);
    if (hadOld) await Deno.rename(out, old);
    await Deno.rename(staging, out);
    if (hadOld) await Deno.remove(old, { recursive: true });
    return { out, images: table.ids.length, classes: [...table.classNames], positives: classCounts(table) };
  } catch (e) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    throw e;
  }
}
