/**
 * Query-step time for `deno task perf`: MGE+Clustering, BADGE, core-set, uncertainty and the multi-label
 * baselines MMC, Adaptive and CVIRS on pools of N = 1k, 10k, 100k samples with d = 1024 features, C = 17 classes
 * and b = 20 (functions that read the labelled set — core-set, Adaptive, CVIRS — also see 200 labelled samples).
 * Inputs are seeded synthetic model outputs (clustered features, random probabilities) built before timing.
 *
 * Run: `deno task perf`, or `deno bench --allow-read --allow-env bench/perf_query_bench.ts`.
 *
 * @module
 */
import { Rng } from "../src/rng.ts";
import { syntheticView } from "../src/al/conformance.ts";
import { BUILTIN_QUERY_FUNCTIONS } from "../src/al/query/registry.ts";
import { perfSetFrom, QUERY_PERF_FUNCTIONS, queryPoolSizes } from "../src/perf/configs.ts";
import { checkQueryOptions, type ModelView } from "../src/al/query.ts";

const announced = new Set<string>();
/** Progress on stderr (deno bench --json keeps console output to itself): one line when a bench starts. */
function started(name: string): void {
  if (announced.has(name)) return;
  announced.add(name);
  Deno.stderr.writeSync(new TextEncoder().encode(`perf:   ${name}\n`));
}

const C = 17, D = 1024, B = 20;
const set = perfSetFrom(Deno.env.get("ALBENCH_PERF_SET"));
const views = new Map<number, ModelView>();
const labelled = syntheticView(200, C, D, 2, "l");

for (const n of queryPoolSizes(set)) {
  for (const name of QUERY_PERF_FUNCTIONS) {
    const fn = BUILTIN_QUERY_FUNCTIONS[name]!;
    Deno.bench({
      name: `query ${name} N=${n}`,
      group: `query N=${n}`,
      n: n >= 100_000 ? 1 : 3,
      warmup: 0,
      async fn(b) {
        started(`query ${name} N=${n}`);
        let unlabelled = views.get(n);
        if (!unlabelled) {
          unlabelled = syntheticView(n, C, D, 1);
          views.set(n, unlabelled);
        }
        const input = {
          unlabelled,
          ...(fn.needsLabelled ? { labelled } : {}),
          numClasses: C,
          featureDim: D,
          budget: B,
          rng: Rng.root(0).fork("query"),
          options: checkQueryOptions(fn, {}).values,
        };
        b.start();
        const r = await fn.select(input);
        b.end();
        if (r.selected.length !== B) throw new Error(`${name} selected ${r.selected.length}, not ${B}`);
      },
    });
  }
}
