import assert from "node:assert/strict";
import { compareScenarios, expandTargets, parseTargets } from "../src/cli/compare.ts";
import { loadScenarioFile } from "../src/scenario/load.ts";
import { UsageError } from "../src/cli/errors.ts";
import { spawnCompare } from "./e2e/bench_cli.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("compare: targets are built-in names, module paths (named by their function's name, else stem; hashed) or NAME=MODULE", async () => {
  const dir = await Deno.makeTempDir({ prefix: "albench-targets-" });
  await Deno.writeTextFile(`${dir}/mine.ts`, "export default {}\n");
  const [a, b, c] = await parseTargets(["uncertainty", "mine.ts", "other=mine.ts"], dir);
  assert.deepEqual(a, { name: "uncertainty", query: "uncertainty" });
  assert.equal(b!.name, "mine");
  assert.deepEqual(b!.query, { module: `${dir}/mine.ts` });
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode("export default {}\n")),
  );
  assert.equal(b!.moduleSha256, [...digest].map((x) => x.toString(16).padStart(2, "0")).join(""));
  assert.equal(c!.name, "other");
  await assert.rejects(
    () => parseTargets(["nope.ts"], dir),
    /nope\.ts is neither a built-in query function .* nor a readable module/,
  );
  await assert.rejects(
    () => parseTargets(["mine.ts", "mine.ts"], dir),
    /two functions would run as arm mine/,
  );
  await assert.rejects(() => parseTargets(["bad name=mine.ts"], dir), /arm name "bad name" is not usable/);
  await assert.rejects(() => parseTargets([], dir), UsageError);
  // A plug-in that loads is named by its function's own name (issue #29); one that is not folder-safe, by stem.
  const fn = (name: string) =>
    `export default { name: ${
      JSON.stringify(name)
    }, description: "", needs: [], select: () => ({ selected: [] }) };\n`;
  await Deno.writeTextFile(`${dir}/named.ts`, fn("margin-sampling"));
  await Deno.writeTextFile(`${dir}/spaced.ts`, fn("margin sampling"));
  const [n, sp] = await parseTargets(["named.ts", "spaced.ts"], dir);
  assert.deepEqual([n!.name, sp!.name], ["margin-sampling", "spaced"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("compare: each scenario keeps its identity and baseline arm, its other arms replaced by the targets", async () => {
  const scenarios = await loadScenarioFile(`${ROOT}/scenarios/default.json`);
  const targets = await parseTargets(["uncertainty"]);
  const derived = compareScenarios(scenarios, targets);
  assert.equal(derived.length, scenarios.length);
  for (const [i, s] of derived.entries()) {
    assert.equal(s.hash, scenarios[i]!.hash, "the baseline's cells stay valid");
    assert.deepEqual(s.scenario.arms.map((a) => a.name), ["random", "uncertainty"]);
    assert.deepEqual(s.scenario.arms[0], scenarios[i]!.scenario.arms.find((a) => a.name === "random"));
  }
  // More seeds than the scenario has: a new identity with that many seeds.
  const more = compareScenarios(scenarios, targets, undefined, 8);
  assert.notEqual(more[0]!.hash, scenarios[0]!.hash);
  assert.deepEqual(more[0]!.seeds, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(compareScenarios(scenarios, targets, undefined, 3)[0]!.hash, scenarios[0]!.hash);
  assert.throws(
    () => compareScenarios(scenarios, targets, "nope"),
    /has no arm "nope" to compare against; its arms are mge-clustering, random/,
  );
  assert.throws(
    () => compareScenarios(scenarios, [{ name: "random", query: "uncertainty" }]),
    /random is the baseline arm/,
  );
  assert.throws(
    () => compareScenarios(scenarios, [{ name: "mge-clustering", query: "uncertainty" }]),
    /already has an arm named mge-clustering with another definition/,
  );
});

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

Deno.test("compare: the CI examples name tasks and files that exist", async () => {
  const tasks = Object.keys(JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)).tasks);
  for (const f of ["github-actions.yml", "gitlab-ci.yml", "github-actions-python.yml"]) {
    const text = await Deno.readTextFile(`${ROOT}/examples/ci/${f}`);
    const used = [...text.matchAll(/deno task ([a-z-]+)/g)].map((m) => m[1]!);
    assert.deepEqual([...new Set(used)].sort(), ["compare", "repro", "test-query"], f);
    for (const t of used) assert.ok(tasks.includes(t), `${f}: deno task ${t}`);
    assert.match(text, /scenarios\/ci\/repro\.json/);
    await Deno.stat(`${ROOT}/scenarios/ci/repro.json`);
    assert.match(text, /npm install -g deno@2\.9\.6/);
  }
});

Deno.test("compare: --json states its units (differences are fractions of F1; the console prints points) (issue #29)", async () => {
  const { compareRecords } = await import("../src/report/compare.ts");
  const r = compareRecords([], "random", ["mine"], ["s"]);
  assert.match(
    r.units.diff,
    /^F1 as a fraction \(0 to 1\); the console prints the same difference × 100, in points$/,
  );
  assert.deepEqual(Object.keys(r), ["units", "baseline", "scenarios"]);
});

Deno.test("compare: --options gives the compared functions options, --sweep one arm per value, named by it", () => {
  const targets = [{ name: "m", query: "mge-clustering" }, { name: "u", query: "uncertainty" }] as const;
  // Two sweeps: every combination, in order, each arm named by its values; --options under all of them.
  const t = expandTargets(targets, '{"x": "y"}', ["mFactor=2,5", "k=a,0.5"]);
  assert.deepEqual(t.map((x) => x.name), [
    "m-mFactor2-ka",
    "m-mFactor2-k0.5",
    "m-mFactor5-ka",
    "m-mFactor5-k0.5",
    "u-mFactor2-ka",
    "u-mFactor2-k0.5",
    "u-mFactor5-ka",
    "u-mFactor5-k0.5",
  ]);
  assert.deepEqual(t[1]!.options, { x: "y", mFactor: 2, k: 0.5 });
  assert.deepEqual(t[0]!.options, { x: "y", mFactor: 2, k: "a" });
  assert.deepEqual(expandTargets(targets, undefined, []).map((x) => [x.name, x.options]), [["m", {}], [
    "u",
    {},
  ]]);
  const refused = (options: string | undefined, sweeps: string[], re: RegExp) =>
    assert.throws(
      () => expandTargets(targets, options, sweeps),
      (e: unknown) => e instanceof UsageError && re.test(e.message),
    );
  refused("{", [], /^--options is not valid JSON/);
  refused("[1]", [], /^--options must be a JSON object/);
  refused(undefined, ["k"], /^--sweep "k" needs the form OPTION=V1,V2/);
  refused(undefined, ["k=1,1"], /^--sweep k=1,1 repeats a value/);
  refused(undefined, ["k=a b"], /the value "a b" cannot name an arm/);
  refused(undefined, ["k=1", "k=2"], /^--sweep k is given twice/);
  refused('{"k": 1}', ["k=2"], /^option k is given by --options and by --sweep/);
  refused(undefined, ["a=1,2,3,4,5,6,7,8", "b=1,2,3,4,5"], /the sweep makes 80 arms, more than 64/);
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
