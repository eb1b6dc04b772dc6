/**
 * A child Deno run from the repository root with `NO_COLOR=1`, its output captured as text: the one way the
 * tests run a command of the project and read what it printed.
 *
 * @module
 */

/** The repository root. */
export const ROOT = new URL("..", import.meta.url).pathname;

/** How a child ended and what it printed. */
export interface DenoRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `deno ARGS…` in the repository root, with `NO_COLOR=1` and `env` added to this process's environment.
 *
 * @example
 * ```ts ignore
 * import { runDeno } from "./deno_run.ts";
 * const r = await runDeno(["run", "--allow-read", "src/cli/bench.ts", "--help"]);
 * console.assert(r.code === 0);
 * ```
 */
export async function runDeno(args: readonly string[], env: Record<string, string> = {}): Promise<DenoRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}
