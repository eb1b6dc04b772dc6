/**
 * `deno task compare` end to end on the CI scenario (spawned, so in the e2e suite): the JSON answer against the
 * report's numbers and the pinned digest, baseline cells reused, a changed module refused, and a sweep's arms with
 * their options as part of their identity.
 */
import assert from "node:assert/strict";
import { spawnCompare } from "./bench_cli.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const compare = spawnCompare;

Deno.test("compare: end to end on the repro scenario — JSON answer, report, baseline cells reused, changed module refused", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "albench-compare-" });
  const out = `${tmp}/out`;
  await Deno.copyFile(`${ROOT}/scenarios/examples/most_confident.ts`, `${tmp}/poor.ts`);
  // The plug-in imports types from ../../mod.ts: give the copy the same relative place.
  await Deno.mkdir(`${tmp}/a/b`, { recursive: true });
  await Deno.rename(`${tmp}/poor.ts`, `${tmp}/a/b/poor.ts`);
  await Deno.writeTextFile(`${tmp}/mod.ts`, `export * from "${ROOT}/mod.ts";\n`);
  const first = await compare([`most_confident=${tmp}/a/b/poor.ts`, "--out", out, "--json"]);
  assert.equal(first.code, 0, first.stderr);
  const json = JSON.parse(first.stdout);
  assert.equal(json.baseline, "random");
  assert.equal(json.scenarios[0].scenario, "repro");
  const arm = json.scenarios[0].arms[0];
  assert.equal(arm.arm, "most_confident");
  // The digest that examples/ci pins for this very comparison (wasm: the same on every machine).
  assert.equal(json.digest, (await Deno.readTextFile(`${ROOT}/examples/ci/compare.digest`)).trim());
  assert.equal(arm.seeds, 2);
  for (const m of ["macro", "micro"]) {
    for (const at of ["average", "aubc"]) {
      const s = arm[m][at];
      assert.equal(typeof s.diff, "number");
      assert.ok(s.ci[0] <= s.diff && s.diff <= s.ci[1], `${m} ${at} interval holds the estimate`);
      assert.ok(s.p >= 0 && s.p <= 1);
    }
  }
  // The verdict's first sentence (macro F1) follows its interval: higher or lower only when it excludes zero.
  const macro = arm.macro.average;
  const word = macro.ci[0] > 0 ? "higher" : macro.ci[1] < 0 ? "lower" : null;
  assert.match(
    arm.verdict,
    word
      ? new RegExp(`^most_confident is ${word} than random in macro F1 averaged over rounds`)
      : /^No evidence of a difference between most_confident and random in macro F1 averaged over rounds/,
  );
  // The numbers are the report's: stats.csv's average row, arm minus baseline.
  const stats = (await Deno.readTextFile(`${out}/stats.csv`)).split("\n");
  const row = stats.find((l) => l.startsWith("repro,most_confident,random,average,macro_f1,"))!.split(",");
  assert.equal(Number(row[6]), arm.macro.average.diff);
  for (const f of ["index.html", "manifest.json", "compare.json", "fig2_scenarios.svg"]) {
    await Deno.stat(`${out}/${f}`);
  }
  // A second function in the same folder reuses the baseline's cells (same bytes, same times).
  const before = await Deno.stat(`${out}/cells/repro/random/seed-0.json`);
  const beforeText = await Deno.readTextFile(`${out}/cells/repro/random/seed-0.json`);
  const second = await compare(["uncertainty", "--out", out]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /repro \(against random; differences in F1 points/);
  assert.match(second.stdout, / {2}uncertainty \(2 seeds\)/);
  assert.match(second.stdout, /verdict: /);
  const after = await Deno.stat(`${out}/cells/repro/random/seed-0.json`);
  assert.equal(after.mtime?.getTime(), before.mtime?.getTime());
  assert.equal(await Deno.readTextFile(`${out}/cells/repro/random/seed-0.json`), beforeText);
  // The module changes: its old results are not reused under the same name, and nothing is written.
  const recorded = await Deno.readTextFile(`${out}/compare.json`);
  await Deno.writeTextFile(
    `${tmp}/a/b/poor.ts`,
    (await Deno.readTextFile(`${tmp}/a/b/poor.ts`)) + "\n// changed\n",
  );
  const third = await compare([`most_confident=${tmp}/a/b/poor.ts`, "--out", out]);
  assert.equal(third.code, 2, third.stderr);
  assert.match(
    third.stderr,
    /holds results of arm most_confident in repro from another definition .* name this one apart with NAME=MODULE/,
  );
  assert.equal(await Deno.readTextFile(`${out}/compare.json`), recorded);
  // Named apart, it runs.
  const fourth = await compare([`poor2=${tmp}/a/b/poor.ts`, "--out", out, "--json"]);
  assert.equal(fourth.code, 0, fourth.stderr);
  assert.equal(JSON.parse(fourth.stdout).scenarios[0].arms[0].arm, "poor2");
  // Bad input: exit 2, nothing written.
  const bad = await compare(["nope", "--out", `${tmp}/fresh`]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /nope is neither a built-in query function/);
  await assert.rejects(() => Deno.stat(`${tmp}/fresh`), Deno.errors.NotFound);
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("compare: a sweep runs each option value as its own arm, and the options are part of an arm's identity", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "albench-sweep-" });
  const out = `${tmp}/out`;
  const fast = ["--set", "al.iterations=1", "--seeds", "1", "--out", out];
  const first = await compare([
    "mge-clustering",
    "--against",
    "random",
    "--sweep",
    "mFactor=2,3",
    ...fast,
    "--json",
  ]);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(
    JSON.parse(first.stdout).scenarios[0].arms.map((a: { arm: string }) => a.arm),
    ["mge-clustering-mFactor2", "mge-clustering-mFactor3"],
  );
  const recorded = JSON.parse(await Deno.readTextFile(`${out}/compare.json`));
  assert.deepEqual(Object.keys(recorded.arms).sort(), [
    "repro/mge-clustering-mFactor2",
    "repro/mge-clustering-mFactor3",
  ]);
  assert.match(recorded.arms["repro/mge-clustering-mFactor2"], /"mFactor":2/);
  // The same name with other options is another definition: refused, nothing written.
  const before = await Deno.readTextFile(`${out}/compare.json`);
  const other = await compare([
    "mge-clustering-mFactor2=mge-clustering",
    "--options",
    '{"mFactor": 4}',
    ...fast,
  ]);
  assert.equal(other.code, 2, other.stderr);
  assert.match(other.stderr, /holds results of arm mge-clustering-mFactor2 in repro from another definition/);
  assert.equal(await Deno.readTextFile(`${out}/compare.json`), before);
  // An option the function does not take is refused by its schema, naming the arm.
  const bad = await compare(["uncertainty", "--options", '{"mFactor": 4}', "--out", `${tmp}/fresh`]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /arms\[1\] "uncertainty" \(uncertainty\): unknown option "mFactor"/);
  await Deno.remove(tmp, { recursive: true });
});
