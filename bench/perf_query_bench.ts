/**
 * Query-step time for `deno task perf`: MGE+Clustering, BADGE, core-set, uncertainty and the multi-label
 * baselines MMC, Adaptive and CVIRS on pools of N = 1k, 10k, 100k samples with d = 1024 features, C = 17 classes
 * and b = 20 (functions that read the labelled set — core-set, Adaptive, CVIRS — also see 200 labelled samples).
 * Inputs are seeded synthetic model outputs (clustered features, random probabilities) built before timing.
 *
 * Python plug-ins are timed the same way where a Python with NumPy is found (`ALBENCH_PYTHON`, else `python3`):
 * `python-bridge` (bench/python_bridge_noop.py, which reads none of its arrays: the bridge's own cost of handing
 * over ids, probabilities and features and reading the answer back) and `uncertainty.py` (the example port, to set
 * beside the built-in `uncertainty`). Their first call, which starts nothing (the plug-in is loaded before timing)
 * but sizes the exchange files, is a warm-up; the rows are the mean of the calls after it.
 *
 * Run: `deno task perf`, or `deno bench --allow-read --allow-env --allow-run --allow-write
 * bench/perf_query_bench.ts`.
 *
 * @module
 */
import { Rng } from "../src/rng.ts";
import { syntheticView } from "../src/al/conformance.ts";
import { BUILTIN_QUERY_FUNCTIONS } from "../src/al/query/registry.ts";
import { loadQueryModule } from "../src/plugin/loader.ts";
import { perfSetFrom, QUERY_PERF_FUNCTIONS, queryPoolSizes } from "../src/perf/configs.ts";
import { checkQueryOptions, type ModelView, type QueryFunction } from "../src/al/query.ts";

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

/** The Python plug-ins timed, by row name; none where no Python with NumPy is found (said on stderr). */
const python: [string, QueryFunction][] = [];
for (
  const [row, file] of [["python-bridge", "python_bridge_noop.py"], [
    "uncertainty.py",
    "../scenarios/examples/uncertainty.py",
  ]]
) {
  try {
    python.push([row!, await loadQueryModule(new URL(file!, import.meta.url).pathname, "/")]);
  } catch (e) {
    Deno.stderr.writeSync(
      new TextEncoder().encode(`perf:   ${row} not timed: ${(e as Error).message.split("\n")[0]}\n`),
    );
  }
}

for (const n of queryPoolSizes(set)) {
  const timed: [string, QueryFunction, boolean][] = [
    ...QUERY_PERF_FUNCTIONS.map((
      name,
    ): [string, QueryFunction, boolean] => [name, BUILTIN_QUERY_FUNCTIONS[name]!, false]),
    ...python.map(([row, fn]): [string, QueryFunction, boolean] => [row, fn, true]),
  ];
  for (const [name, fn, isPython] of timed) {
    Deno.bench({
      name: `query ${name} N=${n}`,
      group: `query N=${n}`,
      n: isPython ? 3 : n >= 100_000 ? 1 : 3,
      warmup: isPython ? 1 : 0,
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
