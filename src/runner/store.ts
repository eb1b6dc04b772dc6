/**
 * The results folder: one JSON record per cell, rewritten atomically after every AL iteration, plus the model state
 * needed to resume, and `run.json` naming the scenarios (with hashes) the folder belongs to.
 *
 * Layout: `run.json`, `cells/<scenario>/<arm>/seed-<k>.json`, `state/<scenario>/<arm>/seed-<k>/iter-<t>/`
 * (a checkpoint of the model after iteration t; the one matching the record's last iteration is kept).
 * The checkpoint is written before the record that refers to it, so after a crash the record's last iteration
 * always has its checkpoint.
 *
 * @module
 */
import { writeFileAtomic } from "../data/cache.ts";
import type { IterationRecord } from "../al/loop.ts";
import type { Cell } from "./grid.ts";
import type { ResolvedScenario } from "../scenario/load.ts";
import type { PretrainSummary } from "./cells.ts";

/** The format tag of cell records. */
export const CELL_FORMAT = "albench-cell-v1";
/** The format tag of `run.json`. */
export const RUN_FORMAT = "albench-run-v1";

/** A cell's record. */
export interface CellRecord {
  readonly format: typeof CELL_FORMAT;
  readonly key: string;
  readonly scenario: string;
  readonly scenarioHash: string;
  readonly arm: string;
  readonly query: string;
  readonly seed: number;
  readonly classNames: string[];
  readonly pretrainKey: string | null;
  /** Pre-training loss curve and linear-probe check (null without pre-training). */
  readonly pretrain?: PretrainSummary | null;
  readonly environment: Record<string, unknown>;
  readonly iterations: IterationRecord[];
  readonly complete: boolean;
}

/** `run.json`: which scenarios this folder holds. */
export interface RunFile {
  readonly format: typeof RUN_FORMAT;
  readonly scenarios: { id: string; hash: string; file?: string }[];
}

/**
 * Where a cell's record lives.
 *
 * @example
 * ```ts
 * import { cellPath } from "./store.ts";
 * console.assert(cellPath("out", "s/v/arm/seed-1") === "out/cells/s/v/arm/seed-1.json");
 * ```
 */
export function cellPath(out: string, key: string): string {
  return `${out}/cells/${key}.json`;
}

/**
 * Where a cell's resume checkpoints live.
 *
 * @example
 * ```ts
 * import { stateDir } from "./store.ts";
 * console.assert(stateDir("out", "s/arm/seed-0") === "out/state/s/arm/seed-0");
 * ```
 */
export function stateDir(out: string, key: string): string {
  return `${out}/state/${key}`;
}

/**
 * Read a cell record, or `null` when absent. A record of another format is an error.
 *
 * @example
 * ```ts
 * import { readCell } from "./store.ts";
 * console.assert((await readCell(await Deno.makeTempDir(), "s/a/seed-0")) === null);
 * ```
 */
export async function readCell(out: string, key: string): Promise<CellRecord | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(cellPath(out, key));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  const r = JSON.parse(text) as CellRecord;
  if (r.format !== CELL_FORMAT) throw new Error(`${cellPath(out, key)}: not an ${CELL_FORMAT} record`);
  return r;
}

/**
 * Write a cell record atomically.
 *
 * @example
 * ```ts ignore
 * import { writeCell } from "./store.ts";
 * await writeCell("reports/run", record);
 * ```
 */
export async function writeCell(out: string, record: CellRecord): Promise<void> {
  const path = cellPath(out, record.key);
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await writeFileAtomic(path, JSON.stringify(record, null, 1));
}

/**
 * Check a results folder against the scenarios about to run. A folder made from a different version of a scenario
 * (another hash under the same id) is refused, so results are never silently mixed. Returns the existing
 * `run.json` (or `null` for a new folder) without writing anything.
 *
 * @example
 * ```ts ignore
 * import { checkRunFolder } from "./store.ts";
 * await checkRunFolder("reports/default", scenarios);
 * ```
 */
export async function checkRunFolder(
  out: string,
  scenarios: readonly ResolvedScenario[],
): Promise<RunFile | null> {
  let existing: RunFile;
  try {
    existing = JSON.parse(await Deno.readTextFile(`${out}/run.json`)) as RunFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      const entries = await Array.fromAsync(Deno.readDir(out)).catch(() => []);
      if (entries.some((e) => e.name === "cells")) {
        throw new Error(
          `${out} holds cells but no run.json; it was not made by this version of albench. Use another --out.`,
        );
      }
      return null;
    }
    throw new Error(
      `${out}/run.json is unreadable (${(e as Error).message}); use another --out or delete the folder`,
    );
  }
  if (existing.format !== RUN_FORMAT) throw new Error(`${out}/run.json is not an ${RUN_FORMAT} file`);
  for (const s of scenarios) {
    const prior = existing.scenarios.find((p) => p.id === s.id);
    if (prior && prior.hash !== s.hash) {
      throw new Error(
        `${out} holds results of scenario ${s.id} with hash ${
          prior.hash.slice(0, 12)
        }, but the scenario now hashes ` +
          `to ${
            s.hash.slice(0, 12)
          } (it was edited). Results are never mixed: use another --out, or delete ${out} to ` +
          "start over.",
      );
    }
  }
  return existing;
}

/**
 * Write `run.json` with the union of earlier and current scenarios.
 *
 * @example
 * ```ts ignore
 * import { writeRunFile } from "./store.ts";
 * await writeRunFile("reports/run", null, scenarios);
 * ```
 */
export async function writeRunFile(
  out: string,
  prior: RunFile | null,
  scenarios: readonly ResolvedScenario[],
) {
  const list = [...(prior?.scenarios ?? [])];
  for (const s of scenarios) {
    if (!list.some((p) => p.id === s.id)) {
      list.push({ id: s.id, hash: s.hash, ...(s.file ? { file: s.file } : {}) });
    }
  }
  await Deno.mkdir(out, { recursive: true });
  await writeFileAtomic(`${out}/run.json`, JSON.stringify({ format: RUN_FORMAT, scenarios: list }, null, 1));
}

/**
 * Every cell record under `out/cells`.
 *
 * @example
 * ```ts ignore
 * import { readAllCells } from "./store.ts";
 * const cells = await readAllCells("reports/default");
 * ```
 */
export async function readAllCells(out: string): Promise<CellRecord[]> {
  const records: CellRecord[] = [];
  const walk = async (dir: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory) await walk(`${dir}/${e.name}`);
      else if (e.name.endsWith(".json")) {
        const r = JSON.parse(await Deno.readTextFile(`${dir}/${e.name}`)) as CellRecord;
        if (r.format === CELL_FORMAT) records.push(r);
      }
    }
  };
  await walk(`${out}/cells`);
  return records;
}

/**
 * The cells a grid expects that are missing or incomplete in `records`.
 *
 * @example
 * ```ts
 * import { missingCells } from "./store.ts";
 * console.assert(missingCells([], []).length === 0);
 * ```
 */
export function missingCells(cells: readonly Cell[], records: readonly CellRecord[]): string[] {
  const done = new Set(records.filter((r) => r.complete).map((r) => r.key));
  return cells.map((c) => c.key).filter((k) => !done.has(k));
}

/** Longest file-name component and path, in bytes, that Linux and macOS file systems accept. */
const NAME_MAX = 255, PATH_MAX = 4095;

/**
 * Check that every file a run may write for `cells` under `out` (records with their temporary copies,
 * checkpoints in their staging folders) has a name the file system accepts; throws naming the longest offender,
 * before anything is written, instead of failing with ENAMETOOLONG halfway through a run.
 *
 * @example
 * ```ts
 * import { checkOutputPaths } from "./store.ts";
 * checkOutputPaths("reports/x", [{ key: "x/random/seed-0", scenario: { iterations: 3 } }]);
 * let threw = false;
 * try { checkOutputPaths("reports/" + "y".repeat(300), []); } catch { threw = true; }
 * console.assert(threw);
 * ```
 */
export function checkOutputPaths(
  out: string,
  cells: readonly { readonly key: string; readonly scenario: { readonly iterations: number } }[],
): void {
  const bytes = (s: string) => new TextEncoder().encode(s).length;
  const uuid = "x".repeat(36);
  const paths = [`${out}/run.json.${uuid}.tmp`];
  for (const c of cells) {
    paths.push(`${cellPath(out, c.key)}.${uuid}.tmp`);
    paths.push(`${stateDir(out, c.key)}/iter-${c.scenario.iterations}.staging-xxxxxxxx/manifest.json`);
  }
  for (const p of paths) {
    const long = p.split("/").find((part) => bytes(part) > NAME_MAX);
    if (long !== undefined) {
      throw new Error(
        `the results folder would hold a file or folder name of ${bytes(long)} bytes ` +
          `(${JSON.stringify(long.slice(0, 40))}...), more than the ${NAME_MAX} file systems accept; ` +
          "shorten --out, the scenario name or the arm names",
      );
    }
    if (bytes(p) > PATH_MAX) {
      throw new Error(
        `the results folder would hold a path of ${bytes(p)} bytes, more than the ${PATH_MAX} file systems ` +
          `accept (${p.slice(0, 60)}...); shorten --out, the scenario name or the arm names`,
      );
    }
  }
}
