/**
 * The paper's published values as a reference layer: what Möllenbrok & Demir report in Section 3 of _Active
 * learning guided fine-tuning for enhancing self-supervised based multi-label classification of remote sensing
 * images_ (UCMerced with 17 multi-labels, DenseNet121, 256 px, BYOL, averaged over five runs), and which
 * scenarios they apply to. A scenario qualifies by what it is, never by its file name: the UCMerced archive, a
 * baseline arm that queries `random` and at least one arm that queries `mge-clustering`; its imbalance names the
 * paper's scenario (nothing removed: Scenario 1; 20 or 40 removed from each of three classes: Scenario 2 or 3).
 *
 * Every value here is in F1 units (fractions in [0, 1], as in `curves.csv`), never in points or percent. Pure:
 * scenarios and tables in, reference rows out.
 *
 * @module
 */
import type { ResolvedScenario } from "../scenario/load.ts";
import type { CurveRow, Metric, StatsRow } from "./tables.ts";
import { pairedT } from "./stats.ts";
import { points } from "./words.ts";

/** The legend label of the paper's marks in the figures. */
export const PAPER_LABEL = "paper (DenseNet121, 256 px)";

/**
 * What the paper states, in F1 units. Fig. 1 (Scenario 1): micro and macro F1 at 180 labelled samples, read from
 * the text ("81.74% … 81.8% … 80.39% and 79.8%"). Fig. 2: the gain of AL-guided fine-tuning over random sampling
 * in macro F1 averaged over 20 sampling iterations, "1.6% higher" in Scenario 1 and "4% higher" in Scenario 3 (the
 * text gives no number for Scenario 2).
 */
export const PAPER = {
  citation: "Möllenbrok & Demir, “Active learning guided fine-tuning for enhancing self-supervised based " +
    "multi-label classification of remote sensing images”, Section 3 (Figs. 1 and 2)",
  regime: {
    network: "DenseNet121",
    resolution: 256,
    pretrainEpochs: 1000,
    finetuneEpochs: 100,
    initial: 40,
    batch: 20,
    rounds: 20,
    runs: 5,
  },
  fig1: {
    labelled: 180,
    mge: { micro_f1: 0.8174, macro_f1: 0.818 },
    random: { micro_f1: 0.8039, macro_f1: 0.798 },
  },
  fig2: {
    metric: "macro_f1",
    rounds: 20,
    gain: { 1: 0.016, 3: 0.04 } as Readonly<Partial<Record<1 | 2 | 3, number>>>,
  },
} as const;

/** A scenario the paper's values apply to. */
export interface PaperMatch {
  /** The scenario id. */
  readonly scenario: string;
  /** The paper's scenario it is: 1 (nothing removed), 2 (20 removed) or 3 (40 removed from each of 3 classes). */
  readonly paperScenario: 1 | 2 | 3;
  /** The baseline arm (its query is `random`). */
  readonly baseline: string;
  /** The arms whose query is `mge-clustering`. */
  readonly al: readonly string[];
  /** How this scenario's regime differs from the paper's, one phrase each (empty: none of those checked). */
  readonly differences: readonly string[];
}

/**
 * Whether the paper's values apply to `s`, and as which of its scenarios.
 *
 * @example
 * ```ts
 * import { paperMatch } from "./paper.ts";
 * const scenario = {
 *   dataset: { kind: "ucmerced", resolution: 32 }, model: { backbone: "densenet-cpu" },
 *   pretrain: { method: "byol", epochs: 4 }, finetune: { epochs: 2 }, al: { initial: 40, batch: 20 },
 *   imbalance: { classes: 3, removePerClass: 40 },
 *   arms: [{ name: "mge", query: "mge-clustering" }, { name: "random", query: "random" }],
 * };
 * const s = { id: "f/scenario-3", baseline: "random", iterations: 20, seeds: [0, 1, 2, 3, 4], scenario };
 * const m = paperMatch(s as never)!;
 * console.assert(m.paperScenario === 3 && m.al.join() === "mge" && m.baseline === "random");
 * console.assert(m.differences.includes("32 px instead of 256 px"));
 * const synthetic = { ...s, scenario: { ...scenario, dataset: { kind: "synthetic", resolution: 16 } } };
 * console.assert(paperMatch(synthetic as never) === null);
 * ```
 */
export function paperMatch(
  s: Pick<ResolvedScenario, "id" | "scenario" | "baseline" | "iterations" | "seeds">,
): PaperMatch | null {
  const sc = s.scenario;
  if (sc.dataset.kind !== "ucmerced") return null;
  const queryOf = (name: string) => sc.arms.find((a) => a.name === name)?.query;
  if (queryOf(s.baseline) !== "random") return null;
  const al = sc.arms.filter((a) => a.query === "mge-clustering").map((a) => a.name);
  if (!al.length) return null;
  const im = sc.imbalance;
  const removed = im?.removePerClass ?? 0;
  const paperScenario = removed === 0
    ? 1
    : im?.classes === 3 && removed === 20
    ? 2
    : im?.classes === 3 && removed === 40
    ? 3
    : null;
  if (paperScenario === null) return null;
  return { scenario: s.id, paperScenario, baseline: s.baseline, al, differences: differencesOf(s) };
}

function differencesOf(s: Pick<ResolvedScenario, "scenario" | "iterations" | "seeds">): string[] {
  const sc = s.scenario, p = PAPER.regime, out: string[] = [];
  if (sc.model.backbone !== "densenet121") {
    out.push(`the ${sc.model.backbone} network instead of ${p.network}`);
  }
  if (sc.dataset.resolution !== p.resolution) {
    out.push(`${sc.dataset.resolution} px instead of ${p.resolution} px`);
  }
  if (sc.pretrain.method !== "byol") out.push(`no self-supervised pre-training instead of BYOL`);
  else if (sc.pretrain.epochs !== p.pretrainEpochs) {
    out.push(`BYOL for ${sc.pretrain.epochs} epochs instead of ${p.pretrainEpochs}`);
  }
  if (sc.finetune.epochs !== p.finetuneEpochs) {
    out.push(`${sc.finetune.epochs} fine-tuning epochs per round instead of ${p.finetuneEpochs}`);
  }
  if (sc.al.initial !== p.initial || sc.al.batch !== p.batch) {
    out.push(
      `${sc.al.initial} initial samples and b = ${sc.al.batch} instead of ${p.initial} and ${p.batch}`,
    );
  }
  if (s.iterations !== p.rounds) out.push(`${s.iterations} rounds instead of ${p.rounds}`);
  if (s.seeds.length !== p.runs) out.push(`${s.seeds.length} seeds instead of ${p.runs} runs`);
  return out;
}

/** A Fig. 1 value of the paper for one arm of one scenario (drawn as a point on the learning curve). */
export interface PaperPoint {
  readonly scenario: string;
  readonly arm: string;
  readonly metric: Metric;
  readonly labelled: number;
  /** F1 units. */
  readonly value: number;
}

/**
 * The paper's Fig. 1 points for the Scenario-1 matches: micro and macro F1 at 180 labels for each MGE+Clustering
 * arm and for the random baseline.
 *
 * @example
 * ```ts
 * import { paperCurvePoints } from "./paper.ts";
 * const m = { scenario: "f", paperScenario: 1, baseline: "random", al: ["mge"], differences: [] } as const;
 * const pts = paperCurvePoints([m]);
 * console.assert(pts.length === 4 && pts.every((p) => p.labelled === 180));
 * console.assert(pts.find((p) => p.arm === "mge" && p.metric === "micro_f1")!.value === 0.8174);
 * console.assert(paperCurvePoints([{ ...m, paperScenario: 3 }]).length === 0);
 * ```
 */
export function paperCurvePoints(matches: readonly PaperMatch[]): PaperPoint[] {
  const f = PAPER.fig1, out: PaperPoint[] = [];
  for (const m of matches.filter((x) => x.paperScenario === 1)) {
    for (const metric of ["macro_f1", "micro_f1"] as const) {
      for (const arm of m.al) {
        out.push({ scenario: m.scenario, arm, metric, labelled: f.labelled, value: f.mge[metric] });
      }
      out.push({
        scenario: m.scenario,
        arm: m.baseline,
        metric,
        labelled: f.labelled,
        value: f.random[metric],
      });
    }
  }
  return out;
}

/** A Fig. 2 gain of the paper for one comparison of one scenario. */
export interface PaperGain {
  readonly scenario: string;
  readonly arm: string;
  readonly baseline: string;
  readonly metric: Metric;
  /** F1 units (0.016 is 1.6 points). */
  readonly gain: number;
}

/**
 * The paper's Fig. 2 gains (macro F1 averaged over the rounds, AL − random) for the matches of Scenarios 1 and 3.
 *
 * @example
 * ```ts
 * import { paperGains } from "./paper.ts";
 * const m = { scenario: "f/s3", paperScenario: 3, baseline: "random", al: ["mge"], differences: [] } as const;
 * const g = paperGains([m, { ...m, scenario: "f/s2", paperScenario: 2 }]);
 * console.assert(g.length === 1 && g[0]!.gain === 0.04 && g[0]!.metric === "macro_f1");
 * ```
 */
export function paperGains(matches: readonly PaperMatch[]): PaperGain[] {
  return matches.flatMap((m) => {
    const gain = PAPER.fig2.gain[m.paperScenario];
    if (gain === undefined) return [];
    return m.al.map((arm) => ({
      scenario: m.scenario,
      arm,
      baseline: m.baseline,
      metric: PAPER.fig2.metric,
      gain,
    }));
  });
}

/** albench's estimate beside a paper value: mean over seeds and its 95% t-interval (F1 units). */
export interface Estimate {
  readonly mean: number;
  readonly low: number;
  readonly high: number;
  /** Seeds. */
  readonly n: number;
}

/** One row of the report's paper table: what the paper reported beside albench's value. */
export interface PaperComparisonRow {
  readonly scenario: string;
  /** The paper's figure: 1 (an arm's F1 at a budget) or 2 (a paired gain averaged over the rounds). */
  readonly figure: 1 | 2;
  /** What is compared, e.g. `micro F1 at 180 labels (Fig. 1)` (the paper's figure). */
  readonly quantity: string;
  /** The arm, or `arm − baseline` for a gain. */
  readonly arm: string;
  /** The paper's value, F1 units. */
  readonly paper: number;
  /** albench's estimate (`null`: not measured, e.g. no evaluation at 180 labels). */
  readonly albench: Estimate | null;
  /** Whether the paper's value lies in albench's 95% interval (`null`: no interval). */
  readonly withinCi: boolean | null;
}

const METRIC_WORD: Record<Metric, string> = { macro_f1: "macro F1", micro_f1: "micro F1" };

const within = (e: Estimate | null, v: number) =>
  e && Number.isFinite(e.low) && Number.isFinite(e.high) ? e.low <= v && v <= e.high : null;

/**
 * The paper's values beside albench's: per Scenario-1 match, each arm's mean F1 over seeds at 180 labels (from
 * `curves`, with its one-sample 95% t-interval over seeds); per Scenario-1/3 match, the paired gain in macro F1
 * averaged over rounds 1…T (the `average` row of `stats`). `rounds` gives T per scenario, for the words.
 *
 * @example
 * ```ts
 * import { paperComparison } from "./paper.ts";
 * const m = { scenario: "f/s3", paperScenario: 3, baseline: "random", al: ["mge"], differences: [] } as const;
 * const stat = { scenario: "f/s3", arm: "mge", baseline: "random", at: "average", metric: "macro_f1", n: 5,
 *   mean_diff: 0.02, ci_low: 0.005, ci_high: 0.035 };
 * const [row] = paperComparison([m], [], [stat as never], new Map([["f/s3", 20]]));
 * console.assert(row!.paper === 0.04 && row!.albench!.mean === 0.02 && row!.withinCi === false);
 * ```
 */
export function paperComparison(
  matches: readonly PaperMatch[],
  curves: readonly CurveRow[],
  stats: readonly StatsRow[],
  rounds: ReadonlyMap<string, number>,
): PaperComparisonRow[] {
  const out: PaperComparisonRow[] = [];
  for (const p of paperCurvePoints(matches)) {
    const values = curves.filter((r) =>
      r.scenario === p.scenario && r.arm === p.arm && r.labelled === p.labelled
    )
      .map((r) => r[p.metric]);
    const t = values.length ? pairedT(values) : null;
    const albench = t ? { mean: t.mean, low: t.low, high: t.high, n: values.length } : null;
    out.push({
      scenario: p.scenario,
      figure: 1,
      quantity: `${METRIC_WORD[p.metric]} at ${p.labelled} labels (Fig. 1)`,
      arm: p.arm,
      paper: p.value,
      albench,
      withinCi: within(albench, p.value),
    });
  }
  for (const g of paperGains(matches)) {
    const r = stats.find((s) =>
      s.scenario === g.scenario && s.arm === g.arm && s.baseline === g.baseline && s.at === "average" &&
      s.metric === g.metric
    );
    const albench = r ? { mean: r.mean_diff, low: r.ci_low, high: r.ci_high, n: r.n } : null;
    out.push({
      scenario: g.scenario,
      figure: 2,
      quantity:
        `${METRIC_WORD[g.metric]} gain averaged over the rounds (paper Fig. 2: ${PAPER.fig2.rounds} ` +
        `rounds; here rounds 1–${rounds.get(g.scenario) ?? "T"})`,
      arm: `${g.arm} − ${g.baseline}`,
      paper: g.gain,
      albench,
      withinCi: within(albench, g.gain),
    });
  }
  return out;
}

/**
 * The sentence beside the paper table: where the numbers come from, how this run's regime differs, and what the
 * last column may be read as (never as agreement by itself).
 *
 * @example
 * ```ts
 * import { paperNote } from "./paper.ts";
 * const m = { scenario: "f", paperScenario: 1, baseline: "random", al: ["mge"], differences: ["32 px instead of 256 px"] } as const;
 * console.assert(paperNote([m]).includes("This run's regime differs: 32 px instead of 256 px."));
 * ```
 */
export function paperNote(matches: readonly PaperMatch[]): string {
  const differences = [...new Set(matches.flatMap((m) => m.differences))];
  return `The paper (${PAPER.citation}) reports these values for ${PAPER.regime.network} on ` +
    `${PAPER.regime.resolution} px UCMerced images, averaged over ${PAPER.regime.runs} runs. ` +
    (differences.length
      ? `This run's regime differs: ${differences.join("; ")}. `
      : "This run follows the paper's regime in network, resolution, pre-training, fine-tuning epochs, " +
        "initial set, batch, rounds and runs. ") +
    "The paper's numbers are a reference, not a target: a paper value inside albench's 95% interval says only " +
    "that this run does not contradict it, and one outside says the two differ in this regime.";
}

/**
 * A paper comparison row's values as text: the paper's value and albench's, in percent for an F1 (Fig. 1) and
 * in signed points for a gain (Fig. 2; both 100 × F1), with albench's 95% interval.
 *
 * @example
 * ```ts
 * import { paperRowText } from "./paper.ts";
 * const row = { scenario: "s", figure: 2 as const, quantity: "macro F1 gain", arm: "mge − random", paper: 0.016,
 *   albench: { mean: 0.0273, low: -0.0018, high: 0.0539, n: 5 }, withinCi: true };
 * const t = paperRowText(row);
 * console.assert(t.paper === "+1.60" && t.albench === "+2.73 [−0.18, +5.39], 5 seeds" && t.within === "yes");
 * ```
 */
export function paperRowText(r: PaperComparisonRow): { paper: string; albench: string; within: string } {
  const v = (x: number) => (r.figure === 2 ? points(x) : (100 * x).toFixed(2));
  const e = r.albench;
  const albench = !e
    ? "not measured"
    : Number.isFinite(e.low) && Number.isFinite(e.high)
    ? `${v(e.mean)} [${v(e.low)}, ${v(e.high)}], ${e.n} seeds`
    : `${v(e.mean)}, ${e.n} seed${e.n === 1 ? "" : "s"} (no interval)`;
  return { paper: v(r.paper), albench, within: r.withinCi === null ? "n/a" : r.withinCi ? "yes" : "no" };
}
