/**
 * Progress of a run: a live status line on a terminal, plain lines otherwise, nothing with `--quiet`, and an
 * optional JSON-lines event log.
 *
 * @module
 */

import type { ProgressEvent } from "../records/log_events.ts";

/** An event worth reporting (its `--log-json` form and reader: `records/log_events.ts`). */
export type { ProgressEvent };

/** Reporter options. */
export interface ProgressOptions {
  /** No output at all. */
  readonly quiet?: boolean;
  /** Live single-line display; default: whether stderr is a terminal. */
  readonly live?: boolean;
  /** Append every event as one JSON line to this file. */
  readonly jsonLog?: string;
  /** Where lines go (stderr by default). */
  readonly write?: (text: string) => void;
}

const fmtTime = (s: number) => {
  const m = Math.floor(s / 60), sec = Math.floor(s % 60);
  return m >= 60
    ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`
    : `${m}:${String(sec).padStart(2, "0")}`;
};

/**
 * Progress reporting with an estimate of the remaining time from the iterations done so far.
 *
 * @example
 * ```ts
 * import { Progress } from "./progress.ts";
 * const lines: string[] = [];
 * const p = new Progress({ live: false, write: (t) => lines.push(t) }, 2, 6);
 * p.emit({ type: "message", text: "hello" });
 * console.assert(lines[0] === "hello\n");
 * // On a terminal the status line is rewritten in place, and cleared before the next plain line and at the end.
 * const term: string[] = [];
 * const q = new Progress({ live: true, write: (t) => term.push(t) }, 1, 1);
 * q.emit({ type: "phase", cell: "s/a/seed-0", iteration: 0, iterations: 1, phase: "train" });
 * q.emit({ type: "done", seconds: 1 });
 * q.close();
 * console.assert(term[1] === "\r\x1b[2Kfinished in 0:01\n" && term.length === 2);
 * // The start says how many cells run at once, and that the default takes every core.
 * p.emit({ type: "start", cells: 4, skipped: 0, jobs: 2, cores: 8 });
 * console.assert(lines[1] === "running 4 cells, 2 at a time (--jobs; the default is every core: 8 here)\n");
 * ```
 */
export class Progress {
  readonly #opts: ProgressOptions;
  readonly #t0 = performance.now();
  readonly #totalIterations: number;
  #doneIterations = 0;
  /** When the first AL iteration started: pre-training time must not enter the per-iteration rate. */
  #loopT0: number | undefined;
  #doneCells = 0;
  readonly #cells: number;
  #log: Deno.FsFile | undefined;
  readonly #encoder = new TextEncoder();
  /** The estimate's work model: total estimated seconds, and what each event completes of it. */
  #work: { total: number; cost: (e: ProgressEvent) => number; done: number } | undefined;

  /**
   * Base the ETA on an estimate: `total` estimated seconds of the run, `cost(e)` the estimated seconds an event
   * completes. The ETA is then the estimate's remaining seconds scaled by how fast the run has gone so far
   * against the estimate, and it moves inside pre-training epochs too.
   */
  useEstimate(total: number, cost: (e: ProgressEvent) => number): void {
    if (total > 0 && Number.isFinite(total)) this.#work = { total, cost, done: 0 };
  }

  /** `iterations`: the AL iterations still to run (for the time estimate). */
  constructor(opts: ProgressOptions, cells: number, iterations: number) {
    this.#opts = opts;
    this.#cells = cells;
    this.#totalIterations = iterations;
    if (opts.jsonLog) this.#log = Deno.openSync(opts.jsonLog, { append: true, create: true });
  }

  /** Whether a live status line is on the terminal now (written without its newline). */
  #lineOpen = false;

  #write(text: string, live: boolean, always = false) {
    if (this.#opts.quiet && !always) return;
    const out = this.#opts.write ?? ((t: string) => Deno.stderr.writeSync(this.#encoder.encode(t)));
    // A live line is rewritten in place; any other line first clears a live line still showing.
    const clear = this.#lineOpen ? "\r\x1b[2K" : "";
    if (live) out(`\r\x1b[2K${text}`);
    else out(`${clear}${text}\n`);
    this.#lineOpen = live;
  }

  /** Report an event. */
  emit(e: ProgressEvent): void {
    const elapsed = (performance.now() - this.#t0) / 1000;
    this.#log?.writeSync(
      this.#encoder.encode(JSON.stringify({ t: Math.round(elapsed * 10) / 10, ...e }) + "\n"),
    );
    const live = this.#opts.live ?? Deno.stderr.isTerminal();
    if (this.#loopT0 === undefined && (e.type === "phase" || e.type === "iteration")) {
      this.#loopT0 = performance.now();
    }
    const loopSeconds = this.#loopT0 === undefined ? 0 : (performance.now() - this.#loopT0) / 1000;
    let eta = this.#doneIterations > 0
      ? ` | eta ${
        fmtTime((loopSeconds / this.#doneIterations) * (this.#totalIterations - this.#doneIterations))
      }`
      : "";
    if (this.#work) {
      const w = this.#work;
      w.done = Math.min(w.total, w.done + w.cost(e));
      // Before anything is done, the estimate itself; then scaled by the pace so far.
      const pace = w.done > 0 && elapsed > 5 ? elapsed / w.done : 1;
      eta = ` | eta ${fmtTime(Math.max(0, (w.total - w.done) * pace))}`;
    }
    const head = `[${this.#doneCells}/${this.#cells} cells | ${fmtTime(elapsed)}${eta}]`;
    switch (e.type) {
      case "start":
        this.#write(
          `running ${e.cells} cells${e.skipped ? ` (${e.skipped} already complete)` : ""}${
            e.shard ? ` as shard ${e.shard}` : ""
          }${
            e.jobs !== undefined && e.cells > 0
              ? `, ${e.jobs} at a time${
                e.cores !== undefined ? ` (--jobs; the default is every core: ${e.cores} here)` : ""
              }`
              : ""
          }`,
          false,
        );
        break;
      case "size":
        for (const line of e.lines) this.#write(line, false);
        break;
      case "pretrain-start":
        this.#write(
          `pre-training ${e.key.slice(0, 12)}: BYOL, ${e.epochs} epoch${
            e.epochs === 1 ? "" : "s"
          } on ${e.images} images`,
          false,
        );
        break;
      case "pretrain-step":
        if (live) {
          this.#write(
            `${head} pre-training ${e.key.slice(0, 12)} epoch ${
              e.epoch + 1
            }/${e.epochs}, step ${e.step}/${e.steps}`,
            true,
          );
        }
        break;
      case "pretrain":
        if (e.epoch === undefined) {
          this.#write(`pre-training ${e.key.slice(0, 12)}: ${e.cached ? "from cache" : "done"}`, false);
        } else {this.#write(
            `${head} pre-training ${e.key.slice(0, 12)} epoch ${e.epoch + 1}/${e.epochs} loss ${
              e.loss?.toFixed(4)
            }`,
            live,
          );}
        break;
      case "phase":
        if (live) this.#write(`${head} ${e.cell} iteration ${e.iteration}/${e.iterations}: ${e.phase}`, true);
        break;
      case "iteration":
        this.#doneIterations++;
        this.#write(
          `${head} ${e.cell} iteration ${e.iteration}/${e.iterations}: ${e.labelled} labelled, micro-F1 ` +
            `${e.microF1.toFixed(3)}, macro-F1 ${e.macroF1.toFixed(3)} (${e.seconds.toFixed(1)} s)`,
          live,
        );
        break;
      case "cell-done":
        this.#doneCells++;
        break;
      case "done":
        this.#write(`finished in ${fmtTime(e.seconds)}`, false);
        break;
      case "message":
        this.#write(e.text, false);
        break;
      case "warning":
        // On its own line, also after a live status line.
        this.#write(`warning: ${e.text}`, false, true);
        break;
    }
  }

  /** Close the log and clear a live status line still showing (the lines before it stay). */
  close(): void {
    this.#log?.close();
    if (this.#lineOpen) {
      (this.#opts.write ?? ((t: string) => Deno.stderr.writeSync(this.#encoder.encode(t))))("\r\x1b[2K");
      this.#lineOpen = false;
    }
  }
}
