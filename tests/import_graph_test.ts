/**
 * The rooms of `src/` (one folder per concern) and the imports between them (issue #26): no two rooms may import
 * each other. The pairs that still do are listed here with what they wait for, and the test fails both on a new
 * pair and on a listed pair that is gone (then take it off the list), so the list only shrinks.
 *
 *   deno test -A tests/import_graph_test.ts
 */
import assert from "node:assert/strict";

const SRC = new URL("../src/", import.meta.url).pathname;

/** Room of a path under src/ ("(top)" for the leaf modules directly in src/). */
function room(path: string): string {
  const rel = path.slice(SRC.length);
  return rel.includes("/") ? rel.slice(0, rel.indexOf("/")) : "(top)";
}

/** Every relative import and re-export of `text`, as written. */
function specifiers(text: string): string[] {
  return [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)"/gm)].map((m) => m[1]!);
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const p = `${dir}${dir.endsWith("/") ? "" : "/"}${e.name}`;
    if (e.isDirectory) out.push(...walk(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Room → rooms it imports, from the source files. */
function roomGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of walk(SRC)) {
    const from = room(file);
    for (const spec of specifiers(Deno.readTextFileSync(file))) {
      const target = new URL(spec, `file://${file}`).pathname;
      if (!target.startsWith(SRC)) continue;
      const to = room(target);
      if (to !== from) {
        if (!graph.has(from)) graph.set(from, new Set());
        graph.get(from)!.add(to);
      }
    }
  }
  return graph;
}

/** Rooms that still import each other, and what removes the pair (issue #26's items). */
const KNOWN_MUTUAL: Record<string, string> = {
  "backend<->model": "item 4: backend/conformance.ts imports model/batch_norm.ts's custom gradient",
  "data<->scenario": "item 1: data/ reads scenario types, scenario/load.ts plans with data/plan.ts",
};

Deno.test("import graph: no two rooms of src/ import each other beyond the listed pairs, and every listed pair still exists", () => {
  const graph = roomGraph();
  const mutual: string[] = [];
  for (const [a, tos] of graph) {
    for (const b of tos) if (a < b && graph.get(b)?.has(a)) mutual.push(`${a}<->${b}`);
  }
  mutual.sort();
  assert.deepEqual(
    mutual,
    Object.keys(KNOWN_MUTUAL).sort(),
    "rooms that import each other changed: a new pair is a defect (move the shared code to the lower room); a " +
      "pair that is gone comes off KNOWN_MUTUAL",
  );
});

Deno.test("import graph: the room reader sees imports and re-exports, relative only", () => {
  assert.deepEqual(
    specifiers(
      'import { a } from "./a.ts";\nimport type { B } from "../b/b.ts";\nexport { c } from "./c.ts";\n' +
        'import x from "npm:x";\nimport {\n  d,\n  e,\n} from "../d.ts";\n',
    ),
    ["./a.ts", "../b/b.ts", "./c.ts", "../d.ts"],
  );
  assert.equal(room(`${SRC}runner/run.ts`), "runner");
  assert.equal(room(`${SRC}rng.ts`), "(top)");
});
