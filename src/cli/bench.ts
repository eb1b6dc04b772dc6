/**
 * `deno task bench`: the main job. Today it validates flags, prepares the backend and reports the environment;
 * the grid runner that trains and reports lands with the runner issue.
 *
 * @module
 */
import { parseFlags, positiveInt } from "./args.ts";
import { runMain, UsageError } from "./errors.ts";
import { BACKEND_NAMES, initBackend, isBackendName } from "../backend/backend.ts";
import { environmentRecord, formatEnvironment } from "../backend/doctor.ts";

/** The help text of `deno task bench`. */
export const BENCH_HELP = `albench — active-learning-guided fine-tuning benchmark (Möllenbrok & Demir)

Usage:
  deno task bench [--scenario FILE]... [--out DIR] [--data DIR] [--backend NAME] [--seeds N] [--shard i/n]
  deno task bench --print-env [--backend NAME]

Flags:
  --scenario FILE   scenario file (repeatable); default scenarios/default.json
  --out DIR         results folder; default reports/<scenario name>/
  --data DIR        dataset root for file-based datasets (e.g. a prepared UCMerced)
  --backend NAME    ${BACKEND_NAMES.join(" | ")} (default auto)
  --seeds N         run the first N seeds of each scenario
  --shard i/n       run only shard i of n (0-based)
  --print-env       print the chosen backend and machine, then exit
  --quiet           no progress output
  --debug           stack traces on errors
  -h, --help        this text

Other commands:
  deno task test    the test suite
  deno task check   formatting, lint and type-check of everything
`;

/** Parsed and validated bench flags. */
export interface BenchFlags {
  readonly scenarios: string[];
  readonly out?: string;
  readonly data?: string;
  readonly backend: typeof BACKEND_NAMES[number];
  readonly seeds?: number;
  readonly shard?: { index: number; count: number };
  readonly printEnv: boolean;
  readonly quiet: boolean;
  readonly help: boolean;
}

/**
 * Parse `deno task bench` flags. Every invalid value is a {@linkcode UsageError} naming the flag and what is allowed.
 *
 * @example
 * ```ts
 * import { parseBenchFlags } from "./bench.ts";
 * const f = parseBenchFlags(["--backend", "cpu", "--shard", "1/4"]);
 * console.assert(f.backend === "cpu" && f.shard?.index === 1 && f.shard.count === 4);
 * ```
 */
export function parseBenchFlags(args: string[]): BenchFlags {
  const { values } = parseFlags(args, {
    scenario: { type: "string", multiple: true },
    out: { type: "string" },
    data: { type: "string" },
    backend: { type: "string" },
    seeds: { type: "string" },
    shard: { type: "string" },
    "print-env": { type: "boolean" },
    quiet: { type: "boolean" },
    debug: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  }, "bench");
  const backend = values.backend ?? "auto";
  if (!isBackendName(backend)) {
    throw new UsageError(
      `--backend must be one of ${BACKEND_NAMES.join(", ")}; got ${JSON.stringify(backend)}`,
    );
  }
  let shard: BenchFlags["shard"];
  if (values.shard !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(values.shard);
    const index = Number(m?.[1]), count = Number(m?.[2]);
    if (!m || count < 1 || index >= count) {
      throw new UsageError(
        `--shard must be i/n with 0 <= i < n (e.g. 0/4), got ${JSON.stringify(values.shard)}`,
      );
    }
    shard = { index, count };
  }
  return {
    scenarios: values.scenario ?? ["scenarios/default.json"],
    ...(values.out !== undefined ? { out: values.out } : {}),
    ...(values.data !== undefined ? { data: values.data } : {}),
    backend,
    ...(values.seeds !== undefined ? { seeds: positiveInt(values.seeds, "--seeds") } : {}),
    ...(shard ? { shard } : {}),
    printEnv: values["print-env"] ?? false,
    quiet: values.quiet ?? false,
    help: values.help ?? false,
  };
}

async function main(args: string[]): Promise<void> {
  const flags = parseBenchFlags(args);
  if (flags.help) {
    console.log(BENCH_HELP);
    return;
  }
  const env = environmentRecord(await initBackend(flags.backend));
  if (flags.printEnv) {
    console.log(formatEnvironment(env));
    return;
  }
  throw new UsageError(
    "the training runner is not built yet (see the runner issue); today `deno task bench` supports --help and " +
      "--print-env, and `deno task plan` shows what a scenario would run.",
    1,
  );
}

if (import.meta.main) await runMain(main, Deno.args);
