/**
 * A worker thread that runs a share of the cells (for `--jobs N` on one machine): its own tfjs engine and wasm
 * instance, the same code path as the main thread, progress events posted back.
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

/** The message that starts a worker. */
export interface WorkerJob {
  readonly scenarios: ResolvedScenario[];
  readonly seedLimit?: number;
  readonly keys: string[];
  readonly out: string;
  readonly dataRoot?: string;
  readonly cacheDir: string;
  readonly backend: BackendName;
  /** Native engine threads for this worker (its share of the cores). */
  readonly nativeThreads?: number;
  readonly environment: Record<string, unknown>;
  /** What each scenario is computed with, as bound to the results folder. */
  readonly identities?: ReadonlyMap<string, ScenarioIdentity>;
}

/** Messages a worker posts. */
export type WorkerMessage =
  | { kind: "event"; event: ProgressEvent }
  | { kind: "query"; watch: QueryWatch }
  | { kind: "cell-failed"; key: string; message: string }
  | { kind: "done" }
  | { kind: "error"; message: string };

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<WorkerJob>) => void) | null;
  postMessage(m: WorkerMessage): void;
  close(): void;
};

scope.onmessage = async (e) => {
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
      announceCached: false,
    });
    const wanted = new Set(job.keys);
    for (const cell of gridCells(job.scenarios, job.seedLimit).filter((c) => wanted.has(c.key))) {
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
