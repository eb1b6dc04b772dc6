/**
 * The image table of a file-based dataset (UCMerced, a folder of one's own): read from the decoded-image cache,
 * or built by reading every image, checking it against its verified SHA-256 (when the folder has SHA256SUMS),
 * decoding it strictly and resizing it with the area filter, then cached. Every changed or damaged file is named
 * at once; nothing is cached unless all of them are good.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { ImageTable } from "./dataset.ts";
import { decodeImage } from "./codecs.ts";
import { resizeArea } from "./resize.ts";
import { readCache, writeCache } from "./cache.ts";

/** What building one image table needs. */
export interface ImageTableSpec {
  /** The dataset kind: the cache folder and the start of messages. */
  readonly kind: string;
  /** The folder the images come from (for messages). */
  readonly root: string;
  /** The cache folder (default `.cache`). */
  readonly cacheDir: string;
  /** The cache key: content fingerprint and resolution. */
  readonly key: string;
  /** Side length of the resized images. */
  readonly resolution: number;
  /** The images in label-table order: the path to read and its name in SHA256SUMS. */
  readonly files: readonly { readonly path: string; readonly listed: string }[];
  /** Verified digests by listed name, when the folder has SHA256SUMS. */
  readonly sums?: ReadonlyMap<string, string> | undefined;
  /** The error for files whose content no longer matches their digest. */
  readonly changed: (problems: readonly string[]) => Error;
  /** What to do about undecodable images (the last sentence of that error). */
  readonly damagedFix: string;
  /** Progress of a rebuild. */
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
}

/**
 * The image table of `spec`, from the cache or rebuilt (see the module doc).
 *
 * @example
 * ```ts ignore
 * import { cachedImageTable } from "./image_table.ts";
 * const table = await cachedImageTable({ kind: "folder", root, cacheDir: ".cache", key, resolution: 32, files,
 *   changed: (p) => new Error(p.join()), damagedFix: "Replace them." });
 * ```
 */
export async function cachedImageTable(spec: ImageTableSpec): Promise<ImageTable> {
  const { kind, resolution, files } = spec;
  const expected = files.length * resolution * resolution * 3;
  const cached = await readCache(spec.cacheDir, kind, spec.key, expected);
  if (cached) return { resolution, pixels: cached };
  const changed: string[] = [], damaged: string[] = [];
  const pixels = new Uint8Array(expected);
  for (let i = 0; i < files.length; i++) {
    const { path, listed } = files[i]!;
    const bytes = await Deno.readFile(path);
    if (spec.sums) {
      // Every image is hashed again as it is read, so the pixels come from the verified bytes even if a file
      // changed without its size or times changing.
      const actual = createHash("sha256").update(bytes).digest("hex");
      if (actual !== spec.sums.get(listed)) {
        changed.push(`${path} (its content changed: SHA-256 ${actual.slice(0, 12)}…)`);
        continue;
      }
    }
    let img;
    try {
      img = decodeImage(bytes, path);
    } catch (e) {
      damaged.push((e as Error).message.replace(/^cannot decode /, ""));
      continue;
    }
    resizeArea(img, resolution, pixels, i * resolution * resolution * 3);
    if (spec.onProgress && (i % 50 === 49 || i === files.length - 1)) spec.onProgress(i + 1, files.length);
  }
  if (changed.length) throw spec.changed(changed);
  if (damaged.length) {
    throw new Error(
      `${kind}: ${damaged.length} of ${files.length} images in ${spec.root} cannot be decoded: ${
        damaged.join("; ")
      }. ${spec.damagedFix}`,
    );
  }
  await writeCache(spec.cacheDir, kind, spec.key, pixels);
  return { resolution, pixels };
}
