import assert from "node:assert/strict";
import { Rng } from "../src/rng.ts";
import { initBackend } from "../src/backend/backend.ts";
import { type CellInput, type IterationRecord, runAlLoop } from "../src/al/loop.ts";
import { loopInput } from "../src/runner/cells.ts";
import { BUILTIN_QUERY_FUNCTIONS } from "../src/al/query/registry.ts";
import { loadQueryModule } from "../src/plugin/loader.ts";
import type { QueryFunction } from "../src/al/query.ts";
import { finetune, infer, PAPER_FINETUNE } from "../src/train/finetune.ts";
import { buildClassifier, type Classifier } from "../src/model/classifier.ts";
import { loadCheckpoint, saveCheckpoint } from "../src/model/checkpoint.ts";
import { syntheticImages, syntheticLabels } from "../src/data/synthetic.ts";
import { planSeed } from "../src/data/plan.ts";
import { opaqueIds } from "../src/al/opaque_ids.ts";

await initBackend("wasm");

const N = 420, R = 16;
const table = syntheticLabels({ size: N }), images = syntheticImages({ size: N }, R);

function cell(
  seed: number,
  query: string,
  removePerClass = 0,
  overrides: Partial<CellInput> = {},
): CellInput {
  const plan = planSeed(table, {
    split: { val: 60, test: 100, pool: "rest" },
    al: { initial: 20 },
    imbalance: removePerClass
      ? {
        candidates: ["airplane", "court", "tanks", "field", "chaparral"],
        classes: 3,
        removePerClass,
        forbiddenPairs: [],
      }
      : undefined,
  }, seed);
  return {
    ...loopInput(
      {
        iterations: 2,
        finetune: {
          epochs: 2,
          batchSize: 10,
          lr: 0.05,
          momentum: 0.9,
          weightDecay: 0,
          decayEpochs: [],
          decayFactor: 0.1,
          augment: { flip: true, rot90: true },
        },
        al: { batch: 10, reinit: "warm", validation: true },
      },
      plan,
      {
        seed,
        images,
        table,
        query: BUILTIN_QUERY_FUNCTIONS[query]!,
        queryOptions: {},
        makeModel: () => buildClassifier("small-cnn", R, 17, Rng.root(seed).fork("model")),
      },
    ),
    ...overrides,
  };
}

const strip = (r: IterationRecord) => ({ ...r, seconds: undefined });

Deno.test("AL loop: records per iteration; labelled sets grow by b from the pool, never repeating", async () => {
  const input = cell(1, "mge-clustering");
  const seen: IterationRecord[] = [];
  const records = await runAlLoop(input, {
    onIteration: (r) => {
      seen.push(r);
    },
  });
  assert.equal(records.length, 3);
  assert.deepEqual(seen, records);
  assert.deepEqual(records.map((r) => r.labelled), [20, 30, 40]);
  assert.equal(records[2]!.selected.length, 0);
  const pool = new Set(input.pool.map((i) => table.ids[i]));
  const initial = new Set(input.initial.map((i) => table.ids[i]));
  const all = records.flatMap((r) => r.selected);
  assert.equal(new Set(all).size, all.length);
  assert.ok(all.every((id) => pool.has(id) && !initial.has(id)));
  for (const r of records) {
    assert.ok(r.test.microF1 >= 0 && r.test.microF1 <= 1 && r.test.perClassF1.length === 17);
    assert.equal(r.classCounts.length, 17);
  }
  assert.ok(records[0]!.diagnostics && "m" in records[0]!.diagnostics);
});

Deno.test("AL loop: resuming from a saved iteration gives the uninterrupted records", async () => {
  const input = cell(2, "badge");
  const dir = await Deno.makeTempDir({ prefix: "albench-resume-" });
  const full = await runAlLoop(input, {
    onIteration: async (r, model: Classifier) => {
      if (r.iteration === 0) await saveCheckpoint(`${dir}/it0`, [model.backbone, model.head]);
    },
  });
  const model = await input.makeModel();
  await loadCheckpoint(`${dir}/it0`, [model.backbone, model.head]);
  const resumed = await runAlLoop(input, {}, { records: [full[0]!], model });
  assert.deepEqual(resumed.map(strip), full.map(strip));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("AL loop: the example plug-in runs through the loop; a budget caps the last round", async () => {
  const margin = await loadQueryModule(
    "scenarios/examples/my_query.ts",
    new URL("..", import.meta.url).pathname,
  );
  const records = await runAlLoop(cell(3, "random", 0, { query: margin, budget: 35 }));
  assert.deepEqual(records.map((r) => r.labelled), [20, 30, 35]);
});

Deno.test("AL loop: the multi-label baselines run through the loop with their options; each round adds b new ids", async () => {
  for (
    const [query, queryOptions] of [
      ["mmc", { cardinality: "threshold" }],
      ["adaptive", { beta: 0.3 }],
      ["cvirs", {}],
    ] as const
  ) {
    const records = await runAlLoop(cell(5, query, 0, { queryOptions }));
    assert.deepEqual(records.map((r) => r.labelled), [20, 30, 40], query);
    const picked = records.flatMap((r) => r.selected);
    assert.equal(new Set(picked).size, picked.length, `${query}: no id picked twice`);
  }
});

Deno.test("AL loop: under strong imbalance mge-clustering labels more minority positives than random", async () => {
  // Scenario-3-like on a 1050-image synthetic archive: three minority classes lose 12 pool positives each. Over
  // two seeds, count the positives of the removed classes that each arm brings into the labelled set. (Measured
  // with 4 seeds and 4 rounds: mge-clustering added 12/15/8/13, random 6/6/6/6; with these two seeds and 3 rounds
  // 25 against 10 in all.) Each seed must favour mge-clustering, and the total by more than half that gap.
  const n = 1050;
  const bigTable = syntheticLabels({ size: n }), bigImages = syntheticImages({ size: n }, R);
  const candidates = [
    "airplane",
    "chaparral",
    "court",
    "dock",
    "field",
    "mobile-home",
    "sea",
    "ship",
    "tanks",
  ];
  let mge = 0, rnd = 0;
  const perSeed: string[] = [];
  for (const seed of [0, 1]) {
    const plan = planSeed(bigTable, {
      split: { val: 0.25, test: 0.25, pool: "rest" },
      al: { initial: 40 },
      imbalance: { candidates, classes: 3, removePerClass: 12, forbiddenPairs: [["dock", "ship"]] },
    }, seed);
    const minority = plan.removedClasses.map((c) => bigTable.classNames.indexOf(c));
    const added = async (query: string) => {
      const records = await runAlLoop({
        ...cell(seed, query),
        images: bigImages,
        table: bigTable,
        initial: plan.initial,
        pool: plan.pool,
        val: plan.val,
        test: plan.test,
        iterations: 3,
        batch: 20,
        finetune: { ...cell(seed, query).finetune, epochs: 3 },
      });
      const last = records[records.length - 1]!, first = records[0]!;
      return minority.reduce((s, j) => s + last.classCounts[j]! - first.classCounts[j]!, 0);
    };
    const [m, r] = [await added("mge-clustering"), await added("random")];
    perSeed.push(`seed ${seed}: ${m} vs ${r}`);
    assert.ok(m > r, `minority positives added at seed ${seed}: mge-clustering ${m}, random ${r}`);
    mge += m;
    rnd += r;
  }
  assert.ok(
    mge >= rnd + 8,
    `minority positives added: mge-clustering ${mge}, random ${rnd} (${perSeed.join(", ")})`,
  );
});

/**
 * Count the images the model runs over in inference mode (`training: false`) by wrapping the head's `apply` of
 * every model the cell makes: a spy outside the loop, independent of its records.
 */
function countingInference(input: CellInput): { input: CellInput; rows: () => number } {
  let rows = 0;
  return {
    input: {
      ...input,
      makeModel: async () => {
        const model = await input.makeModel();
        const apply = model.head.apply.bind(model.head);
        model.head.apply = ((x: unknown, kwargs?: { training?: boolean }) => {
          if (!kwargs?.training) rows += (x as { shape: number[] }).shape[0]!;
          return apply(x as never, kwargs as never);
        }) as typeof model.head.apply;
        return model;
      },
    },
    rows: () => rows,
  };
}

Deno.test("AL loop: only what is read is inferred — test once per round, the pool only for arms that need outputs", async () => {
  // 420 images: val 60, test 100, pool 260 with 20 initial; 3 rounds, 2 queries of 10.
  const { val: _val, ...base } = cell(4, "random");
  const u0 = base.pool.length - 20, u1 = u0 - 10;
  const expect: Record<string, number> = {
    random: 3 * 100, // test only: random reads ids, so no pool inference at all
    "mge-clustering": 3 * 100 + u0 + u1,
    coreset: 3 * 100 + u0 + u1 + 20 + 30, // coreset also reads the labelled set's features
  };
  for (const [query, rows] of Object.entries(expect)) {
    const spy = countingInference({ ...base, query: BUILTIN_QUERY_FUNCTIONS[query]! });
    const records = await runAlLoop(spy.input);
    assert.equal(spy.rows(), rows, `${query}: images inferred`);
    assert.ok(records.every((r) => r.val === undefined), "no validation scores unless asked");
  }
  // Asking for validation scores adds one pass over the validation set per round, nothing else.
  const withVal = countingInference(cell(4, "random"));
  await runAlLoop(withVal.input);
  assert.equal(withVal.rows(), 3 * 100 + 3 * 60);
});

Deno.test("AL loop: validation scores are opt-in and change nothing else", async () => {
  const { val: _val, ...without } = cell(5, "mge-clustering");
  const a = await runAlLoop(cell(5, "mge-clustering"));
  const b = await runAlLoop(without);
  assert.ok(a.every((r) => r.val && r.val.perClassF1.length === 17));
  assert.ok(b.every((r) => !("val" in r)));
  assert.deepEqual(b.map(strip), a.map(({ val: _v, ...r }) => strip(r)));
});

Deno.test("AL loop: a query function gets exactly the model outputs it declares in needs", async () => {
  const input = cell(6, "random");
  const seen: { ids: string[]; probs?: Float32Array; features?: Float32Array; threw: string[] }[] = [];
  const capture = (needs?: ("probs" | "features")[]): QueryFunction => ({
    name: `capture-${needs?.join("+") ?? "default"}`,
    description: "records what it receives, selects the first b ids",
    ...(needs ? { needs } : {}),
    select({ unlabelled, budget }) {
      const got: (typeof seen)[number] = { ids: [...unlabelled.ids], threw: [] };
      for (const key of ["probs", "features"] as const) {
        try {
          got[key] = unlabelled[key];
        } catch {
          got.threw.push(key);
        }
      }
      seen.push(got);
      return { selected: unlabelled.ids.slice(0, budget) };
    },
  });
  for (const needs of [undefined, ["features" as const], [] as never[]]) {
    seen.length = 0;
    const checked: boolean[] = [];
    await runAlLoop({ ...input, query: capture(needs) }, {
      onIteration: async (rec, model) => {
        if (rec.iteration >= 2) return;
        // The outputs it got are the model's own: infer the same ids again with the model the round used.
        const got = seen[rec.iteration]!;
        const opaque = opaqueIds(table.ids, 6);
        const fresh = await infer(model, images, got.ids.map((id) => opaque.indexOf(id)));
        const want = new Set(needs ?? ["probs", "features"]);
        for (const key of ["probs", "features"] as const) {
          if (want.has(key)) assert.deepEqual(got[key], fresh[key], `${key} are the model's outputs`);
          else assert.ok(got.threw.includes(key) && got[key] === undefined, `${key} is not handed over`);
        }
        checked.push(true);
      },
    });
    assert.equal(checked.length, 2);
  }
});

Deno.test("AL loop: a query function sees opaque ids, never the archive's; records keep the real ones", async () => {
  const input = cell(4, "random");
  const seen: string[][] = [];
  const capture: QueryFunction = {
    name: "capture-ids",
    description: "records the ids it gets, selects the last b",
    needs: [],
    select({ unlabelled, budget }) {
      seen.push([...unlabelled.ids]);
      return { selected: unlabelled.ids.slice(-budget) };
    },
  };
  const records = await runAlLoop({ ...input, query: capture });
  const real = new Set(table.ids), opaque = opaqueIds(table.ids, 4);
  assert.equal(seen.length, 2);
  for (const ids of seen) {
    for (const id of ids) {
      assert.match(id, /^s[0-9a-f]{16}$/);
      assert.ok(!real.has(id));
    }
  }
  // The selection is mapped back: the records hold the archive's ids of what the function picked.
  for (const [t, rec] of records.slice(0, 2).entries()) {
    assert.deepEqual(rec.selected, seen[t]!.slice(-10).map((o) => table.ids[opaque.indexOf(o)]));
    for (const id of rec.selected) assert.ok(real.has(id));
  }
  // Stable per seed: the same sample has the same token in both rounds, and another seed gives other tokens.
  assert.ok(seen[1]!.every((id) => seen[0]!.includes(id)));
  assert.equal(opaqueIds(table.ids, 5).filter((o) => opaque.includes(o)).length, 0);
});

Deno.test("AL loop: finetune.untilLoss trains past the schedule until the epoch's loss is at most bce, or maxEpochs", async () => {
  const seen: number[][] = [];
  for (const untilLoss of [undefined, { bce: 1e-6, maxEpochs: 5 }, { bce: 0.99, maxEpochs: 5 }]) {
    const losses: number[] = [];
    const model = buildClassifier("small-cnn", R, table.classNames.length, Rng.root(1));
    const epochs = await finetune(
      model,
      images,
      table,
      Array.from({ length: 20 }, (_, i) => i),
      { ...PAPER_FINETUNE, epochs: 2, decayEpochs: [1], ...(untilLoss ? { untilLoss } : {}) },
      Rng.root(2),
      (r) => void losses.push(r.loss),
    );
    model.backbone.dispose();
    model.head.dispose();
    assert.deepEqual(epochs.map((e) => e.loss), losses);
    seen.push(losses);
  }
  const [plain, long, short] = seen as [number[], number[], number[]];
  // The schedule alone: 2 epochs. A target no epoch reaches: the most, 5, the extra ones at the last lr.
  assert.equal(plain.length, 2);
  assert.equal(long.length, 5);
  // The same streams: the first two epochs are the schedule's, to the bit.
  assert.deepEqual(long.slice(0, 2), plain);
  // A target the second epoch already meets: the schedule's 2 epochs, nothing more.
  assert.ok(plain[1]! <= 0.99);
  assert.equal(short.length, 2);
});
