/**
 * The grid of cells (scenario × arm × seed) and its deterministic split into shards.
 *
 * Cells are enumerated in scenario, arm, seed order; shard i of n runs cells k with k mod n = i. The assignment
 * depends only on the scenario files and `--seeds`, so every machine of a job array computes the same split.
 *
 * @module
 */
import type { ResolvedScenario } from "../scenario/load.ts";
import type { Scenario } from "../scenario/schema.ts";

/** One cell of the grid. */
export interface Cell {
  /** Its scenario. */
  readonly scenario: ResolvedScenario;
  /** Its arm (query function and options). */
  readonly arm: Scenario["arms"][number];
  /** Its seed (split, initial set, training stream). */
  readonly seed: number;
  /** `scenario-id/arm/seed-k`: also its place under `cells/`. */
  readonly key: string;
}

/** A shard: `index` in [0, count). */
export interface Shard {
  /** This shard, 0-based. */
  readonly index: number;
  /** How many shards. */
  readonly count: number;
}

/**
 * All cells of the scenarios, optionally only the first `seedLimit` seeds of each.
 *
 * @example
 * ```ts
 * import { gridCells } from "./grid.ts";
 * import { resolveScenarios } from "../scenario/load.ts";
 * const [s] = resolveScenarios({ name: "x", dataset: { kind: "synthetic", size: 210 }, split: { val: 50, test: 50 },
 *   model: { backbone: "small-cnn" }, al: { initial: 10, batch: 5, iterations: 1 },
 *   arms: [{ name: "a", query: "random" }, { name: "b", query: "badge" }], seeds: 3 });
 * console.assert(gridCells([s!]).length === 6 && gridCells([s!], 1).length === 2);
 * ```
 */
export function gridCells(scenarios: readonly ResolvedScenario[], seedLimit?: number): Cell[] {
  const cells: Cell[] = [];
  for (const scenario of scenarios) {
    const seeds = seedLimit ? scenario.seeds.slice(0, seedLimit) : scenario.seeds;
    for (const arm of scenario.scenario.arms) {
      for (const seed of seeds) {
        cells.push({ scenario, arm, seed, key: `${scenario.id}/${arm.name}/seed-${seed}` });
      }
    }
  }
  return cells;
}

/**
 * The cells of one shard.
 *
 * @example
 * ```ts
 * import { shardCells } from "./grid.ts";
 * console.assert(shardCells([1, 2, 3, 4, 5], { index: 1, count: 2 }).join() === "2,4");
 * ```
 */
export function shardCells<T>(cells: readonly T[], shard: Shard | undefined): T[] {
  if (!shard) return [...cells];
  return cells.filter((_, k) => k % shard.count === shard.index);
}

/**
 * The shard from a job engine's environment: Slurm job arrays (`SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_COUNT`,
 * `SLURM_ARRAY_TASK_MIN`) or Kubernetes Indexed Jobs (`JOB_COMPLETION_INDEX` with `ALBENCH_SHARD_COUNT`, which
 * the manifest sets to the Job's `completions`). Throws when the variables are inconsistent.
 *
 * @example
 * ```ts
 * import { shardFromEnv } from "./grid.ts";
 * const s = shardFromEnv({ SLURM_ARRAY_TASK_ID: "3", SLURM_ARRAY_TASK_COUNT: "4", SLURM_ARRAY_TASK_MIN: "0" });
 * console.assert(s?.index === 3 && s.count === 4);
 * ```
 */
export function shardFromEnv(env: Record<string, string | undefined>): Shard | undefined {
  const int = (v: string | undefined, name: string) => {
    if (v === undefined || !/^\d+$/.test(v)) {
      throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
    }
    return Number(v);
  };
  let shard: Shard | undefined;
  if (env.SLURM_ARRAY_TASK_ID !== undefined) {
    const min = env.SLURM_ARRAY_TASK_MIN === undefined
      ? 0
      : int(env.SLURM_ARRAY_TASK_MIN, "SLURM_ARRAY_TASK_MIN");
    shard = {
      index: int(env.SLURM_ARRAY_TASK_ID, "SLURM_ARRAY_TASK_ID") - min,
      count: int(env.SLURM_ARRAY_TASK_COUNT, "SLURM_ARRAY_TASK_COUNT"),
    };
  } else if (env.JOB_COMPLETION_INDEX !== undefined) {
    shard = {
      index: int(env.JOB_COMPLETION_INDEX, "JOB_COMPLETION_INDEX"),
      count: int(env.ALBENCH_SHARD_COUNT, "ALBENCH_SHARD_COUNT (set it to the Job's completions)"),
    };
  }
  if (shard && (shard.count < 1 || shard.index < 0 || shard.index >= shard.count)) {
    throw new Error(`shard ${shard.index}/${shard.count} from the environment is out of range`);
  }
  return shard;
}
