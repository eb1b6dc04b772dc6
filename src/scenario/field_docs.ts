/**
 * The scenario field reference (`docs/scenario-fields.md`), generated from the scenario's JSON Schema (itself
 * generated from the zod schema and its descriptions) and from each built-in query function's option schema, so
 * the reference cannot drift from what the loader accepts. `deno task schema` rewrites it with the JSON Schema;
 * a test keeps the committed file equal to the generated one.
 *
 * @module
 */
import { scenarioJsonSchema } from "./json_schema.ts";
import { BUILTIN_QUERY_FUNCTIONS } from "../al/query/registry.ts";

type Json = Record<string, unknown>;

/** One documented field. */
export interface FieldDoc {
  /** Dotted path; `[]` marks array items. */
  readonly path: string;
  readonly type: string;
  readonly required: boolean;
  readonly default: string;
  readonly description: string;
}

function typeOf(s: Json): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return (s.enum as unknown[]).map((v) => JSON.stringify(v)).join(" | ");
  const union = (s.anyOf ?? s.oneOf) as Json[] | undefined;
  if (union) return [...new Set(union.map(typeOf))].join(" | ");
  let t = typeof s.type === "string"
    ? s.type
    : Array.isArray(s.type)
    ? (s.type as string[]).join(" | ")
    : "any";
  if (t === "array" && s.items && typeof s.items === "object" && !Array.isArray(s.items)) {
    const item = typeOf(s.items as Json);
    t = item.includes(" | ") ? `(${item})[]` : `${item}[]`;
  }
  const bounds: string[] = [];
  if (typeof s.minimum === "number") bounds.push(`≥ ${s.minimum}`);
  if (typeof s.exclusiveMinimum === "number") bounds.push(`> ${s.exclusiveMinimum}`);
  if (typeof s.maximum === "number" && s.maximum < Number.MAX_SAFE_INTEGER) bounds.push(`≤ ${s.maximum}`);
  if (typeof s.exclusiveMaximum === "number") bounds.push(`< ${s.exclusiveMaximum}`);
  if (typeof s.maxLength === "number") bounds.push(`≤ ${s.maxLength} chars`);
  return bounds.length ? `${t} (${bounds.join(", ")})` : t;
}

/** The schema's object or array-of-object children, if any (unions: the first object member). */
function childrenOf(s: Json): { props: Record<string, Json>; required: string[]; suffix: string } | null {
  if (s.properties && typeof s.properties === "object") {
    return {
      props: s.properties as Record<string, Json>,
      required: (s.required as string[]) ?? [],
      suffix: "",
    };
  }
  if (s.type === "array" && s.items && typeof s.items === "object") {
    const c = childrenOf(s.items as Json);
    return c ? { ...c, suffix: "[]" } : null;
  }
  const union = (s.anyOf ?? s.oneOf) as Json[] | undefined;
  if (union) {
    for (const u of union) {
      const c = childrenOf(u);
      if (c) return c;
    }
  }
  return null;
}

/**
 * Every field of the scenario file, depth first, in schema order.
 *
 * @example
 * ```ts
 * import { scenarioFields } from "./field_docs.ts";
 * const fields = scenarioFields();
 * console.assert(fields.some((f) => f.path === "al.batch" && f.required));
 * console.assert(fields.some((f) => f.path === "arms[].name"));
 * ```
 */
export function scenarioFields(): FieldDoc[] {
  const out: FieldDoc[] = [];
  const walk = (s: Json, prefix: string, required: readonly string[]) => {
    for (const [key, child] of Object.entries((s.properties ?? {}) as Record<string, Json>)) {
      if (key === "$schema") continue;
      const path = prefix ? `${prefix}.${key}` : key;
      const desc = typeof child.description === "string" ? child.description : "";
      out.push({
        path,
        type: typeOf(child),
        required: required.includes(key),
        // Objects' defaults are their fields' defaults, listed with the fields.
        default:
          child.default === undefined || typeof child.default === "object" && !Array.isArray(child.default)
            ? ""
            : JSON.stringify(child.default),
        description: desc,
      });
      // Variants repeat the top-level fields as free-form overrides: documented once, at the top.
      if (path === "variants") {
        out.push({
          path: "variants[].*",
          type: "object",
          required: false,
          default: "",
          description:
            "Any top-level section (dataset, split, imbalance, model, pretrain, finetune, al, arms, " +
            "baseline, seeds, backend), merged over the base scenario for this variant.",
        });
        const items = (child.items ?? {}) as Json;
        const props = (items.properties ?? {}) as Record<string, Json>;
        for (const k of ["name", "description"]) {
          if (props[k]) {
            out.push({
              path: `variants[].${k}`,
              type: typeOf(props[k]!),
              required: ((items.required as string[]) ?? []).includes(k),
              default: "",
              description: typeof props[k]!.description === "string" ? props[k]!.description as string : "",
            });
          }
        }
        continue;
      }
      const members = ((child.anyOf ?? child.oneOf) as Json[] | undefined)?.filter((m) => m.properties);
      if (members && members.length > 1) {
        // A union of objects (e.g. the dataset kinds): each member's fields, under the kind that selects it.
        for (const m of members) {
          const kind = ((m.properties as Record<string, Json>).kind?.const as string | undefined) ?? "";
          walk(m, kind ? `${path}{kind: "${kind}"}` : path, (m.required as string[]) ?? []);
        }
        continue;
      }
      const c = childrenOf(child);
      if (c) walk({ properties: c.props }, `${path}${c.suffix}`, c.required);
    }
  };
  const root = scenarioJsonSchema();
  walk(root, "", (root.required as string[]) ?? []);
  return out;
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, " ");

/** One field as a Markdown list item: path, type, required/default, description. */
function fieldLine(f: FieldDoc): string {
  const facts = [f.type, f.required ? "required" : "", f.default ? `default \`${f.default}\`` : ""]
    .filter(Boolean).join("; ");
  return `- \`${f.path}\` (${oneLine(facts)})${f.description ? `: ${oneLine(f.description)}` : ""}`;
}

/**
 * The whole reference page as Markdown.
 *
 * @example
 * ```ts
 * import { fieldReferenceMarkdown } from "./field_docs.ts";
 * const md = fieldReferenceMarkdown();
 * console.assert(md.startsWith("# Scenario field reference") && md.includes("- `al.batch` ("));
 * ```
 */
export function fieldReferenceMarkdown(): string {
  const rows = scenarioFields().map(fieldLine);
  const options = Object.entries(BUILTIN_QUERY_FUNCTIONS).map(([name, fn]) => {
    const entries = Object.entries(fn.optionSchema ?? {});
    const list = entries.length
      ? entries.map(([k, o]) => {
        const facts = [
          o.type,
          o.min !== undefined ? `≥ ${o.min}` : "",
          o.max !== undefined ? `≤ ${o.max}` : "",
          o.values ? `one of ${o.values.map((v) => JSON.stringify(v)).join(", ")}` : "",
          o.default === undefined ? "" : `default \`${JSON.stringify(o.default)}\``,
        ].filter(Boolean).join("; ");
        return `- \`${k}\` (${facts}): ${oneLine(o.description)}`;
      }).join("\n")
      : "No options.";
    return `### \`${name}\`\n\n${oneLine(fn.description)}\n\n${list}`;
  });
  return [
    "# Scenario field reference",
    "",
    "Generated by `deno task schema` from the scenario schema (`src/scenario/schema.ts`) and the built-in query",
    "functions' option schemas; do not edit by hand (a test compares this file with the generated text). Editors",
    "validate scenario files against `scenarios/scenario.schema.json`, generated from the same source. Unknown",
    "keys are errors everywhere.",
    "",
    "Each field: its type and bounds, whether it is required, its default, what it means. `[]` marks the items of",
    "a list; `dataset{kind: …}` the fields of one dataset kind.",
    "",
    ...rows,
    "",
    "## Query functions and their options (`arms[].query`, `arms[].options`)",
    "",
    'A built-in is named by its string; a plug-in by `{"module": "./path.ts"}` (relative to the scenario file),',
    "with options checked against the plug-in's own `optionSchema`.",
    "",
    ...options.flatMap((o) => [o, ""]),
  ].join("\n");
}

if (import.meta.main) {
  const out = Deno.args[0] ?? "docs/scenario-fields.md";
  await Deno.writeTextFile(out, fieldReferenceMarkdown());
  console.log(`wrote ${out}`);
}
