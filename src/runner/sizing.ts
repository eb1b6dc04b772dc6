/**
 * A run's size and estimate from what the runner knows before it starts (each seed's plan, the pre-training
 * keys and the cache, the arms' functions): the glue between `RunContext` and the pure `size.ts`, shared by
 * `runGrid` (the line before a run and its live ETA) and `plan`.
 *
 * @module
 */
import { type Cell, gridCells } from "./grid.ts";
import type { RunContext } from "./cells.ts";
import type { ResolvedScenario } from "../scenario/load.ts";
import type { QueryFunction } from "../al/query.ts";
import { pretrainDir, pretrainKey } from "../ssl/pretrain.ts";
import { probeRates, type ProbeThreads } from "./probe.ts";
import type { ProgressEvent } from "./progress.ts";
import { initBackend } from "../backend/backend.ts";
import type { BackendName } from "../backend/names.ts";
import {
  type ArmNeeds,
  humanDuration,
  type Rates,
  roundWork,
  runSize,
  type ScenarioPlan,
  type SeedSizes,
  sizeLine,
} from "./size.ts";

/**
 * What an arm's function reads: a function without `needs` gets probabilities and features.
 *
 * @example
 * ```ts
 * import { armNeeds } from "./sizing.ts";
 * console.assert(armNeeds("r", { needs: [] } as never).outputs === false);
 * console.assert(armNeeds("u", {} as never).outputs === true);
 * ```
 */
export function armNeeds(name: string, fn: Pick<QueryFunction, "needs" | "needsLabelled">): ArmNeeds {
  const outputs = fn.needs === undefined || fn.needs.length > 0;
  return { name, outputs, labelled: outputs && fn.needsLabelled === true };
}

/**
 * Each scenario's plan for sizing: every seed's split sizes and pre-training (key, images, whether the cache
 * holds it), its arms' needs, and which cells will not run.
 */
export async function scenarioPlans(
  ctx: RunContext,
  scenarios: readonly ResolvedScenario[],
  options: {
    readonly seedLimit?: number;
    readonly cacheDir: string;
    readonly arms: ReadonlyMap<string, readonly ArmNeeds[]>;
    /** The cells that run; the others are skipped. */
    readonly run?: readonly Cell[];
  },
): Promise<ScenarioPlan[]> {
  const running = options.run ? new Set(options.run.map((c) => c.key)) : undefined;
  const skip = new Set(
    gridCells(scenarios, options.seedLimit).map((c) => c.key).filter((k) => running && !running.has(k)),
  );
  const plans: ScenarioPlan[] = [];
  for (const s of scenarios) {
    const seeds: SeedSizes[] = [];
    for (const seed of options.seedLimit ? s.seeds.slice(0, options.seedLimit) : s.seeds) {
      const plan = await ctx.plan(s, seed);
      const spec = await ctx.pretrainSpec(s, seed);
      let pretrain: SeedSizes["pretrain"] = null;
      if (spec) {
        const key = pretrainKey(spec);
        const cached = await Deno.stat(`${pretrainDir(options.cacheDir, key)}/manifest.json`).then(
          () => true,
          () => false,
        );
        pretrain = { key, images: spec.archiveIds.length, cached };
      }
      seeds.push({ seed, pool: plan.pool.length, val: plan.val.length, test: plan.test.length, pretrain });
    }
    plans.push({
      scenario: s,
      seeds,
      arms: options.arms.get(s.id) ??
        s.scenario.arms.map((a) => ({ name: a.name, outputs: true, labelled: false })),
      skip,
    });
  }
  return plans;
}

/**
 * Measured seconds per image for each scenario, probing each distinct model (backbone, resolution, classes,
 * batch sizes, BYOL settings) once on the engine this thread runs.
 */
export async function measureRates(
  ctx: RunContext,
  scenarios: readonly ResolvedScenario[],
  threads?: ProbeThreads,
): Promise<Map<string, Rates>> {
  const byModel = new Map<string, Promise<Rates>>(), out = new Map<string, Rates>();
  for (const s of scenarios) {
    const classes = (await ctx.labels(s)).table.classNames.length;
    const sc = s.scenario;
    const model = JSON.stringify([
      sc.model,
      sc.dataset.resolution,
      classes,
      sc.finetune.batchSize,
      sc.pretrain,
    ]);
    if (!byModel.has(model)) byModel.set(model, probeRates(sc, classes, threads));
    out.set(s.id, await byModel.get(model)!);
  }
  return out;
}

/** A run's estimate: pre-training (in the main thread, one at a time) and cells (`parallel` at a time). */
export interface Estimate {
  readonly seconds: number;
  readonly pretrainSeconds: number;
  readonly cellSeconds: number;
  /** How many cells run at once. */
  readonly parallel: number;
  /** Estimated seconds of the work an event reports done (for the live ETA); 0 for other events. */
  readonly cost: (e: ProgressEvent) => number;
}

/**
 * The estimate of `plans` with `rates`, cells `parallel` at a time; pre-trainings run before the cells, one at a
 * time, on the whole machine.
 *
 * @example
 * ```ts
 * import { estimateRun } from "./sizing.ts";
 * const scenario = { finetune: { epochs: 1, batchSize: 10, decayEpochs: [] }, pretrain: { epochs: 2 },
 *   al: { initial: 10, batch: 10, iterations: 1 } };
 * const s = { id: "s", scenario, iterations: 1 } as never;
 * const seed = { seed: 0, pool: 100, val: 20, test: 30, pretrain: { key: "k", images: 100, cached: false } };
 * const plans = [{ scenario: s, seeds: [seed], arms: [{ name: "a", outputs: true, labelled: false }] }];
 * const e = estimateRun(plans, new Map([["s", { byol: 0.01, finetune: 0.1, inference: 0.001 }]]), 1);
 * // BYOL 200 × 0.01 + probe 40 × 0.001; cells: fine-tuning 30 × 0.1 + inference 150 × 0.001.
 * console.assert(Math.abs(e.pretrainSeconds - 2.04) < 1e-9 && Math.abs(e.cellSeconds - 3.15) < 1e-9);
 * console.assert(Math.abs(e.cost({ type: "iteration", cell: "s/a/seed-0", iteration: 1, iterations: 1,
 *   labelled: 20, microF1: 0, macroF1: 0, seconds: 0 }) - (2 + 0.03)) < 1e-9);
 * ```
 */
export function estimateRun(
  plans: readonly ScenarioPlan[],
  rates: ReadonlyMap<string, Rates>,
  parallel: number,
): Estimate {
  const p = Math.max(1, parallel);
  let pretrainSeconds = 0, cellSeconds = 0;
  const counted = new Set<string>();
  const cells = new Map<string, { plan: ScenarioPlan; seed: SeedSizes; arm: ArmNeeds; rates: Rates }>();
  const pretrainRate = new Map<string, number>();
  for (const plan of plans) {
    const r = rates.get(plan.scenario.id);
    if (!r) continue;
    for (const seed of plan.seeds) {
      for (const arm of plan.arms) {
        cells.set(`${plan.scenario.id}/${arm.name}/seed-${seed.seed}`, { plan, seed, arm, rates: r });
      }
      if (seed.pretrain) pretrainRate.set(seed.pretrain.key, r.byol);
    }
    // A backbone shared by scenarios (pretrain.archive "all") is pre-trained once: counted with its first.
    const seeds = plan.seeds.map((sd) => {
      if (!sd.pretrain || !counted.has(sd.pretrain.key)) return sd;
      return { ...sd, pretrain: { ...sd.pretrain, cached: true } };
    });
    const size = runSize([{ ...plan, seeds }]);
    // The linear probe's inference (two passes over the validation set) runs with its pre-training.
    let probe = 0;
    for (const sd of seeds) {
      if (sd.pretrain && !sd.pretrain.cached && !counted.has(sd.pretrain.key)) {
        counted.add(sd.pretrain.key);
        probe += 2 * sd.val;
      }
    }
    pretrainSeconds += size.byol * r.byol + probe * r.inference;
    cellSeconds += size.finetune * r.finetune + (size.inference - probe) * r.inference;
  }
  cellSeconds /= p;
  const cost = (e: ProgressEvent): number => {
    if (e.type === "pretrain-step") return (pretrainRate.get(e.key) ?? 0) * e.images;
    if (e.type !== "iteration") return 0;
    const c = cells.get(e.cell);
    if (!c) return 0;
    const w = roundWork(c.plan.scenario.scenario, c.seed, c.arm, e.labelled, e.iteration >= e.iterations);
    return (w.finetune * c.rates.finetune + w.inference * c.rates.inference) / p;
  };
  return { seconds: pretrainSeconds + cellSeconds, pretrainSeconds, cellSeconds, parallel: p, cost };
}

/**
 * The estimate as one line.
 *
 * @example
 * ```ts
 * import { estimateLine } from "./sizing.ts";
 * const e = { seconds: 8400, pretrainSeconds: 3000, cellSeconds: 5400, parallel: 2, cost: () => 0 };
 * console.assert(estimateLine(e, "native") === "estimate: about 2 h 20 min on native with 2 cells at a time " +
 *   "(pre-training 50 min, then the cells 1 h 30 min), from a short probe of each model on this machine");
 * ```
 */
export function estimateLine(e: Estimate, engine: string): string {
  const parts = e.pretrainSeconds > 0
    ? ` (pre-training ${humanDuration(e.pretrainSeconds)}, then the cells ${humanDuration(e.cellSeconds)})`
    : "";
  return `estimate: about ${humanDuration(e.seconds)} on ${engine} with ${e.parallel} cell${
    e.parallel === 1 ? "" : "s"
  } at a time${parts}, from a short probe of each model on this machine`;
}

/**
 * The native engine's threads per job when `jobs` share the cores (each job its share, at least one); undefined
 * for one job or another engine. It follows `--jobs` alone, not how many cells are left, so a resume with the
 * same flags computes with the same engine identity as the run it continues.
 *
 * @example
 * ```ts
 * import { nativeThreadsPerJob } from "./sizing.ts";
 * console.assert(nativeThreadsPerJob({ name: "native", threads: 8 }, 3) === 2);
 * console.assert(nativeThreadsPerJob({ name: "native", threads: 8 }, 1) === undefined);
 * console.assert(nativeThreadsPerJob({ name: "wasm", threads: 1 }, 4) === undefined);
 * ```
 */
export function nativeThreadsPerJob(
  engine: { readonly name: string; readonly threads: number },
  jobs: number,
): number | undefined {
  return engine.name === "native" && jobs > 1 ? Math.max(1, Math.floor(engine.threads / jobs)) : undefined;
}

/** What {@linkcode sizeRun} needs besides the scenarios. */
export interface SizeRunOptions {
  readonly seedLimit?: number;
  readonly cacheDir: string;
  /** Each scenario's arms' needs (default: every arm reads model outputs). */
  readonly arms: ReadonlyMap<string, readonly ArmNeeds[]>;
  /** The cells that will run (default: all). */
  readonly run?: readonly Cell[];
  /** How many cells run at once. */
  readonly jobs: number;
  /** The engine this thread runs, and its threads. */
  readonly engine: { readonly name: BackendName; readonly threads: number };
  /** The native engine's threads per job, when jobs share the cores. */
  readonly perJobThreads?: number;
  /** Probe and estimate (else the size line alone). */
  readonly estimate: boolean;
}

/**
 * The size line of a run and, with `estimate`, its estimate from a probe of each model; a probe that fails leaves
 * the estimate out with the reason (the run goes on).
 *
 * @example
 * ```ts ignore
 * import { sizeRun } from "./sizing.ts";
 * const { lines } = await sizeRun(ctx, scenarios, { cacheDir: ".cache", arms: new Map(), jobs: 2,
 *   engine: { name: "wasm", threads: 1 }, estimate: true });
 * ```
 */
export async function sizeRun(
  ctx: RunContext,
  scenarios: readonly ResolvedScenario[],
  o: SizeRunOptions,
): Promise<{ lines: string[]; estimate?: Estimate }> {
  const plans = await scenarioPlans(ctx, scenarios, {
    ...(o.seedLimit ? { seedLimit: o.seedLimit } : {}),
    cacheDir: o.cacheDir,
    arms: o.arms,
    ...(o.run ? { run: o.run } : {}),
  });
  const lines = [sizeLine(runSize(plans))];
  if (!o.estimate) return { lines };
  if (o.engine.name === "cpu") {
    // tfjs's reference engine in plain JavaScript: a probe would take a minute and the run far longer.
    return {
      lines: [
        ...lines,
        "(no estimate on the cpu engine, tfjs's slow reference implementation: use native or wasm, whose runs " +
        "take a fraction of its time)",
      ],
    };
  }
  // A cell's job runs with its share of the native engine's threads; the probe measures cells so, and
  // pre-training (before the cells, in this thread) with all of them.
  const perJob = o.perJobThreads;
  const threads = o.engine.name === "native" && perJob !== undefined
    ? {
      asJob: async () => void await initBackend(o.engine.name, { nativeThreads: perJob }),
      asMain: async () => void await initBackend(o.engine.name, { nativeThreads: o.engine.threads }),
    }
    : undefined;
  try {
    const running = o.run ? new Set(o.run.map((c) => c.scenario.id)) : undefined;
    const rates = await measureRates(ctx, scenarios.filter((s) => !running || running.has(s.id)), threads);
    const estimate = estimateRun(plans, rates, o.jobs);
    return { lines: [...lines, estimateLine(estimate, o.engine.name)], estimate };
  } catch (e) {
    return { lines: [...lines, `(no estimate: the probe failed: ${(e as Error).message.split("\n")[0]})`] };
  }
}
