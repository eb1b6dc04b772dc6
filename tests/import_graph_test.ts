/**
 * The rooms of `src/` (one folder per concern) and the imports between them (issue #26): each room sits on a floor
 * and imports only rooms below it, so no two rooms import each other and the data flow runs one way.
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

/**
 * The floors of the house, ground floor first: a room may import only rooms on lower floors (never one on its own
 * floor, never one above). So no two rooms import each other, and no cycle of rooms exists. A new room gets a
 * floor here; the data flow runs upward: data and engines, formats, models, training, the loop and its query
 * functions, scenarios, the runner, the report, then what runs experiments and the commands.
 */
const FLOORS: readonly (readonly string[])[] = [
  ["(top)"], // leaf modules: rng.ts, canonical_json.ts, atomic_write.ts
  ["data", "backend"],
  ["records"],
  ["model"],
  ["train"],
  ["al"],
  ["plugin", "ssl"],
  ["scenario"],
  ["runner"],
  ["report"],
  ["experiment", "perf"],
  ["cli"],
];

Deno.test("import graph: every room of src/ imports only rooms on lower floors (no room pair imports each other)", () => {
  const floor = new Map(FLOORS.flatMap((rooms, i) => rooms.map((r) => [r, i] as const)));
  const graph = roomGraph();
  const rooms = new Set([...graph.keys(), ...[...graph.values()].flatMap((s) => [...s])]);
  assert.deepEqual(
    [...rooms].filter((r) => !floor.has(r)).sort(),
    [],
    "a room without a floor: add it to FLOORS",
  );
  const upward: string[] = [];
  for (const [from, tos] of graph) {
    for (const to of tos) if (floor.get(to)! >= floor.get(from)!) upward.push(`${from} -> ${to}`);
  }
  assert.deepEqual(
    upward.sort(),
    [],
    "imports that run to the same floor or upward: move the shared code to the lower room",
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
