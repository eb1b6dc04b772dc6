/**
 * A plug-in's code identity: SHA-256 over everything the plug-in can read or import — its read scope (its own
 * folder, or the module file alone; see `pluginReadScope` in `sandbox.ts`): every file's path relative to the
 * scope and its bytes, in name order. It covers the module and every helper it imports, statically or by a
 * computed specifier, and any data file it reads, so an edit to any of them is a new identity. A query function
 * loaded from a plug-in carries the identity it was loaded with ({@linkcode queryCode}); each call checks the
 * folder still has it, so a plug-in edited during a run fails the call instead of mixing two versions in a cell.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { QueryFunction } from "../al/query.ts";

/** Files a plug-in's scope may hold for its identity to be computed (the link check's bound too). */
export const CODE_SCOPE_MAX_ENTRIES = 10_000;

/** The code identity of a plug-in and the files it covers. */
export interface CodeIdentity {
  /** `sha256:<hex>` over the scope's files. */
  readonly hash: string;
  /** Each file's path relative to the scope and its own SHA-256 (hex), in name order. */
  readonly files: readonly { readonly path: string; readonly sha256: string }[];
}

/** The file-system calls {@linkcode codeIdentity} makes (the real ones by default; tests pass their own). */
export interface CodeFs {
  readDir(dir: string): Iterable<{ name: string; isDirectory: boolean; isFile: boolean; isSymlink: boolean }>;
  stat(path: string): { isDirectory: boolean; isFile: boolean };
  readFile(path: string): Uint8Array;
}

const realFs: CodeFs = {
  readDir: (d) => Deno.readDirSync(d),
  stat: (p) => Deno.statSync(p),
  readFile: (p) => Deno.readFileSync(p),
};

/**
 * The code identity of the plug-in whose module is `entry` and whose read scope is `scope` (a folder, or a single
 * module file): the module's path and the scope's content. Links are
 * followed to their content (the sandbox refuses links leading out of the scope before any call); a dangling link
 * counts by its name. Throws naming the scope when it holds more than {@linkcode CODE_SCOPE_MAX_ENTRIES} entries.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { codeIdentity } from "./code_hash.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/q.ts`, "export default 1;");
 * const a = codeIdentity(dir, `${dir}/q.ts`);
 * await Deno.writeTextFile(`${dir}/helper.ts`, "export const h = 2;");
 * const b = codeIdentity(dir, `${dir}/q.ts`);
 * assert.notEqual(a.hash, b.hash);
 * assert.notEqual(b.hash, codeIdentity(dir, `${dir}/helper.ts`).hash);
 * assert.deepEqual(b.files.map((f) => f.path), ["helper.ts", "q.ts"]);
 * ```
 */
export function codeIdentity(scope: string, entry?: string, fs: CodeFs = realFs): CodeIdentity {
  const files: { path: string; sha256: string }[] = [];
  const whole = createHash("sha256");
  whole.update("albench-code-v1\0");
  // Which module of the folder is the plug-in: two modules of one folder are two identities.
  // (relative to the scope, so a moved folder keeps its identity).
  const rel = entry === undefined ? "" : entry.startsWith(`${scope}/`) ? entry.slice(scope.length + 1) : "";
  whole.update(`${rel}\0`);
  const add = (rel: string, bytes: Uint8Array | null) => {
    const sha256 = bytes ? createHash("sha256").update(bytes).digest("hex") : "dangling";
    files.push({ path: rel, sha256 });
    whole.update(`${rel}\0${sha256}\0`);
  };
  const top = fs.stat(scope);
  if (!top.isDirectory) {
    add(scope.slice(scope.lastIndexOf("/") + 1), fs.readFile(scope));
    return { hash: `sha256:${whole.digest("hex")}`, files };
  }
  let seen = 0;
  const walk = (dir: string, rel: string) => {
    const entries = [...fs.readDir(dir)].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (++seen > CODE_SCOPE_MAX_ENTRIES) {
        throw new Error(
          `the plug-in's folder ${scope} holds more than ${CODE_SCOPE_MAX_ENTRIES} entries, too many to fingerprint ` +
            "its code: keep a plug-in and its helper modules in a folder of their own",
        );
      }
      const path = `${dir}/${e.name}`, name = rel ? `${rel}/${e.name}` : e.name;
      let isDirectory = e.isDirectory, isFile = e.isFile;
      if (e.isSymlink) {
        try {
          ({ isDirectory, isFile } = fs.stat(path));
        } catch {
          add(name, null);
          continue;
        }
      }
      if (isDirectory) {
        if (!e.isSymlink) walk(path, name); // a link to a folder inside the scope is walked where it lies
      } else if (isFile) add(name, fs.readFile(path));
    }
  };
  walk(scope, "");
  return { hash: `sha256:${whole.digest("hex")}`, files };
}

/**
 * What changed between two code identities of one plug-in, in words: the files added, removed or edited (at most
 * five named).
 *
 * @example
 * ```ts
 * import { codeChanges } from "./code_hash.ts";
 * const a = { hash: "sha256:a", files: [{ path: "q.ts", sha256: "1" }, { path: "h.ts", sha256: "2" }] };
 * const b = { hash: "sha256:b", files: [{ path: "q.ts", sha256: "3" }] };
 * console.assert(codeChanges(a, b) === "q.ts edited, h.ts removed");
 * ```
 */
export function codeChanges(before: CodeIdentity, after: CodeIdentity): string {
  const was = new Map(before.files.map((f) => [f.path, f.sha256]));
  const now = new Map(after.files.map((f) => [f.path, f.sha256]));
  const words: string[] = [];
  for (const [path, sha] of now) {
    if (!was.has(path)) words.push(`${path} added`);
    else if (was.get(path) !== sha) words.push(`${path} edited`);
  }
  for (const path of was.keys()) if (!now.has(path)) words.push(`${path} removed`);
  if (!words.length) return "no file differs";
  return words.slice(0, 5).join(", ") + (words.length > 5 ? ` and ${words.length - 5} more` : "");
}

const pinned = new WeakMap<QueryFunction, CodeIdentity>();

/**
 * Pin the code identity a plug-in's query function was loaded with (the loaders in `sandbox.ts` and `python.ts`
 * do). Returns `fn`.
 *
 * @example
 * ```ts
 * import { pinCode, queryCode } from "./code_hash.ts";
 * const fn = pinCode({ name: "q", description: "", select: () => ({ selected: [] }) }, { hash: "sha256:x", files: [] });
 * console.assert(queryCode(fn) === "sha256:x");
 * ```
 */
export function pinCode<T extends QueryFunction>(fn: T, code: CodeIdentity): T {
  pinned.set(fn, code);
  return fn;
}

/**
 * The code identity of a query function: the pinned hash of a plug-in, or `builtin:<name>` for one of albench's
 * own (whose code is albench's version).
 *
 * @example
 * ```ts
 * import { queryCode } from "./code_hash.ts";
 * console.assert(queryCode({ name: "random", description: "", select: () => ({ selected: [] }) }) === "builtin:random");
 * ```
 */
export function queryCode(fn: QueryFunction): string {
  return pinned.get(fn)?.hash ?? `builtin:${fn.name}`;
}

/**
 * The whole code identity (hash and files) a plug-in's query function was loaded with; null for a built-in.
 *
 * @example
 * ```ts
 * import { queryCodeIdentity } from "./code_hash.ts";
 * console.assert(queryCodeIdentity({ name: "random", description: "", select: () => ({ selected: [] }) }) === null);
 * ```
 */
export function queryCodeIdentity(fn: QueryFunction): CodeIdentity | null {
  return pinned.get(fn) ?? null;
}

/**
 * Throw when the plug-in's scope no longer has the identity it was loaded with: an edit during a run must not mix
 * two versions of the code in one cell.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { codeIdentity, checkCodeUnchanged } from "./code_hash.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/q.ts`, "export default 1;");
 * const at = codeIdentity(dir, `${dir}/q.ts`);
 * await Deno.writeTextFile(`${dir}/q.ts`, "export default 2;");
 * assert.throws(() => checkCodeUnchanged(dir, `${dir}/q.ts`, at), /q\.ts edited/);
 * ```
 */
export function checkCodeUnchanged(scope: string, entry: string, loaded: CodeIdentity): void {
  const now = codeIdentity(scope, entry);
  if (now.hash === loaded.hash) return;
  throw new Error(
    `its code changed since it was loaded (${
      codeChanges(loaded, now)
    } in ${scope}); results of two versions ` +
      "of a plug-in are never mixed in one cell: leave the plug-in's folder alone while a run uses it, and rerun " +
      "(an edited plug-in starts new cells in another --out)",
  );
}
