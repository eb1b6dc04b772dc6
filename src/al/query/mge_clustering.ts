/**
 * `mge-clustering`: Measuring Magnitude of approximated Gradient Embeddings + Clustering (Möllenbrok & Demir),
 * the paper's query function.
 *
 * 1. Uncertainty of each unlabelled sample: the norm of the last-layer gradient of eq. (2) under 0.5-threshold
 *    pseudo-labels (closed form, see `gradient.ts`).
 * 2. Take the m most uncertain samples (m > b; default m = min(|U|, 10·b): with the paper's b = 20 and a
 *    1050-image pool this keeps roughly the top fifth, uncertain enough to matter and numerous enough for 20
 *    clusters to spread over the feature space).
 * 3. Cluster their penultimate features into b clusters with k-means++ seeding and Lloyd iterations.
 * 4. From each cluster pick its most uncertain sample. If fewer than b clusters are non-empty (duplicate
 *    features), the remaining picks are the most uncertain candidates not yet picked.
 *
 * Options: `m` (absolute) or `mFactor` (m = mFactor·b, default 10); `includeBias` (default false).
 *
 * @module
 */
import type { OptionSchema, QueryFunction } from "../query.ts";
import { numberOption, schemaDefaults } from "../query.ts";
import { kmeans } from "../kmeans.ts";
import { gradientNorms } from "./gradient.ts";

/** MGE+Clustering's options (its optionSchema). */
export type MgeOptions = {
  readonly m?: number;
  readonly mFactor?: number;
  readonly includeBias?: boolean;
};

const MGE_OPTIONS: OptionSchema = {
  m: {
    type: "number",
    min: 1,
    description:
      "Candidates clustered, absolute (rounded, clamped to [b, |U|]); overrides mFactor when given.",
  },
  mFactor: {
    type: "number",
    min: 1,
    default: 10,
    description: "Candidates clustered as a multiple of b: m = mFactor·b (clamped to [b, |U|]).",
  },
  includeBias: {
    type: "boolean",
    default: false,
    description:
      "Include the last layer's bias gradient in the uncertainty (the paper uses the weights only).",
  },
};

/**
 * MGE+Clustering.
 *
 * @example
 * ```ts
 * import { Rng } from "../../rng.ts";
 * import { mgeClustering } from "./mge_clustering.ts";
 * const r = await mgeClustering.select({
 *   unlabelled: { ids: ["a", "b", "c", "d"], probs: new Float32Array([0.5, 0.9, 0.6, 0.1]), features: new Float32Array([0, 1, 2, 3]) },
 *   numClasses: 1, featureDim: 1, budget: 2, rng: Rng.root(0), options: {},
 * });
 * console.assert(r.selected.length === 2);
 * ```
 */
export const mgeClustering: QueryFunction<MgeOptions> = {
  name: "mge-clustering",
  description:
    "top-m last-layer gradient norms under pseudo-labels, k-means++ into b clusters, most uncertain per cluster",
  optionSchema: MGE_OPTIONS,
  defaults: schemaDefaults(MGE_OPTIONS),
  needs: ["probs", "features"],
  select({ unlabelled, numClasses, featureDim, budget, rng, options }) {
    const n = unlabelled.ids.length, b = Math.min(budget, n);
    const norms = gradientNorms(
      unlabelled.probs,
      unlabelled.features,
      n,
      numClasses,
      featureDim,
      options.includeBias === true,
    );
    const scores: Record<string, number> = {};
    unlabelled.ids.forEach((id, i) => (scores[id] = norms[i]!));
    if (b === n) return { selected: [...unlabelled.ids], scores };
    const m = Math.min(
      n,
      Math.max(
        b,
        Math.round(
          options.m !== undefined
            ? numberOption(options, "m", b, "mge-clustering", 1)
            : numberOption(options, "mFactor", 10, "mge-clustering", 1) * b,
        ),
      ),
    );
    // Most uncertain first; ties broken by position so the order is total.
    const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => norms[y]! - norms[x]! || x - y);
    const candidates = order.slice(0, m);
    const feats = new Float32Array(m * featureDim);
    candidates.forEach((i, k) =>
      feats.set(unlabelled.features.subarray(i * featureDim, (i + 1) * featureDim), k * featureDim)
    );
    const { assignments, iterations } = kmeans(feats, m, featureDim, b, rng);
    const bestOf = new Map<number, number>(); // cluster -> candidate position (candidates are sorted by uncertainty)
    for (let k = 0; k < m; k++) if (!bestOf.has(assignments[k]!)) bestOf.set(assignments[k]!, k);
    const picked = new Set([...bestOf.values()]);
    for (let k = 0; picked.size < b && k < m; k++) picked.add(k);
    const selected = [...picked].sort((x, y) => x - y).map((k) => unlabelled.ids[candidates[k]!]!);
    const clusters: Record<string, number> = {};
    candidates.forEach((i, k) => (clusters[unlabelled.ids[i]!] = assignments[k]!));
    return {
      selected,
      scores,
      clusters,
      diagnostics: { m, kmeansIterations: iterations, clustersUsed: bestOf.size },
    };
  },
};
