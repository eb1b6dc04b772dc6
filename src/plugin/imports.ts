/**
 * A plug-in's imports, screened before it is loaded: a specifier that would need the package registry or the
 * network (`npm:`, `jsr:`, `http:`, `https:`) is refused by name, before any import is tried. Runs never
 * download anything anyway (`--frozen --cached-only`), but an attempted registry import can leave Deno's module
 * loader refusing every later plug-in of the same process ("the lockfile is out of date") when the package's
 * metadata happens to be in Deno's global cache. The screen follows the plug-in's local imports (relative, absolute
 * or `file:`, files in its read scope) and sees string-literal specifiers of static imports, re-exports and `import()`; a computed
 * specifier still meets the sandbox and the frozen lockfile.
 *
 * @module
 */

/** The specifier schemes a plug-in may not import (registry, network, or inline code that could import them). */
export const REMOTE_SCHEMES: readonly string[] = ["npm:", "jsr:", "http:", "https:", "data:", "blob:"];

/** Words after which a `/` starts a regular expression rather than a division. */
const REGEX_AFTER_WORDS = new Set([
  "return",
  "typeof",
  "case",
  "do",
  "else",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "yield",
  "await",
  "instanceof",
]);
/** Punctuation after which a `/` starts a regular expression. */
const REGEX_AFTER_PUNCTUATION = "(,=:[!&|?{};+-*%<>~^";

/**
 * The source with comments and regular-expression literals dropped and every string literal replaced by a
 * numbered token (`"0"`, `"1"`, …) whose text is kept aside, so that neither a commented-out import nor
 * import-like text inside a string or a regular expression counts. A template literal without `${…}` is a
 * string; one with substitutions becomes `(tpl …)` around the code of its substitutions, which is scanned too.
 */
function tokenize(src: string): { code: string; strings: string[] } {
  const strings: string[] = [];
  let i = 0;
  const isWord = (ch: string | undefined) => ch !== undefined && /[A-Za-z0-9_$]/.test(ch);
  const quoted = (q: string): string => {
    let text = "";
    i++;
    while (i < src.length && src[i] !== q && src[i] !== "\n") {
      if (src[i] === "\\") text += src[i++];
      text += src[i++] ?? "";
    }
    i++;
    return text;
  };
  const skipRegex = () => {
    let inClass = false;
    i++;
    while (i < src.length && src[i] !== "\n") {
      const ch = src[i]!;
      if (ch === "\\") i += 2;
      else {
        i++;
        if (ch === "[") inClass = true;
        else if (ch === "]") inClass = false;
        else if (ch === "/" && !inClass) break;
      }
    }
    while (isWord(src[i])) i++; // flags
  };
  const template = (): string => {
    let text = "", parts = "", substituted = false;
    i++;
    while (i < src.length && src[i] !== "`") {
      if (src[i] === "\\") {
        text += src.slice(i, i + 2);
        i += 2;
      } else if (src[i] === "$" && src[i + 1] === "{") {
        i += 2;
        substituted = true;
        parts += ` ${code(true)} `;
      } else text += src[i++];
    }
    i++;
    if (substituted) return `(tpl ${parts})`;
    strings.push(text);
    return `"${strings.length - 1}"`;
  };
  // The code from i to the end, or (inside `${…}`) to its closing brace.
  const code = (untilBrace: boolean): string => {
    let out = "", prev = "", depth = 0;
    while (i < src.length) {
      const c = src[i]!, n = src[i + 1];
      if (c === "/" && n === "/") {
        while (i < src.length && src[i] !== "\n") i++;
      } else if (c === "/" && n === "*") {
        const e = src.indexOf("*/", i + 2);
        i = e < 0 ? src.length : e + 2;
        out += " ";
      } else if (/\s/.test(c)) {
        out += c;
        i++;
      } else if (c === "/") {
        if (prev === "" || REGEX_AFTER_PUNCTUATION.includes(prev) || REGEX_AFTER_WORDS.has(prev)) {
          skipRegex();
          out += "/r/";
          prev = "r";
        } else {
          out += c;
          i++;
          prev = c;
        }
      } else if (c === '"' || c === "'") {
        strings.push(quoted(c));
        out += `"${strings.length - 1}"`;
        prev = "x";
      } else if (c === "`") {
        out += template();
        prev = "x";
      } else if (isWord(c)) {
        let w = "";
        while (isWord(src[i])) w += src[i++];
        out += w;
        prev = w;
      } else {
        if (untilBrace && c === "{") depth++;
        if (untilBrace && c === "}" && depth-- === 0) {
          i++;
          return out;
        }
        out += c;
        i++;
        prev = c;
      }
    }
    return out;
  };
  return { code: code(false), strings };
}

const SPECIFIER = [
  // import x from "s"; import { a } from "s"; export * from "s"; export { a } from "s"; import type … from "s"
  /(?<![.$\w])(?:import|export)\s[^;"]*?\bfrom\s*"(\d+)"/g,
  // import "s";
  /(?<![.$\w])import\s*"(\d+)"/g,
  // import("s"), import(`s`) — not obj.import("s") or $import("s")
  /(?<![.$\w])import\s*\(\s*"(\d+)"/g,
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

/** The file a relative, absolute or `file:` specifier names from `file`, decoded; `null` for anything else. */
function localPath(specifier: string, file: string): string | null {
  if (!/^(\.{1,2}\/|\/|file:)/.test(specifier)) return null;
  const base = new URL(`file://${file.split("/").map(encodeURIComponent).join("/")}`);
  try {
    return decodeURIComponent(new URL(specifier, base).pathname);
  } catch {
    return null;
  }
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
      const local = localPath(s, file);
      if (local) todo.push(local);
    }
  }
  return null;
}
