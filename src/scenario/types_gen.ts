/**
 * Generates `src/scenario/types.ts`: the {@linkcode Scenario} type written out as a plain TypeScript interface
 * from the scenario schema (via its JSON Schema, output side), so the public API has an explicit type (no zod
 * inference, which JSR calls "slow types") and still has one source: `deno task schema` rewrites the file, and a
 * test checks both that it equals the generated text and that it is the schema's output type in both directions.
 *
 * @module
 */
import { z } from "zod";
import { ScenarioSchema } from "./schema.ts";

type Json = Record<string, unknown>;

const KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const pad = (n: number) => "  ".repeat(n);

function doc(s: Json, indent: number): string {
  const d = typeof s.description === "string" ? s.description : "";
  return d ? `${pad(indent)}/** ${d.replace(/\*\//g, "*\\/")} */\n` : "";
}

function union(parts: string[]): string {
  const unique = [...new Set(parts)];
  return unique.length === 1 ? unique[0]! : unique.map((p) => (p.includes("\n") ? p : p)).join(" | ");
}

function tsType(s: Json, indent: number): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return union((s.enum as unknown[]).map((v) => JSON.stringify(v)));
  const members = (s.anyOf ?? s.oneOf) as Json[] | undefined;
  if (members) return union(members.map((m) => tsType(m, indent)));
  switch (s.type) {
    case "string":
      return "string";
    case "number":
    case "integer":
      return "number";
    case "boolean":
      return "boolean";
    case "null":
      return "null";
    case "array": {
      if (Array.isArray(s.prefixItems)) {
        return `[${(s.prefixItems as Json[]).map((m) => tsType(m, indent)).join(", ")}]`;
      }
      const item = tsType((s.items ?? {}) as Json, indent);
      return item.includes(" | ") ? `(${item})[]` : `${item}[]`;
    }
    case "object": {
      const props = (s.properties ?? {}) as Record<string, Json>;
      const required = new Set((s.required as string[] | undefined) ?? []);
      const keys = Object.keys(props);
      if (!keys.length) {
        const extra = s.additionalProperties;
        return extra && typeof extra === "object" && Object.keys(extra).length
          ? `Record<string, ${tsType(extra as Json, indent)}>`
          : "Record<string, unknown>";
      }
      const lines = keys.map((k) => {
        const name = KEY.test(k) ? k : JSON.stringify(k);
        const t = tsType(props[k]!, indent + 1);
        return `${doc(props[k]!, indent + 1)}${pad(indent + 1)}${name}${required.has(k) ? "" : "?"}: ${t}${
          required.has(k) ? "" : " | undefined"
        };`;
      });
      return `{\n${lines.join("\n")}\n${pad(indent)}}`;
    }
    default:
      return "unknown";
  }
}

/**
 * The text of `src/scenario/types.ts`.
 *
 * @example
 * ```ts
 * import { scenarioTypesText } from "./types_gen.ts";
 * const text = scenarioTypesText();
 * console.assert(text.includes("export interface Scenario {") && text.includes("  arms: ("));
 * ```
 */
export function scenarioTypesText(): string {
  const schema = z.toJSONSchema(ScenarioSchema, { io: "output", unrepresentable: "any" }) as Json;
  const body = tsType(schema, 0);
  return `/**
 * The scenario type, written out from the scenario schema (\`src/scenario/schema.ts\`) by \`deno task schema\`;
 * do not edit: a test compares this file with the generated text and checks that it is the schema's output type.
 *
 * @module
 */

/** A validated scenario with every default filled in: what the loader returns and a run reads. */
export interface Scenario ${body}
`;
}

if (import.meta.main) {
  const out = Deno.args[0] ?? "src/scenario/types.ts";
  await Deno.writeTextFile(out, scenarioTypesText());
  console.log(`wrote ${out}`);
}
