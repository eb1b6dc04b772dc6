/**
 * Class-imbalance scenarios: remove `n` pool samples associated with each of `k` minority classes drawn from a
 * candidate list, never drawing a forbidden pair together (the paper: dock with ship).
 *
 * The allowed k-subsets of the candidates are put in a random order by the stream `imbalance/classes`, and the
 * first subset whose removal is feasible is taken. Samples are removed class by class, in the subset's order,
 * each class from its own stream `imbalance/remove/<class>`, among the pool samples still present that are
 * positive for it. A subset is infeasible when a class has fewer than `n` positives left: on UCMerced a random
 * 1050-image pool holds about 50 positives of each minority class (100 in the archive), and in about 1 seed in
 * 20 one of them falls below 40, so Scenario 3 must skip that subset. Since the order does not depend on `n`,
 * a seed draws the same classes for every removal size that the first subset allows (Scenarios 2 and 3 then
 * differ only in how many samples go), and skipped subsets are reported.
 *
 * @module
 */
import type { Rng } from "../rng.ts";
import type { LabelTable } from "./dataset.ts";

/** What to remove. */
export interface ImbalanceSpec {
  /** Classes that may be drawn as minority classes. */
  readonly candidates: readonly string[];
  /** How many to draw. */
  readonly classes: number;
  /** Pool samples removed per drawn class. */
  readonly removePerClass: number;
  /** Pairs never drawn together. */
  readonly forbiddenPairs: readonly (readonly [string, string])[];
}

/** What was removed. */
export interface Removal {
  /** The drawn minority classes, in draw order (empty when nothing is removed). */
  readonly classes: string[];
  /** Removed archive indices (sorted). */
  readonly removed: number[];
  /** The pool after removal (sorted). */
  readonly pool: number[];
  /** Subsets tried before the chosen one, and why each was infeasible. */
  readonly skipped: string[];
}

function combinations(n: number, k: number): number[][] {
  const out: number[][] = [];
  const cur: number[] = [];
  const rec = (start: number) => {
    if (cur.length === k) {
      out.push([...cur]);
      return;
    }
    for (let i = start; i <= n - (k - cur.length); i++) {
      cur.push(i);
      rec(i + 1);
      cur.pop();
    }
  };
  rec(0);
  return out;
}

/**
 * The allowed k-subsets of the candidates (as class names), in lexicographic order of candidate positions.
 *
 * @example
 * ```ts
 * import { allowedClassSets } from "./imbalance.ts";
 * const sets = allowedClassSets(["dock", "ship", "sea"], 2, [["dock", "ship"]]);
 * console.assert(sets.length === 2 && !sets.some((s) => s.includes("dock") && s.includes("ship")));
 * ```
 */
export function allowedClassSets(
  candidates: readonly string[],
  k: number,
  forbiddenPairs: readonly (readonly [string, string])[],
): string[][] {
  if (k > candidates.length) {
    throw new RangeError(`imbalance: cannot draw ${k} classes from ${candidates.length} candidates`);
  }
  const bad = (set: string[]) => forbiddenPairs.some(([a, b]) => set.includes(a) && set.includes(b));
  return combinations(candidates.length, k).map((idx) => idx.map((i) => candidates[i]!)).filter((s) =>
    !bad(s)
  );
}

/**
 * Apply an imbalance spec to a pool. Throws, saying why, when the request cannot be met.
 *
 * @example
 * ```ts
 * import { Rng } from "../rng.ts";
 * import { removeMinority } from "./imbalance.ts";
 * const table = { ids: ["a", "b", "c"], classNames: ["x", "y"], labels: new Uint8Array([1, 0, 1, 1, 0, 1]) };
 * const r = removeMinority(table, [0, 1, 2], { candidates: ["x"], classes: 1, removePerClass: 1, forbiddenPairs: [] }, Rng.root(1));
 * console.assert(r.classes[0] === "x" && r.removed.length === 1 && r.pool.length === 2);
 * ```
 */
export function removeMinority(
  table: LabelTable,
  pool: readonly number[],
  spec: ImbalanceSpec,
  rng: Rng,
): Removal {
  const c = table.classNames.length;
  const named = [
    ...spec.candidates.map((name) => ["imbalance.candidates", name] as const),
    ...spec.forbiddenPairs.flat().map((name) => ["imbalance.forbiddenPairs", name] as const),
  ];
  for (const [field, name] of named) {
    if (!table.classNames.includes(name)) {
      throw new RangeError(
        `${field}: ${JSON.stringify(name)} is not a class of this dataset (${table.classNames.join(", ")})`,
      );
    }
  }
  const sets = allowedClassSets(spec.candidates, spec.classes, spec.forbiddenPairs);
  if (sets.length === 0) {
    throw new RangeError(
      `imbalance: every set of ${spec.classes} classes from [${
        spec.candidates.join(", ")
      }] contains a forbidden ` +
        "pair; add candidates, draw fewer classes or drop a forbidden pair",
    );
  }
  const order = rng.fork("imbalance/classes").shuffle(sets.map((_, i) => i));
  if (spec.removePerClass === 0) {
    return { classes: [], removed: [], pool: [...pool].sort((a, b) => a - b), skipped: [] };
  }
  const skipped: string[] = [];
  for (const k of order) {
    const drawn = sets[k]!;
    const present = new Set(pool);
    const removed: number[] = [];
    let problem = "";
    for (const name of drawn) {
      const j = table.classNames.indexOf(name);
      const positives = [...present].sort((a, b) => a - b).filter((i) => table.labels[i * c + j] === 1);
      if (positives.length < spec.removePerClass) {
        problem = `only ${positives.length} ${name} positives left in the pool`;
        break;
      }
      for (const i of rng.fork(`imbalance/remove/${name}`).sample(positives, spec.removePerClass)) {
        present.delete(i);
        removed.push(i);
      }
    }
    if (!problem) {
      return {
        classes: drawn,
        removed: removed.sort((a, b) => a - b),
        pool: [...present].sort((a, b) => a - b),
        skipped,
      };
    }
    skipped.push(`${drawn.join("+")}: ${problem}`);
  }
  throw new RangeError(
    `imbalance: no allowed set of ${spec.classes} candidate classes has ${spec.removePerClass} positives of each ` +
      `left in the pool (e.g. ${skipped[0]}); lower removePerClass or enlarge the pool`,
  );
}
