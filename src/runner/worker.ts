/**
 * A worker thread that runs cells (for `--jobs N` on one machine): its own tfjs engine and wasm instance, the same
 * code path as the main thread, progress events posted back. It takes its cells one at a time from the main
 * thread's queue (`next`, answered by `cell` or `end`), so jobs finish together however unequal the cells are.
 *
 * @module
 */
import { initBackend } from "../backend/backend.ts";
import type { BackendName } from "../backend/names.ts";
import type { ResolvedScenario } from "../scenario/load.ts";
import { gridCells } from "./grid.ts";
import { type QueryWatch, RunContext, runGridCell } from "./cells.ts";
import type { ProgressEvent } from "./progress.ts";
import type { ScenarioIdentity } from "./identity.ts";
import type { ImageTable } from "../data/dataset.ts";

/** The message that starts a worker. */
export interface WorkerJob {
  readonly scenarios: ResolvedScenario[];
  readonly seedLimit?: number;
  readonly out: string;
  readonly dataRoot?: string;
  readonly cacheDir: string;
  readonly backend: BackendName;
  /** Native engine threads for this worker (its share of the cores). */
  readonly nativeThreads?: number;
  readonly environment: Record<string, unknown>;
  /** What each scenario is computed with, as bound to the results folder. */
  readonly identities?: ReadonlyMap<string, ScenarioIdentity>;
  /** The main thread's image tables, their pixels in shared memory (see `RunContext.sharedImages`). */
  readonly images?: ReadonlyMap<string, ImageTable>;
}

/** What the main thread answers a worker's `next`: a cell's key, or the end of the queue. */
export type WorkerReply = { kind: "cell"; key: string } | { kind: "end" };

/** Messages a worker posts. */
export type WorkerMessage =
  | { kind: "next" }
  | { kind: "event"; event: ProgressEvent }
  | { kind: "query"; watch: QueryWatch }
  | { kind: "cell-failed"; key: string; message: string }
  | { kind: "done" }
  | { kind: "error"; message: string };

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<WorkerJob | WorkerReply>) => void) | null;
  postMessage(m: WorkerMessage): void;
  close(): void;
};

/** The answer to the `next` asked last. */
let answer: ((r: WorkerReply) => void) | undefined;
function next(): Promise<WorkerReply> {
  return new Promise((resolve) => {
    answer = resolve;
    scope.postMessage({ kind: "next" });
  });
}

scope.onmessage = async (e) => {
  if ("kind" in e.data) {
    answer?.(e.data);
    return;
  }
  const job = e.data;
  try {
    const info = await initBackend(
      job.backend,
      job.nativeThreads ? { nativeThreads: job.nativeThreads } : {},
    );
    const ctx = new RunContext({
      ...(job.dataRoot ? { dataRoot: job.dataRoot } : {}),
      cacheDir: job.cacheDir,
      backendName: info.name,
      environment: job.environment,
      emit: (event) => scope.postMessage({ kind: "event", event }),
      onQuery: (watch) => scope.postMessage({ kind: "query", watch }),
      ...(job.identities ? { identities: job.identities } : {}),
      ...(job.images ? { images: job.images } : {}),
      announceCached: false,
    });
    const cells = new Map(gridCells(job.scenarios, job.seedLimit).map((c) => [c.key, c]));
    for (let r = await next(); r.kind === "cell"; r = await next()) {
      const cell = cells.get(r.key);
      if (!cell) throw new Error(`the main thread handed out ${r.key}, which is not a cell of this run`);
      // A cell's failure is its own: reported, and the worker goes on with its next cell.
      await runGridCell(cell, ctx, job.out).catch((err) =>
        scope.postMessage({
          kind: "cell-failed",
          key: cell.key,
          message: err instanceof Error ? err.message : String(err),
        })
      );
    }
    scope.postMessage({ kind: "done" });
  } catch (err) {
    scope.postMessage({ kind: "error", message: err instanceof Error ? err.message : String(err) });
  }
  scope.close();
};
