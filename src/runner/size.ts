/**
 * The size of a run before it starts: pre-trainings, cells, rounds, and the image passes of BYOL, fine-tuning and
 * inference, counted from the scenarios and each seed's split exactly as the loop will spend them; and, given
 * measured seconds per image (`probe.ts`), an estimate of the wall time. Pure: no engine, no files.
 *
 * @module
 */
import type { ResolvedScenario } from "../scenario/load.ts";
import { roundSchedule } from "../train/finetune.ts";

/** What the sizes of one seed of a scenario are. */
export interface SeedSizes {
  readonly seed: number;
  /** The pool after imbalance removal. */
  readonly pool: number;
  readonly val: number;
  readonly test: number;
  /** The seed's pre-training: its cache key, the images BYOL sees, whether the cache holds it (null: none). */
  readonly pretrain: { readonly key: string; readonly images: number; readonly cached: boolean } | null;
}

/** Which model outputs an arm's function reads (a function of ids alone needs no inference over the pool). */
export interface ArmNeeds {
  readonly name: string;
  /** It reads probabilities or features of the unlabelled pool. */
  readonly outputs: boolean;
  /** It also reads them for the labelled set (`needsLabelled`). */
  readonly labelled: boolean;
}

/** One scenario as it will run: its seeds' sizes, its arms' needs, and the cells already complete. */
export interface ScenarioPlan {
  readonly scenario: ResolvedScenario;
  readonly seeds: readonly SeedSizes[];
  readonly arms: readonly ArmNeeds[];
  /** Keys (`scenario/arm/seed-k`) of cells that will not run (complete, or another shard's). */
  readonly skip?: ReadonlySet<string>;
}

/** Image passes: one image through a training step (BYOL, fine-tuning) or a forward pass (inference). */
export interface Work {
  readonly byol: number;
  readonly finetune: number;
  readonly inference: number;
}

/** The size of a run. */
export interface RunSize extends Work {
  readonly cells: number;
  /** Fine-tuning rounds over all cells (the initial round included). */
  readonly rounds: number;
  /** Pre-trainings to compute (distinct backbones not in the cache). */
  readonly pretrainings: number;
  /** Pre-trainings the cache already holds. */
  readonly cachedPretrainings: number;
}

/** Measured seconds per image pass, for one scenario's model. */
export interface Rates {
  readonly byol: number;
  readonly finetune: number;
  readonly inference: number;
}

/**
 * The labelled-set size of every round of a cell (round 0: the initial set): each round adds the batch, or what
 * the budget and the pool leave.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { labelledSizes } from "./size.ts";
 * assert.deepEqual(labelledSizes({ initial: 40, batch: 20, iterations: 3 }, 1000), [40, 60, 80, 100]);
 * assert.deepEqual(labelledSizes({ initial: 40, batch: 20, iterations: 3, budget: 90 }, 1000), [40, 60, 80, 90]);
 * assert.deepEqual(labelledSizes({ initial: 8, batch: 4, iterations: 5 }, 14), [8, 12, 14]);
 * ```
 */
export function labelledSizes(
  al: {
    readonly initial: number;
    readonly batch: number;
    readonly iterations: number;
    readonly budget?: number | undefined;
  },
  pool: number,
): number[] {
  const sizes = [Math.min(al.initial, pool)];
  for (let t = 0; t < al.iterations; t++) {
    const n = sizes[sizes.length - 1]!;
    const add = Math.min(al.batch, (al.budget ?? Infinity) - n, pool - n);
    if (add <= 0) break;
    sizes.push(n + add);
  }
  return sizes;
}

/**
 * The image passes of one round of a cell with `labelled` samples: fine-tuning (epochs × labelled, with
 * `finetune.minSteps` as the loop applies it; with `finetune.untilLoss` the scheduled epochs, a lower bound, since
 * the epochs it adds depend on the loss), then inference over the test set (and the validation set where
 * scored) and, unless it is the last round, over the pool for the query (and the labelled set where the function
 * reads it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { roundWork } from "./size.ts";
 * const s = { finetune: { epochs: 4, batchSize: 10, decayEpochs: [3], minSteps: 100 }, al: {} } as never;
 * // 40 labelled: 4 batches an epoch, so 25 epochs for 100 steps.
 * assert.deepEqual(roundWork(s, { val: 525, test: 525, pool: 1050 }, { name: "a", outputs: true, labelled: false }, 40, false),
 *   { byol: 0, finetune: 1000, inference: 525 + 1010 });
 * assert.deepEqual(roundWork(s, { val: 525, test: 525, pool: 1050 }, { name: "r", outputs: false, labelled: false }, 400, true),
 *   { byol: 0, finetune: 1600, inference: 525 });
 * ```
 */
export function roundWork(
  s: ResolvedScenario["scenario"],
  sizes: Pick<SeedSizes, "val" | "test" | "pool">,
  arm: ArmNeeds,
  labelled: number,
  last: boolean,
): Work {
  const epochs = roundSchedule(s.finetune, labelled).epochs;
  let inference = sizes.test + (s.al.validation ? sizes.val : 0);
  if (!last && arm.outputs) inference += sizes.pool - labelled + (arm.labelled ? labelled : 0);
  return { byol: 0, finetune: epochs * labelled, inference };
}

/** BYOL's image passes for one pre-training, and its linear probe's inference (two passes over the validation set). */
function pretrainWork(s: ResolvedScenario["scenario"], images: number, val: number): Work {
  return { byol: s.pretrain.epochs * images, finetune: 0, inference: 2 * val };
}

/**
 * The size of a run: every cell not skipped, every pre-training its cells need that the cache does not hold
 * (each counted once, as the run computes each once).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runSize } from "./size.ts";
 * const scenario = { finetune: { epochs: 1, batchSize: 10, decayEpochs: [] }, pretrain: { epochs: 2 },
 *   al: { initial: 10, batch: 10, iterations: 1 } };
 * const s = { id: "s", scenario, iterations: 1 } as never;
 * const seed = { seed: 0, pool: 100, val: 20, test: 30, pretrain: { key: "k", images: 100, cached: false } };
 * const size = runSize([{ scenario: s, seeds: [seed], arms: [{ name: "a", outputs: true, labelled: false }] }]);
 * // Fine-tuning 10 + 20; inference: test twice, the pool of 90 once, the probe 2 × 20; BYOL 2 × 100.
 * assert.deepEqual(size, { cells: 1, rounds: 2, pretrainings: 1, cachedPretrainings: 0, byol: 200,
 *   finetune: 30, inference: 30 + 90 + 30 + 40 });
 * ```
 */
export function runSize(plans: readonly ScenarioPlan[]): RunSize {
  let cells = 0, rounds = 0, byol = 0, finetune = 0, inference = 0;
  const pretrain = new Map<string, boolean>();
  for (const p of plans) {
    const s = p.scenario.scenario;
    for (const seed of p.seeds) {
      let used = false;
      for (const arm of p.arms) {
        if (p.skip?.has(`${p.scenario.id}/${arm.name}/seed-${seed.seed}`)) continue;
        used = true;
        cells++;
        const sizes = labelledSizes({ ...s.al, iterations: p.scenario.iterations }, seed.pool);
        rounds += sizes.length;
        sizes.forEach((n, t) => {
          const w = roundWork(s, seed, arm, n, t === sizes.length - 1);
          finetune += w.finetune;
          inference += w.inference;
        });
      }
      if (used && seed.pretrain && !pretrain.has(seed.pretrain.key)) {
        pretrain.set(seed.pretrain.key, seed.pretrain.cached);
        if (!seed.pretrain.cached) {
          const w = pretrainWork(s, seed.pretrain.images, seed.val);
          byol += w.byol;
          inference += w.inference;
        }
      }
    }
  }
  const cached = [...pretrain.values()].filter(Boolean).length;
  return {
    cells,
    rounds,
    pretrainings: pretrain.size - cached,
    cachedPretrainings: cached,
    byol,
    finetune,
    inference,
  };
}

/**
 * Estimated wall seconds of a run: each scenario's image passes times its measured seconds per image, divided by
 * how many cells run at once (`parallel`: the probe measured one job on the cores one job gets).
 *
 * @example
 * ```ts
 * import { estimateSeconds } from "./size.ts";
 * const w = { byol: 100, finetune: 1000, inference: 2000 };
 * console.assert(estimateSeconds([[w, { byol: 0.02, finetune: 0.01, inference: 0.001 }]], 2) === (2 + 10 + 2) / 2);
 * ```
 */
export function estimateSeconds(parts: readonly (readonly [Work, Rates])[], parallel: number): number {
  let total = 0;
  for (const [w, r] of parts) total += w.byol * r.byol + w.finetune * r.finetune + w.inference * r.inference;
  return total / Math.max(1, parallel);
}

/** `1,234,567`. */
const count = (n: number) => Math.round(n).toLocaleString("en-US");

/**
 * A duration as people read it: `45 s`, `12 min`, `2 h 20 min`.
 *
 * @example
 * ```ts
 * import { humanDuration } from "./size.ts";
 * console.assert(humanDuration(44.6) === "45 s" && humanDuration(725) === "12 min" && humanDuration(8400) === "2 h 20 min");
 * ```
 */
export function humanDuration(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/**
 * The size as one line (what `plan` prints first and `bench` before it starts).
 *
 * @example
 * ```ts
 * import { sizeLine } from "./size.ts";
 * const size = { cells: 60, rounds: 1260, pretrainings: 30, cachedPretrainings: 0, byol: 94_000,
 *   finetune: 1_545_600, inference: 3_000_000 };
 * console.assert(sizeLine(size) === "size: 60 cells, 1,260 fine-tuning rounds, 30 pre-trainings; image passes: " +
 *   "BYOL 94,000, fine-tuning 1,545,600, inference 3,000,000");
 * ```
 */
export function sizeLine(size: RunSize): string {
  const plural = (n: number) => `${n} pre-training${n === 1 ? "" : "s"}`;
  const pre = size.pretrainings + size.cachedPretrainings === 0
    ? "no pre-training"
    : size.pretrainings === 0
    ? `${plural(size.cachedPretrainings)} from the cache`
    : `${plural(size.pretrainings)}${
      size.cachedPretrainings ? ` (and ${size.cachedPretrainings} from the cache)` : ""
    }`;
  return `size: ${size.cells} cell${size.cells === 1 ? "" : "s"}, ${
    count(size.rounds)
  } fine-tuning rounds, ${pre}; ` +
    `image passes: BYOL ${count(size.byol)}, fine-tuning ${count(size.finetune)}, inference ${
      count(size.inference)
    }`;
}
