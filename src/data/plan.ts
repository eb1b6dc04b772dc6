/**
 * The plan of a scenario: per seed, the split, the minority-class removal and the initial labelled set. Labels
 * only; no pixels are touched.
 *
 * Streams (from `Rng.root(seed)`): `split`, `imbalance/classes`, `imbalance/remove/<class>`, `initial`. Arms never
 * appear in these paths, so every arm of a seed gets the same split and initial set.
 *
 * @module
 */
import { Rng } from "../rng.ts";
import { classCounts, type LabelTable } from "./dataset.ts";
import { type ImbalanceSpec, removeMinority } from "./imbalance.ts";
import { drawInitial, splitArchive, type SplitSizes } from "./split.ts";

/** One seed's plan (archive indices). */
export interface SeedPlan {
  /** The seed. */
  readonly seed: number;
  /** Validation set. */
  readonly val: number[];
  /** Test set. */
  readonly test: number[];
  /** The pool after removal. */
  readonly pool: number[];
  /** The minority classes drawn. */
  readonly removedClasses: string[];
  /** Pool samples removed. */
  readonly removed: number[];
  /** Minority-class subsets skipped as infeasible, with the reason. */
  readonly skippedClassSets: string[];
  /** The initial labelled set, drawn from the pool. */
  readonly initial: number[];
  /** Positives per class in the pool before and after removal. */
  readonly poolCountsBefore: number[];
  /** Positives per class in the pool after removal. */
  readonly poolCountsAfter: number[];
}

/**
 * Plan one seed of a scenario on a label table.
 *
 * @example
 * ```ts
 * import { planSeed } from "./plan.ts";
 * import { syntheticLabels } from "./synthetic.ts";
 * const table = syntheticLabels({ size: 210 });
 * const p = planSeed(table, { split: { val: 50, test: 50, pool: "rest" }, al: { initial: 10 } }, 0);
 * console.assert(p.pool.length === 110 && p.initial.length === 10);
 * ```
 */
export function planSeed(
  table: LabelTable,
  scenario: {
    split: SplitSizes;
    imbalance?: ImbalanceSpec | undefined;
    al: { initial: number; batch?: number; iterations?: number | undefined; budget?: number | undefined };
  },
  seed: number,
): SeedPlan {
  const root = Rng.root(seed);
  const split = splitArchive(table.ids.length, scenario.split, root.fork("split"));
  const removal = scenario.imbalance
    ? removeMinority(table, split.pool, scenario.imbalance, root)
    : { classes: [], removed: [], pool: split.pool, skipped: [] };
  const initial = drawInitial(removal.pool, scenario.al.initial, root.fork("initial"));
  checkPoolArithmetic(scenario.al, removal.pool.length);
  return {
    seed,
    val: split.val,
    test: split.test,
    pool: removal.pool,
    removedClasses: removal.classes,
    removed: removal.removed,
    skippedClassSets: removal.skipped,
    initial,
    poolCountsBefore: classCounts(table, split.pool),
    poolCountsAfter: classCounts(table, removal.pool),
  };
}

/**
 * The AL loop must never run out of pool: `al.budget`, or `al.initial + al.iterations × al.batch`, must not exceed
 * the pool left after imbalance removal. Throws a `RangeError` naming the fields and the pool size, and saying
 * the pool is the one after imbalance removal unless `afterRemoval` is false (a check before the removal).
 *
 * @example
 * ```ts
 * import { checkPoolArithmetic } from "./plan.ts";
 * checkPoolArithmetic({ initial: 40, batch: 20, iterations: 20 }, 440);
 * let threw = false;
 * try { checkPoolArithmetic({ initial: 40, batch: 20, iterations: 20 }, 439); } catch { threw = true; }
 * console.assert(threw);
 * ```
 */
export function checkPoolArithmetic(
  al: { initial: number; batch?: number; iterations?: number | undefined; budget?: number | undefined },
  pool: number,
  afterRemoval = true,
): void {
  const which = afterRemoval ? " (after imbalance removal)" : "";
  if (al.budget !== undefined) {
    if (al.budget > pool) {
      throw new RangeError(
        `al.budget: ${al.budget} labelled samples exceed the pool of ${pool} samples${which}; ` +
          `lower al.budget to at most ${pool}`,
      );
    }
  } else if (al.batch !== undefined && al.iterations !== undefined) {
    const end = al.initial + al.iterations * al.batch;
    if (end > pool) {
      throw new RangeError(
        `al: initial + iterations × batch = ${al.initial} + ${al.iterations} × ${al.batch} = ${end} labelled ` +
          `samples exceed the pool of ${pool} samples${which}; lower al.iterations or al.batch`,
      );
    }
  }
}

/** The `plan --json` shape: ids are the dataset's sample names. */
export interface PlanJson {
  /** The scenario id. */
  scenario: string;
  /** Its hash. */
  hash: string;
  /** One plan per seed, with sample names instead of indices. */
  seeds: {
    seed: number;
    val: string[];
    test: string[];
    pool: string[];
    removed: { classes: string[]; ids: string[] };
    initial: string[];
  }[];
}

/**
 * Convert seed plans to the exported JSON shape.
 *
 * @example
 * ```ts
 * import { planJson, planSeed } from "./plan.ts";
 * import { syntheticLabels } from "./synthetic.ts";
 * const table = syntheticLabels({ size: 42 });
 * const p = planSeed(table, { split: { val: 10, test: 10, pool: "rest" }, al: { initial: 5 } }, 1);
 * const j = planJson("s", "h", table, [p]);
 * console.assert(j.seeds[0]!.initial.length === 5 && typeof j.seeds[0]!.initial[0] === "string");
 * ```
 */
export function planJson(scenario: string, hash: string, table: LabelTable, plans: SeedPlan[]): PlanJson {
  const names = (idx: number[]) => idx.map((i) => table.ids[i]!);
  return {
    scenario,
    hash,
    seeds: plans.map((p) => ({
      seed: p.seed,
      val: names(p.val),
      test: names(p.test),
      pool: names(p.pool),
      removed: { classes: p.removedClasses, ids: names(p.removed) },
      initial: names(p.initial),
    })),
  };
}
