/**
 * `ucmerced`: UCMerced Land Use (2100 aerial scenes, 21 folders of 100) with the 17-class multi-labels of
 * Chaudhuri et al.
 *
 * A root folder holds `Images/<class>/<name>.{tif,jpg,png}` and `LandUse_Multilabeled.txt` (tab-separated, header
 * `IMAGE\LABEL` and the class names, one 0/1 row per image, LF or CRLF). Image names and label rows must match one
 * to one. Decoded, resized images are cached under the cache folder, keyed by the files' SHA-256 and the
 * resolution, so later loads read one file instead of decoding 2100 images.
 *
 * A prepared copy (one with the `SHA256SUMS` that `deno task data` writes) is verified before any of it is used
 * (see `verify.ts`): a changed, missing or added file is refused naming it, and when the image cache is rebuilt
 * every image is hashed again as it is decoded. Images are decoded strictly (`codecs.ts`): a truncated or damaged
 * file is an error naming it, never partly wrong pixels.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { DatasetSource, ImageTable, LabelTable } from "./dataset.ts";
import { validateLabelTable } from "./dataset.ts";
import { IMAGE_EXTENSIONS } from "./codecs.ts";
import { cachedImageTable } from "./image_table.ts";
import { changedCopyError, verifyPreparedCopy } from "./verify.ts";

/** The label file's name inside the root. */
export const LABEL_FILE = "LandUse_Multilabeled.txt";

/**
 * Parse `LandUse_Multilabeled.txt`. Errors name the line and what was expected.
 *
 * @example
 * ```ts
 * import { parseLabelFile } from "./ucmerced.ts";
 * const t = parseLabelFile("IMAGE\\LABEL\ta\tb\r\nx01\t1\t0\r\n");
 * console.assert(t.ids[0] === "x01" && t.classNames.join() === "a,b" && t.labels.join() === "1,0");
 * ```
 */
export function parseLabelFile(text: string, source = LABEL_FILE): LabelTable {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  while (lines.length && lines[lines.length - 1]!.trim() === "") lines.pop();
  const header = lines[0]?.split("\t").map((s) => s.trim());
  if (!header || header.length < 2 || !/^IMAGE\\LABEL$/i.test(header[0]!)) {
    throw new Error(
      `${source}: line 1 must be the header "IMAGE\\LABEL<TAB>class1<TAB>...", got ${
        JSON.stringify(lines[0] ?? "")
      }`,
    );
  }
  const classNames = header.slice(1);
  const c = classNames.length;
  const ids: string[] = [];
  const labels = new Uint8Array((lines.length - 1) * c);
  for (let k = 1; k < lines.length; k++) {
    const cells = lines[k]!.split("\t").map((s) => s.trim());
    if (cells.length !== c + 1) {
      throw new Error(
        `${source}: line ${k + 1} has ${cells.length} fields, expected ${c + 1} (a name and ${c} labels)`,
      );
    }
    ids.push(cells[0]!);
    for (let j = 0; j < c; j++) {
      const v = cells[j + 1];
      if (v !== "0" && v !== "1") {
        throw new Error(
          `${source}: line ${k + 1}, column ${classNames[j]}: expected 0 or 1, got ${JSON.stringify(v)}`,
        );
      }
      labels[(k - 1) * c + j] = v === "1" ? 1 : 0;
    }
  }
  const table = { ids, classNames, labels };
  try {
    validateLabelTable(table);
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`, { cause: e });
  }
  return table;
}

/** Image files found under `Images/`: name (without extension) → path. */
/**
 * Refuse an image name that occurs in two class folders (`Images/a/x.tif` and `Images/b/x.png`): a label row
 * names one image, so which would it be? The same name twice in one folder (a TIFF and a re-encode) is allowed.
 * Throws naming both files.
 *
 * @example
 * ```ts
 * import { checkNamesAcrossClasses } from "./ucmerced.ts";
 * checkNamesAcrossClasses([{ cls: "a", file: "x.tif", path: "A/x.tif" }, { cls: "a", file: "x.png", path: "A/x.png" }]);
 * let threw = false;
 * try { checkNamesAcrossClasses([{ cls: "a", file: "x.tif", path: "a/x.tif" }, { cls: "b", file: "x.png", path: "b/x.png" }]); } catch { threw = true; }
 * console.assert(threw);
 * ```
 */
export function checkNamesAcrossClasses(
  files: readonly { readonly cls: string; readonly file: string; readonly path: string }[],
): void {
  const first = new Map<string, { cls: string; path: string }>();
  for (const f of files) {
    const dot = f.file.lastIndexOf(".");
    const name = dot < 0 ? f.file : f.file.slice(0, dot);
    const prev = first.get(name);
    if (prev && prev.cls !== f.cls) {
      const [a, b] = [prev.path, f.path].sort();
      throw new Error(
        `ucmerced: the image name ${
          JSON.stringify(name)
        } is in two class folders, ${a} and ${b}; a label row ` +
          "names one image, so remove or rename one of them",
      );
    }
    if (!prev) first.set(name, f);
  }
}

async function scanImages(root: string): Promise<Map<string, string>> {
  const dir = `${root}/Images`;
  const found = new Map<string, string>();
  const listed: { cls: string; file: string; path: string }[] = [];
  const rank = (p: string) => IMAGE_EXTENSIONS.indexOf(p.slice(p.lastIndexOf(".")).toLowerCase() as never);
  try {
    for await (const cls of Deno.readDir(dir)) {
      if (!cls.isDirectory) continue;
      for await (const f of Deno.readDir(`${dir}/${cls.name}`)) {
        const dot = f.name.lastIndexOf(".");
        if (!f.isFile || dot < 0 || rank(f.name) < 0) continue;
        const name = f.name.slice(0, dot), path = `${dir}/${cls.name}/${f.name}`;
        listed.push({ cls: cls.name, file: f.name, path });
        const prev = found.get(name);
        // One image per name: prefer the original TIFF over re-encodes when both exist.
        if (!prev || rank(path) < rank(prev)) found.set(name, path);
      }
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        `ucmerced: no Images/ folder in ${root}. Prepare the dataset with \`deno task data ucmerced\` ` +
          "(or point --data / dataset.root at a folder holding Images/<class>/<name>.tif and " + LABEL_FILE +
          ")",
      );
    }
    throw e;
  }
  checkNamesAcrossClasses(listed);
  return found;
}

/**
 * Check that label rows and image files match one to one; throws listing the first few missing and extra names.
 *
 * @example
 * ```ts
 * import { matchImagesToLabels } from "./ucmerced.ts";
 * const paths = matchImagesToLabels(["a", "b"], new Map([["a", "A.jpg"], ["b", "B.jpg"]]));
 * console.assert(paths.join() === "A.jpg,B.jpg");
 * ```
 */
export function matchImagesToLabels(ids: readonly string[], images: Map<string, string>): string[] {
  const missing = ids.filter((id) => !images.has(id));
  const idSet = new Set(ids);
  const extra = [...images.keys()].filter((name) => !idSet.has(name)).sort();
  if (missing.length || extra.length) {
    const few = (xs: string[]) =>
      xs.slice(0, 5).join(", ") + (xs.length > 5 ? `, ... (${xs.length} in all)` : "");
    const parts = [];
    if (missing.length) parts.push(`${missing.length} label rows have no image: ${few(missing)}`);
    if (extra.length) parts.push(`${extra.length} images have no label row: ${few(extra)}`);
    throw new Error(`ucmerced: images and ${LABEL_FILE} do not match one to one: ${parts.join("; ")}`);
  }
  return ids.map((id) => images.get(id)!);
}

/** Options of {@linkcode ucmercedSource}. */
export interface UcmercedOptions {
  /** Dataset root. */
  readonly root: string;
  /** Cache folder; default `.cache`. */
  readonly cacheDir?: string;
  /**
   * Store the verified index of a prepared copy in the cache folder (default true; `data` turns it off for its
   * staging copy, which is verified once and renamed).
   */
  readonly writeVerifiedIndex?: boolean;
}

/**
 * UCMerced as a {@linkcode DatasetSource}.
 *
 * @example
 * ```ts ignore
 * import { ucmercedSource } from "./ucmerced.ts";
 * const src = ucmercedSource({ root: "../shared/data/ucmerced" });
 * const labels = await src.labels();
 * ```
 */
export function ucmercedSource(options: UcmercedOptions): DatasetSource {
  const root = options.root.replace(/\/+$/, "");
  const cacheDir = options.cacheDir ?? ".cache";
  let labelsPromise: Promise<LabelTable> | undefined;
  let fingerprintPromise: Promise<string> | undefined;
  let verifyPromise: ReturnType<typeof verifyPreparedCopy> | undefined;
  const rawLabels = () =>
    labelsPromise ??= (async () => {
      let text: string;
      try {
        text = await Deno.readTextFile(`${root}/${LABEL_FILE}`);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) {
          throw new Error(
            `ucmerced: ${LABEL_FILE} not found in ${root}. Prepare the dataset with \`deno task data ucmerced\``,
          );
        }
        throw e;
      }
      return parseLabelFile(text, `${root}/${LABEL_FILE}`);
    })();
  const paths = async () => matchImagesToLabels((await rawLabels()).ids, await scanImages(root));
  const computeFingerprint = async () => {
    // SHA-256 over the label file and every image (name and content): the cache key of decoded images.
    const hash = createHash("sha256");
    hash.update(await Deno.readFile(`${root}/${LABEL_FILE}`));
    const table = await rawLabels();
    const files = await paths();
    for (let i = 0; i < files.length; i++) {
      hash.update(table.ids[i]!);
      hash.update(await Deno.readFile(files[i]!));
    }
    return `ucmerced:${hash.digest("hex")}`;
  };
  /** A prepared copy's check against its SHA256SUMS (null without one): once per source, before any use. */
  const verified = () =>
    verifyPromise ??= verifyPreparedCopy(root, {
      cacheDir,
      writeIndex: options.writeVerifiedIndex ?? true,
      fingerprint: computeFingerprint,
      extensions: IMAGE_EXTENSIONS,
      required: [LABEL_FILE],
    });
  const labels = async () => {
    await verified();
    return await rawLabels();
  };
  const fingerprint = () =>
    fingerprintPromise ??= (async () => (await verified())?.fingerprint ?? await computeFingerprint())();
  return {
    kind: "ucmerced",
    labels,
    fingerprint,
    async images(resolution, onProgress): Promise<ImageTable> {
      return cachedImageTable({
        kind: "ucmerced",
        root,
        cacheDir,
        key: `${(await fingerprint()).replace(/^ucmerced:/, "").slice(0, 32)}-r${resolution}-area-v1`,
        resolution,
        files: (await paths()).map((f) => ({ path: f, listed: f.slice(root.length + 1) })),
        sums: (await verified())?.sums,
        changed: (problems) => changedCopyError(root, problems),
        damagedFix:
          "Prepare the dataset with `deno task data ucmerced --from DIR|ZIP`, which checks every image.",
        onProgress,
      });
    },
  };
}
