/**
 * The built-in query functions' names, without loading them (the scenario schema lists them in a description;
 * the registry checks it holds exactly these). Light on purpose: no engine, no sandbox.
 *
 * @module
 */

/** The names an arm's `query` may give for a built-in function. */
export const BUILTIN_QUERY_NAMES = [
  "random",
  "mge-clustering",
  "badge",
  "uncertainty",
  "coreset",
  "mmc",
  "adaptive",
  "cvirs",
] as const;

/** A built-in query function's name. */
export type BuiltinQueryName = typeof BUILTIN_QUERY_NAMES[number];
