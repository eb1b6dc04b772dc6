/**
 * What a cell records about its split, so that an outside check needs only the label file: for each set of a
 * seed's plan (test, validation, pool after removal, removed, initial labelled) its size and the SHA-256 of its
 * image ids — sorted by Unicode code point (the order of Python's `sorted`), joined with `\n`, no final newline,
 * UTF-8 — and the ids themselves of every set but the pool (which is the archive less the other sets but the
 * initial one, so its hash checks the rest).
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { LabelTable } from "./dataset.ts";
import type { SeedPlan } from "./plan.ts";

/** One set of image ids: its size, hash and (for some sets) the ids. */
export interface IdSet {
  /** Number of images. */
  readonly n: number;
  /** SHA-256 (hex) of the ids sorted by code point and joined with `\n`. */
  readonly sha256: string;
  /** The ids, sorted by code point (every set but `pool`). */
  readonly ids?: readonly string[];
}

/** A seed's split as a cell records it. */
export interface SplitRecord {
  /** How each `sha256` is computed, spelled out for readers without the code. */
  readonly hashRule: typeof HASH_RULE;
  /** The test set. */
  readonly test: IdSet;
  /** The validation set. */
  readonly val: IdSet;
  /** The pool the AL draws from, after removal (the initial set included). */
  readonly pool: IdSet;
  /** Pool samples removed to make the minority classes rarer (empty in Scenario 1). */
  readonly removed: IdSet;
  /** The initial labelled set (a subset of the pool). */
  readonly initial: IdSet;
  /** The minority classes drawn for removal (empty when nothing was removed). */
  readonly removedClasses: readonly string[];
}

/** The rule every `sha256` of a {@linkcode SplitRecord} follows. */
export const HASH_RULE = "sha256 of the ids sorted by code point, joined with \\n, UTF-8, no final newline";

const encoder = new TextEncoder();

/** Compare by code point: UTF-8 byte order is code-point order (JavaScript's `<` compares UTF-16 units). */
function byCodePoint(a: string, b: string): number {
  const x = encoder.encode(a), y = encoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/**
 * The ids sorted by code point.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sortedIds } from "./split_record.ts";
 * assert.deepStrictEqual(sortedIds(["b", "a10", "a2"]), ["a10", "a2", "b"]);
 * ```
 */
export function sortedIds(ids: readonly string[]): string[] {
  return [...ids].sort(byCodePoint);
}

/**
 * SHA-256 (hex) of a set of ids by {@linkcode HASH_RULE}; the order of `ids` does not matter.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { createHash } from "node:crypto";
 * import { idSetHash } from "./split_record.ts";
 * assert.strictEqual(idSetHash(["b", "a"]), createHash("sha256").update("a\nb").digest("hex"));
 * ```
 */
export function idSetHash(ids: readonly string[]): string {
  return hashOfSorted(sortedIds(ids));
}

/** SHA-256 (hex) of ids already in code-point order, joined with `\n`. */
function hashOfSorted(sorted: readonly string[]): string {
  return createHash("sha256").update(sorted.join("\n"), "utf8").digest("hex");
}

function idSet(table: LabelTable, rows: readonly number[], withIds: boolean): IdSet {
  const ids = sortedIds(rows.map((r) => {
    const id = table.ids[r];
    if (id === undefined) throw new RangeError(`splitRecord: row ${r} is not in the label table`);
    return id;
  }));
  const sha256 = hashOfSorted(ids);
  return withIds ? { n: ids.length, sha256, ids } : { n: ids.length, sha256 };
}

/**
 * The split record of one seed's plan.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { planSeed } from "./plan.ts";
 * import { syntheticLabels } from "./synthetic.ts";
 * import { splitRecord } from "./split_record.ts";
 * const table = syntheticLabels({ size: 210 });
 * const plan = planSeed(table, { split: { val: 50, test: 50, pool: "rest" }, al: { initial: 10 } }, 0);
 * const r = splitRecord(plan, table);
 * assert.strictEqual(r.test.n, 50);
 * assert.strictEqual(r.initial.ids?.length, 10);
 * assert.strictEqual(r.pool.ids, undefined);
 * assert.strictEqual(r.val.ids?.length, 50);
 * ```
 */
export function splitRecord(
  plan: Pick<SeedPlan, "test" | "val" | "pool" | "removed" | "initial" | "removedClasses">,
  table: LabelTable,
): SplitRecord {
  return {
    hashRule: HASH_RULE,
    test: idSet(table, plan.test, true),
    val: idSet(table, plan.val, true),
    pool: idSet(table, plan.pool, false),
    removed: idSet(table, plan.removed, true),
    initial: idSet(table, plan.initial, true),
    removedClasses: plan.removed.length ? [...plan.removedClasses] : [],
  };
}
