/**
 * Running `src/cli/bench.ts` as a user would, for the end-to-end tests: a child Deno with the task's kind of
 * permissions, results and cache in a test's own folder.
 */

/** The repository root. */
export const ROOT = new URL("../..", import.meta.url).pathname;

/** What a bench run left: exit code, stderr and wall time. */
export interface BenchRun {
  readonly code: number;
  readonly stderr: string;
  readonly seconds: number;
}

/**
 * `bench --scenario FILE --out DIR/out --cache DIR/cache --quiet EXTRA…`.
 *
 * @example
 * ```ts ignore
 * import { ROOT, runBench } from "./bench_cli.ts";
 * const r = await runBench(`${ROOT}/scenarios/ci/repro.json`, await Deno.makeTempDir(), "--backend", "wasm");
 * ```
 */
export async function runBench(scenario: string, dir: string, ...extra: string[]): Promise<BenchRun> {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-env",
      "--allow-write",
      `${ROOT}/src/cli/bench.ts`,
      "--scenario",
      scenario,
      "--out",
      `${dir}/out`,
      "--cache",
      `${dir}/cache`,
      "--quiet",
      ...extra,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return {
    code: out.code,
    stderr: new TextDecoder().decode(out.stderr),
    seconds: (performance.now() - t0) / 1000,
  };
}
