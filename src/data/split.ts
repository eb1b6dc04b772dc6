/**
 * Seeded partition of an archive into validation, test and pool sets, and the initial labelled set.
 *
 * @module
 */
import type { Rng } from "../rng.ts";

/** Sizes as counts (integers ≥ 1) or fractions in (0, 1); `pool: "rest"` takes what remains. */
export interface SplitSizes {
  /** Validation set. */
  readonly val: number;
  /** Test set. */
  readonly test: number;
  /** Pool, or what remains. */
  readonly pool: number | "rest";
}

/** Index sets (ascending) into the archive. */
export interface Split {
  readonly val: number[];
  readonly test: number[];
  readonly pool: number[];
}

/**
 * Resolve sizes against an archive of `n` samples. Fractions round to the nearest count. Throws when they do not fit.
 *
 * @example
 * ```ts
 * import { splitCounts } from "./split.ts";
 * console.assert(splitCounts(2100, { val: 0.25, test: 525, pool: "rest" }).pool === 1050);
 * ```
 */
export function splitCounts(n: number, sizes: SplitSizes): { val: number; test: number; pool: number } {
  const count = (v: number, what: string) => {
    const c = v < 1 ? Math.round(v * n) : v;
    if (!Number.isInteger(c) || c < 1) {
      throw new RangeError(`split.${what}: ${v} of ${n} samples gives ${c}; it must give at least 1 sample`);
    }
    return c;
  };
  const val = count(sizes.val, "val"), test = count(sizes.test, "test");
  const pool = sizes.pool === "rest" ? n - val - test : count(sizes.pool, "pool");
  if (val + test + pool > n || pool < 1) {
    throw new RangeError(
      `split: val ${val} + test ${test} + pool ${sizes.pool === "rest" ? "rest" : pool} does not fit ` +
        `${n} samples; make the sets smaller`,
    );
  }
  return { val, test, pool };
}

/**
 * Shuffle `0..n-1` with `rng` and cut it into val, test and pool (each returned sorted).
 *
 * @example
 * ```ts
 * import { Rng } from "../rng.ts";
 * import { splitArchive } from "./split.ts";
 * const s = splitArchive(10, { val: 2, test: 3, pool: "rest" }, Rng.root(1).fork("split"));
 * console.assert(s.val.length === 2 && s.test.length === 3 && s.pool.length === 5);
 * ```
 */
export function splitArchive(n: number, sizes: SplitSizes, rng: Rng): Split {
  const c = splitCounts(n, sizes);
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const asc = (a: number, b: number) => a - b;
  return {
    val: order.slice(0, c.val).sort(asc),
    test: order.slice(c.val, c.val + c.test).sort(asc),
    pool: order.slice(c.val + c.test, c.val + c.test + c.pool).sort(asc),
  };
}

/**
 * Draw the initial labelled set from the pool (sorted). Throws when the pool is too small.
 *
 * @example
 * ```ts
 * import { Rng } from "../rng.ts";
 * import { drawInitial } from "./split.ts";
 * console.assert(drawInitial([4, 5, 6, 7], 2, Rng.root(1).fork("initial")).length === 2);
 * ```
 */
export function drawInitial(pool: readonly number[], size: number, rng: Rng): number[] {
  if (size > pool.length) {
    throw new RangeError(`al.initial: ${size} samples requested but the pool holds only ${pool.length}`);
  }
  return rng.sample(pool, size).sort((a, b) => a - b);
}
