/**
 * The built-in query functions, by name (plug-ins are loaded by `plugin/loader.ts`).
 *
 * @module
 */
import type { QueryFunction } from "../query.ts";
import type { BuiltinQueryName } from "./names.ts";
import { random } from "./random.ts";
import { mgeClustering } from "./mge_clustering.ts";
import { badge } from "./badge.ts";
import { uncertainty } from "./uncertainty.ts";
import { coreset } from "./coreset.ts";
import { mmc } from "./mmc.ts";
import { adaptive } from "./adaptive.ts";
import { cvirs } from "./cvirs.ts";

/**
 * Built-in query functions by name: the paper's MGE+Clustering and random baseline, single-label-style baselines
 * (uncertainty, BADGE, core-set) and multi-label active-learning baselines from the literature (MMC, Adaptive,
 * CVIRS; each module states its paper, equation and how it was adapted to probabilities without labels).
 */
export const BUILTIN_QUERY_FUNCTIONS: Readonly<Record<string, QueryFunction>> = {
  random,
  "mge-clustering": mgeClustering,
  badge,
  uncertainty,
  coreset,
  mmc,
  adaptive,
  cvirs,
} satisfies Record<BuiltinQueryName, QueryFunction>; // every name of names.ts, and only those
