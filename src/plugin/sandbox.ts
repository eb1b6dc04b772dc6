/**
 * The plug-in sandbox: a query plug-in is imported and run only in a worker thread of its own whose Deno
 * permissions allow nothing but reading the plug-in's own folder (see {@linkcode pluginReadScope}): no network,
 * environment variables, writing, subprocesses, FFI or system information. That worker lives in a process of its
 * own (`sandbox_host.ts`) with a JavaScript heap of {@linkcode PLUGIN_HEAP_MIB} MiB, so a plug-in that runs out of
 * memory, or crashes V8, ends that process and fails its call, not the run. The plug-in module is imported by a
 * computed specifier, so each file of its module graph is checked against that read permission; its top-level
 * code never runs in the calling process. Each load and each `select` starts a fresh process that gets plain
 * copies of the input (the ids, the outputs the function declares in `needs`, the sizes, the stream's state and
 * the options) and ends when it answers, so no state survives between calls.
 *
 * What the permissions cannot cover, the tasks do: every task runs with `--frozen --cached-only` (and deno.json
 * sets `lock.frozen`), so an `import("npm:…")` or `import("https://…")` in a plug-in fails instead of
 * downloading and rewriting `deno.lock` or `node_modules/`; and such imports written as string literals are
 * refused by name before the plug-in is imported at all (`imports.ts`).
 *
 * @module
 */
import {
  declaredNeeds,
  type ModelView,
  type QueryFunction,
  type QueryInput,
  type QueryResult,
} from "../al/query.ts";
import type { PluginDescription, SandboxReply, SandboxRequest, WireView } from "./sandbox_worker.ts";
import { remoteImport } from "./imports.ts";
import v8 from "node:v8";
import { frame, REPLY_MARK } from "./sandbox_host.ts";
import { checkCodeUnchanged, type CodeIdentity, codeIdentity, pinCode } from "./code_hash.ts";

/** The project's root folder (no trailing slash). */
const PROJECT_ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** Seconds a plug-in module may take to load (its top-level code) before its process is stopped. */
export const PLUGIN_LOAD_TIMEOUT_SECONDS = 60;

function dirname(path: string): string {
  return path.slice(0, Math.max(1, path.lastIndexOf("/")));
}

function inside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}

/**
 * What a plug-in may read: its own folder and everything below it, or only the module file itself when that
 * folder is the project root or one above it, or lies in the project's `reports/` or `.cache/` (it would
 * otherwise reach results, caches or the repository).
 *
 * @example
 * ```ts
 * import { pluginReadScope } from "./sandbox.ts";
 * console.assert(pluginReadScope("/home/me/plugins/q.ts", "/home/me/albench")[0] === "/home/me/plugins");
 * console.assert(pluginReadScope("/home/me/q.ts", "/home/me/albench")[0] === "/home/me/q.ts");
 * console.assert(pluginReadScope("/home/me/albench/q.ts", "/home/me/albench")[0] === "/home/me/albench/q.ts");
 * ```
 */
export function pluginReadScope(modulePath: string, projectRoot: string = PROJECT_ROOT): string[] {
  const dir = dirname(modulePath);
  const tooWide = inside(projectRoot, dir) || inside(dir, `${projectRoot}/reports`) ||
    inside(dir, `${projectRoot}/.cache`);
  return [tooWide ? modulePath : dir];
}

/**
 * A module URL as the real path of its file (links resolved), or its path where it does not exist.
 *
 * @example
 * ```ts
 * import { modulePathOf } from "./sandbox.ts";
 * console.assert(modulePathOf(new URL("file:///no/such/q.ts")) === "/no/such/q.ts");
 * ```
 */
export function modulePathOf(url: URL): string {
  const path = decodeURIComponent(url.pathname);
  try {
    return Deno.realPathSync(path);
  } catch {
    return path;
  }
}

/**
 * A plug-in's error in words: a permission the sandbox refused names the permission and what the plug-in may
 * touch, a package download refused says why; anything else is its first line.
 *
 * @example
 * ```ts
 * import { explainPluginError } from "./sandbox.ts";
 * const m = explainPluginError('Requires env access to "HOME", run again with the --allow-env flag', ["/p"]);
 * console.assert(m.startsWith('the plug-in sandbox refused env access to "HOME"'));
 * ```
 */
export function explainPluginError(message: string, readScope: readonly string[]): string {
  const allowed = `a query plug-in may read only ${readScope.join(", ")} and may not use the network, ` +
    "environment variables, subprocesses, FFI or system information, nor write files (docs/query-functions.md: What a plug-in " +
    "may touch)";
  const denied = /Requires (\w+) access to (.+?)(?:, run again with the --allow-\w+ flag|$)/m.exec(message);
  if (denied) return `the plug-in sandbox refused ${denied[1]} access to ${denied[2]}: ${allowed}`;
  if (
    /--cached-only|lockfile is out of date|not found in cache|Could not find a matching package/.test(message)
  ) {
    const what = /(?:package|specifier)[^"']*["']([^"']+)["']/.exec(message)?.[1];
    return notInstalled(what ? `"${what}"` : "a package");
  }
  return message.split("\n")[0] ?? message;
}

function notInstalled(what: string): string {
  return `the plug-in tried to import ${what} that is not installed: runs never ` +
    "download anything (tasks run with --frozen --cached-only and deno.json freezes the lockfile), so a " +
    "plug-in may import only modules in its own folder";
}

/**
 * The first of `paths` (a dataset's root and label file) that a plug-in reading `scope` could reach: one inside
 * the scope, or a folder the scope lies in (a plug-in inside a dataset's root could read what is there). Null when
 * the plug-in's folder and the data are apart. With `direction` `"inside"`, only paths inside the scope count (for
 * folders a run writes, such as the results folder: a plug-in whose folder lies in one reads nothing of it).
 *
 * @example
 * ```ts
 * import { dataWithinReach } from "./sandbox.ts";
 * console.assert(dataWithinReach(["/s"], ["/s/data", "/s/data/labels.csv"]) === "/s/data");
 * console.assert(dataWithinReach(["/plugins"], ["/data", "/data/labels.csv"]) === null);
 * console.assert(dataWithinReach(["/data/plugins"], ["/data"]) === "/data");
 * ```
 */
export function dataWithinReach(
  scope: readonly string[],
  paths: readonly string[],
  direction: "both" | "inside" = "both",
): string | null {
  // The real path of what exists of `p` (a results folder may not exist yet), relative paths from the cwd.
  const real = (p: string): string => {
    const abs = p.startsWith("/") ? p : `${Deno.cwd()}/${p}`;
    try {
      return Deno.realPathSync(abs);
    } catch {
      const cut = abs.replace(/\/+$/, "").lastIndexOf("/");
      if (cut <= 0) return abs;
      const parent = real(abs.slice(0, cut));
      return `${parent === "/" ? "" : parent}${abs.slice(cut)}`.replace(/\/\.(?=\/|$)/g, "");
    }
  };
  for (const p of paths.map(real)) {
    if (scope.some((s) => inside(p, s) || (direction === "both" && inside(s, p)))) return p;
  }
  return null;
}

/** Entries a plug-in's folder may hold: it is walked for links before every load and call. */
export const PLUGIN_FOLDER_MAX_ENTRIES = 10_000;

/**
 * Why a plug-in's read scope is unsafe, or null: a symbolic link in it that leads outside it (Deno checks a read
 * against the path as written, so a link inside the folder would let the plug-in read where it points), or a
 * folder too large to check. Links that stay inside are fine. `realPath` and `readDir` are the file system's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapingLink } from "./sandbox.ts";
 * const fs = {
 *   readDir: (d: string) => d === "/p" ? [{ name: "q.ts", isDirectory: false, isSymlink: false },
 *     { name: "pw", isDirectory: false, isSymlink: true }] : [],
 *   realPath: (p: string) => p === "/p/pw" ? "/etc/passwd" : p,
 * };
 * assert.match(escapingLink(["/p"], fs)!, /\/p\/pw is a link to \/etc\/passwd, outside/);
 * ```
 */
export function escapingLink(
  scope: readonly string[],
  fs: {
    readDir(dir: string): Iterable<{ name: string; isDirectory: boolean; isSymlink: boolean }>;
    realPath(path: string): string;
  } = { readDir: (d) => Deno.readDirSync(d), realPath: (p) => Deno.realPathSync(p) },
): string | null {
  let seen = 0;
  for (const root of scope) {
    const stack = [root];
    while (stack.length) {
      const dir = stack.pop()!;
      let entries: Iterable<{ name: string; isDirectory: boolean; isSymlink: boolean }>;
      try {
        entries = fs.readDir(dir);
      } catch {
        continue; // a module file (scope of one file), or a folder that cannot be listed: nothing to follow
      }
      for (const e of entries) {
        if (++seen > PLUGIN_FOLDER_MAX_ENTRIES) {
          return `its folder ${root} holds more than ${PLUGIN_FOLDER_MAX_ENTRIES} entries, too many to check ` +
            "for links leading out of it: keep a plug-in and its helper modules in a folder of their own";
        }
        const path = `${dir}/${e.name}`;
        if (e.isSymlink) {
          let target: string;
          try {
            target = fs.realPath(path);
          } catch {
            continue; // a dangling link reads nothing
          }
          if (!scope.some((s) => inside(target, s))) {
            return `${path} is a link to ${target}, outside the plug-in's folder ${root}: a plug-in may read only ` +
              "its own folder, so remove the link (or copy what it points to into the folder)";
          }
        } else if (e.isDirectory) stack.push(path);
      }
    }
  }
  return null;
}

/**
 * What keeps a plug-in whose read scope is `readScope` from loading or running now, in words, or null: a folder
 * this command may not read (a worker cannot get more than its parent has: said in words instead of "Can't
 * escalate parent thread permissions"), or a link leading out of the folder ({@linkcode escapingLink}).
 *
 * @example
 * ```ts
 * import { pluginScopeProblem } from "./sandbox.ts";
 * console.assert(pluginScopeProblem([]) === null);
 * ```
 */
export function pluginScopeProblem(readScope: readonly string[]): string | null {
  for (const path of readScope) {
    if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") {
      return `this command may not read ${path} (the plug-in's ${
        path.endsWith(".ts") ? "module" : "folder"
      }), so ` +
        "neither may the plug-in: put the plug-in inside the project folder, or run the command with deno run " +
        "and a wider --allow-read (docs/permissions.md)";
    }
  }
  return escapingLink(readScope);
}

async function ask(
  request: SandboxRequest,
  readScope: string[],
  timeoutSeconds?: number,
  signal?: AbortSignal,
  code?: { readonly entry: string; readonly loaded: CodeIdentity },
): Promise<SandboxReply> {
  // Checked before every load and call: the folder may change between them.
  const problem = pluginScopeProblem(readScope);
  if (problem) throw new Error(problem);
  // A call runs the code the plug-in was loaded with (after the link check: a link is named as such).
  if (code) checkCodeUnchanged(readScope[0]!, code.entry, code.loaded);
  const comma = readScope.find((p) => p.includes(","));
  if (comma) {
    throw new Error(
      `its folder ${comma} has a comma in its path, which a permission list cannot hold: move the plug-in to a ` +
        "folder without one",
    );
  }
  // The worker lives in a process of its own with a bounded heap: running out of memory, or crashing V8, ends
  // that process and fails this call, never the run (sandbox_host.ts).
  const child = new Deno.Command(denoExecutable(), {
    args: [
      "run",
      "--no-prompt",
      "--cached-only",
      "--quiet",
      `--config=${PROJECT_ROOT}/deno.json`,
      `--v8-flags=--max-old-space-size=${PLUGIN_HEAP_MIB}`,
      `--allow-read=${[PROJECT_ROOT, ...readScope].join(",")}`,
      `${PROJECT_ROOT}/src/plugin/sandbox_host.ts`,
    ],
    cwd: PROJECT_ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdin = child.stdin.getWriter();
  let stopped: string | null = null;
  const stop = (why: string) => {
    stopped ??= why;
    try {
      child.kill("SIGKILL");
    } catch { /* already ended */ }
  };
  const timer = timeoutSeconds === undefined ? undefined : setTimeout(
    () => stop(`it did not finish loading within ${timeoutSeconds} s, so its process was stopped`),
    timeoutSeconds * 1000,
  );
  const onAbort = () => stop("its call was stopped at the time limit");
  signal?.addEventListener("abort", onAbort);
  try {
    // The request; stdin stays open while the host works (its end tells the host that this side went away).
    stdin.write(frame(new Uint8Array(v8.serialize({ request, readScope })))).catch(() => {});
    const [out, tail] = await Promise.all([
      readCapped(child.stdout, REPLY_MAX_BYTES),
      forwardStderr(child.stderr),
    ]);
    const status = await child.status;
    const at = lastIndexOf(out, MARK);
    if (at >= 0) {
      const body = out.subarray(at + MARK.length);
      const length = Number(new DataView(body.buffer, body.byteOffset, 8).getBigUint64(0, true));
      const reply = v8.deserialize(body.subarray(8, 8 + length)) as SandboxReply | {
        kind: "crashed";
        message: string;
      };
      if (reply.kind === "crashed") throw new Error(explainPluginError(reply.message, readScope));
      return reply;
    }
    if (stopped) throw new Error(stopped);
    if (/Fatal JavaScript out of memory|JavaScript heap out of memory|Reached heap limit/.test(tail)) {
      throw new Error(
        `it ran out of memory: its JavaScript heap reached the plug-in limit of ${PLUGIN_HEAP_MIB} MiB, so its ` +
          "process was stopped (the run goes on; keep a plug-in's working memory below that)",
      );
    }
    throw new Error(
      `its process ended without an answer (${
        status.signal ? `signal ${status.signal}` : `exit code ${status.code}`
      })${tail.trim() ? `: ${tail.trim().split("\n").slice(-3).join(" / ")}` : ""}`,
    );
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    await stdin.close().catch(() => {});
    try {
      child.kill("SIGKILL");
    } catch { /* already ended */ }
  }
}

/** The heap a plug-in's process may use, in MiB (typed arrays' data lies outside it). */
export const PLUGIN_HEAP_MIB = 2048;

/** The largest answer read from a plug-in's process. */
const REPLY_MAX_BYTES = 1024 * 2 ** 20;

const MARK = new TextEncoder().encode(REPLY_MARK);

/** This Deno, when the command may run it by its path; else `deno` from PATH (the tasks allow `deno`). */
function denoExecutable(): string {
  return Deno.permissions.querySync({ name: "run", command: Deno.execPath() }).state === "granted"
    ? Deno.execPath()
    : "deno";
}

/** The index of the last occurrence of `needle` in `hay`, or -1. */
function lastIndexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = hay.length - needle.length; i >= 0; i--) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Read a stream to its end, keeping at most `max` bytes (the rest is read and dropped). */
async function readCapped(stream: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    if (size + chunk.length <= max) {
      parts.push(chunk);
      size += chunk.length;
    }
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Pass a plug-in's stderr (its console output) on, at most 1 MiB of it, and return its last 16 KiB. */
async function forwardStderr(stream: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let tail = "", forwarded = 0;
  for await (const chunk of stream) {
    if (forwarded < 2 ** 20) {
      await Deno.stderr.write(chunk.subarray(0, 2 ** 20 - forwarded)).catch(() => 0);
      forwarded += chunk.length;
      if (forwarded >= 2 ** 20) {
        await Deno.stderr.write(new TextEncoder().encode("\n(the plug-in's further output is not shown)\n"))
          .catch(() => 0);
      }
    }
    tail = (tail + decoder.decode(chunk, { stream: true })).slice(-16384);
  }
  return tail;
}

/**
 * Import a plug-in module in the sandbox: its export names and, when its default export (or `query`) is a
 * QueryFunction, that function's description. Throws with {@linkcode explainPluginError}'s words when it does not
 * load.
 *
 * @example
 * ```ts ignore
 * import { describePlugin } from "./sandbox.ts";
 * const { description } = await describePlugin(new URL("file:///home/me/plugins/q.ts"));
 * ```
 */
export async function describePlugin(
  url: URL,
): Promise<{ exports: string[]; description: PluginDescription | null }> {
  const path = modulePathOf(url);
  const scope = pluginReadScope(path);
  // Registry and network imports are refused before anything is imported (see imports.ts for why).
  const remote = remoteImport(path, (file) => {
    if (!scope.some((dir) => inside(file, dir))) return null;
    try {
      return Deno.readTextFileSync(file);
    } catch {
      return null;
    }
  });
  if (remote) {
    throw new Error(
      notInstalled(`"${remote.specifier}"${remote.file === path ? "" : ` (imported by ${remote.file})`}`),
    );
  }
  const reply = await ask({ kind: "describe", url: url.href }, scope, PLUGIN_LOAD_TIMEOUT_SECONDS);
  if (reply.kind === "error") throw new Error(explainPluginError(reply.message, scope));
  if (reply.kind !== "loaded") throw new Error(`unexpected answer ${reply.kind}`);
  return { exports: reply.exports, description: reply.description };
}

function wire(fn: PluginDescription, v: ModelView): WireView {
  const needs = declaredNeeds(fn as QueryFunction);
  return {
    ids: [...v.ids],
    ...(needs.has("probs") ? { probs: v.probs } : {}),
    ...(needs.has("features") ? { features: v.features } : {}),
  };
}

/**
 * The QueryFunction that stands for a sandboxed plug-in in this thread: its description, and a `select` that runs
 * the plug-in's in a fresh sandbox worker. Errors name the plug-in (`label`) and, for refused permissions, the
 * permission.
 *
 * @example
 * ```ts ignore
 * import { describePlugin, sandboxedQuery } from "./sandbox.ts";
 * const url = new URL("file:///home/me/plugins/q.ts");
 * const fn = sandboxedQuery(url, (await describePlugin(url)).description!, "./q.ts");
 * ```
 */
export function sandboxedQuery(
  url: URL,
  fn: PluginDescription,
  label: string,
  code: CodeIdentity = codeIdentity(pluginReadScope(modulePathOf(url))[0]!, modulePathOf(url)),
): QueryFunction {
  const scope = pluginReadScope(modulePathOf(url));
  const fail = (message: string) => new Error(`query plug-in ${fn.name} (${label}): ${message}`);
  return pinCode(
    Object.freeze({
      ...fn,
      async select(input: QueryInput): Promise<QueryResult> {
        const request: SandboxRequest = {
          kind: "select",
          url: url.href,
          input: {
            unlabelled: wire(fn, input.unlabelled),
            ...(fn.needsLabelled && input.labelled ? { labelled: wire(fn, input.labelled) } : {}),
            numClasses: input.numClasses,
            featureDim: input.featureDim,
            budget: input.budget,
            rng: input.rng.state(),
            options: { ...input.options },
          },
        };
        let reply: SandboxReply;
        try {
          reply = await ask(request, scope, undefined, input.signal, {
            entry: modulePathOf(url),
            loaded: code,
          });
        } catch (e) {
          throw fail((e as Error).message);
        }
        if (reply.kind === "error") throw fail(explainPluginError(reply.message, scope));
        if (reply.kind !== "selected") throw fail(`unexpected answer ${reply.kind}`);
        return reply.result as QueryResult;
      },
    }),
    code,
  );
}
