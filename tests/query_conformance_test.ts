import { BUILTIN_QUERY_FUNCTIONS } from "../src/al/query/registry.ts";
import { loadQueryModule } from "../src/plugin/loader.ts";
import assert from "node:assert/strict";
import { conformanceChecks, queryConformance } from "../src/al/conformance.ts";
import type { QueryFunction } from "../src/al/query.ts";

// `deno task test-query ./my_query.ts` sets ALBENCH_QUERY_MODULE to run the suite on a user's module only.
const userModule = Deno.env.get("ALBENCH_QUERY_MODULE");

if (userModule) {
  const fn = await loadQueryModule(userModule, Deno.cwd());
  Deno.test(`query conformance: ${fn.name} (${userModule})`, (t) => queryConformance(fn, t));
} else {
  for (const fn of Object.values(BUILTIN_QUERY_FUNCTIONS)) {
    Deno.test(`query conformance: ${fn.name}`, (t) => queryConformance(fn, t));
  }
  const example = await loadQueryModule(
    "scenarios/examples/my_query.ts",
    new URL("..", import.meta.url).pathname,
  );
  Deno.test(`query conformance: the example plug-in (${example.name})`, (t) => queryConformance(example, t));

  Deno.test("query conformance: a function that reads outputs it does not declare in needs fails", async () => {
    const firstB = (reads: "probs" | "features" | null, needs?: unknown): QueryFunction => ({
      name: `reads-${reads}`,
      description: "selects the first b ids",
      optionSchema: {},
      ...(needs === undefined ? {} : { needs: needs as readonly ("probs" | "features")[] }),
      select({ unlabelled, budget }) {
        if (reads) void unlabelled[reads][0];
        return { selected: unlabelled.ids.slice(0, budget) };
      },
    });
    const failures = async (fn: QueryFunction) => {
      const failed: string[] = [];
      for (const c of conformanceChecks(fn, { largeN: 1000 })) {
        await c.run().catch((e) => failed.push(`${c.name}: ${(e as Error).message}`));
      }
      return failed;
    };
    // Honest declarations pass: none for ids only, one output, or nothing declared (= both).
    assert.deepEqual(await failures(firstB(null, [])), []);
    assert.deepEqual(await failures(firstB("features", ["features"])), []);
    assert.deepEqual(await failures(firstB("probs")), []);
    // Dishonest ones fail every check, naming the output to declare.
    const noNeeds = await failures(firstB("probs", []));
    assert.equal(noNeeds.length, 6);
    assert.match(noNeeds[0]!, /reads-probs read probs, which it does not declare in needs \(\[\]\)/);
    const wrong = await failures(firstB("features", ["probs"]));
    assert.match(
      wrong[0]!,
      /read features, which it does not declare in needs \(\["probs"\]\); add "features"/,
    );
    assert.match((await failures(firstB(null, ["logits"])))[0]!, /unknown need "logits"/);
  });

  Deno.test("query conformance: options must be declared; unknown keys and wrong types are rejected", async () => {
    const base = {
      name: "first",
      description: "selects the first b ids",
      needs: [],
      select: ({ unlabelled, budget }: { unlabelled: { ids: readonly string[] }; budget: number }) => ({
        selected: unlabelled.ids.slice(0, budget),
      }),
    };
    const failures = async (fn: QueryFunction) => {
      const failed: string[] = [];
      for (const c of conformanceChecks(fn, { largeN: 1000 })) {
        await c.run().catch((e) => failed.push(`${c.name}: ${(e as Error).message}`));
      }
      return failed;
    };
    assert.deepEqual(await failures({ ...base, optionSchema: {} }), []);
    assert.deepEqual(
      await failures({
        ...base,
        optionSchema: { k: { type: "integer", min: 1, default: 2, description: "k" } },
        defaults: { k: 2 },
      }),
      [],
    );
    // No schema: only the options check fails, saying what to declare.
    const none = await failures(base);
    assert.equal(none.length, 1);
    assert.match(
      none[0]!,
      /^declares its options.*declares no optionSchema.*optionSchema: \{\} for a function without options/,
    );
    // A schema whose default breaks its own bounds, a missing description, defaults that disagree.
    const bad = await failures({
      ...base,
      optionSchema: { k: { type: "integer", min: 1, default: 0, description: "" } },
      defaults: { k: 3 },
    });
    assert.equal(bad.length, 1);
    assert.match(bad[0]!, /option k: no description/);
    assert.match(
      bad[0]!,
      /option k: its default does not satisfy its own schema \(k: must be an integer >= 1; got 0\)/,
    );
    assert.match(bad[0]!, /defaults \{"k":3\} differ from the schema's defaults \{"k":0\}/);
  });
}
