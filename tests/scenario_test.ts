import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import {
  BUILTIN_QUERIES,
  loadScenarioFile,
  resolveScenarios,
  ScenarioError,
  scenarioHash,
} from "../src/scenario/load.ts";
import { scenarioJsonSchema, scenarioJsonSchemaText } from "../src/scenario/json_schema.ts";

const root = new URL("..", import.meta.url).pathname;

/** A small valid scenario; tests break one field at a time. */
function valid(): Record<string, unknown> {
  return {
    name: "tiny",
    dataset: { kind: "synthetic", size: 210, resolution: 16 },
    split: { val: 50, test: 50, pool: "rest" },
    imbalance: {
      candidates: ["airplane", "dock", "ship"],
      classes: 2,
      removePerClass: 2,
      forbiddenPairs: [["dock", "ship"]],
    },
    model: { backbone: "small-cnn" },
    al: { initial: 10, batch: 5, iterations: 2 },
    arms: [{ name: "mge", query: "mge-clustering" }, { name: "random", query: "random" }],
    seeds: 2,
  };
}

function problemsOf(data: unknown): string[] {
  try {
    resolveScenarios(data, "t.json");
  } catch (e) {
    if (e instanceof ScenarioError) return [...e.problems];
    throw e;
  }
  return [];
}

// Scenario edits poke at arbitrary nested fields, which is what `any` is for here.
// deno-lint-ignore no-explicit-any
type Loose = Record<string, any>;

function broken(edit: (s: Loose) => void): string[] {
  const s = valid() as Loose;
  edit(s);
  return problemsOf(s);
}

Deno.test("scenario: a valid file resolves with defaults, seeds, baseline and iterations", () => {
  const [s] = resolveScenarios(valid());
  assert.ok(s);
  assert.deepEqual(s.seeds, [0, 1]);
  assert.equal(s.baseline, "random");
  assert.equal(s.iterations, 2);
  assert.equal(s.scenario.finetune.lr, 0.025);
  assert.equal(s.scenario.pretrain.epochs, 1000);
  assert.equal(s.scenario.backend, "auto");
  const budget = resolveScenarios({ ...valid(), al: { initial: 10, batch: 5, budget: 32 } })[0]!;
  assert.equal(budget.iterations, 5); // 22 more labels in rounds of 5: the last round is short
});

Deno.test("scenario: the hash ignores description and key order and changes with any setting", () => {
  const a = resolveScenarios(valid())[0]!.hash;
  const reordered = Object.fromEntries(Object.entries(valid()).reverse());
  assert.equal(resolveScenarios({ ...reordered, description: "prose" })[0]!.hash, a);
  assert.notEqual(resolveScenarios({ ...valid(), seeds: 3 })[0]!.hash, a);
  assert.notEqual(resolveScenarios({ ...valid(), finetune: { lr: 0.01 } })[0]!.hash, a);
  assert.equal(a, scenarioHash(resolveScenarios(valid())[0]!.scenario));
});

Deno.test("scenario: variants expand into named scenarios with their own hashes", () => {
  const s = resolveScenarios({
    ...valid(),
    variants: [{ name: "s1", imbalance: { removePerClass: 0 } }, {
      name: "s3",
      imbalance: { removePerClass: 4 },
    }],
  });
  assert.deepEqual(s.map((x) => x.id), ["tiny/s1", "tiny/s3"]);
  assert.equal(s[1]!.scenario.imbalance?.removePerClass, 4);
  assert.deepEqual(s[1]!.scenario.imbalance?.candidates, ["airplane", "dock", "ship"]); // merged, not replaced
  assert.notEqual(s[0]!.hash, s[1]!.hash);
});

const MALFORMED: [string, (s: Loose) => void, RegExp][] = [
  ["unknown top-level key", (s) => (s.seed = 1), /\(top level\): unknown key "seed"/],
  ["unknown nested key", (s) => (s.dataset.resolutoin = 32), /dataset: unknown key "resolutoin"/],
  ["wrong type", (s) => (s.al.initial = "40"), /al\.initial: .*expected number.*got "40"/],
  ["zero batch", (s) => (s.al.batch = 0), /al\.batch: .*>=1; got 0/],
  [
    "unknown dataset kind",
    (s) => (s.dataset.kind = "imagenet"),
    /dataset\.kind: .*'synthetic' \| 'ucmerced' \| 'folder'; got "imagenet"/,
  ],
  [
    "split size neither count nor fraction",
    (s) => (s.split.val = 1.5),
    /split\.val: must be a count .* or a fraction in \(0, 1\); got 1\.5/,
  ],
  [
    "empty class name",
    (s) => (s.imbalance.candidates = [""]),
    /imbalance\.candidates\[0\]: .*>=1 characters/,
  ],
  ["no arms", (s) => (s.arms = []), /arms: .*>=1 items; got \[\]/],
  [
    "unknown query function",
    (s) => (s.arms[1].query = "entropy"),
    /arms\[1\]\.query: unknown query function "entropy"; built-in ones are random, mge-clustering/,
  ],
  ["duplicate arm", (s) => (s.arms[1].name = "mge"), /arms\[1\]\.name: "mge" is used by an earlier arm/],
  [
    "baseline not an arm",
    (s) => (s.baseline = "bald"),
    /baseline: "bald" is not an arm name; arms are mge, random/,
  ],
  [
    "both iterations and budget",
    (s) => (s.al.budget = 100),
    /al: give exactly one of iterations or budget; got iterations 2 and budget 100/,
  ],
  [
    "neither iterations nor budget",
    (s) => delete s.al.iterations,
    /al: give exactly one of iterations or budget; got neither/,
  ],
  [
    "forbidden pair of one class",
    (s) => (s.imbalance.forbiddenPairs = [["dock", "dock"]]),
    /imbalance\.forbiddenPairs\[0\]: a pair needs two different classes/,
  ],
  [
    "decay after the last epoch",
    (s) => (s.finetune = { epochs: 10, decayEpochs: [10] }),
    /finetune\.decayEpochs\[0\]: 10 is not below finetune\.epochs \(10\)/,
  ],
  [
    "minSteps that changes nothing",
    (s) => (s.finetune = { epochs: 10, minSteps: 10 }),
    /finetune\.minSteps: 10 has no effect, since every round already runs at least finetune\.epochs \(10\) steps/,
  ],
  ["repeated seed", (s) => (s.seeds = [1, 1]), /seeds: the list repeats a seed; got \[1,1\]/],
  ["missing model", (s) => delete s.model, /model: required/],
  [
    "split larger than the dataset",
    (s) => (s.split = { val: 100, test: 100, pool: 100 }),
    /split: val \+ test \+ pool = 300 exceeds dataset\.size 210/,
  ],
  [
    "more classes than candidates",
    (s) => (s.imbalance.classes = 4),
    /imbalance\.classes: cannot draw 4 from 3 candidates/,
  ],
  [
    "unknown backbone",
    (s) => (s.model.backbone = "resnet50"),
    /model\.backbone: .*"densenet121"\|"densenet-cpu"\|"small-cnn"; got "resnet50"/,
  ],
  [
    "bad variant key",
    (s) => (s.variants = [{ name: "v", imbalanse: {} }]),
    /variants\[0\]: unknown key "imbalanse"/,
  ],
  [
    "variant breaks a field",
    (s) => (s.variants = [{ name: "v", al: { batch: -1 } }]),
    /variant "v": al\.batch: .*>=1; got -1/,
  ],
  // Issue #12, point 5: bounds and pool arithmetic at load time, with the field named.
  [
    "b of 1e12",
    (s) => (s.al.batch = 1e12),
    /al\.batch: must be at most 1000000 \(samples\); got 1000000000000/,
  ],
  ["a billion seeds", (s) => (s.seeds = 1e9), /seeds: .*must be at most 1000 \(seeds\); got 1000000000/],
  [
    "a billion iterations",
    (s) => (s.al.iterations = 1e9),
    /al\.iterations: must be at most 10000 \(AL rounds\); got 1000000000/,
  ],
  [
    "more rounds than the pool holds",
    (s) => (s.al.iterations = 50),
    /al: initial \+ iterations × batch = 10 \+ 50 × 5 = 260 labelled samples exceed the pool of 110 samples; lower al\.iterations or al\.batch/,
  ],
  [
    "a budget beyond the pool",
    (s) => {
      delete s.al.iterations;
      s.al.budget = 111;
    },
    /al\.budget: 111 labelled samples exceed the pool of 110 samples/,
  ],
  // Point 10: counts and fractions, a bounded description, bounded names.
  [
    "split.val of 1.0",
    (s) => (s.split.val = 1.0),
    /split\.val: 1 is ambiguous \(one sample, or the whole archive\?\): give a count of samples \(an integer >= 2\) or a fraction in \(0, 1\); got 1$/,
  ],
  [
    "a description of 2001 characters",
    (s) => (s.description = "x".repeat(2001)),
    /description: must be at most 2000 characters \(it is copied into the report/,
  ],
  [
    "a 300-character name",
    (s) => (s.name = "n".repeat(300)),
    /^name: must be at most 100 characters; got "nnn/,
  ],
  [
    "a 300-character arm name",
    (s) => (s.arms[0].name = "a".repeat(300)),
    /arms\[0\]\.name: must be at most 100 characters/,
  ],
  ["a zero query time limit", (s) => (s.al.queryTimeoutSeconds = 0), /al\.queryTimeoutSeconds: .*>0; got 0/],
];

Deno.test("scenario: the largest valid values still load (bounds are inclusive; 2 and 0.99 are split sizes)", () => {
  const s = valid() as Loose;
  s.description = "x".repeat(2000);
  s.name = "n".repeat(100);
  s.split = { val: 2, test: 0.5, pool: "rest" };
  s.seeds = 1000;
  s.al = { initial: 10, batch: 5, iterations: 10, queryTimeoutSeconds: 0.5 };
  assert.deepEqual(problemsOf(s), []);
});

for (const [what, edit, expected] of MALFORMED) {
  Deno.test(`scenario: malformed (${what}) names the field`, () => {
    const problems = broken(edit);
    assert.ok(problems.some((p) => expected.test(p)), `expected ${expected} in:\n${problems.join("\n")}`);
  });
}

Deno.test("scenario: several problems are reported together", () => {
  const problems = broken((s) => {
    s.al.batch = 0;
    s.split.val = -3;
    s.extra = true;
  });
  // Field errors are reported together; cross-field checks run once the fields themselves are valid.
  assert.equal(problems.length, 3, problems.join("\n"));
});

Deno.test("scenario: file errors name the file (missing, bad JSON)", async () => {
  await assert.rejects(
    () => loadScenarioFile(`${root}/scenarios/nope.json`),
    /nope\.json is not a valid scenario:\n.*file not found/,
  );
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/bad.json`, '{"name": "x",}');
  await assert.rejects(
    () => loadScenarioFile(`${dir}/bad.json`),
    /bad\.json is not a valid scenario:\n.*not valid JSON/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("scenario: every committed scenario file is valid", async () => {
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) await walk(`${dir}/${e.name}`);
      else if (e.name.endsWith(".json") && e.name !== "scenario.schema.json") files.push(`${dir}/${e.name}`);
    }
  };
  await walk(`${root}/scenarios`);
  assert.ok(files.length >= 2, files.join());
  for (const f of files) assert.ok((await loadScenarioFile(f)).length >= 1, f);
});

Deno.test("scenario: the committed JSON Schema equals the generated one (run `deno task schema` after edits)", async () => {
  assert.equal(await Deno.readTextFile(`${root}/scenarios/scenario.schema.json`), scenarioJsonSchemaText());
});

Deno.test("scenario: an independent JSON Schema validator (ajv) accepts the scenario files and rejects unknown keys", async () => {
  const ajv = new Ajv2020({ strict: false });
  const validate = ajv.compile(scenarioJsonSchema());
  for (
    const f of [
      "scenarios/default.json",
      "scenarios/paper/paper.json",
      "scenarios/gpu/paper-short.json",
      "scenarios/cpu/fig1.json",
      "scenarios/cpu/fig2.json",
    ]
  ) {
    const data = JSON.parse(await Deno.readTextFile(`${root}/${f}`));
    assert.ok(validate(data), `${f}: ${JSON.stringify(validate.errors)}`);
  }
  assert.ok(!validate({ ...valid(), seed: 3 }));
  assert.ok(!validate({ ...valid(), dataset: { kind: "synthetic", size: "big" } }));
});

Deno.test("scenario: query options are checked against each built-in's schema at load (issue #12 point 5)", () => {
  const withArm = (arm: Record<string, unknown>) => ({
    ...valid(),
    arms: [{ name: "random", query: "random" }, arm],
  });
  // Typos and wrong types are errors naming the arm and the key and listing the allowed keys.
  assert.throws(
    () => resolveScenarios(withArm({ name: "mge", query: "mge-clustering", options: { mFactr: 5 } })),
    (e: unknown) =>
      e instanceof ScenarioError &&
      /arms\[1\]\.options: arm "mge" \(mge-clustering\): unknown option "mFactr"; mge-clustering's options are: m, mFactor, includeBias/
        .test(e.message),
  );
  assert.throws(
    () => resolveScenarios(withArm({ name: "a", query: "adaptive", options: { beta: "0.3" } })),
    /arms\[1\]\.options: arm "a" \(adaptive\): beta: must be a number >= 0 and <= 1; got "0.3"/,
  );
  assert.throws(
    () => resolveScenarios(withArm({ name: "a", query: "adaptive", options: { beta: 2 } })),
    /beta: must be a number >= 0 and <= 1; got 2/,
  );
  assert.throws(
    () => resolveScenarios(withArm({ name: "m", query: "mmc", options: { cardinality: "learned" } })),
    /cardinality: must be one of "expected", "threshold"; got "learned"/,
  );
  assert.throws(
    () => resolveScenarios(withArm({ name: "c", query: "coreset", options: { k: 1 } })),
    /unknown option "k"; coreset's options are: none/,
  );
  // Valid options load; the scenario hash does not depend on defaults being filled in.
  const [ok] = resolveScenarios(withArm({ name: "mge", query: "mge-clustering", options: { mFactor: 5 } }));
  assert.deepEqual(ok!.scenario.arms[1]!.options, { mFactor: 5 });
  assert.throws(
    () => resolveScenarios(withArm({ name: "x", query: "constructor" })),
    /unknown query function/,
  );
});

Deno.test("scenario: the JSON Schema carries every built-in's options (ajv rejects a typo and a wrong type)", () => {
  const ajv = new Ajv2020({ strict: false });
  const validate = ajv.compile(scenarioJsonSchema());
  const withArm = (arm: Record<string, unknown>) => ({ ...valid(), arms: [arm] });
  assert.ok(validate(withArm({ name: "m", query: "mge-clustering", options: { mFactor: 5 } })));
  assert.ok(!validate(withArm({ name: "m", query: "mge-clustering", options: { mFactr: 5 } })));
  assert.ok(!validate(withArm({ name: "a", query: "adaptive", options: { beta: 1.5 } })));
  assert.ok(validate(withArm({ name: "p", query: { module: "./x.ts" }, options: { anything: 1 } })));
  const text = scenarioJsonSchemaText();
  for (const name of BUILTIN_QUERIES) assert.ok(text.includes(`"const": "${name}"`), name);
});
