/**
 * Atomic file writes, for every room that persists something (results, caches, reports, perf): the bytes go to a
 * temporary file beside the target, which is then renamed over it, so a crash never leaves half a file that a
 * later run would trust. A leaf module: it depends on nothing.
 *
 * @module
 */

/**
 * Write `bytes` (or text) to `path` atomically: a temporary file in the same folder, then a rename.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeFileAtomic } from "./atomic_write.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a.txt`, "one");
 * await writeFileAtomic(`${dir}/a.txt`, "two");
 * assert.equal(await Deno.readTextFile(`${dir}/a.txt`), "two");
 * assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a.txt"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    if (typeof bytes === "string") await Deno.writeTextFile(tmp, bytes);
    else await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
