/**
 * Issue #13, point 1: every persisted format is defined once (`src/records/records.ts`), versioned, and validated
 * on read with errors naming the file and the field.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { z } from "zod";
import { FORMATS, parseRecord, RecordError, SCHEMAS } from "../src/records/records.ts";
import { parseLogLines, type ProgressEvent } from "../src/records/log_events.ts";
import { Progress } from "../src/runner/progress.ts";
import { inspectCell, readAllCells, readRunFile, writeRunFile } from "../src/runner/store.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/**
 * The shape each format tag stands for, as the SHA-256 of its schema's JSON Schema. A schema edit changes the
 * hash: bump the format's tag in `records.ts` (and say how the old one is read), then update its line here. An
 * added optional field that older readers skip (every schema is a loose object) keeps the tag: the cell format
 * gained `split` (issue #18) and `identity` (issue #25) that way, and records without them still validate; `run.json`
 * and the `versions/` files gained `overrides` (the `--set` a run applied, issue #29) so, and the probe (in the
 * cell record and beside a backbone) its `images`, `heldOut` and `valSeed` (issue #31).
 */
const PINNED: Record<keyof typeof SCHEMAS, [tag: string, sha256: string]> = {
  cell: ["albench-cell-v1", "cfe73be1f08aa6347d7d9053a9c8657d047329cd5d1ca289e52e89bf7a02aa1f"],
  run: ["albench-run-v1", "945dce4f22117b6757932515e296261c8e3b6cb9173079dcb04ba62ede2b968b"],
  version: ["albench-version-v1", "accdc7b7205db1b92a29943629fa226666a1a5245e5c064a05d46ffb7729e565"],
  arm: ["albench-arm-v1", "67c12b88ee744fe9e711cc8731ff4b540aaa00b9648d0071bdb539d9c46910bd"],
  compare: ["albench-compare-v1", "4dacc28c6c5d4912755da3768fd5d0acd4ddf99c71dc88bf4bbc19d411d3021e"],
  checkpoint: ["albench-weights-v1", "aa3c4c72c6e468e8ccd55eda468ad9ccdc816aeb735272bb7fdeaf1d345f8b52"],
  manifest: ["albench-manifest-v1", "cfd729998632dfa3497faf304a6c2bba69cc8fa8dbf25d8c7e90a2f7812ea4b9"],
  perf: ["1", "e7a4af954eb03d4ce64356eb538893f40d8bffc024f7c9e0dd9646503321d09c"],
  probe: [
    "(probe-heldout.json, no tag: recomputed when it does not validate)",
    "9097a0592e9c5d0a723e1d31228646060b2225039cecbe9790bb08cf69972d8b",
  ],
};

const schemaHash = (kind: keyof typeof SCHEMAS) =>
  createHash("sha256").update(JSON.stringify(z.toJSONSchema(SCHEMAS[kind]))).digest("hex");

Deno.test("records: each format's schema is pinned to its format tag (a changed format needs a new tag)", () => {
  for (const kind of Object.keys(SCHEMAS) as (keyof typeof SCHEMAS)[]) {
    const [tag, sha] = PINNED[kind];
    if (kind !== "probe") assert.equal(String(FORMATS[kind as keyof typeof FORMATS]), tag, kind);
    assert.equal(
      schemaHash(kind),
      sha,
      `the ${kind} format changed: bump its tag (now ${tag}) in src/records/records.ts and pin the new hash`,
    );
  }
});

Deno.test("records: every committed cell record and run.json validates", async () => {
  let n = 0;
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (e.name.endsWith(".json") && path.includes("/cells/")) {
        parseRecord("cell", path, await Deno.readTextFile(path));
        n++;
      } else if (e.name === "run.json") parseRecord("run", path, await Deno.readTextFile(path));
    }
  };
  await walk(`${ROOT}/reports/reference`);
  assert.ok(n >= 40, `${n} cell records checked`);
});

Deno.test("records: a cell record that parses but does not validate is damaged, naming the file and the field", async () => {
  const out = await Deno.makeTempDir({ prefix: "albench-records-" });
  const good = await Deno.readTextFile(
    `${ROOT}/reports/reference/cpu-v1/fig1/cells/cpu-fig1/mge-clustering/seed-0.json`,
  );
  const record = JSON.parse(good);
  await writeRunFile(out, null, [{ id: record.scenario, hash: record.scenarioHash } as never]);
  const key = `${record.scenario}/${record.arm}/seed-${record.seed}`;
  const path = `${out}/cells/${key}.json`;
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  const bad = structuredClone(record);
  bad.iterations[1].test.microF1 = "0.5";
  await Deno.writeTextFile(path, JSON.stringify({ ...bad, key }));
  const stored = await inspectCell(out, key);
  assert.equal(stored.state, "damaged");
  assert.match(
    (stored as { reason: string }).reason,
    /^field iterations\[1\]\.test\.microF1: .*expected number/,
  );
  // The report leaves it out with the same warning as an unparseable record (its cell counts as missing).
  const warnings: string[] = [];
  assert.deepEqual(await readAllCells(out, (w) => warnings.push(w)), []);
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0]!,
    new RegExp(`^${path}: damaged cell record \\(field iterations\\[1\\]\\.test\\.microF1: .*\\); left out`),
  );
  // The valid record reads back unchanged (validation never rewrites what it reads).
  await Deno.writeTextFile(path, JSON.stringify({ ...record, key }));
  const ok = await inspectCell(out, key);
  assert.equal(ok.state, "ok");
  assert.deepEqual((ok as { record: unknown }).record, { ...record, key });
  await Deno.remove(out, { recursive: true });
});

Deno.test("records: run.json and versions/ files that do not validate are errors naming the file and the field", async () => {
  const out = await Deno.makeTempDir({ prefix: "albench-records-" });
  await Deno.writeTextFile(
    `${out}/run.json`,
    JSON.stringify({ format: "albench-run-v1", scenarios: [{ id: 3 }] }),
  );
  await assert.rejects(
    () => readRunFile(out),
    new RegExp(`^Error: ${out}/run\\.json is not an albench-run-v1 file \\(field scenarios\\[0\\]\\.id: `),
  );
  await Deno.remove(`${out}/run.json`);
  await Deno.mkdir(`${out}/versions`);
  await Deno.writeTextFile(
    `${out}/versions/s.json`,
    JSON.stringify({ format: "albench-version-v1", id: "s" }),
  );
  await assert.rejects(
    () => readRunFile(out),
    new RegExp(`${out}/versions/s\\.json is damaged; .* use another --out \\(field hash: `),
  );
  assert.throws(
    () => parseRecord("compare", "x/compare.json", '{"format": "albench-compare-v1", "arms": {"s/a": 1}}'),
    (e) => e instanceof RecordError && /^x\/compare\.json: field arms\.s\/a: /.test(e.message),
  );
  await Deno.remove(out, { recursive: true });
});

Deno.test("records: every committed report manifest reads through its schema; a damaged one names its field", async () => {
  const root = new URL("../reports/", import.meta.url).pathname;
  const found: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) await walk(`${dir}/${e.name}`);
      else if (e.name === "manifest.json") found.push(`${dir}/${e.name}`);
    }
  };
  await walk(root);
  assert.ok(found.length >= 4, `committed manifests found: ${found.length}`);
  for (const path of found) {
    const m = parseRecord("manifest", path, await Deno.readTextFile(path));
    assert.equal(m.format, FORMATS.manifest);
    assert.equal(m.cells.complete + m.cells.missing.length, m.cells.expected, path);
  }
  const text = await Deno.readTextFile(found[0]!);
  const damaged = JSON.parse(text);
  damaged.digest = "not a digest";
  assert.throws(
    () => parseRecord("manifest", "m.json", JSON.stringify(damaged)),
    (e) => e instanceof RecordError && /^m\.json: field digest: /.test(e.message),
  );
});

Deno.test("records: the --log-json stream reads back through its schema, line by line; a damaged line is named", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-log-" });
  const path = `${dir}/events.jsonl`;
  const progress = new Progress({ quiet: true, jsonLog: path }, 1, 2);
  const sent: ProgressEvent[] = [
    { type: "start", cells: 1, skipped: 0, jobs: 1, cores: 2 },
    { type: "phase", cell: "s/a/seed-0", iteration: 0, iterations: 2, phase: "fine-tune" },
    {
      type: "iteration",
      cell: "s/a/seed-0",
      iteration: 0,
      iterations: 2,
      labelled: 10,
      microF1: 0.5,
      macroF1: 0.25,
      seconds: 1.5,
    },
    { type: "cell-done", cell: "s/a/seed-0" },
    { type: "done", seconds: 2 },
  ];
  for (const e of sent) progress.emit(e);
  progress.close();
  const text = await Deno.readTextFile(path);
  const lines = parseLogLines(path, text);
  assert.deepEqual(lines.map(({ t: _t, ...e }) => e), sent);
  assert.ok(lines.every((l) => l.t >= 0));
  // A newer writer's event type is skipped; a known one with a wrong field is an error naming line and field.
  assert.equal(parseLogLines(path, `${text}{"t": 3, "type": "from-the-future"}\n`).length, sent.length);
  const bad = text.replace('"labelled":10', '"labelled":"ten"');
  assert.throws(
    () => parseLogLines(path, bad),
    (e) =>
      e instanceof RecordError &&
      e.message === `${path}: line 3: field labelled: Invalid input: expected number, received string`,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("records: every committed perf.json reads through its schema; a row without its backend is named", async () => {
  const dir = new URL("../reports/reference/perf/", import.meta.url).pathname;
  const files = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".json")).map((e) =>
    `${dir}${e.name}`
  );
  assert.ok(files.length >= 2, `committed perf files: ${files.length}`);
  for (const path of files) {
    const perf = parseRecord("perf", path, await Deno.readTextFile(path));
    assert.equal(perf.format, FORMATS.perf);
    assert.ok(perf.models.length > 0, path);
  }
  const damaged = JSON.parse(await Deno.readTextFile(files[0]!));
  delete damaged.models[1].backend;
  assert.throws(
    () => parseRecord("perf", "p.json", JSON.stringify(damaged)),
    (e) => e instanceof RecordError && /^p\.json: field models\[1\]\.backend: /.test(e.message),
  );
});
