/**
 * The documentation cannot go stale where it is generated, and its links lead somewhere: the scenario field
 * reference equals what `deno task schema` generates, every relative link in README.md and docs/ names an
 * existing file, and the README stays a front door (about 10 KB).
 */
import assert from "node:assert/strict";
import type { z } from "zod";
import { fieldReferenceMarkdown } from "../src/scenario/field_docs.ts";
import { scenarioTypesText } from "../src/scenario/types_gen.ts";
import type { ScenarioSchema } from "../src/scenario/schema.ts";
import type { Scenario } from "../src/scenario/types.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** `text` formatted by `deno fmt` as a file with extension `ext`, as the committed generated files are. */
async function formatted(text: string, ext: "md" | "ts"): Promise<string> {
  const p = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext", ext, "-"],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const r = await p.output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  return new TextDecoder().decode(r.stdout);
}

Deno.test("docs: docs/scenario-fields.md is the generated field reference (run deno task schema after a schema change)", async () => {
  const committed = await Deno.readTextFile(`${ROOT}docs/scenario-fields.md`);
  assert.equal(committed, await formatted(fieldReferenceMarkdown(), "md"));
  // Every top-level field and every built-in query function is documented.
  for (const f of ["`name`", "`dataset`", "`split`", "`al.batch`", "`arms[].query`", "`variants[].name`"]) {
    assert.ok(committed.includes(`- ${f} (`), f);
  }
  for (const q of ["random", "mge-clustering", "coreset"]) assert.ok(committed.includes(`### \`${q}\``), q);
});

Deno.test("docs: every relative link in README.md and docs/ names an existing file; the README is about 10 KB", async () => {
  const files = ["README.md", "reports/reference/README.md"];
  for await (const e of Deno.readDir(`${ROOT}docs`)) if (e.name.endsWith(".md")) files.push(`docs/${e.name}`);
  const broken: string[] = [];
  for (const f of files) {
    const text = await Deno.readTextFile(`${ROOT}${f}`);
    const dir = f.includes("/") ? f.slice(0, f.lastIndexOf("/") + 1) : "";
    for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue;
      try {
        await Deno.stat(`${ROOT}${dir}${target}`);
      } catch {
        broken.push(`${f}: ${target}`);
      }
    }
  }
  assert.deepEqual(broken, []);
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  assert.ok(new TextEncoder().encode(readme).length <= 11_000, `README.md is ${readme.length} characters`);
});

// The written-out Scenario type is the schema's output type, in both directions (checked by `deno check`).
type SchemaOutput = z.output<typeof ScenarioSchema>;
const _toWritten = (x: SchemaOutput): Scenario => x;
const _fromWritten = (x: Scenario): SchemaOutput => x;

Deno.test("docs: src/scenario/types.ts is the generated Scenario type (run deno task schema after a schema change)", async () => {
  assert.equal(
    await Deno.readTextFile(`${ROOT}src/scenario/types.ts`),
    await formatted(scenarioTypesText(), "ts"),
  );
  assert.equal(typeof _toWritten, "function");
  assert.equal(typeof _fromWritten, "function");
});

Deno.test("docs: deno doc --lint mod.ts finds nothing (every public symbol documented, no private types)", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", "mod.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const err = new TextDecoder().decode(r.stderr);
  assert.equal(r.code, 0, err.split("\n").filter((l) => l.startsWith("error")).join("\n"));
  assert.ok(!/^error\[/m.test(err), err);
});
