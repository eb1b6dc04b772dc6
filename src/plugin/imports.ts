/**
 * A plug-in's imports, screened before it is loaded: a specifier that would need the package registry or the
 * network (`npm:`, `jsr:`, `http:`, `https:`) is refused by name, before any import is tried. Runs never
 * download anything anyway (`--frozen --cached-only`), but an attempted registry import can leave Deno's module
 * loader refusing every later plug-in of the same process ("the lockfile is out of date") when the package's
 * metadata happens to be in Deno's global cache. The screen follows the plug-in's relative imports (files in its
 * read scope) and sees string-literal specifiers of static imports, re-exports and `import()`; a computed
 * specifier still meets the sandbox and the frozen lockfile.
 *
 * @module
 */

/** The specifier schemes a plug-in may not import. */
export const REMOTE_SCHEMES: readonly string[] = ["npm:", "jsr:", "http:", "https:"];

/**
 * The source with comments dropped and every string literal replaced by a numbered token (`"0"`, `"1"`, …) whose
 * text is kept aside, so that neither a commented-out import nor import-like text inside a string counts.
 */
function tokenize(source: string): { code: string; strings: string[] } {
  let code = "";
  const strings: string[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!, next = source[i + 1];
    if (c === "/" && next === "/") {
      while (i < source.length && source[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      i = end < 0 ? source.length : end + 2;
    } else if (c === '"' || c === "'" || c === "`") {
      let text = "";
      i++;
      while (i < source.length && source[i] !== c) {
        if (source[i] === "\\") text += source[i++];
        text += source[i++] ?? "";
      }
      i++;
      code += `"${strings.length}"`;
      strings.push(text);
    } else {
      code += c;
      i++;
    }
  }
  return { code, strings };
}

const SPECIFIER = [
  // import x from "s"; import { a } from "s"; export * from "s"; export { a } from "s"; import type … from "s"
  /\b(?:import|export)\s[^;"]*?\bfrom\s*"(\d+)"/g,
  // import "s";
  /\bimport\s*"(\d+)"/g,
  // import("s"), import(`s`)
  /\bimport\s*\(\s*"(\d+)"/g,
];

/**
 * The string-literal import specifiers of a module's source, in order of appearance per kind; comments and
 * import-like text inside strings are ignored.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { importSpecifiers } from "./imports.ts";
 * const src = 'import a from "./a.ts";\n// import "npm:x"\nconst m = await import("npm:left-pad");';
 * assert.deepStrictEqual(importSpecifiers(src), ["./a.ts", "npm:left-pad"]);
 * ```
 */
export function importSpecifiers(source: string): string[] {
  const { code, strings } = tokenize(source);
  const found: string[] = [];
  for (const re of SPECIFIER) {
    for (const m of code.matchAll(re)) {
      const s = strings[Number(m[1])]!;
      if (!found.includes(s)) found.push(s);
    }
  }
  return found;
}

/**
 * The first import in a plug-in's module graph (the file and the relative imports it reaches, read with
 * `readText`) whose specifier needs the registry or the network, as `{ file, specifier }`, or `null`. Files that
 * cannot be read are skipped (the import itself will then fail with the sandbox's words).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { remoteImport } from "./imports.ts";
 * const files: Record<string, string> = {
 *   "/p/q.ts": 'import { h } from "./h.ts"; export default h;',
 *   "/p/h.ts": 'export { default as h } from "npm:left-pad@1.3.0";',
 * };
 * assert.deepStrictEqual(remoteImport("/p/q.ts", (f) => files[f] ?? null), {
 *   file: "/p/h.ts",
 *   specifier: "npm:left-pad@1.3.0",
 * });
 * ```
 */
export function remoteImport(
  path: string,
  readText: (path: string) => string | null,
  limit = 1000,
): { file: string; specifier: string } | null {
  const seen = new Set<string>();
  const todo = [path];
  while (todo.length && seen.size < limit) {
    const file = todo.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readText(file);
    if (text === null) continue;
    for (const s of importSpecifiers(text)) {
      if (REMOTE_SCHEMES.some((scheme) => s.toLowerCase().startsWith(scheme))) return { file, specifier: s };
      if (s.startsWith("./") || s.startsWith("../")) {
        todo.push(new URL(s, `file://${file}`).pathname);
      }
    }
  }
  return null;
}
