/**
 * The flags of the commands that touch files outside the code (bench, compare, plan, report, data), defined once:
 * each command parses its arguments with its table, and the launcher (`launch.ts`) reads the same table to find
 * the paths a run needs before it grants them. Light on purpose: the launcher imports this without the engines.
 *
 * @module
 */

/** `deno task bench`. */
export const BENCH_FLAGS = {
  scenario: { type: "string", multiple: true },
  out: { type: "string" },
  data: { type: "string" },
  backend: { type: "string" },
  seeds: { type: "string" },
  shard: { type: "string" },
  jobs: { type: "string" },
  cache: { type: "string" },
  set: { type: "string", multiple: true },
  "log-json": { type: "string" },
  preregister: { type: "string" },
  "print-env": { type: "boolean" },
  "no-estimate": { type: "boolean" },
  quiet: { type: "boolean" },
  debug: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** `deno task compare`. */
export const COMPARE_FLAGS = {
  scenario: { type: "string" },
  against: { type: "string" },
  seeds: { type: "string" },
  out: { type: "string" },
  jobs: { type: "string" },
  backend: { type: "string" },
  data: { type: "string" },
  cache: { type: "string" },
  set: { type: "string", multiple: true },
  options: { type: "string" },
  sweep: { type: "string", multiple: true },
  "until-decided": { type: "boolean" },
  "max-seeds": { type: "string" },
  batch: { type: "string" },
  margin: { type: "string" },
  preregister: { type: "string" },
  shard: { type: "string" },
  "no-estimate": { type: "boolean" },
  json: { type: "boolean" },
  quiet: { type: "boolean" },
  debug: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** `deno task plan`. */
export const PLAN_FLAGS = {
  scenario: { type: "string" },
  data: { type: "string" },
  seeds: { type: "string" },
  variant: { type: "string" },
  set: { type: "string", multiple: true },
  backend: { type: "string" },
  jobs: { type: "string" },
  cache: { type: "string" },
  "no-estimate": { type: "boolean" },
  json: { type: "boolean" },
  debug: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** `deno task report DIR`. */
export const REPORT_FLAGS = {
  seeds: { type: "string" },
  preregister: { type: "string" },
  data: { type: "string" },
  cache: { type: "string" },
  debug: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** `deno task data ucmerced`. */
export const DATA_FLAGS = {
  from: { type: "string" },
  labels: { type: "string" },
  out: { type: "string" },
  "images-url": { type: "string" },
  "labels-url": { type: "string" },
  debug: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;
