import assert from "node:assert/strict";
import { compareScenarios, expandTargets, parseTargets } from "../src/cli/compare.ts";
import { loadScenarioFile } from "../src/scenario/load.ts";
import { UsageError } from "../src/cli/errors.ts";

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
