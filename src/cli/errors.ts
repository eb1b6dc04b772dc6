/**
 * Errors meant for the person at the terminal: one paragraph that names the problem and the fix.
 *
 * @module
 */

/**
 * A user-facing error: the CLI prints its message alone (no stack unless `--debug`) and exits with `exitCode`.
 *
 * @example
 * ```ts
 * import { UsageError } from "./errors.ts";
 * const e = new UsageError("--seeds must be a positive integer, got 0");
 * console.assert(e.exitCode === 2);
 * ```
 */
export class UsageError extends Error {
  /** The process exit code. */
  readonly exitCode: number;
  /** `options.cause`: the error it was made from (shown with `--debug`). */
  constructor(message: string, exitCode = 2, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
    this.exitCode = exitCode;
  }
}

/**
 * A message with Deno's permission advice ("run again with the --allow-read flag", which a `deno task` user cannot
 * follow) replaced by what the task allows and how to widen it.
 *
 * @example
 * ```ts
 * import { explainPermission } from "./errors.ts";
 * const m = explainPermission('Requires read access to "/data/s.json", run again with the --allow-read flag');
 * console.assert(m.startsWith('the command may not read "/data/s.json": '));
 * ```
 */
export function explainPermission(message: string): string {
  const verbs: Record<string, string> = {
    read: "read",
    write: "write to",
    env: "read the variable",
    net: "reach",
  };
  return message.replace(
    /Requires (\w+) access to (.+?), run again with the --allow-(\w+) flag/g,
    (_, kind: string, what: string, flag: string) =>
      kind === "run"
        // Running a program: TypeScript plug-ins run in a `deno` process, Python ones in `python3`.
        ? `the command may not run ${what}: a TypeScript plug-in runs in a deno process of its own, a Python ` +
          `one in python3, so add them to --allow-run (e.g. --allow-run=deno,python3; the tasks do; ` +
          "docs/permissions.md)"
        : `the command may not ${
          verbs[kind] ?? `use ${kind} for`
        } ${what}: a task is granted only the project and what its arguments name (the scenario files, ` +
          "their datasets and plug-in folders, --data, --out, --cache; docs/permissions.md), so name the path " +
          `there; with deno run, widen --allow-${flag} (e.g. --allow-${flag}=.,DIR)`,
  );
}

/**
 * Run a command's `main`, turning errors into a one-paragraph message and a non-zero exit.
 *
 * @example
 * ```ts ignore
 * import { runMain } from "./errors.ts";
 * await runMain(async (args) => { console.log(args.length); }, Deno.args);
 * ```
 */
export async function runMain(main: (args: string[]) => Promise<void>, args: string[]): Promise<void> {
  try {
    await main(args);
  } catch (e) {
    const debug = args.includes("--debug");
    if (e instanceof UsageError) {
      console.error(`error: ${explainPermission(e.message)}`);
      if (debug) console.error(stackChain(e));
      Deno.exit(e.exitCode);
    }
    console.error(`error: ${explainPermission(e instanceof Error ? e.message : String(e))}`);
    if (debug) console.error(stackChain(e));
    else console.error("(run again with --debug for the stack trace)");
    Deno.exit(1);
  }
}

/**
 * The stack of `e` and of every error it was made from (`cause`), outermost first: what `--debug` prints.
 *
 * @example
 * ```ts
 * import { stackChain } from "./errors.ts";
 * const inner = new Error("disk full");
 * const text = stackChain(new Error("cell failed", { cause: inner }));
 * console.assert(text.includes("cell failed") && text.includes("caused by: Error: disk full"));
 * ```
 */
export function stackChain(e: unknown): string {
  const parts: string[] = [];
  for (let x: unknown = e, depth = 0; x !== undefined && depth < 16; depth++) {
    parts.push(
      `${depth ? "caused by: " : ""}${x instanceof Error ? x.stack ?? `${x.name}: ${x.message}` : String(x)}`,
    );
    x = x instanceof Error ? x.cause : undefined;
  }
  return parts.join("\n");
}
