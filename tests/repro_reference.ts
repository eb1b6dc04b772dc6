/**
 * Running `src/cli/bench.ts` on the repro scenario for the runner tests, and the records of one uninterrupted,
 * unsharded run of it: what a resumed, a sharded or a validating run must reproduce.
 *
 * @module
 */
import assert from "node:assert/strict";
import { readAllCells } from "../src/runner/store.ts";
import type { CellRecord } from "../src/records/records.ts";
import { resultDigest } from "../src/report/digest.ts";

/** The repository root. */
export const ROOT = new URL("..", import.meta.url).pathname;

/** `bench ARGS…` as a child Deno with read, env and write permissions, run from the repository root. */
export function bench(args: string[], env: Record<string, string> = {}): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", "--allow-write", `${ROOT}/src/cli/bench.ts`, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  });
}

/** UTF-8 bytes as text. */
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

let reference: Promise<CellRecord[]> | undefined;
/**
 * The records of one uninterrupted, unsharded run of the repro scenario, made once per test process. (Not the
 * golden digest: a legitimate numeric change then fails `deno task repro` alone, not these tests too.)
 */
export function referenceRun(): Promise<CellRecord[]> {
  reference ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "albench-reference-" });
    const r = await bench([
      "--scenario",
      "scenarios/ci/repro.json",
      "--out",
      `${dir}/r`,
      "--cache",
      `${dir}/cache`,
      "--jobs",
      "1",
      "--quiet",
    ]).output();
    assert.equal(r.code, 0, text(r.stderr));
    const records = await readAllCells(`${dir}/r`);
    await Deno.remove(dir, { recursive: true });
    return records;
  })();
  return reference;
}

/** The result digest of {@linkcode referenceRun}. */
export const referenceDigest = async (): Promise<string> => resultDigest(await referenceRun());
