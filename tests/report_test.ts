import assert from "node:assert/strict";
import { type CellRecord, readAllCells } from "../src/runner/store.ts";
import { curveRows, wallTimes } from "../src/report/tables.ts";
import { digestContent, resultDigest } from "../src/report/digest.ts";
import { loadScenarioFile } from "../src/scenario/load.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const REFERENCE = `${ROOT}reports/reference/cpu/fig2`;

const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function copyTree(from: string, to: string) {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(`${from}/${e.name}`, `${to}/${e.name}`);
    else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

/** Sums straight from the cell files, without the report code: the independent side of the comparisons. */
async function summedFromFiles(dir: string) {
  let finetune = 0, inference = 0;
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await walk(`${d}/${e.name}`);
      else if (e.name.endsWith(".json")) {
        const cell = JSON.parse(await Deno.readTextFile(`${d}/${e.name}`));
        for (const it of cell.iterations) {
          finetune += it.seconds.finetune;
          inference += it.seconds.inference;
        }
      }
    }
  };
  await walk(`${dir}/cells`);
  return { finetune, inference, share: inference / (finetune + inference) };
}

Deno.test("report: the committed reference report still renders from its records, with its digest, plus the inference share", async () => {
  // Its records predate opt-in validation (every iteration has `val`); its scenario file must still hash the same.
  const run = JSON.parse(await Deno.readTextFile(`${REFERENCE}/run.json`));
  const loaded = await loadScenarioFile(`${ROOT}scenarios/cpu/fig2.json`);
  assert.deepEqual(
    loaded.map((s) => [s.id, s.hash]),
    run.scenarios.map((s: { id: string; hash: string }) => [s.id, s.hash]),
  );
  const tmp = await Deno.makeTempDir({ prefix: "albench-reference-" });
  await copyTree(`${REFERENCE}/cells`, `${tmp}/cells`);
  await Deno.copyFile(`${REFERENCE}/run.json`, `${tmp}/run.json`);
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", "--allow-write", `${ROOT}src/cli/report.ts`, tmp],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(r.code, 0, text(r.stderr));
  const committed = JSON.parse(await Deno.readTextFile(`${REFERENCE}/manifest.json`));
  const manifest = JSON.parse(await Deno.readTextFile(`${tmp}/manifest.json`));
  assert.match(text(r.stdout), new RegExp(`digest ${committed.digest.slice(0, 16)}`));
  const independent = await summedFromFiles(tmp);
  assert.ok(Math.abs(manifest.wallSeconds.inferenceShare - independent.share) < 1e-4);
  assert.ok(
    Math.abs(independent.share - 7606 / (9843 + 7606)) < 1e-3,
    "Fig. 2: inference was 44% of the model time",
  );
  assert.match(
    text(r.stdout),
    /wall time: fine-tuning 9843 s, inference 7606 s \(43\.6% of fine-tuning \+ inference\)/,
  );
  // The manifest is the committed one plus the share (the environment aside: `report` takes it from the first
  // record, `bench` from the machine at the end of the run); the tables are unchanged, old `val` fields included.
  const { inferenceShare: _share, ...rest } = manifest.wallSeconds;
  assert.deepEqual(
    { ...manifest, wallSeconds: rest, environment: null },
    { ...committed, environment: null },
  );
  for (const f of ["curves.csv", "per_class.csv", "summary.csv", "stats.csv"]) {
    assert.equal(await Deno.readTextFile(`${tmp}/${f}`), await Deno.readTextFile(`${REFERENCE}/${f}`), f);
  }
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("report: records without validation scores leave the val columns empty and the digest without val", async () => {
  const old = (await readAllCells(REFERENCE)).slice(0, 2);
  const now: CellRecord[] = old.map((c) => ({
    ...c,
    iterations: c.iterations.map(({ val: _v, ...it }) => it),
  }));
  const rows = curveRows(now);
  assert.ok(rows.length > 0 && rows.every((r) => r.val_micro_f1 === null && r.val_macro_f1 === null));
  assert.ok(curveRows(old).every((r) => typeof r.val_macro_f1 === "number"));
  // The digest of the new records is the old content with exactly the `val` fields left out.
  const stripped = digestContent(old).map((c) => ({
    ...c,
    iterations: c.iterations.map(({ val: _v, ...it }) => it),
  }));
  assert.deepEqual(digestContent(now), stripped);
  assert.notEqual(resultDigest(now), resultDigest(old));
  // Wall times ignore validation either way; the share is inference over fine-tuning plus inference.
  const w = wallTimes(now);
  let ft = 0, inf = 0;
  for (const c of old) {
    for (const it of c.iterations) (ft += it.seconds.finetune), (inf += it.seconds.inference);
  }
  assert.ok(Math.abs(w.finetune - ft) < 1e-9 && Math.abs(w.inference - inf) < 1e-9);
  assert.equal(w.inferenceShare, inf / (ft + inf));
  assert.equal(wallTimes([]).inferenceShare, null);
});
