/**
 * The dataset abstraction: sample ids, multi-hot labels, class names, and RGB images at a square resolution kept as
 * compact bytes and turned into tensors batch by batch.
 *
 * Planning (splits, imbalance) needs labels only, so a {@linkcode DatasetSource} loads labels and pixels
 * separately.
 *
 * @module
 */

/** Ids, class names and multi-hot labels: everything but pixels. */
export interface LabelTable {
  /** Sample names, unique (UCMerced: file names without extension). */
  readonly ids: readonly string[];
  /** Class names in label-column order. */
  readonly classNames: readonly string[];
  /** Row-major `N × C` multi-hot labels (0/1). */
  readonly labels: Uint8Array;
}

/** RGB images of one square resolution, row-major `N × R × R × 3` bytes in the order of the label table's ids. */
export interface ImageTable {
  /** Side length R of every image, in pixels. */
  readonly resolution: number;
  /** `N × R × R × 3` RGB bytes. */
  readonly pixels: Uint8Array;
}

/** A dataset: labels now, images on demand. */
export interface DatasetSource {
  /** `synthetic`, `ucmerced` or `folder`. */
  readonly kind: string;
  /** Labels (cheap). */
  labels(): Promise<LabelTable>;
  /** Images at `resolution` (decoded, resized; may be cached). */
  images(resolution: number, onProgress?: (done: number, total: number) => void): Promise<ImageTable>;
  /** A content digest of the dataset's files or generator parameters, for cache keys and result records. */
  fingerprint(): Promise<string>;
}

/**
 * Positives per class.
 *
 * @example
 * ```ts
 * import { classCounts } from "./dataset.ts";
 * const t = { ids: ["a", "b"], classNames: ["x", "y"], labels: new Uint8Array([1, 0, 1, 1]) };
 * console.assert(classCounts(t).join() === "2,1");
 * ```
 */
export function classCounts(table: LabelTable, rows?: Iterable<number>): number[] {
  const c = table.classNames.length;
  const counts = new Array<number>(c).fill(0);
  const it = rows ?? table.ids.keys();
  for (const i of it) {
    for (let j = 0; j < c; j++) counts[j]! += table.labels[i * c + j] as number;
  }
  return counts;
}

/**
 * Row `i`'s labels as an array of 0/1.
 *
 * @example
 * ```ts
 * import { labelRow } from "./dataset.ts";
 * const t = { ids: ["a", "b"], classNames: ["x", "y"], labels: new Uint8Array([1, 0, 1, 1]) };
 * console.assert(labelRow(t, 1).join() === "1,1");
 * ```
 */
export function labelRow(table: LabelTable, i: number): number[] {
  const c = table.classNames.length;
  return Array.from(table.labels.subarray(i * c, (i + 1) * c));
}

/**
 * The labels of rows `indices`, row-major `indices.length × C`.
 *
 * @example
 * ```ts
 * import { labelRows } from "./dataset.ts";
 * const t = { ids: ["a", "b"], classNames: ["x", "y"], labels: new Uint8Array([1, 0, 0, 1]) };
 * console.assert(labelRows(t, [1, 0]).join() === "0,1,1,0");
 * ```
 */
export function labelRows(
  table: Pick<LabelTable, "classNames" | "labels">,
  indices: readonly number[],
): Uint8Array {
  const c = table.classNames.length;
  const out = new Uint8Array(indices.length * c);
  indices.forEach((i, k) => out.set(table.labels.subarray(i * c, (i + 1) * c), k * c));
  return out;
}

/**
 * Check a label table's invariants: unique ids, label size `N × C`, 0/1 values. Throws naming the first problem.
 *
 * @example
 * ```ts
 * import { validateLabelTable } from "./dataset.ts";
 * validateLabelTable({ ids: ["a"], classNames: ["x"], labels: new Uint8Array([1]) });
 * ```
 */
export function validateLabelTable(t: LabelTable): void {
  const n = t.ids.length, c = t.classNames.length;
  if (t.labels.length !== n * c) {
    throw new Error(`label table: expected ${n} x ${c} = ${n * c} labels, got ${t.labels.length}`);
  }
  const seen = new Set<string>();
  for (const id of t.ids) {
    if (seen.has(id)) throw new Error(`label table: duplicate sample id ${JSON.stringify(id)}`);
    seen.add(id);
  }
  for (let k = 0; k < t.labels.length; k++) {
    const v = t.labels[k] as number;
    if (v > 1) {
      throw new Error(
        `label table: label of ${t.ids[Math.floor(k / c)]} / ${t.classNames[k % c]} is ${v}, not 0 or 1`,
      );
    }
  }
}
