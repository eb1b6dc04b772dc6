/**
 * `--preregister FILE` of `bench` and `compare`: the run's design (`report/preregistration.ts`) built from what
 * the command runs, written before the first cell or checked against the file already there.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { UsageError } from "./errors.ts";
import { type ResolvedScenario, scenarioDir } from "../scenario/load.ts";
import type { SequentialDesign } from "../report/sequential.ts";
import { SEQUENTIAL_RULE } from "../report/sequential_compare.ts";
import {
  type Preregistration,
  PREREGISTRATION_FORMAT,
  preregistrationDifferences,
  type PreregistrationStatus,
} from "../report/preregistration.ts";
import { moduleUrl } from "../plugin/loader.ts";
import { modulePathOf } from "../plugin/sandbox.ts";

/**
 * The compared arms of a scenario (every arm but its baseline) as a design names them: a built-in name, or the
 * module path as the scenario writes it with the SHA-256 of its text, and the options.
 *
 * @example
 * ```ts ignore
 * import { scenarioArms } from "./preregister.ts";
 * console.log(await scenarioArms(scenario));
 * ```
 */
export async function scenarioArms(s: ResolvedScenario): Promise<Preregistration["arms"]> {
  const arms = [];
  for (const arm of s.scenario.arms) {
    if (arm.name === s.baseline) continue;
    let sha256: string | null = null;
    if (typeof arm.query !== "string") {
      const path = modulePathOf(moduleUrl(arm.query.module, scenarioDir(s)));
      sha256 = createHash("sha256").update(await Deno.readFile(path)).digest("hex");
    }
    arms.push({
      name: arm.name,
      query: typeof arm.query === "string" ? arm.query : arm.query.module,
      sha256,
      options: arm.options,
    });
  }
  return arms;
}

/**
 * A run's design as pre-registered: the primary contrast, α, the rule (fixed at `seedLimit` or each scenario's
 * seeds, or `design`'s sequential one), the scenarios' hashes, the baseline and each compared arm.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { designOf } from "./preregister.ts";
 * const s = { id: "x/s1", hash: "h", seeds: [0, 1, 2], baseline: "random" };
 * const d = designOf([s] as never, [{ name: "mge", query: "mge-clustering", sha256: null, options: {} }],
 *   undefined, undefined);
 * assert.deepEqual(d.rule, { kind: "fixed", seeds: 3 });
 * assert.equal(d.baseline, "random");
 * ```
 */
export function designOf(
  scenarios: readonly Pick<ResolvedScenario, "id" | "hash" | "seeds" | "baseline">[],
  arms: Preregistration["arms"],
  design: SequentialDesign | undefined,
  seedLimit: number | undefined,
): Preregistration {
  return {
    format: PREREGISTRATION_FORMAT,
    primary: {
      metric: "macro_f1",
      contrast: "function − baseline, macro F1 averaged over rounds 1…T, paired by seed, per scenario",
      test: design
        ? "two-sided paired t-test at each look's α (and TOST with a margin)"
        : "two-sided paired t-test",
    },
    alpha: 0.05,
    rule: design
      ? {
        kind: "sequential",
        name: SEQUENTIAL_RULE,
        batch: design.batch,
        maxSeeds: design.maxSeeds,
        margin: design.margin ?? null,
      }
      : { kind: "fixed", seeds: seedLimit ?? Math.min(...scenarios.map((s) => s.seeds.length)) },
    scenarios: scenarios.map((s) => ({ id: s.id, hash: s.hash })),
    baseline: scenarios[0]!.baseline,
    arms,
  };
}

/**
 * Write `design` to `file` when it does not exist (`mode` `check`: never, only compare) (created once: `file.partial`, then a hard link, so a crash or
 * a concurrent run never leaves half a file or overwrites one), else read it and compare. Problems with the file
 * are {@linkcode UsageError}s naming `--preregister FILE`.
 *
 * @example
 * ```ts ignore
 * import { preregister } from "./preregister.ts";
 * const status = await preregister("prereg.json", design);
 * console.log(status.differences.length ? "departs" : "followed");
 * ```
 */
export async function preregister(
  file: string,
  design: Preregistration,
  mode: "write" | "check" = "write",
): Promise<PreregistrationStatus> {
  const text = JSON.stringify(design, null, 1) + "\n";
  let written = false;
  if (mode === "write" && !(await Deno.stat(file).then(() => true, () => false))) {
    const partial = `${file}.partial`;
    try {
      await Deno.writeTextFile(partial, text);
      await Deno.link(partial, file).catch((e) => {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      });
      written = true;
    } catch (e) {
      throw new UsageError(
        `--preregister ${file}: ${(e as Error).message.split(",")[0]}; give a file in a folder that exists`,
        2,
        { cause: e },
      );
    } finally {
      await Deno.remove(partial).catch(() => {});
    }
  }
  const held = await Deno.readTextFile(file).catch((e) => {
    throw new UsageError(`--preregister ${file}: ${(e as Error).message.split(",")[0]}`, 2, { cause: e });
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(held);
  } catch {
    parsed = null;
  }
  const sha256 = createHash("sha256").update(held).digest("hex");
  // Written by a concurrent run between the check and the link: then it is that run's, and compared as found.
  return {
    file,
    sha256,
    written: written && held === text,
    differences: preregistrationDifferences(parsed, design),
  };
}
