/**
 * Opaque sample ids: what the AL loop hands a query function instead of the archive's own ids, which carry the
 * scene class or file name (`airplane00`, `tenniscourt17`). Each id becomes `s` and 16 hex digits from a keyed
 * 64-bit hash of the id and the cell's seed: the same for a sample in every round, resume and run of a seed (so a
 * function that breaks ties by id stays deterministic), different between seeds, and telling nothing of the class.
 * The loop maps the selection back, so records and reports keep the real ids.
 *
 * Opaque, not secret: the hash is in this file, so a plug-in that guesses the archive's ids and re-implements it
 * could map tokens back. What it prevents is a function reading the class out of an id by accident or habit.
 *
 * @module
 */

/** murmur3's 32-bit finaliser: every input bit moves every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Two independent 32-bit lanes over the id's UTF-16 code units, keyed by the seed. */
function hash64(id: string, seed: number): [number, number] {
  let a = fmix32((seed >>> 0) ^ 0x9e3779b9), b = fmix32(Math.floor(seed / 2 ** 32) ^ 0x7f4a7c15 ^ a);
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x5bd1e995) >>> 0;
    b = (b ^ (b >>> 15)) >>> 0;
  }
  a = fmix32(a ^ id.length);
  b = fmix32(b ^ a);
  return [a, b];
}

/**
 * The opaque ids of `ids` for `seed`, in the same order. Throws, naming both ids, in the (about 2^-64 per pair)
 * event that two ids get one token.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { opaqueIds } from "./opaque_ids.ts";
 * const [a, b] = opaqueIds(["airplane00", "tenniscourt17"], 3);
 * assert.match(a!, /^s[0-9a-f]{16}$/);
 * assert.notEqual(a, b);
 * assert.deepEqual(opaqueIds(["airplane00"], 3), [a]);     // the same seed, the same token
 * assert.notDeepEqual(opaqueIds(["airplane00"], 4), [a]);  // another seed, another token
 * ```
 */
export function opaqueIds(ids: readonly string[], seed: number): string[] {
  const out = new Array<string>(ids.length);
  const seen = new Map<string, string>();
  ids.forEach((id, i) => {
    const [a, b] = hash64(id, seed);
    const token = `s${a.toString(16).padStart(8, "0")}${b.toString(16).padStart(8, "0")}`;
    const other = seen.get(token);
    if (other !== undefined && other !== id) {
      throw new Error(
        `opaque ids: ${JSON.stringify(other)} and ${JSON.stringify(id)} hash alike for seed ${seed}`,
      );
    }
    seen.set(token, id);
    out[i] = token;
  });
  return out;
}
