/**
 * Loading query functions: a built-in name, or a plug-in module — TypeScript or JavaScript described and run in
 * the plug-in sandbox (`sandbox.ts`), Python in its own process (`python.ts`) — and checking every arm's function
 * and options before a run writes anything.
 *
 * @module
 */
import { checkQueryOptions, declaredNeeds, optionSchemaProblem, type QueryFunction } from "../al/query.ts";
import { BUILTIN_QUERY_FUNCTIONS } from "../al/query/registry.ts";
import {
  describePlugin,
  modulePathOf,
  pluginReadScope,
  pluginScopeProblem,
  sandboxedQuery,
} from "./sandbox.ts";
import { type CodeIdentity, codeIdentity } from "./code_hash.ts";
import { describePythonPlugin, pythonQuery } from "./python.ts";

/**
 * Load a plug-in: a module whose default export (or export named `query`) is a {@linkcode QueryFunction}, or a
 * Python module (`.py`) that defines `select` (docs/query-functions.md). `path` is resolved against `baseDir` (the
 * scenario file's folder) unless absolute. A TypeScript module runs in the plug-in sandbox
 * (`src/plugin/sandbox.ts`), a Python one in its own Python process (`src/plugin/python.ts`): the function
 * returned stands for it here and runs each `select` there.
 *
 * @example
 * ```ts ignore
 * import { loadQueryModule } from "./loader.ts";
 * const fn = await loadQueryModule("./my_query.ts", "scenarios/examples");
 * ```
 */
export async function loadQueryModule(path: string, baseDir: string): Promise<QueryFunction> {
  const url = moduleUrl(path, baseDir);
  if (url.pathname.endsWith(".py")) return await loadPythonModule(path, url);
  // One description per plug-in version and process: a scenario check, the run's identity pass and every cell
  // of a thread share it (each select still runs in a fresh sandbox). Keyed by the code's hash, so an edited
  // plug-in is loaded again; a folder that cannot be hashed is loaded uncached, for its error's words.
  let key: string | undefined;
  try {
    key = `${url.href}\n${codeIdentity(pluginReadScope(modulePathOf(url))[0]!, modulePathOf(url)).hash}`;
  } catch {
    return await loadSandboxedModule(path, url);
  }
  let loading = LOADED.get(key);
  if (loading) {
    // What a load checks before it describes the plug-in, checked again: a link may have appeared since.
    const problem = pluginScopeProblem(pluginReadScope(modulePathOf(url)));
    if (problem) throw new Error(`query module ${path} (${url.pathname}) could not be loaded: ${problem}`);
  } else {
    loading = loadSandboxedModule(path, url);
    LOADED.set(key, loading);
    loading.catch(() => LOADED.delete(key));
  }
  return await loading;
}

/** The TypeScript and JavaScript plug-ins this process has described, by module URL and code hash. */
const LOADED = new Map<string, Promise<QueryFunction>>();

async function loadSandboxedModule(path: string, url: URL): Promise<QueryFunction> { // The module is imported and run only in the plug-in sandbox (src/plugin/sandbox.ts): a worker that may read
  // the plug-in's own folder and nothing else, never in this thread.
  let loaded: Awaited<ReturnType<typeof describePlugin>>;
  let code: CodeIdentity;
  try {
    loaded = await describePlugin(url);
    // After it loaded (a missing file is described by the sandbox's words); each call checks it still holds.
    code = codeIdentity(pluginReadScope(modulePathOf(url))[0]!, modulePathOf(url));
  } catch (e) {
    throw new Error(`query module ${path} (${url.pathname}) could not be loaded: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (!loaded.description) {
    throw new Error(
      `query module ${path} must export a QueryFunction ({ name, description, select(input) }) as its default ` +
        `export or as "query"; it exports ${loaded.exports.join(", ") || "nothing"}`,
    );
  }
  const fn = sandboxedQuery(url, loaded.description, path, code);
  // Its declaration is checked now, at load, not first in a round of some cell.
  try {
    declaredNeeds(fn);
    const schema = optionSchemaProblem(fn.optionSchema);
    if (schema) throw new Error(schema);
  } catch (e) {
    throw new Error(`query module ${path} (${url.pathname}) could not be loaded: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return fn;
}

/**
 * Where a plug-in's `module` path points: resolved against `baseDir` (the scenario file's folder; relative to the
 * working directory itself) unless absolute.
 *
 * @example
 * ```ts
 * import { moduleUrl } from "./loader.ts";
 * console.assert(moduleUrl("./q.ts", "/home/me/s").pathname === "/home/me/s/q.ts");
 * console.assert(moduleUrl("/abs/q.ts", "/home/me/s").pathname === "/abs/q.ts");
 * ```
 */
export function moduleUrl(path: string, baseDir: string): URL {
  const base = new URL(
    `file://${baseDir.startsWith("/") ? "" : Deno.cwd() + "/"}${baseDir.replace(/\/?$/, "/")}`,
  );
  return new URL(path, base);
}

/** A Python plug-in (`.py`): imported in its own Python process (see `src/plugin/python.ts`). */
async function loadPythonModule(path: string, url: URL): Promise<QueryFunction> {
  let file = decodeURIComponent(url.pathname);
  try {
    file = Deno.realPathSync(file);
    if (!Deno.statSync(file).isFile) throw new Error(`${file} is not a file`);
  } catch (e) {
    throw new Error(
      `query module ${path} (${file}) could not be loaded: ${(e as Error).message.split("\n")[0]}`,
      { cause: e },
    );
  }
  try {
    const described = await describePythonPlugin(file);
    const schema = optionSchemaProblem(described.optionSchema);
    if (schema) throw new Error(schema);
    return pythonQuery(file, described, path, codeIdentity(pluginReadScope(file)[0]!, file));
  } catch (e) {
    throw new Error(`query module ${path} (${file}) could not be loaded: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/**
 * Resolve an arm's `query` field: a built-in name or `{ "module": path }`.
 *
 * @example
 * ```ts
 * import { resolveQuery } from "./loader.ts";
 * console.assert((await resolveQuery("random", ".")).name === "random");
 * ```
 */
export async function resolveQuery(
  spec: string | { module: string },
  baseDir: string,
): Promise<QueryFunction> {
  if (typeof spec === "string") {
    const fn = Object.hasOwn(BUILTIN_QUERY_FUNCTIONS, spec) ? BUILTIN_QUERY_FUNCTIONS[spec] : undefined;
    if (!fn) {
      throw new Error(
        `unknown query function ${JSON.stringify(spec)}; built-in ones are ${
          Object.keys(BUILTIN_QUERY_FUNCTIONS).join(", ")
        }`,
      );
    }
    return fn;
  }
  return await loadQueryModule(spec.module, baseDir);
}

/** An arm whose query function and options {@linkcode checkArmQueries} checks. */
export interface ArmQuery {
  readonly name: string;
  readonly query: string | { readonly module: string };
  readonly options: Readonly<Record<string, unknown>>;
}

/**
 * Load every arm's query function (plug-ins included: a module that fails to load or exports no query function is
 * a problem) and check its options against its schema. Problems read `arms[i] "name" (function): …`; warnings
 * name plug-ins without a schema whose options are passed unchecked. Run it before anything is written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkArmQueries } from "./loader.ts";
 * const { problems } = await checkArmQueries([{ name: "m", query: "mge-clustering", options: { mFactr: 5 } }], ".");
 * assert.match(problems[0]!, /arms\[0\] "m" \(mge-clustering\): unknown option "mFactr"; .* m, mFactor, includeBias/);
 * ```
 */
export async function checkArmQueries(
  arms: readonly ArmQuery[],
  baseDir: string,
): Promise<{ problems: string[]; warnings: string[] }> {
  const problems: string[] = [], warnings: string[] = [];
  for (const [i, arm] of arms.entries()) {
    const where = `arms[${i}] ${JSON.stringify(arm.name)}`;
    let fn: QueryFunction;
    try {
      fn = await resolveQuery(arm.query, baseDir);
    } catch (e) {
      problems.push(`${where}: ${(e as Error).message}`);
      continue;
    }
    const checked = checkQueryOptions(fn, arm.options);
    problems.push(...checked.problems.map((p) => `${where} (${fn.name}): ${p}`));
    warnings.push(...checked.warnings.map((w) => `${where} (${fn.name}): option ${w}`));
  }
  return { problems, warnings };
}
