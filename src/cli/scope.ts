/**
 * What a command may read and write, computed from its arguments: the project, the scenario files, the datasets
 * they name (or `--data`), the plug-ins' folders, and the results and cache folders. The launcher (`launch.ts`)
 * runs the command under exactly these permissions, so data and results can live anywhere (a cluster's shared
 * file system, a temporary folder) while a run still cannot touch anything else.
 *
 * Pure: file contents come through `readText`, so the rules are tested without a file system. A scenario that
 * cannot be read or parsed adds nothing: the command itself then reports it, with its usual message.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { BENCH_FLAGS, COMPARE_FLAGS, DATA_FLAGS, PLAN_FLAGS, REPORT_FLAGS } from "./flags.ts";
import { applyOverrides, parseOverrides } from "../scenario/overrides.ts";
import { absolutePath } from "./args.ts";

/** The commands the launcher runs. */
export const LAUNCHED = ["bench", "compare", "plan", "report", "data"] as const;

/** One of {@linkcode LAUNCHED}. */
export type LaunchedCommand = typeof LAUNCHED[number];

/** Absolute paths a command may read and write. */
export interface RunScope {
  readonly read: string[];
  readonly write: string[];
}

/** Where the scope's relative paths start, and how to read a scenario file (`undefined`: unreadable). */
export interface ScopeContext {
  /** The folder relative paths are taken from (the task's, the project's root). */
  readonly cwd: string;
  /** The project's root: always readable. */
  readonly project: string;
  readonly readText: (path: string) => string | undefined;
}

const FLAGS = {
  bench: BENCH_FLAGS,
  compare: COMPARE_FLAGS,
  plan: PLAN_FLAGS,
  report: REPORT_FLAGS,
  data: DATA_FLAGS,
} as const;

/** Query modules are named by these extensions (built-ins by a bare name). */
const MODULE = /\.(ts|js|mjs|mts|py)$/;

/**
 * The read and write scope of `command` run with `args`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { commandScope } from "./scope.ts";
 * const files: Record<string, string> = {
 *   "/data/s.json": JSON.stringify({ dataset: { kind: "ucmerced", root: "/data/ucm" },
 *     arms: [{ name: "q", query: { module: "q/mine.ts" } }] }),
 * };
 * const scope = commandScope("bench", ["--scenario", "/data/s.json", "--out", "/results/run"], {
 *   cwd: "/albench", project: "/albench", readText: (p) => files[p],
 * });
 * assert.deepEqual(scope.read, ["/albench", "/data/s.json", "/data/ucm", "/data/q", "/results/run"]);
 * assert.deepEqual(scope.write, ["/results/run", "/albench/.cache"]);
 * ```
 */
export function commandScope(command: LaunchedCommand, args: readonly string[], ctx: ScopeContext): RunScope {
  const read = [ctx.project], write: string[] = [];
  const abs = (p: string) => absolutePath(p, ctx.cwd);
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>, positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...args],
      options: FLAGS[command],
      strict: false,
      allowPositionals: true,
    }));
  } catch {
    return { read, write };
  }
  const str = (k: string) => (typeof values[k] === "string" ? values[k] as string : undefined);
  const list = (k: string) => {
    const v = values[k];
    return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string =>
      typeof x === "string"
    );
  };
  const data = str("data");
  const finish = () => ({ read: outermost(read), write: outermost(write) });
  if (command === "report") {
    for (const p of positionals) {
      read.push(abs(p)), write.push(abs(p));
      // The scenario files the folder's runs read (run.json names them): the report shows their text.
      try {
        const run = JSON.parse(ctx.readText(`${abs(p)}/run.json`) ?? "null");
        for (const s of Array.isArray(run?.scenarios) ? run.scenarios : []) {
          if (typeof s?.file !== "string" || s.file === "") continue;
          read.push(abs(s.file));
          // Its datasets, read-only (the report shows thumbnails of the images the arms picked).
          const sets = Array.isArray(s.overrides)
            ? s.overrides.filter((o: unknown) => typeof o === "string")
            : [];
          let parsed: ReturnType<typeof parseOverrides> = [];
          try {
            parsed = parseOverrides(sets);
          } catch {
            // Recorded by a run that validated them; a hand-edited list adds nothing.
          }
          for (const path of scenarioPaths(s.file, parsed, ctx)) read.push(path);
        }
      } catch {
        // Not a results folder: the command says so.
      }
    }
    // --data, and the cache (where decoded images are kept for the thumbnails: read, and written when missing).
    const dataFlag = str("data"), cache = abs(str("cache") ?? ".cache");
    if (dataFlag !== undefined) read.push(abs(dataFlag));
    read.push(cache), write.push(cache);
    // --preregister FILE: read only (the report checks the folder's run against it).
    const prereg = str("preregister");
    if (prereg !== undefined) read.push(abs(prereg));
    return finish();
  }
  if (command === "data") {
    // It copies from wherever --from and --labels say (read as before: everything), and writes its copy.
    read.push("/");
    write.push(abs(".cache"), abs(str("out") ?? ".cache/data/ucmerced"));
    return finish();
  }
  const scenarios = command === "bench"
    ? (list("scenario").length ? list("scenario") : ["scenarios/default.json"])
    : [str("scenario") ?? "scenarios/default.json"];
  let sets: ReturnType<typeof parseOverrides> = [];
  try {
    sets = parseOverrides(list("set"));
  } catch {
    // The command names the bad --set itself.
  }
  for (const file of scenarios) {
    read.push(abs(file));
    for (const p of scenarioPaths(file, sets, ctx)) read.push(p);
  }
  if (data !== undefined) read.push(abs(data));
  if (command === "compare") {
    for (const p of positionals) {
      const spec = p.includes("=") ? p.slice(p.indexOf("=") + 1) : p;
      if (MODULE.test(spec) || spec.includes("/")) read.push(dirname(abs(spec)));
    }
  }
  // plan reads the cache to say which pre-trainings it holds.
  if (command === "plan") return read.push(abs(str("cache") ?? ".cache")), finish();
  // bench, compare: the results folder, the cache, the Python exchange folder, the progress log.
  const out = str("out"), cache = abs(str("cache") ?? ".cache");
  const results = out !== undefined ? abs(out) : abs(command === "compare" ? "reports/compare" : "reports");
  read.push(results, cache);
  write.push(results, cache, abs(".cache/python-exchange"));
  // bench and compare --preregister FILE: read, and created once through FILE.partial.
  const prereg = str("preregister");
  if (prereg !== undefined) {
    read.push(abs(prereg));
    write.push(abs(prereg), abs(`${prereg}.partial`));
  }
  const log = str("log-json");
  if (log !== undefined) read.push(abs(log)), write.push(abs(log));
  return finish();
}

/**
 * The paths a scenario file names, absolute: its datasets' roots (and a label file given by an absolute path),
 * and the folders of its query modules (relative to the file's folder). `sets` are applied first, so
 * `--set dataset.root=/data/x` is granted too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scenarioPaths } from "./scope.ts";
 * const text = JSON.stringify({ dataset: { kind: "folder", root: "d" },
 *   variants: [{ name: "b", dataset: { root: "/e" } }] });
 * const paths = scenarioPaths("s/x.json", [], { cwd: "/p", project: "/p", readText: () => text });
 * assert.deepEqual(paths, ["/p/d", "/e"]);
 * ```
 */
export function scenarioPaths(
  file: string,
  sets: ReturnType<typeof parseOverrides>,
  ctx: ScopeContext,
): string[] {
  const text = ctx.readText(absolutePath(file, ctx.cwd));
  if (text === undefined) return [];
  let data: unknown;
  try {
    data = applyOverrides(JSON.parse(text.replace(/^\uFEFF/, "")), sets);
  } catch {
    return [];
  }
  const out: string[] = [];
  const folder = dirname(absolutePath(file, ctx.cwd));
  const visit = (s: unknown) => {
    if (!isObject(s)) return;
    const ds = s.dataset;
    if (isObject(ds) && typeof ds.root === "string" && ds.root !== "") {
      const root = absolutePath(ds.root, ctx.cwd);
      out.push(root);
      if (typeof ds.labels === "string" && ds.labels.startsWith("/")) out.push(ds.labels);
    }
    const arms = Array.isArray(s.arms) ? s.arms : isObject(s.arms) ? Object.values(s.arms) : [];
    for (const a of arms) {
      if (!isObject(a)) continue;
      const q = a.query;
      const module = typeof q === "string"
        ? (MODULE.test(q) ? q : undefined)
        : isObject(q)
        ? q.module
        : undefined;
      if (typeof module === "string" && module !== "") out.push(dirname(absolutePath(module, folder)));
    }
  };
  visit(data);
  if (isObject(data) && Array.isArray(data.variants)) { for (const v of data.variants) visit(v); }
  return out;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === "object" && !Array.isArray(x);
}

function dirname(path: string): string {
  const cut = path.lastIndexOf("/");
  return cut <= 0 ? "/" : path.slice(0, cut);
}

/** The paths in order, without duplicates and without those inside another of them. */
function outermost(paths: readonly string[]): string[] {
  const within = (p: string, dir: string) => dir === "/" || p === dir || p.startsWith(`${dir}/`);
  const unique = [...new Set(paths)];
  return unique.filter((p) => !unique.some((q) => q !== p && within(p, q)));
}
