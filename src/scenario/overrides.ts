/**
 * `--set path.to.field=value`: change one field of a scenario from the command line instead of copying its file.
 * Applied to the file's JSON before validation (to every variant, after the variant's own fields), so the result
 * is checked by the same schema and its hash differs from the file's: an overridden run never reuses or mixes
 * with the cells of the file as written.
 *
 * Light on purpose (no schema): the launcher applies the same overrides to find the paths a run needs.
 *
 * @module
 */

/** One parsed `--set`. */
export interface Override {
  /** As given, for messages and the manifest: `al.iterations=3`. */
  readonly text: string;
  /** The field's path: `["al", "iterations"]`; a number-like segment indexes an array (`arms.0.options`). */
  readonly path: readonly string[];
  /** The value: JSON where the text is JSON (`3`, `true`, `[1,2]`, `"x"`), else the text itself as a string. */
  readonly value: unknown;
}

/** Segments that would reach an object's prototype instead of a field. */
const FORBIDDEN = new Set(["__proto__", "prototype", "constructor"]);

const SEGMENT = /^[A-Za-z0-9_$-]{1,100}$/;

/**
 * Parse `--set` values. A problem is an `Error` whose message names the value and the fix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseOverrides } from "./overrides.ts";
 * const [a, b] = parseOverrides(["al.iterations=3", "dataset.root=/data/ucm"]);
 * assert.deepEqual(a!.path, ["al", "iterations"]);
 * assert.equal(a!.value, 3);
 * assert.equal(b!.value, "/data/ucm");
 * assert.throws(() => parseOverrides(["al.iterations"]), /--set "al\.iterations" needs the form path\.to\.field=value/);
 * ```
 */
export function parseOverrides(texts: readonly string[]): Override[] {
  const out: Override[] = [];
  for (const text of texts) {
    const eq = text.indexOf("=");
    if (eq <= 0) {
      throw new Error(
        `--set ${JSON.stringify(text)} needs the form path.to.field=value (e.g. --set al.iterations=3)`,
      );
    }
    const path = text.slice(0, eq).split(".");
    const bad = path.find((p) => !SEGMENT.test(p) || FORBIDDEN.has(p));
    if (bad !== undefined) {
      throw new Error(
        `--set ${JSON.stringify(text)}: ${
          JSON.stringify(bad)
        } is not a field name (letters, digits, _ and -, ` +
          "separated by dots; a number indexes a list, as in arms.0.options.k)",
      );
    }
    if (path[0] === "variants") {
      throw new Error(
        `--set ${JSON.stringify(text)}: variants are edited in the scenario file; a --set applies to every ` +
          "variant (choose one with plan --variant)",
      );
    }
    const raw = text.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    out.push({ text, path, value });
  }
  const paths = out.map((o) => o.path.join("."));
  const twice = paths.find((p, i) => paths.indexOf(p) !== i);
  if (twice !== undefined) throw new Error(`--set ${twice} is given twice; give each field once`);
  return out;
}

/**
 * `data` with every override applied, as a new object (the input is not changed). Missing objects on the way are
 * created; a path through a value that is not an object or a list is an `Error` naming it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyOverrides, parseOverrides } from "./overrides.ts";
 * const s = { al: { initial: 40, iterations: 20 }, arms: [{ name: "random", query: "random" }] };
 * const t = applyOverrides(s, parseOverrides(["al.iterations=3", "arms.0.name=rnd"]));
 * assert.deepEqual(t, { al: { initial: 40, iterations: 3 }, arms: [{ name: "rnd", query: "random" }] });
 * assert.equal(s.al.iterations, 20);
 * assert.throws(() => applyOverrides(s, parseOverrides(["al.initial.x=1"])), /al\.initial is 40, not an object/);
 * ```
 */
export function applyOverrides(data: unknown, overrides: readonly Override[]): unknown {
  if (!overrides.length) return data;
  const root: unknown = structuredClone(data);
  for (const o of overrides) {
    let node: unknown = root;
    for (let i = 0; i < o.path.length; i++) {
      const key = o.path[i]!, last = i === o.path.length - 1;
      const where = o.path.slice(0, i).join(".") || "the scenario";
      if (Array.isArray(node)) {
        const index = /^[0-9]{1,6}$/.test(key) ? Number(key) : NaN;
        if (!(index <= node.length)) {
          throw new Error(
            `--set ${o.text}: ${where} is a list of ${node.length}; index it with 0 to ${node.length}`,
          );
        }
        if (last) node[index] = o.value;
        else {
          if (node[index] === undefined) node[index] = {};
          node = node[index];
        }
      } else if (node !== null && typeof node === "object") {
        const obj = node as Record<string, unknown>;
        if (last) {
          Object.defineProperty(obj, key, {
            value: o.value,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        } else {
          if (!Object.hasOwn(obj, key) || obj[key] === undefined) {
            Object.defineProperty(obj, key, {
              value: {},
              enumerable: true,
              writable: true,
              configurable: true,
            });
          }
          node = obj[key];
        }
      } else {
        throw new Error(
          `--set ${o.text}: ${where} is ${JSON.stringify(node)}, not an object; set ${where} itself`,
        );
      }
    }
  }
  return root;
}
