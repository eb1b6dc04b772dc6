/**
 * The built-in query functions and plug-in loading.
 *
 * @module
 */
import type { QueryFunction } from "../query.ts";
import { random } from "./random.ts";
import { mgeClustering } from "./mge_clustering.ts";
import { badge } from "./badge.ts";
import { uncertainty } from "./uncertainty.ts";
import { coreset } from "./coreset.ts";

/** Built-in query functions by name. */
export const BUILTIN_QUERY_FUNCTIONS: Readonly<Record<string, QueryFunction>> = {
  random,
  "mge-clustering": mgeClustering,
  badge,
  uncertainty,
  coreset,
};

function isQueryFunction(x: unknown): x is QueryFunction {
  const q = x as QueryFunction | undefined;
  return !!q && typeof q === "object" && typeof q.name === "string" && typeof q.select === "function";
}

/**
 * Load a plug-in: a module whose default export (or export named `query`) is a {@linkcode QueryFunction}. `path`
 * is resolved against `baseDir` (the scenario file's folder) unless absolute.
 *
 * @example
 * ```ts ignore
 * import { loadQueryModule } from "./registry.ts";
 * const fn = await loadQueryModule("./my_query.ts", "scenarios/examples");
 * ```
 */
export async function loadQueryModule(path: string, baseDir: string): Promise<QueryFunction> {
  const base = new URL(
    `file://${baseDir.startsWith("/") ? "" : Deno.cwd() + "/"}${baseDir.replace(/\/?$/, "/")}`,
  );
  const url = new URL(path, base);
  let mod: Record<string, unknown>;
  try {
    mod = await import(url.href);
  } catch (e) {
    throw new Error(
      `query module ${path} (${url.pathname}) could not be loaded: ${(e as Error).message.split("\n")[0]}`,
    );
  }
  const fn = mod.default ?? mod.query;
  if (!isQueryFunction(fn)) {
    throw new Error(
      `query module ${path} must export a QueryFunction ({ name, description, select(input) }) as its default ` +
        `export or as "query"; it exports ${Object.keys(mod).join(", ") || "nothing"}`,
    );
  }
  return fn;
}

/**
 * Resolve an arm's `query` field: a built-in name or `{ "module": path }`.
 *
 * @example
 * ```ts
 * import { resolveQuery } from "./registry.ts";
 * console.assert((await resolveQuery("random", ".")).name === "random");
 * ```
 */
export async function resolveQuery(
  spec: string | { module: string },
  baseDir: string,
): Promise<QueryFunction> {
  if (typeof spec === "string") {
    const fn = BUILTIN_QUERY_FUNCTIONS[spec];
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
