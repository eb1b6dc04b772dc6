import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { planSeed } from "../src/data/plan.ts";
import { syntheticLabels } from "../src/data/synthetic.ts";
import { HASH_RULE, idSetHash, splitRecord } from "../src/data/split_record.ts";
import { recordProblem } from "../src/records/records.ts";

const sha = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

Deno.test("split record: hashes follow the stated rule, computed here by hand", () => {
  // Code-point order puts "Z" (U+005A) before "a" and "é" (U+00E9) after "z"; an astral character (U+1F600)
  // sorts after U+FFFD although its first UTF-16 unit (0xD83D) sorts before it.
  const ids = ["b", "a", "é", "Z", "z", "\u{1F600}", "\uFFFD"];
  assert.equal(idSetHash(ids), sha("Z\na\nb\nz\né\n\uFFFD\n\u{1F600}"));
  assert.equal(idSetHash([]), sha(""));
  assert.equal(HASH_RULE, "sha256 of the ids sorted by code point, joined with \\n, UTF-8, no final newline");
});

Deno.test("split record: sets, sizes and ids match the seed's plan; removal is named", () => {
  const table = syntheticLabels({ size: 420 });
  const scenario = {
    split: { val: 60, test: 90, pool: "rest" as const },
    imbalance: { candidates: [...table.classNames], classes: 2, removePerClass: 5, forbiddenPairs: [] },
    al: { initial: 12 },
  };
  const plan = planSeed(table, scenario, 3);
  const r = splitRecord(plan, table);
  const ids = (rows: number[]) => rows.map((i) => table.ids[i]!);
  assert.deepEqual([r.test.n, r.val.n, r.initial.n], [90, 60, 12]);
  assert.equal(r.pool.n + r.removed.n, 420 - 90 - 60);
  assert.ok(r.removed.n > 0 && r.removedClasses.length === 2);
  assert.deepEqual(r.removedClasses, plan.removedClasses);
  assert.deepEqual(r.initial.ids, ids(plan.initial).sort());
  assert.deepEqual(r.removed.ids, ids(plan.removed).sort());
  assert.equal(r.test.sha256, sha(ids(plan.test).sort().join("\n")));
  assert.equal(r.pool.sha256, sha(ids(plan.pool).sort().join("\n")));
  assert.equal(r.val.sha256, sha(ids(plan.val).sort().join("\n")));
  assert.equal(r.pool.ids, undefined);
  assert.deepEqual(r.val.ids, ids(plan.val).sort());
  // The pool is the archive less test, validation and removed samples: its hash checks the listed sets.
  const listed = new Set([...r.test.ids!, ...r.val.ids!, ...r.removed.ids!]);
  assert.equal(r.pool.sha256, sha(table.ids.filter((id) => !listed.has(id)).sort().join("\n")));
  // Another seed draws another split.
  assert.notEqual(splitRecord(planSeed(table, scenario, 4), table).test.sha256, r.test.sha256);
  // Without removal, nothing is named.
  const none = splitRecord(planSeed(table, { ...scenario, imbalance: undefined }, 3), table);
  assert.deepEqual([none.removed.n, none.removedClasses], [0, []]);
});

Deno.test("split record: a cell record with a damaged split is refused, naming the field", () => {
  const table = syntheticLabels({ size: 210 });
  const split = splitRecord(
    planSeed(table, { split: { val: 50, test: 50, pool: "rest" }, al: { initial: 10 } }, 0),
    table,
  );
  const cell = {
    format: "albench-cell-v1",
    key: "s/a/seed-0",
    scenario: "s",
    scenarioHash: "h",
    arm: "a",
    query: "random",
    seed: 0,
    classNames: ["x"],
    pretrainKey: null,
    environment: {},
    split,
    iterations: [],
    complete: false,
  };
  assert.equal(recordProblem("cell", cell), null);
  assert.match(
    recordProblem("cell", { ...cell, split: { ...split, test: { ...split.test, sha256: "xyz" } } })!,
    /^field split\.test\.sha256: /,
  );
  assert.match(
    recordProblem("cell", { ...cell, split: { ...split, hashRule: "md5" } })!,
    /^field split\.hashRule: /,
  );
  assert.equal(
    recordProblem("cell", { ...cell, split: { ...split, initial: { ...split.initial, n: 11 } } }),
    "field split.initial.n: n is not the number of ids listed",
  );
});
