/**
 * Flag parsing on `node:util` `parseArgs`, with errors that name the flag and the fix.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./errors.ts";
import { type Shard, shardFromEnv } from "../runner/grid.ts";

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
    const message = (e as Error).message;
    // A value that starts with a dash (`--seed -5`): say how to pass it, in one sentence.
    const ambiguous = /^Option '(--[\w-]+)' argument is ambiguous/.exec(message);
    if (ambiguous) {
      const flag = ambiguous[1]!, i = args.indexOf(flag), next = i >= 0 ? args[i + 1] : undefined;
      throw new UsageError(
        `${flag} is followed by ${JSON.stringify(next ?? "")}, which looks like a flag: write ${flag}=${
          next ?? "VALUE"
        } if that is the value, or give ${flag} a value (deno task ${command} --help)`,
      );
    }
    const msg = message.replace(/\. To specify a positional argument.*$/s, "").replace(/\.+$/, "");
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
 * Parse an integer flag value from `min` (default 1) to `max`, both inclusive: digits only (no `1e9`, no `0x10`),
 * and a message that names the flag, the value, the range and, with `limit`, where the bound comes from.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { positiveInt } from "./args.ts";
 * assert.equal(positiveInt("5", "--seeds", 1000), 5);
 * assert.throws(() => positiveInt("5000", "--seeds", 1000, "the scenario schema's limit on seeds"),
 *   /--seeds must be an integer from 1 to 1000 \(the scenario schema's limit on seeds\); got "5000"/);
 * ```
 */
export function positiveInt(value: string, flag: string, max: number, limit?: string, min = 1): number {
  const n = /^[0-9]{1,16}$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) {
    throw new UsageError(
      `${flag} must be an integer from ${min} to ${max}${limit ? ` (${limit})` : ""}; got ${
        JSON.stringify(value)
      }`,
    );
  }
  return n;
}

/** Most worker threads `--jobs` may ask for. */
export const MAX_JOBS = 256;

/**
 * Check a folder flag (`--out`, `--cache`) that a command writes into: not the file system's root, and not a path
 * that, through a symbolic link, leads out of the project while it reads as inside it (the tasks may write only
 * `reports/` and `.cache/`, as written; a link there would carry the writes elsewhere). Returns the path without
 * trailing slashes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writableFolder } from "./args.ts";
 * assert.equal(writableFolder("reports/x/", "--out"), "reports/x");
 * assert.throws(() => writableFolder("/", "--out"), /--out "\/" is the file system's root/);
 * ```
 */
export function writableFolder(value: string, flag: string, projectRoot: string = PROJECT_ROOT): string {
  const path = value.replace(/\/+$/, "");
  if (path === "") {
    throw new UsageError(
      `${flag} ${
        JSON.stringify(value)
      } is the file system's root; give a folder of its own (e.g. reports/run)`,
    );
  }
  const abs = absolutePath(path);
  if (inside(abs, projectRoot)) {
    const real = realExisting(abs);
    if (!inside(real, realExisting(projectRoot))) {
      throw new UsageError(
        `${flag} ${value} leads, through a symbolic link, to ${real}, outside the project: give that folder ` +
          `itself (a run writes where ${flag} says, and ${flag} must say where)`,
      );
    }
  }
  return path;
}

/** The project's root folder. */
const PROJECT_ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

function inside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}

/**
 * `path` made absolute against `cwd`, with `.` and `..` resolved and no file-system access (links are not
 * followed).
 *
 * @example
 * ```ts
 * import { absolutePath } from "./args.ts";
 * console.assert(absolutePath("a/./b/../c", "/p") === "/p/a/c" && absolutePath("/x/", "/p") === "/x");
 * ```
 */
export function absolutePath(path: string, cwd: string = Deno.cwd()): string {
  const out: string[] = [];
  for (const part of (path.startsWith("/") ? path : `${cwd}/${path}`).split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return `/${out.join("/")}`;
}

/** The real path of the longest existing prefix of `path`, with the rest appended. */
function realExisting(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    const cut = path.lastIndexOf("/");
    if (cut <= 0) return path;
    const parent = realExisting(path.slice(0, cut));
    return `${parent === "/" ? "" : parent}${path.slice(cut)}`;
  }
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

/**
 * Read a JSON file a flag names: a regular file of at most `maxBytes` (never a device or a pipe that could be read
 * forever), a leading byte-order mark skipped, and errors that name the flag, the file and the fix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readJsonFile } from "./args.ts";
 * const f = await Deno.makeTempFile();
 * await Deno.writeTextFile(f, "\uFEFF{\"a\": 1}");
 * assert.deepEqual(await readJsonFile(f, "--input", 1000), { a: 1 });
 * await assert.rejects(() => readJsonFile("/dev/zero", "--input", 1000), /--input \/dev\/zero is not a regular file/);
 * ```
 */
export async function readJsonFile(path: string, flag: string, maxBytes: number): Promise<unknown> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    throw new UsageError(
      `${flag} ${path}: ${(e as Error).message.split(",")[0]}; give a JSON file that exists`,
      2,
      { cause: e },
    );
  }
  if (!info.isFile) {
    throw new UsageError(
      `${flag} ${path} is not a regular file (a ${
        info.isDirectory ? "folder" : "device, pipe or socket"
      }); ` +
        "give a JSON file",
    );
  }
  if (info.size > maxBytes) {
    throw new UsageError(
      `${flag} ${path} holds ${info.size} bytes, more than the ${maxBytes} read; give a smaller file`,
    );
  }
  const text = await Deno.readTextFile(path);
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (e) {
    throw new UsageError(`${flag} ${path} is not valid JSON: ${(e as Error).message.slice(0, 300)}`, 2, {
      cause: e,
    });
  }
}

/** The environment variables a shard is read from (Slurm job arrays, Kubernetes Indexed Jobs). */
export const SHARD_ENV = [
  "SLURM_ARRAY_TASK_ID",
  "SLURM_ARRAY_TASK_COUNT",
  "SLURM_ARRAY_TASK_MIN",
  "JOB_COMPLETION_INDEX",
  "ALBENCH_SHARD_COUNT",
] as const;

/**
 * The shard a run takes: `--shard i/n` when given (`value`), else the job engine's variables in `env` (see
 * `shardFromEnv`); none when neither names one. Throws {@linkcode UsageError} naming the value otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shardOf } from "./args.ts";
 * assert.deepEqual(shardOf("1/4", {}), { index: 1, count: 4 });
 * assert.deepEqual(shardOf(undefined, { JOB_COMPLETION_INDEX: "2", ALBENCH_SHARD_COUNT: "3" }), { index: 2, count: 3 });
 * assert.equal(shardOf(undefined, {}), undefined);
 * assert.throws(() => shardOf("4/4", {}), /--shard must be i\/n with 0 <= i < n/);
 * ```
 */
export function shardOf(
  value: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Shard | undefined {
  if (value === undefined) {
    try {
      return shardFromEnv(env);
    } catch (e) {
      throw new UsageError((e as Error).message, 2, { cause: e });
    }
  }
  const m = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(m?.[1]), count = Number(m?.[2]);
  if (!m || count < 1 || index >= count || count > 1_000_000) {
    throw new UsageError(
      `--shard must be i/n with 0 <= i < n <= 1000000 (e.g. 0/4), got ${JSON.stringify(value)}`,
    );
  }
  return { index, count };
}

/** The job engine's shard variables of this process (only those, as the tasks grant). */
export function shardEnv(): Record<string, string | undefined> {
  return Object.fromEntries(SHARD_ENV.map((k) => [k, Deno.env.get(k)]));
}
