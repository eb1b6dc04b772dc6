/**
 * Running `src/cli/bench.ts` as a user would, for the end-to-end tests: a child Deno with the task's kind of
 * permissions, results and cache in a test's own folder.
 */

import type { WebGpuProbe } from "../../src/backend/webgpu.ts";

/** The repository root. */
export const ROOT = new URL("../..", import.meta.url).pathname;

/** What a bench run left: exit code, stdout, stderr and wall time. */
export interface BenchRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

/**
 * `bench --scenario FILE --out OUT --cache CACHE --quiet EXTRA…`, spawned (so several can run at once).
 *
 * @example
 * ```ts ignore
 * import { ROOT, spawnBench } from "./bench_cli.ts";
 * const r = await spawnBench(`${ROOT}/scenarios/ci/repro.json`, "/tmp/a/out", "/tmp/a/cache", "--jobs", "1");
 * ```
 */
export function spawnBench(
  scenario: string,
  out: string,
  cache: string,
  ...extra: string[]
): Promise<BenchRun> {
  // Python plug-ins start their interpreter (ALBENCH_PYTHON, else python3): --allow-run.
  return spawnBenchWith(
    ["--allow-read", "--allow-env", "--allow-write", "--allow-run"],
    scenario,
    out,
    cache,
    extra,
  );
}

/**
 * {@linkcode spawnBench} with the given Deno permission flags (e.g. `["-A"]` for the native engine, which needs
 * `--allow-ffi`).
 *
 * @example
 * ```ts ignore
 * import { ROOT, spawnBenchWith } from "./bench_cli.ts";
 * const r = await spawnBenchWith(["-A"], `${ROOT}/scenarios/ci/repro.json`, "/tmp/a/out", "/tmp/a/cache", ["--backend", "native"]);
 * ```
 */
export async function spawnBenchWith(
  permissions: readonly string[],
  scenario: string,
  out: string,
  cache: string,
  extra: readonly string[],
): Promise<BenchRun> {
  const t0 = performance.now();
  const o = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...permissions,
      `${ROOT}/src/cli/bench.ts`,
      "--scenario",
      scenario,
      "--out",
      out,
      "--cache",
      cache,
      "--quiet",
      ...extra,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return {
    code: o.code,
    stdout: text(o.stdout),
    stderr: text(o.stderr),
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * {@linkcode spawnBench} with results in `DIR/out` and the cache in `DIR/cache`.
 *
 * @example
 * ```ts ignore
 * import { ROOT, runBench } from "./bench_cli.ts";
 * const r = await runBench(`${ROOT}/scenarios/ci/repro.json`, await Deno.makeTempDir(), "--backend", "wasm");
 * ```
 */
export function runBench(scenario: string, dir: string, ...extra: string[]): Promise<BenchRun> {
  return spawnBench(scenario, `${dir}/out`, `${dir}/cache`, ...extra);
}

/** A scenario as plain JSON, to edit field by field in a test. */
// deno-lint-ignore no-explicit-any
export type LooseScenario = Record<string, any>;

/**
 * The CI scenario (`scenarios/ci/repro.json`) without pre-training and with one seed: a cell takes a second or two.
 *
 * @example
 * ```ts ignore
 * import { tinyScenario } from "./bench_cli.ts";
 * const s = await tinyScenario();
 * ```
 */
export async function tinyScenario(): Promise<LooseScenario> {
  const s = JSON.parse(await Deno.readTextFile(`${ROOT}/scenarios/ci/repro.json`));
  delete s.$schema;
  s.pretrain = { method: "none" };
  s.seeds = 1;
  return s;
}

/**
 * `compare --scenario scenarios/ci/repro.json --backend wasm --jobs 1 --quiet ARGS…`, spawned from the project
 * folder with every permission (the flags under test are compare's own).
 *
 * @example
 * ```ts ignore
 * import { spawnCompare } from "./bench_cli.ts";
 * const r = await spawnCompare(["uncertainty", "--out", "/tmp/x", "--json"]);
 * ```
 */
export async function spawnCompare(
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${ROOT}/src/cli/compare.ts`,
      "--scenario",
      "scenarios/ci/repro.json",
      "--backend",
      "wasm",
      "--jobs",
      "1",
      "--quiet",
      ...args,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: r.code, stdout: text(r.stdout), stderr: text(r.stderr) };
}

/**
 * `probeWebGpu()` run in a child process. An adapter opened in a test process (lavapipe) can corrupt that
 * process's heap when it exits ("malloc_consolidate(): invalid chunk size", seen once after every test of the
 * end-to-end suite had passed), which fails the whole suite; the suites ask a child instead.
 *
 * @example
 * ```ts ignore
 * import { probeWebGpuInChild } from "./bench_cli.ts";
 * console.log(probeWebGpuInChild().available);
 * ```
 */
export function probeWebGpuInChild(): WebGpuProbe {
  const out = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { probeWebGpu } from ${JSON.stringify(`${ROOT}src/backend/webgpu.ts`)};` +
      "console.log(JSON.stringify(await probeWebGpu()));",
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  const last = new TextDecoder().decode(out.stdout).trim().split("\n").pop();
  if (!out.success || !last) {
    return {
      available: false,
      fallback: false,
      description: "",
      reason: `the probe exited with ${out.code}`,
    };
  }
  return JSON.parse(last) as WebGpuProbe;
}
