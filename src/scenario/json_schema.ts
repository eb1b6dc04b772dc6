/**
 * The JSON Schema of scenario files, generated from the zod schema, so editors validate and complete
 * `scenarios/*.json` (they reference it with `"$schema"`). `deno task schema` rewrites
 * `scenarios/scenario.schema.json`; a test keeps the committed file equal to the generated one.
 *
 * @module
 */
import { z } from "zod";
import { ScenarioFileSchema } from "./schema.ts";
import { BUILTIN_QUERY_FUNCTIONS } from "../al/query/registry.ts";
import { optionsJsonSchema } from "../al/query.ts";

/**
 * The arm schema's per-function options: for each built-in, `if query is NAME then options follow NAME's
 * optionSchema` (types, bounds, defaults, descriptions; unknown keys rejected). Plug-ins' options stay free-form
 * here; they are checked against the plug-in's own schema when a run or plan loads it.
 */
function builtinOptionRules(): Record<string, unknown>[] {
  return Object.entries(BUILTIN_QUERY_FUNCTIONS).map(([name, fn]) => ({
    if: { properties: { query: { const: name } }, required: ["query"] },
    then: {
      properties: { options: { ...optionsJsonSchema(fn.optionSchema), description: `Options of ${name}.` } },
    },
  }));
}

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
  const arms = (schema.properties as Record<string, { items: Record<string, unknown> }>).arms!;
  arms.items = { ...arms.items, allOf: builtinOptionRules() };
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
