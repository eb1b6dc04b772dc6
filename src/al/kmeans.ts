/**
 * k-means with k-means++ seeding (Arthur & Vassilvitskii 2007) and Lloyd iterations, on row-major float arrays.
 * Memory is linear in the number of points: no pairwise distance matrix is ever formed.
 *
 * @module
 */
import type { Rng } from "../rng.ts";

/** Squared Euclidean distance between row `i` of `a` and row `j` of `b` (both with `d` columns). */
function dist2(
  a: Float32Array | Float64Array,
  i: number,
  b: Float32Array | Float64Array,
  j: number,
  d: number,
): number {
  let s = 0;
  const oa = i * d, ob = j * d;
  for (let k = 0; k < d; k++) {
    const t = a[oa + k]! - b[ob + k]!;
    s += t * t;
  }
  return s;
}

/**
 * k-means++ seeding: the first centre uniformly, each next one with probability proportional to the squared
 * distance to the nearest chosen centre. Returns point indices (distinct as long as there are k distinct points;
 * when all remaining points coincide with centres, the next unused index is taken).
 *
 * @example
 * ```ts
 * import { Rng } from "../rng.ts";
 * import { kmeansPlusPlus } from "./kmeans.ts";
 * const pts = new Float32Array([0, 0, 0, 1, 10, 10, 10, 11]);
 * const c = kmeansPlusPlus(pts, 4, 2, 2, Rng.root(0));
 * console.assert(c.length === 2 && new Set(c).size === 2);
 * ```
 */
export function kmeansPlusPlus(points: Float32Array, n: number, d: number, k: number, rng: Rng): number[] {
  if (k > n) throw new RangeError(`kmeans++: cannot choose ${k} centres from ${n} points`);
  const centres = [rng.int(n)];
  const best = new Float64Array(n).fill(Infinity);
  const chosen = new Uint8Array(n);
  chosen[centres[0]!] = 1;
  while (centres.length < k) {
    const last = centres[centres.length - 1]!;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const dd = dist2(points, i, points, last, d);
      if (dd < best[i]!) best[i] = dd;
      if (!chosen[i]) total += best[i]!;
    }
    let pick = -1;
    if (total > 0) {
      let r = rng.next() * total;
      for (let i = 0; i < n; i++) {
        if (chosen[i]) continue;
        r -= best[i]!;
        if (r < 0) {
          pick = i;
          break;
        }
      }
      if (pick < 0) { for (let i = n - 1; i >= 0 && pick < 0; i--) if (!chosen[i] && best[i]! > 0) pick = i; }
    }
    if (pick < 0) pick = chosen.indexOf(0); // all remaining points coincide with centres
    chosen[pick] = 1;
    centres.push(pick);
  }
  return centres;
}

/** A clustering: an assignment per point and a centroid per cluster. */
export interface Clustering {
  /** The cluster of each point. */
  readonly assignments: Int32Array;
  /** Row-major `k × d` centroids. */
  readonly centroids: Float64Array;
  /** Lloyd iterations run. */
  readonly iterations: number;
}

/**
 * Lloyd's algorithm from k-means++ seeds until assignments stop changing (or `maxIterations`). An empty cluster
 * is re-seeded with the point farthest from its current centroid, so every cluster ends non-empty when there are
 * at least k distinct points.
 *
 * @example
 * ```ts
 * import { Rng } from "../rng.ts";
 * import { kmeans } from "./kmeans.ts";
 * const pts = new Float32Array([0, 0, 0, 1, 10, 10, 10, 11]);
 * const c = kmeans(pts, 4, 2, 2, Rng.root(0));
 * console.assert(c.assignments[0] === c.assignments[1] && c.assignments[0] !== c.assignments[2]);
 * ```
 */
export function kmeans(
  points: Float32Array,
  n: number,
  d: number,
  k: number,
  rng: Rng,
  maxIterations = 100,
): Clustering {
  const seeds = kmeansPlusPlus(points, n, d, k, rng);
  const centroids = new Float64Array(k * d);
  seeds.forEach((p, c) => {
    for (let j = 0; j < d; j++) centroids[c * d + j] = points[p * d + j]!;
  });
  const assignments = new Int32Array(n).fill(-1);
  const counts = new Int32Array(k);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    let changed = false;
    const nearestDist = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let bestC = 0, bestD = Infinity;
      for (let c = 0; c < k; c++) {
        const dd = dist2(points, i, centroids, c, d);
        if (dd < bestD) [bestD, bestC] = [dd, c];
      }
      nearestDist[i] = bestD;
      if (assignments[i] !== bestC) {
        assignments[i] = bestC;
        changed = true;
      }
    }
    // Empty clusters take the point farthest from its centroid (whose own cluster keeps at least one point).
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[assignments[i]!]!++;
    for (let c = 0; c < k; c++) {
      if (counts[c]! > 0) continue;
      let far = -1, farD = -1;
      for (let i = 0; i < n; i++) {
        if (counts[assignments[i]!]! > 1 && nearestDist[i]! > farD) [far, farD] = [i, nearestDist[i]!];
      }
      if (far < 0) break; // fewer distinct points than clusters
      counts[assignments[far]!]!--;
      assignments[far] = c;
      counts[c] = 1;
      nearestDist[far] = 0;
      changed = true;
    }
    centroids.fill(0);
    for (let i = 0; i < n; i++) {
      const c = assignments[i]!;
      for (let j = 0; j < d; j++) centroids[c * d + j]! += points[i * d + j]!;
    }
    for (let c = 0; c < k; c++) {
      if (counts[c]! === 0) continue;
      for (let j = 0; j < d; j++) centroids[c * d + j]! /= counts[c]!;
    }
    if (!changed && iterations > 0) break;
  }
  return { assignments, centroids, iterations };
}
