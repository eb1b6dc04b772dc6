/**
 * The JSON Schema of scenario files, generated from the zod schema, so editors validate and complete
 * `scenarios/*.json` (they reference it with `"$schema"`). `deno task schema` rewrites
 * `scenarios/scenario.schema.json`; a test keeps the committed file equal to the generated one.
 *
 * @module
 */
import { z } from "zod";
import { ScenarioFileSchema } from "./schema.ts";

/**
 * The scenario file's JSON Schema (draft 2020-12), describing what a user writes (defaults optional).
 *
 * @example
 * ```ts
 * import { scenarioJsonSchema } from "./json_schema.ts";
 * const s = scenarioJsonSchema() as { properties: Record<string, unknown> };
 * console.assert("arms" in s.properties);
 * ```
 */
export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ScenarioFileSchema, { io: "input", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  return { ...schema, title: "albench scenario", $id: "https://albench.invalid/scenario.schema.json" };
}

/**
 * The file text: pretty JSON with a trailing newline.
 *
 * @example
 * ```ts
 * import { scenarioJsonSchemaText } from "./json_schema.ts";
 * console.assert(scenarioJsonSchemaText().endsWith("}\n"));
 * ```
 */
export function scenarioJsonSchemaText(): string {
  return JSON.stringify(scenarioJsonSchema(), null, 2) + "\n";
}

if (import.meta.main) {
  const out = Deno.args[0] ?? "scenarios/scenario.schema.json";
  await Deno.writeTextFile(out, scenarioJsonSchemaText());
  console.log(`wrote ${out}`);
}
