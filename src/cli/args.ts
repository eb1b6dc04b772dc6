/**
 * Flag parsing on `node:util` `parseArgs`, with errors that name the flag and the fix.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./errors.ts";

/**
 * Parse `args` strictly; an unknown flag or a missing value becomes a {@linkcode UsageError} that points at `--help`.
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
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument.*$/s, "");
    throw new UsageError(`${msg}. Run \`deno task ${command} --help\` for the flags it takes.`);
  }
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
