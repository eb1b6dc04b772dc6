/**
 * `folder`: a multi-label archive of one's own — images in any layout under a root folder and a CSV label file.
 *
 * **Images.** Every `.tif`, `.tiff`, `.jpg`, `.jpeg` or `.png` file (any case) under the root, searched
 * recursively; entries whose name starts with `.` are skipped, symbolic links are followed (each folder once).
 *
 * **Labels** (`labels.csv` in the root by default), comma-separated (RFC 4180: a field holding `,` or `"` is
 * quoted, `""` is a quote), UTF-8 with or without BOM, LF or CRLF; blank lines are ignored. The header says which
 * of two forms it is:
 *
 * - `name,<class1>,<class2>,…` — one column per class holding `0` or `1`;
 * - `name,labels` — each image's classes in one field, separated by `;` (`sea;ship;dock`; empty: none). Class
 *   names may hold spaces; the classes are every name used, sorted.
 *
 * The `name` of a row is an image's path relative to the root (`/`-separated), with or without its extension, or
 * its file name alone, with or without extension, as long as that names exactly one image. Class names come from
 * the label file. The check is strict and names the file, line, row and column: an unknown image, an image without
 * a row, two rows for one image, a name matching two images, duplicate names, a value other than 0/1, an empty or
 * repeated class name, a class without positives. Sample ids are the names as written, in row order.
 *
 * Images go through the same path as UCMerced: a `SHA256SUMS` in the root (paths relative to it, as `sha256sum`
 * writes them) is verified on every run (`verify.ts`: every image and the label file must be listed, changed or
 * missing files are refused by name), images are decoded strictly (`codecs.ts`), resized with the area filter and
 * cached under `<cache>/folder/` keyed by the content of every file and the resolution.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { DatasetSource, ImageTable, LabelTable } from "./dataset.ts";
import { validateLabelTable } from "./dataset.ts";
import { IMAGE_EXTENSIONS } from "./codecs.ts";
import { cachedImageTable } from "./image_table.ts";
import { cachedFingerprint, changedCopyError, SUMS_FILE, verifyPreparedCopy } from "./verify.ts";

/** The label file's default name, inside the root. */
export const FOLDER_LABEL_FILE = "labels.csv";
/** The separator of the `name,labels` form. */
export const LABEL_LIST_SEPARATOR = ";";

/** One CSV record: its fields and the line it starts on (1-based). */
export interface CsvRecord {
  readonly line: number;
  readonly fields: string[];
}

/**
 * Split CSV text into records (RFC 4180: `,` separates, `"` quotes, `""` is a quote inside quotes; LF, CRLF or
 * CR ends a record; a leading BOM is dropped). Blank lines are skipped. Throws naming the line of a quote left
 * open or text after a closing quote.
 *
 * @example
 * ```ts
 * import { parseCsv } from "./folder.ts";
 * const r = parseCsv('name,labels\r\n"a,b.png","x;y"\n\nc,\n', "l.csv");
 * console.assert(r.length === 3 && r[1]!.fields[0] === "a,b.png" && r[2]!.line === 4 && r[2]!.fields[1] === "");
 * ```
 */
export function parseCsv(text: string, source: string): CsvRecord[] {
  const s = text.replace(/^\uFEFF/, "");
  const out: CsvRecord[] = [];
  let line = 1, start = 1, field = "", fields: string[] = [], i = 0, quotedField = false;
  const endRecord = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === "" && !quotedField)) out.push({ line: start, fields });
    fields = [];
    field = "";
    quotedField = false;
  };
  while (i < s.length) {
    const ch = s[i]!;
    if (ch === '"' && field === "" && !quotedField) {
      // A quoted field: up to the closing quote.
      const open = line;
      i++;
      for (;;) {
        if (i >= s.length) throw new Error(`${source}: line ${open}: a quoted field is not closed`);
        const q = s[i]!;
        if (q === '"') {
          if (s[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (q === "\n" || (q === "\r" && s[i + 1] !== "\n")) line++;
        field += q;
        i++;
      }
      quotedField = true;
      const next = s[i];
      if (next !== undefined && next !== "," && next !== "\n" && next !== "\r") {
        throw new Error(`${source}: line ${line}: text after a closing quote (quote the whole field)`);
      }
      continue;
    }
    if (ch === '"' && quotedField) {
      throw new Error(`${source}: line ${line}: text after a closing quote (quote the whole field)`);
    }
    if (ch === ",") {
      fields.push(field);
      field = "";
      quotedField = false;
      i++;
    } else if (ch === "\n" || ch === "\r") {
      endRecord();
      i += ch === "\r" && s[i + 1] === "\n" ? 2 : 1;
      line++;
      start = line;
    } else {
      if (quotedField) {
        throw new Error(`${source}: line ${line}: text after a closing quote (quote the whole field)`);
      }
      field += ch;
      i++;
    }
  }
  if (field !== "" || fields.length || quotedField) endRecord();
  return out;
}

/** A parsed label file: the table and the line of each row (for messages). */
export interface LabelCsv {
  /** The label table: ids as written, classes from the header or the lists. */
  readonly table: LabelTable;
  /** The line each row (sample) starts on, 1-based. */
  readonly lines: readonly number[];
  /** Which form the header selected. */
  readonly form: "columns" | "list";
}

const HEADER_HELP = 'a header "name,<class1>,<class2>,..." (one 0/1 column per class) or "name,labels" ' +
  `(each image's classes separated by "${LABEL_LIST_SEPARATOR}")`;

/**
 * Parse a folder dataset's label CSV, either form (see the module doc); strict, every error names the file, the
 * line, the row's name and the column.
 *
 * @example
 * ```ts
 * import { parseLabelCsv } from "./folder.ts";
 * const a = parseLabelCsv("name,sea,ship\nx.png,1,0\ny.png,1,1\n").table;
 * const b = parseLabelCsv("name,labels\nx.png,sea\ny.png,ship;sea\n").table;
 * console.assert(a.classNames.join() === "sea,ship" && b.classNames.join() === "sea,ship");
 * console.assert(a.labels.join() === b.labels.join());
 * ```
 */
export function parseLabelCsv(text: string, source: string = FOLDER_LABEL_FILE): LabelCsv {
  const records = parseCsv(text, source);
  const header = records[0]?.fields.map((f) => f.trim());
  if (!header || header.length < 2 || header[0]!.toLowerCase() !== "name") {
    const got = records[0] ? JSON.stringify(records[0].fields.join(",")) : "nothing";
    const hint = header?.length === 1 && /[;\t]/.test(header[0]!) ? ' (fields are separated by ",")' : "";
    throw new Error(`${source}: line ${records[0]?.line ?? 1} must be ${HEADER_HELP}; got ${got}${hint}`);
  }
  const rows = records.slice(1);
  if (rows.length === 0) throw new Error(`${source}: no rows after the header (one row per image is needed)`);
  const ids: string[] = [], lines: number[] = [];
  const firstLine = new Map<string, number>();
  const where = (r: CsvRecord, name: string) => `${source}: line ${r.line} (row ${JSON.stringify(name)})`;
  for (const r of rows) {
    if (r.fields.length !== header.length) {
      throw new Error(
        `${source}: line ${r.line} has ${r.fields.length} fields, expected ${header.length} (as the header)`,
      );
    }
    const name = r.fields[0]!.trim().replace(/^\.\//, "");
    if (name === "") throw new Error(`${source}: line ${r.line}, column "name": the image name is empty`);
    const prev = firstLine.get(name);
    if (prev !== undefined) {
      throw new Error(`${where(r, name)}: the name ${JSON.stringify(name)} is also on line ${prev}`);
    }
    firstLine.set(name, r.line);
    ids.push(name);
    lines.push(r.line);
  }

  const list = header.length === 2 && header[1]!.toLowerCase() === "labels";
  let classNames: string[];
  let labels: Uint8Array;
  if (list) {
    const perRow: string[][] = rows.map((r, k) => {
      const cell = r.fields[1]!.trim();
      if (cell === "") return [];
      const items = cell.split(LABEL_LIST_SEPARATOR).map((x) => x.trim());
      const seen = new Set<string>();
      for (const item of items) {
        const at = `${where(r, ids[k]!)}, column "labels"`;
        if (item === "") {
          throw new Error(`${at}: an empty class name in ${JSON.stringify(cell)}`);
        }
        if (item.includes("|") || item.includes(",")) {
          throw new Error(
            `${at}: class ${JSON.stringify(item)}: separate classes with "${LABEL_LIST_SEPARATOR}"`,
          );
        }
        if (seen.has(item)) throw new Error(`${at}: class ${JSON.stringify(item)} is listed twice`);
        seen.add(item);
      }
      return items;
    });
    classNames = [...new Set(perRow.flat())].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (classNames.length === 0) throw new Error(`${source}: no image has a label; no classes`);
    // 0/1 under "labels" is a one-class column table misread as lists of classes "0" and "1": say so, never guess.
    if (classNames.every((c) => c === "0" || c === "1")) {
      throw new Error(
        `${source}: the header "name,labels" is the list form (each row's classes, separated by ` +
          `"${LABEL_LIST_SEPARATOR}"), but every value is 0 or 1, which reads as classes named "0" and "1": for a ` +
          'single class with 0/1 values name its column after the class ("name,<class>"); for lists, write ' +
          "the class names",
      );
    }
    const col = new Map(classNames.map((c, j) => [c, j]));
    const c = classNames.length;
    labels = new Uint8Array(rows.length * c);
    perRow.forEach((items, i) => items.forEach((item) => labels[i * c + col.get(item)!] = 1));
  } else {
    classNames = header.slice(1);
    const seen = new Map<string, number>();
    classNames.forEach((cls, j) => {
      if (cls === "") {
        throw new Error(`${source}: line ${records[0]!.line}, column ${j + 2}: empty class name`);
      }
      const prev = seen.get(cls);
      if (prev !== undefined) {
        throw new Error(
          `${source}: line ${records[0]!.line}, column ${j + 2}: class ${
            JSON.stringify(cls)
          } is also column ${prev + 2}`,
        );
      }
      seen.set(cls, j);
    });
    const c = classNames.length;
    labels = new Uint8Array(rows.length * c);
    rows.forEach((r, i) => {
      for (let j = 0; j < c; j++) {
        const v = r.fields[j + 1]!.trim();
        if (v !== "0" && v !== "1") {
          throw new Error(
            `${where(r, ids[i]!)}, column ${JSON.stringify(classNames[j])}: expected 0 or 1, got ${
              JSON.stringify(v)
            }`,
          );
        }
        labels[i * c + j] = v === "1" ? 1 : 0;
      }
    });
    const empty = classNames.filter((_, j) => !rows.some((_, i) => labels[i * c + j] === 1));
    if (empty.length) {
      throw new Error(
        `${source}: ${empty.length === 1 ? "column" : "columns"} ${
          empty.map((e) => JSON.stringify(e)).join(", ")
        } ${empty.length === 1 ? "has" : "have"} no positive (no row holds 1); a class without examples ` +
          "cannot be learnt or scored: drop the column or label its images",
      );
    }
  }
  const table = { ids, classNames, labels };
  try {
    validateLabelTable(table);
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`, { cause: e });
  }
  return { table, lines, form: list ? "list" : "columns" };
}

/**
 * Image files under `root`, recursively, as sorted `/`-separated paths relative to it. Names starting with `.`
 * are skipped; symbolic links are followed, each real folder once (folders are walked in name order, so a folder
 * reached along two paths is always listed under the first).
 *
 * @example
 * ```ts ignore
 * import { listFolderImages } from "./folder.ts";
 * const files = await listFolderImages("my-archive"); // ["a/x.png", "b/y.tif", ...]
 * ```
 */
export async function listFolderImages(root: string): Promise<string[]> {
  const out: string[] = [];
  const visited = new Set<string>();
  const walk = async (rel: string) => {
    const dir = rel ? `${root}/${rel}` : root;
    const real = await Deno.realPath(dir);
    if (visited.has(real)) return;
    visited.add(real);
    // In name order, so that a folder reached along two paths is listed under the same one everywhere.
    const entries: Deno.DirEntry[] = [];
    for await (const e of Deno.readDir(dir)) entries.push(e);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const path = rel ? `${rel}/${e.name}` : e.name;
      let isDir = e.isDirectory, isFile = e.isFile;
      if (e.isSymlink) {
        const s = await Deno.stat(`${root}/${path}`).catch(() => null); // a dangling link is no image
        isDir = s?.isDirectory ?? false;
        isFile = s?.isFile ?? false;
      }
      if (isDir) await walk(path);
      else if (isFile && isImageName(e.name)) out.push(path);
    }
  };
  try {
    await walk("");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound && !(await Deno.stat(root).catch(() => null))) {
      throw new Error(`folder: the dataset root ${root} does not exist (dataset.root, or --data)`);
    }
    throw e;
  }
  return out.sort();
}

function isImageName(name: string): boolean {
  const dot = name.lastIndexOf(".");
  return dot > 0 && (IMAGE_EXTENSIONS as readonly string[]).includes(name.slice(dot).toLowerCase());
}

const stripExt = (p: string) => {
  const slash = p.lastIndexOf("/"), dot = p.lastIndexOf(".");
  return dot > slash + 1 ? p.slice(0, dot) : p;
};

/**
 * Match label rows to image files (paths relative to the root). A row's name may be the path, the path without
 * extension, the file name or the file name without extension, as long as it names exactly one image; every image
 * must be named by exactly one row. Throws listing every kind of mismatch (a few of each), with line numbers.
 * Returns the path of each row's image.
 *
 * @example
 * ```ts
 * import { matchRowsToImages } from "./folder.ts";
 * const paths = matchRowsToImages(["a/x", "y.png"], [2, 3], ["a/x.jpg", "b/y.png"], "labels.csv");
 * console.assert(paths.join() === "a/x.jpg,b/y.png");
 * ```
 */
export function matchRowsToImages(
  ids: readonly string[],
  lines: readonly number[],
  files: readonly string[],
  source: string,
): string[] {
  const byKey = new Map<string, Set<string>>();
  for (const f of files) {
    const base = f.slice(f.lastIndexOf("/") + 1);
    for (const key of [f, stripExt(f), base, stripExt(base)]) {
      let set = byKey.get(key);
      if (!set) byKey.set(key, set = new Set());
      set.add(f);
    }
  }
  const unknown: string[] = [], ambiguous: string[] = [], twice: string[] = [];
  const rowOf = new Map<string, number>();
  const paths: string[] = [];
  ids.forEach((id, i) => {
    const hits = [...(byKey.get(id) ?? [])];
    const row = `line ${lines[i]} (${JSON.stringify(id)})`;
    if (hits.length === 0) unknown.push(row);
    else if (hits.length > 1) ambiguous.push(`${row} matches ${hits.sort().join(" and ")}`);
    else {
      const f = hits[0]!;
      const prev = rowOf.get(f);
      if (prev !== undefined) {
        twice.push(`${f} is named by line ${lines[prev]} (${JSON.stringify(ids[prev])}) and ${row}`);
      } else rowOf.set(f, i);
      paths.push(f);
    }
  });
  const unlabelled = files.filter((f) => !rowOf.has(f));
  if (unknown.length || ambiguous.length || twice.length || unlabelled.length) {
    const few = (xs: string[]) =>
      xs.slice(0, 5).join("; ") + (xs.length > 5 ? `; ... (${xs.length} in all)` : "");
    const parts: string[] = [];
    if (unknown.length) parts.push(`${unknown.length} rows name no image: ${few(unknown)}`);
    if (ambiguous.length) {
      parts.push(
        `${ambiguous.length} rows name more than one image (write the path relative to the root): ${
          few(ambiguous)
        }`,
      );
    }
    if (twice.length) parts.push(`${twice.length} images have two rows: ${few(twice)}`);
    if (unlabelled.length) parts.push(`${unlabelled.length} images have no row: ${few(unlabelled)}`);
    throw new Error(`folder: images and ${source} do not match one to one: ${parts.join("; ")}`);
  }
  return paths;
}

/** Options of {@linkcode folderSource}. */
export interface FolderOptions {
  /** Dataset root (relative to the working directory, or absolute). */
  readonly root: string;
  /** The label CSV, relative to the root or absolute; default `labels.csv`. */
  readonly labels?: string;
  /** Cache folder; default `.cache`. */
  readonly cacheDir?: string;
  /** Store the verified index of a folder with `SHA256SUMS` in the cache folder (default true). */
  readonly writeVerifiedIndex?: boolean;
}

/** How to repair a folder whose files differ from its SHA256SUMS. */
function sumsFix(root: string): string {
  return `Restore the files, or, if the change is intended, write ${SUMS_FILE} again (\`cd ${root} && find . ` +
    `-type f ! -name ${SUMS_FILE} ! -path '*/.*' -print0 | sort -z | xargs -0 sha256sum > ${SUMS_FILE}\`).`;
}

/**
 * A folder archive as a {@linkcode DatasetSource} (kind `folder`).
 *
 * @example
 * ```ts ignore
 * import { folderSource } from "./folder.ts";
 * const src = folderSource({ root: "data/my-archive", labels: "labels.csv" });
 * const { ids, classNames } = await src.labels();
 * ```
 */
export function folderSource(options: FolderOptions): DatasetSource {
  const root = options.root.length > 1 ? options.root.replace(/\/+$/, "") : options.root;
  const labelName = options.labels ?? FOLDER_LABEL_FILE;
  const labelPath = labelName.startsWith("/") ? labelName : `${root}/${labelName}`;
  const cacheDir = options.cacheDir ?? ".cache";
  let parsedPromise: Promise<LabelCsv> | undefined;
  let pathsPromise: Promise<string[]> | undefined;
  let fingerprintPromise: Promise<string> | undefined;
  let verifyPromise: ReturnType<typeof verifyPreparedCopy> | undefined;
  const parsed = () =>
    parsedPromise ??= (async () => {
      let text: string;
      try {
        text = await Deno.readTextFile(labelPath);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) {
          throw new Error(
            `folder: the label file ${labelPath} does not exist (dataset.labels, relative to dataset.root ` +
              `${root}); it must have ${HEADER_HELP}`,
          );
        }
        throw e;
      }
      return parseLabelCsv(text, labelPath);
    })();
  /** Each row's image path, relative to the root. */
  const paths = () =>
    pathsPromise ??= (async () => {
      const { table, lines } = await parsed();
      return matchRowsToImages(table.ids, lines, await listFolderImages(root), labelPath);
    })();
  const computeFingerprint = async () => {
    // SHA-256 over the label file and every image (name, path and content): the cache key of decoded images.
    const hash = createHash("sha256");
    hash.update("folder-v1\0");
    hash.update(await Deno.readFile(labelPath));
    const { table } = await parsed();
    const files = await paths();
    for (let i = 0; i < files.length; i++) {
      hash.update(`\0${table.ids[i]}\0${files[i]}\0`);
      hash.update(await Deno.readFile(`${root}/${files[i]}`));
    }
    return `folder:${hash.digest("hex")}`;
  };
  // The label file must be listed in SHA256SUMS when it lies inside the root.
  const labelInRoot = labelName.startsWith("/") || labelName.split("/").includes("..")
    ? null
    : labelName.replace(/^(\.\/)+/, "");
  const verified = () =>
    verifyPromise ??= verifyPreparedCopy(root, {
      cacheDir,
      writeIndex: options.writeVerifiedIndex ?? true,
      // Not used: with SHA256SUMS the fingerprint is computed from the verified digests (sumsFingerprint),
      // because one root may be used with several label files and the index is kept per root.
      fingerprint: () => Promise.resolve("folder:by-sums"),
      extensions: IMAGE_EXTENSIONS,
      required: labelInRoot ? [labelInRoot] : [],
      kind: "folder",
      listImages: listFolderImages,
      fix: sumsFix(root),
    });
  /** With SHA256SUMS verified: the label file's bytes and each row's name, path and verified digest (cheap). */
  const sumsFingerprint = async (sums: ReadonlyMap<string, string>) => {
    const hash = createHash("sha256");
    hash.update("folder-sums-v1\0");
    hash.update(await Deno.readFile(labelPath));
    const { table } = await parsed();
    const files = await paths();
    for (let i = 0; i < files.length; i++) {
      hash.update(`\0${table.ids[i]}\0${files[i]}\0${sums.get(files[i]!)}`);
    }
    return `folder:${hash.digest("hex")}`;
  };
  const labels = async () => {
    await verified();
    const { table } = await parsed();
    await paths(); // rows and images one to one, before anything is planned
    return table;
  };
  const fingerprint = () =>
    fingerprintPromise ??= (async () => {
      await labels();
      const v = await verified();
      if (v) return await sumsFingerprint(v.sums);
      // Without SHA256SUMS: every image's bytes, hashed once and reused while no file changes (stat-checked).
      const files = await paths();
      return await cachedFingerprint(
        await Deno.realPath(root),
        [labelPath, ...files.map((f) => `${root}/${f}`)],
        computeFingerprint,
        { cacheDir, kind: "folder" },
      );
    })();
  return {
    kind: "folder",
    labels,
    fingerprint,
    async images(resolution, onProgress): Promise<ImageTable> {
      return cachedImageTable({
        kind: "folder",
        root,
        cacheDir,
        key: `${(await fingerprint()).replace(/^folder:/, "").slice(0, 32)}-r${resolution}-area-v1`,
        resolution,
        files: (await paths()).map((f) => ({ path: `${root}/${f}`, listed: f })),
        sums: (await verified())?.sums,
        changed: (problems) => changedCopyError(root, problems, { kind: "folder", fix: sumsFix(root) }),
        damagedFix: `Replace or re-encode them (or drop them and their rows from ${labelPath}).`,
        onProgress,
      });
    },
  };
}
