/**
 * Verifying a prepared dataset copy against the `SHA256SUMS` that `deno task data` wrote into it (or, for a
 * `folder` dataset, that its owner wrote), on every run that reads it, cheaply.
 *
 * Every file listed must exist with its digest, and every image must be listed (UCMerced: those under
 * `Images/<class>/`; a folder dataset: every image under its root). The first run hashes every file; it then
 * stores a small index beside the image cache (`<cacheDir>/<kind>/verified-<root hash>.json`): each file's size,
 * modification and change times and inode, the digest of `SHA256SUMS` and the dataset fingerprint. Later runs
 * only `stat` the files and re-hash everything when any of them differs from the index (or the index is absent,
 * unreadable or from another `SHA256SUMS`). A file modified within two seconds of the index being written is
 * never trusted by its times alone (coarse file-system clocks), as git does for its index. A folder without
 * `SHA256SUMS` (a hand-made root) is not verified here; its images are still checked when decoded.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { writeFileAtomic } from "../atomic_write.ts";

/** The checksum file's name inside a prepared copy. */
export const SUMS_FILE = "SHA256SUMS";

/** How many milliseconds a file's times must lie before the index's own time to be trusted without hashing. */
const RACY_MS = 2000;

/** What {@linkcode verifyPreparedCopy} found. */
export interface Verified {
  /** The digest of each listed file, by its path relative to the root. */
  readonly sums: ReadonlyMap<string, string>;
  /** The dataset fingerprint (from the index when nothing changed, else computed after hashing). */
  readonly fingerprint: string;
  /** How many files were hashed (0 when every file matched the index). */
  readonly hashed: number;
}

/**
 * Parse `sha256sum` output (`<64 hex>  <path>`, or ` *<path>` for binary mode). Throws naming the line.
 *
 * @example
 * ```ts
 * import { parseSums } from "./verify.ts";
 * const m = parseSums(`${"a".repeat(64)}  Images/x/x1.png\n`, "SHA256SUMS");
 * console.assert(m.get("Images/x/x1.png") === "a".repeat(64));
 * ```
 */
export function parseSums(text: string, source: string): Map<string, string> {
  const sums = new Map<string, string>();
  const lines = text.split("\n");
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k]!.replace(/\r$/, "");
    if (line.trim() === "") continue;
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    if (!m) {
      throw new Error(
        `${source}: line ${k + 1} is not "<SHA-256>  <path>": ${JSON.stringify(line.slice(0, 120))}`,
      );
    }
    const path = m[2]!.replace(/^\.\//, "");
    if (path.startsWith("/") || path.split("/").includes("..")) {
      throw new Error(`${source}: line ${k + 1} names a path outside the folder: ${JSON.stringify(path)}`);
    }
    if (sums.has(path)) throw new Error(`${source}: line ${k + 1} lists ${path} a second time`);
    sums.set(path, m[1]!.toLowerCase());
  }
  return sums;
}

interface IndexFile {
  readonly version: 1;
  readonly root: string;
  readonly sumsSha256: string;
  readonly at: number;
  readonly fingerprint: string;
  readonly files: Record<string, [number, number, number, number]>;
}

/** size, mtime, ctime and inode of a file, or null when it is missing or not a file. */
async function statKey(path: string): Promise<[number, number, number, number] | null> {
  try {
    const s = await Deno.stat(path);
    if (!s.isFile) return null;
    return [s.size, s.mtime?.getTime() ?? -1, s.ctime?.getTime() ?? -1, s.ino ?? -1];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

const sha256 = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");

/** Image files under `<root>/Images/<class>/`, relative to the root. */
async function listImages(root: string, extensions: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const cls of Deno.readDir(`${root}/Images`)) {
      if (!cls.isDirectory) continue;
      for await (const f of Deno.readDir(`${root}/Images/${cls.name}`)) {
        const ext = f.name.slice(f.name.lastIndexOf(".")).toLowerCase();
        if (f.isFile && f.name.includes(".") && extensions.includes(ext)) {
          out.push(`Images/${cls.name}/${f.name}`);
        }
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}

/**
 * The error for a copy that differs from its `SHA256SUMS`: names every file and says how to fix it.
 *
 * @example
 * ```ts
 * import { changedCopyError } from "./verify.ts";
 * const e = changedCopyError("data", ["data/Images/a/a1.png (its content changed)"]);
 * console.assert(e.message.includes("data/Images/a/a1.png") && e.message.includes("deno task data ucmerced"));
 * ```
 */
export function changedCopyError(
  root: string,
  problems: readonly string[],
  how: { readonly kind: string; readonly fix: string } | null = null,
): Error {
  const n = `${problems.length} file${problems.length === 1 ? "" : "s"}`;
  if (how) {
    return new Error(
      `${how.kind}: the folder ${root} no longer matches its ${SUMS_FILE} (${n}): ${problems.join("; ")}. ` +
        `It was changed or damaged after ${SUMS_FILE} was written, and results from it would differ silently. ` +
        how.fix,
    );
  }
  const out = root === ".cache/data/ucmerced" ? "" : ` --out ${root}`;
  return new Error(
    `ucmerced: the prepared copy in ${root} no longer matches the ${SUMS_FILE} that \`deno task data\` wrote ` +
      `(${n}): ${problems.join("; ")}. ` +
      "It was changed or damaged after it was prepared, and results from it would differ silently. Prepare it " +
      `again with \`deno task data ucmerced --from DIR|ZIP${out}\` (or restore the file${
        problems.length === 1 ? "" : "s"
      } from the source).`,
  );
}

/**
 * Verify a prepared copy against its `SHA256SUMS`; `null` when the folder has none. Throws
 * {@linkcode changedCopyError} naming every file that is missing, changed or unlisted.
 *
 * @param root the dataset folder
 * @param options.cacheDir where the verified index lives (`<cacheDir>/<kind>/`, `ucmerced` by default)
 * @param options.writeIndex store the index (default true; a failure to write it, e.g. without write permission,
 *   only costs the next run a full hash)
 * @param options.fingerprint computes the dataset fingerprint, called after a full hash
 * @param options.extensions the image extensions that must be listed
 * @param options.required other files that must be listed (the label file)
 * @param options.kind the dataset kind (index folder; default `ucmerced`)
 * @param options.listImages the images that must be listed (default `Images/<class>/<file>`)
 * @param options.fix how to repair a hand-made folder (changes the error's wording)
 *
 * @example
 * ```ts ignore
 * import { verifyPreparedCopy } from "./verify.ts";
 * const v = await verifyPreparedCopy(".cache/data/ucmerced", { cacheDir: ".cache", fingerprint: async () => "x", extensions: [".jpg"] });
 * ```
 */
export async function verifyPreparedCopy(
  root: string,
  options: {
    readonly cacheDir: string;
    readonly writeIndex?: boolean;
    readonly fingerprint: () => Promise<string>;
    readonly extensions: readonly string[];
    readonly required?: readonly string[];
    /**
     * The dataset kind: the index lives in `<cacheDir>/<kind>/` (default `ucmerced`); with `fix`, errors are
     * worded for a hand-made folder.
     */
    readonly kind?: string;
    /** The image files (relative to the root) that must be listed; default `Images/<class>/<file>`. */
    readonly listImages?: (root: string) => Promise<string[]>;
    /** How to repair a folder that differs (for kinds other than ucmerced, which `deno task data` prepares). */
    readonly fix?: string;
  },
): Promise<Verified | null> {
  const kind = options.kind ?? "ucmerced";
  const how = options.fix === undefined ? null : { kind, fix: options.fix };
  let sumsText: string;
  try {
    sumsText = await Deno.readTextFile(`${root}/${SUMS_FILE}`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  const sums = parseSums(sumsText, `${root}/${SUMS_FILE}`);
  const sumsSha256 = sha256(sumsText);
  const problems: string[] = [];
  const images = options.listImages
    ? await options.listImages(root)
    : await listImages(root, options.extensions);
  const unlisted = [...(options.required ?? []), ...images]
    .filter((p) => !sums.has(p));
  for (const p of unlisted) {
    problems.push(`${root}/${p} (not listed in ${SUMS_FILE}: added after the copy was prepared)`);
  }
  const keys = new Map<string, [number, number, number, number]>();
  for (const p of sums.keys()) {
    const key = await statKey(`${root}/${p}`);
    if (key) keys.set(p, key);
    else problems.push(`${root}/${p} (missing)`);
  }
  if (problems.length) throw changedCopyError(root, problems, how);

  const realRoot = await Deno.realPath(root);
  const indexPath = `${options.cacheDir}/${kind}/verified-${sha256(realRoot).slice(0, 16)}.json`;
  let index: IndexFile | null = null;
  try {
    index = JSON.parse(await Deno.readTextFile(indexPath)) as IndexFile;
  } catch {
    index = null; // absent, unreadable or not permitted: hash everything
  }
  const trusted = (index: IndexFile | null): index is IndexFile => {
    try {
      return index?.version === 1 && index.root === realRoot && index.sumsSha256 === sumsSha256 &&
        typeof index.fingerprint === "string" && typeof index.at === "number" &&
        Object.keys(index.files).length === keys.size &&
        [...keys].every(([p, k]) => {
          const v = index.files[p];
          return Array.isArray(v) && v.length === 4 && v.every((x, i) => x === k[i]) &&
            Math.max(k[1], k[2]) < index.at - RACY_MS;
        });
    } catch {
      return false; // a malformed index is ignored: everything is hashed and the index rewritten
    }
  };
  if (trusted(index)) return { sums, fingerprint: index.fingerprint, hashed: 0 };

  const at = Date.now();
  for (const [p, expected] of sums) {
    const actual = sha256(await Deno.readFile(`${root}/${p}`));
    if (actual !== expected) {
      problems.push(`${root}/${p} (its content changed: SHA-256 ${actual.slice(0, 12)}…)`);
    }
  }
  if (problems.length) throw changedCopyError(root, problems, how);
  const fingerprint = await options.fingerprint();
  if (options.writeIndex ?? true) {
    // Times as they were before hashing: a file changed while it was hashed is re-hashed next time.
    const record: IndexFile = {
      version: 1,
      root: realRoot,
      sumsSha256,
      at,
      fingerprint,
      files: Object.fromEntries(keys),
    };
    await Deno.mkdir(`${options.cacheDir}/${kind}`, { recursive: true })
      .then(() => writeFileAtomic(indexPath, JSON.stringify(record)))
      .catch(() => {}); // an optimisation only: read-only runs (plan) hash again next time
  }
  return { sums, fingerprint, hashed: sums.size };
}

/**
 * A content fingerprint computed by `compute` (which reads every file of `files`), cached under `cacheDir` and
 * reused while every file keeps its size, modification and change times and inode (a change time cannot be set
 * back by a user, so an edit is always seen; files changed within 2 s of the last computation are hashed again).
 * For a folder dataset without `SHA256SUMS`, whose fingerprint would otherwise read every image on every run.
 *
 * @example
 * ```ts
 * import { cachedFingerprint } from "./verify.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.txt`, "a");
 * let computed = 0;
 * const fp = () => cachedFingerprint(dir, [`${dir}/a.txt`], async () => `x${++computed}`, { cacheDir: `${dir}/c` });
 * console.assert((await fp()) === "x1");
 * ```
 */
export async function cachedFingerprint(
  key: string,
  files: readonly string[],
  compute: () => Promise<string>,
  options: { readonly cacheDir: string; readonly kind?: string },
): Promise<string> {
  const stats: [number, number, number, number][] = [];
  for (const f of files) {
    const k = await statKey(f);
    if (!k) return await compute(); // a file that is not there: let the computation say so
    stats.push(k);
  }
  const dir = `${options.cacheDir}/${options.kind ?? "folder"}`;
  const path = `${dir}/fingerprint-${sha256(`${key}\0${files.join("\0")}`).slice(0, 24)}.json`;
  try {
    const held = JSON.parse(await Deno.readTextFile(path)) as {
      at?: unknown;
      fingerprint?: unknown;
      stats?: unknown;
    };
    if (
      typeof held.at === "number" && typeof held.fingerprint === "string" && Array.isArray(held.stats) &&
      held.stats.length === stats.length &&
      stats.every((k, i) => {
        const h = (held.stats as unknown[])[i];
        return Array.isArray(h) && h.length === 4 && h.every((x, j) => x === k[j]) &&
          Math.max(k[1], k[2]) < (held.at as number) - RACY_MS;
      })
    ) return held.fingerprint;
  } catch {
    // absent or malformed: computed again
  }
  const at = Date.now();
  const fingerprint = await compute();
  await Deno.mkdir(dir, { recursive: true })
    .then(() => writeFileAtomic(path, JSON.stringify({ at, fingerprint, stats })))
    .catch(() => {}); // an optimisation only
  return fingerprint;
}
