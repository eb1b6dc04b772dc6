/**
 * A content-addressed byte cache under `.cache/` (safe to delete): `<dir>/<kind>/<key>.bin` plus a JSON sidecar
 * with its length and SHA-256, checked on every read. Writes are atomic (temporary file, then rename), so a crash
 * never leaves a half-written entry that a later run would trust.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { writeFileAtomic } from "../atomic_write.ts";

/**
 * Read a cache entry; `null` when absent or when its length or digest does not match (a corrupt entry is ignored).
 *
 * @example
 * ```ts ignore
 * import { readCache } from "./cache.ts";
 * const bytes = await readCache(".cache", "ucmerced", "abc-r64", 2100 * 64 * 64 * 3);
 * ```
 */
export async function readCache(
  dir: string,
  kind: string,
  key: string,
  expectedLength: number,
): Promise<Uint8Array | null> {
  const base = `${dir}/${kind}/${key}`;
  try {
    const meta = JSON.parse(await Deno.readTextFile(`${base}.json`)) as { bytes: number; sha256: string };
    if (meta.bytes !== expectedLength) return null;
    const bytes = await Deno.readFile(`${base}.bin`);
    if (bytes.length !== expectedLength) return null;
    if (createHash("sha256").update(bytes).digest("hex") !== meta.sha256) return null;
    return bytes;
  } catch {
    return null;
  }
}

/**
 * Store a cache entry (content first, then the sidecar that makes it valid).
 *
 * @example
 * ```ts ignore
 * import { writeCache } from "./cache.ts";
 * await writeCache(".cache", "ucmerced", "abc-r64", new Uint8Array(12));
 * ```
 */
export async function writeCache(dir: string, kind: string, key: string, bytes: Uint8Array): Promise<void> {
  const base = `${dir}/${kind}/${key}`;
  await Deno.mkdir(`${dir}/${kind}`, { recursive: true });
  await writeFileAtomic(`${base}.bin`, bytes);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  await writeFileAtomic(`${base}.json`, JSON.stringify({ bytes: bytes.length, sha256 }));
}
