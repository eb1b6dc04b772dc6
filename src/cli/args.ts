/**
 * Flag parsing on `node:util` `parseArgs`, with errors that name the flag and the fix.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./errors.ts";

/**
 * Parse `args` strictly; an unknown flag, a missing value or an empty one (`--out ""`) becomes a
 * {@linkcode UsageError} that points at `--help` or names the flag.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./args.ts";
 * const { values } = parseFlags(["--seeds", "3"], { seeds: { type: "string" } }, "bench");
 * console.assert(values.seeds === "3");
 * ```
 */
export function parseFlags<O extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: O,
  command: string,
  allowPositionals = false,
) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals });
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument.*$/s, "");
    throw new UsageError(`${msg}. Run \`deno task ${command} --help\` for the flags it takes.`);
  }
  // An empty value is never meant (usually an unset shell variable, as in --out "$DIR"): `--out ""` would name
  // the file system's root once "/cells" is joined to it.
  for (const [flag, value] of Object.entries(parsed.values as Record<string, unknown>)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (typeof v === "string" && v.trim() === "") {
        throw new UsageError(
          `--${flag} needs a value; got ${JSON.stringify(v)} (an unset shell variable?)`,
        );
      }
    }
  }
  if (parsed.positionals.some((p) => p.trim() === "")) {
    throw new UsageError(
      `an argument is empty (an unset shell variable?); run \`deno task ${command} --help\``,
    );
  }
  return parsed;
}

/**
 * Parse a positive integer flag value.
 *
 * @example
 * ```ts
 * import { positiveInt } from "./args.ts";
 * console.assert(positiveInt("5", "--seeds") === 5);
 * ```
 */
export function positiveInt(value: string, flag: string): number {
  if (!/^[1-9][0-9]*$/.test(value)) {
    throw new UsageError(`${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/**
 * Parse a `--timeout`-style flag: a positive number of seconds, at most a week; `fallback` when the flag is absent.
 *
 * @example
 * ```ts
 * import { timeoutSeconds } from "./args.ts";
 * console.assert(timeoutSeconds(undefined, "--timeout", 600) === 600 && timeoutSeconds("2.5", "--timeout", 600) === 2.5);
 * ```
 */
export function timeoutSeconds(value: string | undefined, flag: string, fallback: number): number {
  const seconds = value === undefined ? fallback : Number(value);
  if (!(seconds > 0 && seconds <= 604_800)) {
    throw new UsageError(
      `${flag} must be a positive number of seconds (at most 604800), got ${JSON.stringify(value)}`,
    );
  }
  return seconds;
}
