/**
 * The launcher behind `deno task bench|compare|plan|report|data`: it computes what the command may read and write
 * from its arguments (`scope.ts`) and runs the command in a child Deno under exactly those permissions, so data,
 * scenarios and results can live outside the clone while nothing else is reachable. The child's output, exit
 * code and signals pass through unchanged.
 *
 * @module
 */
import { commandScope, LAUNCHED, type LaunchedCommand, type RunScope } from "./scope.ts";

/** The project's root folder. */
const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** Where oneDNN and its OpenMP runtime may be loaded from (the native engine), on the usual distributions. */
export const NATIVE_LIBRARIES: readonly string[] = [
  "/usr/lib/x86_64-linux-gnu",
  "/usr/lib/aarch64-linux-gnu",
  "/usr/lib64",
  "/usr/lib",
  "/usr/local/lib",
].flatMap((dir) => [`${dir}/libdnnl.so.2`, `${dir}/libgomp.so.1`]);

/** What each command may do besides files: the same as its task granted before the launcher. */
const FIXED: Record<LaunchedCommand, readonly string[]> = {
  bench: [
    "--allow-env",
    "--allow-run=python3,/usr/bin/python3,deno",
    `--allow-ffi=${NATIVE_LIBRARIES.join(",")}`,
  ],
  compare: [
    "--allow-env",
    "--allow-run=python3,/usr/bin/python3,deno",
    `--allow-ffi=${NATIVE_LIBRARIES.join(",")}`,
  ],
  plan: [
    "--allow-env",
    "--allow-run=python3,/usr/bin/python3,deno",
    `--allow-ffi=${NATIVE_LIBRARIES.join(",")}`,
  ],
  report: ["--allow-env"],
  data: ["--allow-net=weegee.vision.ucmerced.edu,bigearth.eu"],
};

/**
 * The child's `deno` arguments for `command` with `args` under `scope`. A path holding a comma cannot be granted
 * (Deno's permission lists are comma-separated): an `Error` names it and the fix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { childArgs } from "./launch.ts";
 * const a = childArgs("report", ["/r/run"], { read: ["/p", "/r/run"], write: ["/r/run"] }, "/p");
 * assert.ok(a.includes("--allow-read=/p,/r/run") && a.includes("--allow-write=/r/run"));
 * assert.deepEqual(a.slice(-2), ["/p/src/cli/report.ts", "/r/run"]);
 * assert.throws(() => childArgs("report", ["/r,1"], { read: ["/p", "/r,1"], write: [] }, "/p"),
 *   /the path \/r,1 holds a comma/);
 * ```
 */
export function childArgs(
  command: LaunchedCommand,
  args: readonly string[],
  scope: RunScope,
  root: string = ROOT,
): string[] {
  for (const p of [...scope.read, ...scope.write]) {
    if (p.includes(",")) {
      throw new Error(
        `the path ${p} holds a comma, which a permission list cannot name (Deno separates paths with commas); ` +
          "rename the folder, or give a path to it through a link without a comma",
      );
    }
  }
  const read = scope.read.includes("/") ? "--allow-read" : `--allow-read=${scope.read.join(",")}`;
  return [
    "run",
    "--no-prompt",
    "--frozen",
    "--cached-only",
    `--config=${root}/deno.json`,
    read,
    ...(scope.write.length ? [`--allow-write=${scope.write.join(",")}`] : []),
    ...FIXED[command],
    `${root}/src/cli/${command}.ts`,
    ...args,
  ];
}

const SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (!LAUNCHED.includes(command as LaunchedCommand)) {
    console.error(`error: the launcher runs ${LAUNCHED.join(", ")}; got ${JSON.stringify(command ?? "")}`);
    return 2;
  }
  const cmd = command as LaunchedCommand;
  const scope = commandScope(cmd, args, {
    cwd: Deno.cwd(),
    project: ROOT,
    readText: (p) => {
      try {
        // A scenario is a small regular file; anything else is left to the command to refuse.
        const info = Deno.statSync(p);
        return info.isFile && info.size <= 16 * 2 ** 20 ? Deno.readTextFileSync(p) : undefined;
      } catch {
        return undefined;
      }
    },
  });
  let child: Deno.ChildProcess;
  try {
    // This Deno by its path where the task grants it, else `deno` from PATH (what `--allow-run=deno` names).
    const deno = Deno.permissions.querySync({ name: "run", command: Deno.execPath() }).state === "granted"
      ? Deno.execPath()
      : "deno";
    child = new Deno.Command(deno, {
      args: childArgs(cmd, args, scope),
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 2;
  }
  // A signal to the launcher (a scheduler's SIGTERM, Ctrl-C) goes to the command, which stops as it would alone.
  for (const s of SIGNALS) {
    Deno.addSignalListener(s, () => {
      try {
        child.kill(s);
      } catch {
        // Already gone.
      }
    });
  }
  const status = await child.status;
  return status.signal ? 128 + (SIGNAL_NUMBERS[status.signal] ?? 0) : status.code;
}

const SIGNAL_NUMBERS: Partial<Record<Deno.Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGKILL: 9,
  SIGTERM: 15,
};

if (import.meta.main) Deno.exit(await main(Deno.args));
