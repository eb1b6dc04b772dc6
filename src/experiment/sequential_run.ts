/**
 * A sequential run, look after look: run the seeds up to the next look (cells already complete are reused), decide
 * every pair from the complete records (`report/sequential_compare.ts`), and stop running the scenarios whose
 * every pair is decided. The same loop serves `compare --until-decided` and a scenario's `sequential` field.
 * It sits above the runner (which computes cells) and the report (which decides from records), in a room of its
 * own, so that neither of those imports the other's way.
 *
 * Shards agree on where the run stands because they read it from the results folder, not from their own memory:
 * each shard runs its share of the first look whose cells are not all complete, and goes on to the next look only
 * when every shard's share of this one is complete; otherwise it stops and says so ({@linkcode SequentialWaiting}),
 * and running it again later continues from the folder. The decisions are a pure function of the complete records,
 * so every shard reaches the same ones.
 *
 * @module
 */
import type { ResolvedScenario } from "../scenario/load.ts";
import { gridCells, type Shard } from "../runner/grid.ts";
import type { RunSummary } from "../runner/run.ts";
import { readAllCells } from "../runner/store.ts";
import { looks, poweredEffect, type SequentialDesign } from "../report/sequential.ts";
import { designLine, type SequentialOutcome, sequentialOutcome } from "../report/sequential_compare.ts";

/** What {@linkcode runSequential} needs. */
export interface SequentialRunOptions {
  /** The scenarios, each with its baseline; every one runs the compared `arms`. */
  readonly scenarios: readonly ResolvedScenario[];
  /** The compared arms (not the baseline). */
  readonly arms: readonly string[];
  readonly design: SequentialDesign;
  /** What the design powers; default `poweredEffect(design, 0.8, 2000)`. Said first, and carried into the outcome. */
  readonly powered?: SequentialOutcome["powered"];
  /** The results folder. */
  readonly out: string;
  /** This process's shard, when the run is split. */
  readonly shard?: Shard;
  /** Run (this shard of) the first `seeds` seeds of `active`; `first` on the first call of this process. */
  run(seeds: number, first: boolean, active: readonly ResolvedScenario[]): Promise<RunSummary>;
  /** A progress line (one per look). */
  said(line: string): void;
}

/** The run is over: every scenario decided or at the design's last look. */
export interface SequentialFinished {
  readonly state: "finished";
  /** The last {@linkcode SequentialRunOptions.run}'s summary. */
  readonly summary: RunSummary;
  readonly outcome: SequentialOutcome;
  /** Per scenario, the seeds it ran: up to the look that decided it, else the design's last. */
  readonly seeds: ReadonlyMap<string, number>;
}

/** A shard ran its share of a look whose other cells belong to shards that have not finished them. */
export interface SequentialWaiting {
  readonly state: "waiting";
  /** The look (1-based) and its seeds. */
  readonly look: number;
  readonly seeds: number;
  /** Cells of the look not complete yet, and all of the look's cells. */
  readonly missing: number;
  readonly cells: number;
}

/**
 * Run `opts.design` look by look; see the module text.
 *
 * @example
 * ```ts ignore
 * import { runSequential } from "./sequential_run.ts";
 * const r = await runSequential({ scenarios, arms: ["mge"], design, powered, out, run, said: console.error });
 * if (r.state === "finished") console.log(r.outcome.pairs.map((p) => p.verdict));
 * ```
 */
export async function runSequential(
  opts: SequentialRunOptions,
): Promise<SequentialFinished | SequentialWaiting> {
  const { scenarios, arms, design, out } = opts;
  const powered = opts.powered ?? poweredEffect(design, 0.8, 2000);
  opts.said(designLine(design, powered));
  const seeds = new Map<string, number>();
  let active: readonly ResolvedScenario[] = scenarios;
  let summary: RunSummary | undefined;
  let outcome: SequentialOutcome | undefined;
  for (const [k, n] of looks(design).entries()) {
    summary = await opts.run(n, k === 0, active);
    const complete = (await readAllCells(out)).filter((r) => r.complete);
    if (opts.shard && opts.shard.count > 1) {
      const done = new Set(complete.map((r) => r.key));
      const due = gridCells(active, n).map((c) => c.key);
      const missing = due.filter((key) => !done.has(key)).length;
      if (missing) return { state: "waiting", look: k + 1, seeds: n, missing, cells: due.length };
    }
    outcome = sequentialOutcome(complete, scenarios, arms, design, powered, n);
    opts.said(
      `look ${k + 1} at ${n} seeds: ${
        outcome.pairs.map((p) => `${p.scenario} ${p.arm}: ${p.verdict}`).join("; ")
      }`,
    );
    for (const s of active) {
      const mine = outcome.pairs.filter((p) => p.scenario === s.id);
      if (mine.every((p) => p.verdict !== "continue")) seeds.set(s.id, Math.max(...mine.map((p) => p.seeds)));
    }
    active = active.filter((s) => !seeds.has(s.id));
    if (!active.length) break;
  }
  for (const s of scenarios) if (!seeds.has(s.id)) seeds.set(s.id, design.maxSeeds);
  return { state: "finished", summary: summary!, outcome: outcome!, seeds };
}

/**
 * What a shard says when it stops at a look other shards have not finished.
 *
 * @example
 * ```ts
 * import { waitingLine } from "./sequential_run.ts";
 * const line = waitingLine({ index: 1, count: 4 }, { state: "waiting", look: 2, seeds: 10, missing: 6, cells: 20 });
 * console.assert(line.startsWith("shard 1/4: look 2 (10 seeds) has 6 of its 20 cells still to finish"));
 * ```
 */
export function waitingLine(shard: Shard, w: SequentialWaiting): string {
  return `shard ${shard.index}/${shard.count}: look ${w.look} (${w.seeds} seeds) has ${w.missing} of its ${w.cells} ` +
    "cells still to finish in other shards; run the shards again once they have finished: the run goes on from " +
    "where the results folder stands";
}
