import assert from "node:assert/strict";
import { importSpecifiers, remoteImport } from "../src/plugin/imports.ts";
import { describePlugin } from "../src/plugin/sandbox.ts";

Deno.test("plug-in imports: string-literal specifiers of every import form, comments ignored", () => {
  const src = [
    'import a from "./a.ts";',
    "import {",
    "  b,",
    "  c,",
    "} from './b.ts';",
    'import type { T } from "./types.ts";',
    'import * as ns from "npm:left-pad@1.3.0";',
    'import "./side.ts";',
    'export * from "jsr:@std/assert";',
    'export { d } from "./d.ts";',
    "const m = await import(`https://example.com/m.ts`);",
    'const n = await import ( "./lazy.ts" );',
    '// import "npm:commented";',
    '/* import x from "npm:block"; */',
    "const s = \"import y from 'npm:in-a-string'\";",
  ].join("\n");
  assert.deepEqual(importSpecifiers(src), [
    "./a.ts",
    "./b.ts",
    "./types.ts",
    "npm:left-pad@1.3.0",
    "jsr:@std/assert",
    "./d.ts",
    "./side.ts",
    "https://example.com/m.ts",
    "./lazy.ts",
  ]);
});

Deno.test("plug-in imports: regular expressions, templates and method calls neither hide nor fake an import", () => {
  // A quote or // inside a regular expression does not start a string or a comment.
  assert.deepEqual(importSpecifiers('const u = (s) => s.replace(/"/g, ""); await import("npm:left-pad");'), [
    "npm:left-pad",
  ]);
  assert.deepEqual(importSpecifiers('const isUrl = /^https?:\\/\\//; await import("npm:left-pad");'), [
    "npm:left-pad",
  ]);
  assert.deepEqual(importSpecifiers("const re = /it's/; const note = 'import(\"npm:x\")';"), []);
  assert.deepEqual(importSpecifiers('const r = [/[/"]/, 1]; import "./a.ts";'), ["./a.ts"]);
  // Division stays division.
  assert.deepEqual(importSpecifiers('const h = a / 2 / b; import "./a.ts"; const s = "/";'), ["./a.ts"]);
  // Templates: a plain one is a string; substitutions are code.
  assert.deepEqual(importSpecifiers("await import(`npm:plain`);"), ["npm:plain"]);
  assert.deepEqual(importSpecifiers('const t = `a ${await import("npm:inner")} b`;'), ["npm:inner"]);
  assert.deepEqual(importSpecifiers('const t = `import("npm:text") ${x}`;'), []);
  assert.deepEqual(importSpecifiers("await import(`npm:${name}`);"), []);
  // Method calls and identifiers that end in import are not imports.
  assert.deepEqual(
    importSpecifiers('loader.import("https://cdn/x.js"); $import("npm:x"); reimport("npm:y");'),
    [],
  );
});

Deno.test("plug-in imports: the first registry or network import in the relative graph; cycles end", () => {
  const files: Record<string, string> = {
    "/p/q.ts": 'import "./a.ts"; import "./sub/b.ts";',
    "/p/a.ts": 'import "./q.ts"; export const a = 1;',
    "/p/sub/b.ts": 'import "../c.ts";',
    "/p/c.ts": 'const x = await import("http://evil.example/x.ts");',
  };
  const read = (f: string) => files[f] ?? null;
  assert.deepEqual(remoteImport("/p/q.ts", read), { file: "/p/c.ts", specifier: "http://evil.example/x.ts" });
  files["/p/c.ts"] = "export {};";
  assert.equal(remoteImport("/p/q.ts", read), null);
  assert.equal(remoteImport("/p/missing.ts", read), null);
  // Absolute and file: imports are followed; folder names with spaces are read decoded; data: is refused.
  files["/p/my dir/q.ts"] = 'import "./h.ts"; import "/p/abs.ts"; import "file:///p/f%20g.ts";';
  files["/p/my dir/h.ts"] = "export {};";
  files["/p/abs.ts"] = "export {};";
  files["/p/f g.ts"] = 'export * from "data:text/javascript,export%20*%20from%20%22npm:x%22";';
  assert.deepEqual(remoteImport("/p/my dir/q.ts", read), {
    file: "/p/f g.ts",
    specifier: "data:text/javascript,export%20*%20from%20%22npm:x%22",
  });
  files["/p/my dir/h.ts"] = 'import "npm:via-space";';
  assert.deepEqual(remoteImport("/p/my dir/q.ts", read), {
    file: "/p/my dir/h.ts",
    specifier: "npm:via-space",
  });
});

Deno.test("plug-in imports: describePlugin refuses an npm plug-in by name without loading it; the next plug-in loads", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-imports-" });
  await Deno.writeTextFile(`${dir}/helper.ts`, 'export { default } from "npm:left-pad@1.3.0";');
  await Deno.writeTextFile(`${dir}/npm.ts`, 'import pad from "./helper.ts"; export default pad;');
  await Deno.writeTextFile(
    `${dir}/ok.ts`,
    'export default { name: "ok", description: "d", needs: [], select: (i) => ({ selected: i.unlabelled.ids.slice(0, i.budget) }) };',
  );
  const real = await Deno.realPath(dir);
  await assert.rejects(
    describePlugin(new URL(`file://${dir}/npm.ts`)),
    new Error(
      `the plug-in tried to import "npm:left-pad@1.3.0" (imported by ${real}/helper.ts) that is not installed: ` +
        "runs never download anything (tasks run with --frozen --cached-only and deno.json freezes the lockfile), " +
        "so a plug-in may import only modules in its own folder",
    ),
  );
  const ok = await describePlugin(new URL(`file://${dir}/ok.ts`));
  assert.equal(ok.description?.name, "ok");
  await Deno.remove(dir, { recursive: true });
});
