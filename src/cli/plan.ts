/**
 * `deno task plan --scenario FILE [--data DIR] [--seeds N] [--variant NAME] [--json]`: what a scenario would run,
 * per seed, without training anything.
 *
 * @module
 */

import { PLAN_FLAGS } from "./flags.ts";
import { MAX_SEEDS } from "../scenario/schema.ts";
import { runMain, UsageError } from "./errors.ts";
import {
  checkScenarioQueries,
  loadScenarioFile,
  type ResolvedScenario,
  scenarioDir,
  ScenarioError,
} from "../scenario/load.ts";
import { datasetSource } from "../scenario/dataset_source.ts";
import { planJson, planSeed, type SeedPlan } from "../data/plan.ts";
import { classCounts, type LabelTable } from "../data/dataset.ts";
import { BACKEND_NAMES, initBackend, isBackendName } from "../backend/backend.ts";
import type { BackendName } from "../backend/names.ts";
import { RunContext } from "../runner/cells.ts";
import { resolveQuery } from "../plugin/loader.ts";
import { armNeeds, nativeThreadsPerJob, sizeRun } from "../runner/sizing.ts";
import type { ArmNeeds } from "../runner/size.ts";
import { MAX_JOBS, parseFlags, positiveInt, writableFolder } from "./args.ts";

/** The help text of `deno task plan`. */
export const PLAN_HELP =
  `Usage: deno task plan [--scenario FILE] [--data DIR] [--seeds N] [--variant NAME] [--set PATH=VALUE] [--json]
                       [--backend NAME] [--jobs N] [--cache DIR] [--no-estimate]

Starts with the run's size (cells, fine-tuning rounds, pre-trainings, and the image passes of BYOL, fine-tuning
and inference) and an estimate of its wall time on the engine and --jobs, from a short probe of each model on
this machine (a few seconds; --no-estimate skips it). Then prints, per seed, the split sizes, the drawn minority classes, the removed ids, the initial labelled ids and the
per-class positive counts of the pool before and after removal. Nothing is trained and no image is decoded.

  --scenario FILE   scenario file (default scenarios/default.json)
  --data DIR        dataset root for file-based datasets (overrides dataset.root)
  --seeds N         only the first N seeds
  --variant NAME    only this variant of a file with variants
  --set PATH=VALUE  change one scenario field (repeatable), e.g. --set al.iterations=3
  --backend NAME    the engine to estimate on: ${BACKEND_NAMES.join(" | ")} (default: the scenario's)
  --jobs N          cells at a time, as bench --jobs (default: the number of CPUs)
  --cache DIR       where bench would find cached pre-trainings (default .cache)
  --no-estimate     the size without the probe and the estimate
  --json            machine-readable: {"scenario", "hash", "seeds": [{"seed", "val", "test", "pool",
                    "removed": {"classes", "ids"}, "initial"}]} with the dataset's sample names; a file with
                    several variants prints one such object per line
`;

function formatSeed(table: LabelTable, p: SeedPlan, archive: number[]): string {
  const lines = [
    `seed ${p.seed}: val ${p.val.length}, test ${p.test.length}, pool ${p.pool.length + p.removed.length}` +
    (p.removed.length ? ` → ${p.pool.length} after removing ${p.removed.length}` : "") +
    `, initial ${p.initial.length}`,
    `  minority classes: ${p.removedClasses.length ? p.removedClasses.join(", ") : "(none removed)"}`,
  ];
  for (const why of p.skippedClassSets) lines.push(`  skipped infeasible classes ${why}`);
  if (p.removed.length) lines.push(`  removed: ${p.removed.map((i) => table.ids[i]).join(" ")}`);
  lines.push(`  initial: ${p.initial.map((i) => table.ids[i]).join(" ")}`);
  const w = Math.max(...table.classNames.map((c) => c.length));
  lines.push(`  ${"class".padEnd(w)}  archive  pool before  after`);
  table.classNames.forEach((c, j) => {
    const before = p.poolCountsBefore[j]!, after = p.poolCountsAfter[j]!;
    lines.push(
      `  ${c.padEnd(w)}  ${String(archive[j]).padStart(7)}  ${String(before).padStart(11)}  ${
        String(after).padStart(5)
      }` +
        (after < before ? " *" : ""),
    );
  });
  return lines.join("\n");
}

/**
 * Plan every seed of a resolved scenario.
 *
 * @example
 * ```ts ignore
 * import { planScenario } from "./plan.ts";
 * ```
 */
export async function planScenario(
  s: ResolvedScenario,
  dataRoot?: string,
  seedLimit?: number,
): Promise<{ table: LabelTable; plans: SeedPlan[] }> {
  const table = await datasetSource(s.scenario.dataset, dataRoot ? { dataRoot } : {}).labels();
  const seeds = seedLimit ? s.seeds.slice(0, seedLimit) : s.seeds;
  try {
    return { table, plans: seeds.map((seed) => planSeed(table, s.scenario, seed)) };
  } catch (e) {
    throw new ScenarioError(s.file ?? s.id, [`${s.id}: ${(e as Error).message}`]);
  }
}

async function main(args: string[]): Promise<void> {
  const { values } = parseFlags(args, PLAN_FLAGS, "plan");
  if (values.help) {
    console.log(PLAN_HELP);
    return;
  }
  const file = values.scenario ?? "scenarios/default.json";
  const seedLimit = values.seeds === undefined
    ? undefined
    : positiveInt(values.seeds, "--seeds", MAX_SEEDS, "the scenario schema's limit on seeds");
  let scenarios: ResolvedScenario[];
  try {
    scenarios = await loadScenarioFile(file, values.set ?? []);
    for (const w of await checkScenarioQueries(scenarios)) console.warn(`warning: ${w}`);
  } catch (e) {
    if (e instanceof ScenarioError) throw new UsageError(e.message, 2, { cause: e });
    throw e;
  }
  if (values.variant !== undefined) {
    // A variant is named as --variant takes it (the part of the id after the file's name), or by its whole id.
    const variantOf = (id: string) => (id.includes("/") ? id.slice(id.indexOf("/") + 1) : null);
    const wanted = scenarios.filter((s) => variantOf(s.id) === values.variant || s.id === values.variant);
    if (!wanted.length) {
      const names = scenarios.map((s) => variantOf(s.id)).filter((v): v is string => v !== null);
      throw new UsageError(
        `--variant ${JSON.stringify(values.variant)} is not in ${file}; ${
          names.length
            ? `its variants are ${names.join(", ")}`
            : `it has no variants (its scenario is ${scenarios.map((s) => s.id).join(", ")})`
        }`,
      );
    }
    scenarios = wanted;
  }
  // Every seed planned first: a scenario that does not fit its dataset is a usage error (exit 2), named.
  const planned: [ResolvedScenario, Awaited<ReturnType<typeof planScenario>>][] = [];
  for (const s of scenarios) {
    try {
      planned.push([s, await planScenario(s, values.data, seedLimit)]);
    } catch (e) {
      if (e instanceof ScenarioError) throw new UsageError(e.message, 2, { cause: e });
      throw e;
    }
  }
  if (!values.json) {
    for (const line of await sizeLines(scenarios, values, seedLimit)) console.log(line);
    console.log("");
  }
  for (const [s, p] of planned) {
    if (values.json) {
      console.log(JSON.stringify(planJson(s.id, s.hash, p.table, p.plans)));
    } else {
      console.log(`scenario ${s.id} (hash ${s.hash.slice(0, 12)}), ${p.table.ids.length} samples`);
      const archive = classCounts(p.table);
      for (const seed of p.plans) console.log(formatSeed(p.table, seed, archive));
      console.log("");
    }
  }
}

/** The size line and, unless `--no-estimate`, the estimate, as `bench` would print them for the same flags. */
async function sizeLines(
  scenarios: readonly ResolvedScenario[],
  values: { backend?: string; jobs?: string; cache?: string; data?: string; "no-estimate"?: boolean },
  seedLimit: number | undefined,
): Promise<string[]> {
  const backend = values.backend ?? scenarios[0]!.scenario.backend;
  if (!isBackendName(backend)) {
    throw new UsageError(
      `--backend must be one of ${BACKEND_NAMES.join(", ")}; got ${JSON.stringify(backend)}`,
    );
  }
  const jobs = values.jobs !== undefined
    ? positiveInt(values.jobs, "--jobs", MAX_JOBS)
    : navigator.hardwareConcurrency;
  const cacheDir = writableFolder(values.cache ?? ".cache", "--cache");
  let info: { name: BackendName; threads: number };
  let failed: string | undefined;
  try {
    const started = await initBackend(backend);
    info = { name: started.name, threads: started.threads ?? 1 };
  } catch (e) {
    // Sized without the engine (its pre-training keys then name no cached backbone); no estimate.
    info = { name: backend, threads: 1 };
    failed = (e as Error).message.split("\n")[0];
  }
  const ctx = new RunContext({
    ...(values.data ? { dataRoot: values.data } : {}),
    cacheDir,
    backendName: info.name,
    environment: {},
    emit: () => {},
  });
  const arms = new Map<string, ArmNeeds[]>();
  for (const s of scenarios) {
    const list: ArmNeeds[] = [];
    for (const a of s.scenario.arms) list.push(armNeeds(a.name, await resolveQuery(a.query, scenarioDir(s))));
    arms.set(s.id, list);
  }
  const cells = scenarios.reduce(
    (n, s) => n + s.scenario.arms.length * (seedLimit ? Math.min(seedLimit, s.seeds.length) : s.seeds.length),
    0,
  );
  const perJob = nativeThreadsPerJob(info, jobs);
  const { lines } = await sizeRun(ctx, scenarios, {
    ...(seedLimit ? { seedLimit } : {}),
    cacheDir,
    arms,
    jobs: Math.max(1, Math.min(jobs, cells)),
    engine: info,
    ...(perJob !== undefined ? { perJobThreads: perJob } : {}),
    estimate: !values["no-estimate"] && failed === undefined,
  });
  return failed === undefined || values["no-estimate"]
    ? lines
    : [...lines, `(no estimate: the engine ${backend} did not start: ${failed})`];
}

if (import.meta.main) await runMain(main, Deno.args);
