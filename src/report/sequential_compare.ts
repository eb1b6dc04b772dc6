/**
 * `compare --until-decided` from the records: per scenario and compared arm, the paired differences of the
 * primary metric (macro F1 averaged over rounds 1…T, arm − baseline) in seed order, the rule's looks
 * (`sequential.ts`) and its verdict, worded. Pure.
 *
 * @module
 */
import type { CellRecord } from "../records/records.ts";
import type { ResolvedScenario } from "../scenario/load.ts";
import {
  type Look,
  looks,
  type SequentialDesign,
  sequentialLooks,
  type SequentialVerdict,
} from "./sequential.ts";
import { points } from "./words.ts";

/** One compared arm in one scenario. */
export interface SequentialPair {
  /** The scenario's id. */
  readonly scenario: string;
  /** The compared arm. */
  readonly arm: string;
  /** The looks taken, the last one deciding (or `continue` when more seeds are due). */
  readonly looks: Look[];
  /** The last look's verdict. */
  readonly verdict: SequentialVerdict;
  /** Paired seeds at the last look taken. */
  readonly seeds: number;
}

/** The design, what it powers, and every pair's state. Differences in F1 units (fractions), as `--json`. */
export interface SequentialOutcome {
  /** The design, its looks (seeds at each) and the rule's name. */
  readonly design: SequentialDesign & { readonly looks: number[]; readonly rule: string };
  /** The difference (in sd of the paired differences) it powers at 80%, its mean seeds there, a fixed design's. */
  readonly powered: {
    readonly effect: number;
    readonly meanSeeds: number;
    readonly fixedSeeds: number | null;
  };
  /** Every scenario × arm. */
  readonly pairs: SequentialPair[];
}

/** The rule's name, with its references (docs/reports.md). */
export const SEQUENTIAL_RULE =
  "O'Brien-Fleming-type alpha spending (Lan & DeMets 1983) over paired t-tests, union bound; TOST for equivalence";

/**
 * The primary metric of a record: macro F1 averaged over rounds 1…T (the initial round left out, as the report's
 * averages), or NaN without rounds.
 *
 * @example
 * ```ts
 * import { primaryMetric } from "./sequential_compare.ts";
 * const its = [0.1, 0.4, 0.6].map((m, i) => ({ iteration: i, test: { macroF1: m } }));
 * console.assert(Math.abs(primaryMetric({ iterations: its } as never) - 0.5) < 1e-12);
 * ```
 */
export function primaryMetric(r: Pick<CellRecord, "iterations">): number {
  const after = r.iterations.filter((i) => i.iteration >= 1);
  return after.length ? after.reduce((s, i) => s + i.test.macroF1, 0) / after.length : NaN;
}

/**
 * Each pair's looks from the complete records: the differences of the seeds where both the arm's and the
 * baseline's cells are complete, in the scenario's seed order, up to the first seed that is not (and at most
 * `upTo`: what a look at that many seeds saw).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sequentialOutcome } from "./sequential_compare.ts";
 * const rec = (arm: string, seed: number, m: number) => ({ scenario: "s", arm, seed, complete: true,
 *   iterations: [{ iteration: 0, test: { macroF1: 0 } }, { iteration: 1, test: { macroF1: m } }] });
 * const records = [0, 1, 2, 3, 4].flatMap((k) => [rec("random", k, 0.5), rec("q", k, 0.2 + 0.001 * k)]);
 * const s = { id: "s", seeds: [0, 1, 2, 3, 4], baseline: "random" };
 * const o = sequentialOutcome(records as never, [s] as never, ["q"], { alpha: 0.05, batch: 5, maxSeeds: 10 },
 *   { effect: 1, meanSeeds: 8, fixedSeeds: 10 });
 * assert.equal(o.pairs[0]!.verdict, "lower");
 * assert.equal(o.pairs[0]!.seeds, 5);
 * ```
 */
export function sequentialOutcome(
  records: readonly Pick<CellRecord, "scenario" | "arm" | "seed" | "complete" | "iterations">[],
  scenarios: readonly Pick<ResolvedScenario, "id" | "seeds" | "baseline">[],
  arms: readonly string[],
  design: SequentialDesign,
  powered: SequentialOutcome["powered"],
  upTo: number = design.maxSeeds,
): SequentialOutcome {
  const byKey = new Map(
    records.filter((r) => r.complete).map((r) => [`${r.scenario}/${r.arm}/${r.seed}`, r]),
  );
  const pairs: SequentialPair[] = [];
  for (const s of scenarios) {
    for (const arm of arms) {
      const diffs: number[] = [];
      for (const seed of s.seeds.slice(0, Math.min(design.maxSeeds, upTo))) {
        const a = byKey.get(`${s.id}/${arm}/${seed}`), b = byKey.get(`${s.id}/${s.baseline}/${seed}`);
        if (!a || !b) break;
        diffs.push(primaryMetric(a) - primaryMetric(b));
      }
      const taken = sequentialLooks(diffs, design);
      const last = taken.at(-1);
      pairs.push({
        scenario: s.id,
        arm,
        looks: taken,
        verdict: last?.verdict ?? "continue",
        seeds: last?.n ?? 0,
      });
    }
  }
  return { design: { ...design, looks: looks(design), rule: SEQUENTIAL_RULE }, powered, pairs };
}

/**
 * The design in one line: its looks, α, margin, and what it powers against a fixed design.
 *
 * @example
 * ```ts
 * import { designLine } from "./sequential_compare.ts";
 * const line = designLine({ alpha: 0.05, batch: 5, maxSeeds: 30, margin: 0.03 },
 *   { effect: 0.59, meanSeeds: 23.2, fixedSeeds: 25 });
 * console.assert(line.startsWith("sequential: looks at 5, 10, 15, 20, 25, 30 seeds; α = 0.05 over all looks"));
 * console.assert(line.includes("equivalence margin ±3.00 points") && line.includes("a fixed design needs 25"));
 * ```
 */
export function designLine(d: SequentialDesign, p: SequentialOutcome["powered"]): string {
  return `sequential: looks at ${
    looks(d).join(", ")
  } seeds; α = ${d.alpha} over all looks (O'Brien–Fleming-type ` +
    `spending, docs/reports.md)${
      d.margin !== undefined ? `; equivalence margin ±${(100 * d.margin).toFixed(2)} points` : ""
    }; 80% power for a difference of ${p.effect.toFixed(2)} standard deviations of the paired differences, ` +
    `using ${p.meanSeeds.toFixed(1)} seeds on average there, where a fixed design needs ${
      p.fixedSeeds ?? "n/a"
    }`;
}

/**
 * The verdicts in words, one line per pair (differences in F1 points).
 *
 * @example
 * ```ts
 * import { sequentialText } from "./sequential_compare.ts";
 * const look = { n: 10, alpha: 0.0055, mean: -0.021, low: -0.035, high: -0.007, verdict: "lower" as const };
 * const text = sequentialText({ design: { alpha: 0.05, batch: 5, maxSeeds: 30, looks: [5, 10], rule: "" },
 *   powered: { effect: 0.6, meanSeeds: 23, fixedSeeds: 25 },
 *   pairs: [{ scenario: "s", arm: "q", looks: [look], verdict: "lower", seeds: 10 }] });
 * console.assert(text === "sequential verdict, s, q: lower than the baseline after 10 seeds (−2.10 points, " +
 *   "interval at this look's α = 0.0055: −3.50 to −0.70)");
 * ```
 */
export function sequentialText(o: SequentialOutcome): string {
  return o.pairs.map((p) => {
    const l = p.looks.at(-1);
    const est = l
      ? ` (${points(l.mean)} points, interval at this look's α = ${l.alpha.toPrecision(2)}: ${
        points(l.low)
      } to ${points(l.high)})`
      : "";
    const what = p.verdict === "higher"
      ? `higher than the baseline after ${p.seeds} seeds`
      : p.verdict === "lower"
      ? `lower than the baseline after ${p.seeds} seeds`
      : p.verdict === "equivalent"
      ? `equivalent to the baseline within ±${
        (100 * (o.design.margin ?? 0)).toFixed(2)
      } points after ${p.seeds} seeds`
      : p.verdict === "undecided"
      ? `undecided at ${p.seeds} seeds, the most the design runs`
      : `not decided yet at ${p.seeds} seeds (more looks are due)`;
    return `sequential verdict, ${p.scenario}, ${p.arm}: ${what}${est}`;
  }).join("\n");
}
