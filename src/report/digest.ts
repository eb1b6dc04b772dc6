/**
 * The result digest: SHA-256 of the canonical JSON of what a run computed — per cell, the metrics and selected ids
 * of every iteration — and nothing that depends on the clock (durations) or the machine.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../canonical_json.ts";
import type { CellRecord } from "../records/records.ts";

/**
 * The canonical content of cells (sorted by key) that the digest covers.
 *
 * @example
 * ```ts
 * import { digestContent } from "./digest.ts";
 * console.assert(digestContent([]).length === 0);
 * ```
 */
export function digestContent(records: readonly CellRecord[]) {
  return [...records].sort((a, b) => (a.key < b.key ? -1 : 1)).map((r) => ({
    key: r.key,
    scenarioHash: r.scenarioHash,
    complete: r.complete,
    iterations: r.iterations.map((it) => ({
      iteration: it.iteration,
      labelled: it.labelled,
      selected: it.selected,
      test: it.test,
      // Present only where the validation set was scored (always, in records before it became opt-in), so
      // older records keep their digest.
      ...(it.val ? { val: it.val } : {}),
      classCounts: it.classCounts,
      trainLoss: it.trainLoss,
    })),
  }));
}

/**
 * The digest of cell records.
 *
 * @example
 * ```ts
 * import { resultDigest } from "./digest.ts";
 * console.assert(resultDigest([]).length === 64);
 * ```
 */
export function resultDigest(records: readonly CellRecord[]): string {
  return createHash("sha256").update(canonicalJson(digestContent(records))).digest("hex");
}

/**
 * The first place two digests' contents differ, as `path: a vs b`, or `null` when equal.
 *
 * @example
 * ```ts
 * import { firstDifference } from "./digest.ts";
 * console.assert(firstDifference({ a: [1, 2] }, { a: [1, 3] }) === "a[1]: 2 vs 3");
 * ```
 */
export function firstDifference(a: unknown, b: unknown, path = ""): string | null {
  if (
    typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || a === null || b === null ||
    typeof a !== "object"
  ) {
    return canonicalJson(a) === canonicalJson(b)
      ? null
      : `${path || "(root)"}: ${canonicalJson(a)} vs ${canonicalJson(b)}`;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  const ao = a as Record<string, unknown>, bo = b as Record<string, unknown>;
  for (const k of [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort()) {
    const d = firstDifference(ao[k], bo[k], path ? `${path}.${k}` : k);
    if (d) return d;
  }
  return null;
}
