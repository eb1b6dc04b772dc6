/**
 * The results folder: one JSON record per cell, rewritten atomically after every AL iteration, plus the model state
 * needed to resume, and `run.json` naming the scenarios (with hashes) the folder belongs to.
 *
 * Layout: `run.json`, `versions/<scenario>.json`, `cells/<scenario>/<arm>/seed-<k>.json`,
 * `state/<scenario>/<arm>/seed-<k>/iter-<t>/` (a checkpoint of the model after iteration t; the one matching the
 * record's last iteration is kept).
 * The checkpoint is written before the record that refers to it, so after a crash the record's last iteration
 * always has its checkpoint.
 *
 * Which version of each scenario a folder holds is decided once, atomically: the first run to use the folder for a
 * scenario creates `versions/<scenario id>.json` (its hash) with a hard link of a complete file, which succeeds for
 * exactly one process also on NFS; every later or concurrent run, shard or resume reads it and is refused unless its
 * scenario hashes the same. Shards of one run (same hashes) all pass and write into the folder at once; there is no
 * lock to hold, so a crashed run leaves nothing stale behind. Cell records are checked against that hash whenever
 * they are resumed, skipped as complete or reported; a record that does not parse is set aside
 * (`<name>.damaged-<n>`) and recomputed.
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
  /** The record format, `albench-cell-v1`. */
  readonly format: "albench-cell-v1";
  /** `scenario-id/arm/seed-k`. */
  readonly key: string;
  /** The scenario id. */
  readonly scenario: string;
  /** The hash of the scenario version that computed it. */
  readonly scenarioHash: string;
  /** The arm name. */
  readonly arm: string;
  /** The arm's query function (a built-in name or a module path). */
  readonly query: string;
  /** The seed. */
  readonly seed: number;
  /** The dataset's class names, in label-column order. */
  readonly classNames: string[];
  /** The pre-trained backbone's cache key (`null` without pre-training). */
  readonly pretrainKey: string | null;
  /** Pre-training loss curve and linear-probe check (null without pre-training). */
  readonly pretrain?: PretrainSummary | null;
  /** The machine and engine that computed it. */
  readonly environment: Record<string, unknown>;
  /** Every evaluated round, from the initial one (t = 0). */
  readonly iterations: IterationRecord[];
  /** Whether every round is done. */
  readonly complete: boolean;
}

/** The format tag of the `versions/<scenario id>.json` files. */
export const VERSION_FORMAT = "albench-version-v1";

/** `run.json`: which scenarios this folder holds. */
export interface RunFile {
  /** The file format, `albench-run-v1`. */
  readonly format: "albench-run-v1";
  /** Every scenario the folder holds: id, hash and the file it came from. */
  readonly scenarios: { id: string; hash: string; file?: string }[];
}

/** `versions/<scenario id>.json`: the version (hash) of one scenario that a results folder holds. */
export interface VersionFile {
  readonly format: typeof VERSION_FORMAT;
  readonly id: string;
  readonly hash: string;
  readonly file?: string;
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

/** A cell's record as found on disk. */
export type StoredCell =
  | { readonly state: "absent"; readonly path: string }
  | { readonly state: "ok"; readonly path: string; readonly record: CellRecord }
  /** Truncated or garbled (not JSON, or not the shape of a record): set it aside and recompute the cell. */
  | { readonly state: "damaged"; readonly path: string; readonly reason: string };

/**
 * Read a cell's record without judging it: absent, readable, or damaged (with the reason). A record of another
 * format is an error (it is not ours to set aside).
 *
 * @example
 * ```ts
 * import { inspectCell } from "./store.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/cells/s/a`, { recursive: true });
 * await Deno.writeTextFile(`${dir}/cells/s/a/seed-0.json`, '{"format": "albench-cell-v1", "ke');
 * const c = await inspectCell(dir, "s/a/seed-0");
 * console.assert(c.state === "damaged" && c.reason.includes("JSON"));
 * console.assert((await inspectCell(dir, "s/a/seed-1")).state === "absent");
 * ```
 */
export async function inspectCell(out: string, key: string): Promise<StoredCell> {
  const path = cellPath(out, key);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { state: "absent", path };
    throw e;
  }
  const r = parseCell(text);
  if (typeof r === "string") return { state: "damaged", path, reason: r };
  if (r.format !== CELL_FORMAT) {
    throw new Error(
      `${path}: not an ${CELL_FORMAT} record (format ${JSON.stringify(r.format)}); move it out of ${out}`,
    );
  }
  return { state: "ok", path, record: r };
}

/** A parsed record, or why the text is not one (a record of another format is returned as it is). */
function parseCell(text: string): CellRecord | string {
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch (e) {
    return `not valid JSON: ${(e as Error).message}`;
  }
  if (typeof r !== "object" || r === null || Array.isArray(r)) return "not a JSON object";
  const o = r as Record<string, unknown>;
  if (o.format !== CELL_FORMAT) return r as CellRecord;
  for (
    const [field, ok] of [
      ["key", typeof o.key === "string"],
      ["scenario", typeof o.scenario === "string"],
      ["scenarioHash", typeof o.scenarioHash === "string"],
      ["iterations", Array.isArray(o.iterations)],
      ["complete", typeof o.complete === "boolean"],
    ] as const
  ) {
    if (!ok) return `its field ${field} is missing or of the wrong type`;
  }
  return r as CellRecord;
}

/**
 * Read a cell record, or `null` when absent. A record of another format, or one that is damaged, is an error
 * naming the file.
 *
 * @example
 * ```ts
 * import { readCell } from "./store.ts";
 * console.assert((await readCell(await Deno.makeTempDir(), "s/a/seed-0")) === null);
 * ```
 */
export async function readCell(out: string, key: string): Promise<CellRecord | null> {
  const c = await inspectCell(out, key);
  if (c.state === "damaged") throw new Error(`${c.path}: damaged cell record (${c.reason})`);
  return c.state === "ok" ? c.record : null;
}

/**
 * The error for a cell record made by another version of its scenario: it is neither resumed, nor reused, nor
 * reported. `null` when the record belongs to `hash`.
 *
 * @example
 * ```ts
 * import { otherVersionError } from "./store.ts";
 * const r = { scenario: "s", scenarioHash: "a".repeat(64) } as never;
 * console.assert(otherVersionError("out/cells/s/x/seed-0.json", r, "a".repeat(64)) === null);
 * console.assert(otherVersionError("out/cells/s/x/seed-0.json", r, "b".repeat(64))!.message.includes("aaaaaaaaaaaa"));
 * ```
 */
export function otherVersionError(
  path: string,
  record: Pick<CellRecord, "scenario" | "scenarioHash">,
  hash: string,
): Error | null {
  if (record.scenarioHash === hash) return null;
  return new Error(
    `${path} was made by scenario ${record.scenario} with hash ${
      record.scenarioHash.slice(0, 12)
    }, but the ` +
      `scenario now hashes to ${hash.slice(0, 12)}; results of two versions of a scenario are never mixed. ` +
      "Move that file out of the results folder (the cell is then recomputed), or use another --out.",
  );
}

/**
 * Set a damaged file or folder aside as `<as>.damaged-<n>` (`as` defaults to `path`; the first free n) and return
 * the new name. Nothing is deleted, so the evidence stays for whoever wants to look.
 *
 * @example
 * ```ts
 * import { setAside } from "./store.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/x.json`, "{");
 * console.assert((await setAside(`${dir}/x.json`)) === `${dir}/x.json.damaged-1`);
 * await Deno.writeTextFile(`${dir}/x.json`, "{");
 * console.assert((await setAside(`${dir}/x.json`)) === `${dir}/x.json.damaged-2`);
 * ```
 */
export async function setAside(path: string, as = path): Promise<string> {
  for (let n = 1;; n++) {
    const target = `${as}.damaged-${n}`;
    try {
      await Deno.lstat(target);
      continue;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    await Deno.rename(path, target);
    return target;
  }
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
 * Where the version (hash) of a scenario that a folder holds is recorded.
 *
 * @example
 * ```ts
 * import { versionPath } from "./store.ts";
 * console.assert(versionPath("out", "s/v") === "out/versions/s/v.json");
 * ```
 */
export function versionPath(out: string, id: string): string {
  return `${out}/versions/${id}.json`;
}

function versionConflict(out: string, id: string, held: string, now: string, where: string): Error {
  return new Error(
    `${out} holds results of scenario ${id} with hash ${held.slice(0, 12)}, but the scenario now hashes to ` +
      `${
        now.slice(0, 12)
      } (it was edited, or another run of a different version of it uses this folder; see ` +
      `${where}). Results are never mixed: use another --out, or delete ${out} to start over.`,
  );
}

async function readVersionFile(path: string): Promise<VersionFile | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  let v: VersionFile | undefined;
  try {
    v = JSON.parse(text);
  } catch {
    // reported below
  }
  if (v?.format !== VERSION_FORMAT || typeof v.hash !== "string" || typeof v.id !== "string") {
    throw new Error(
      `${path} is damaged; it records which version of a scenario the results folder holds, so nothing can be ` +
        "checked without it: restore it, or use another --out",
    );
  }
  return v;
}

/** Every `versions/**.json` of a folder (none when the folder has no such directory). */
async function readVersionFiles(out: string): Promise<VersionFile[]> {
  const found: VersionFile[] = [];
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
      else if (e.name.endsWith(".json")) found.push((await readVersionFile(`${dir}/${e.name}`))!);
    }
  };
  await walk(`${out}/versions`);
  return found;
}

async function readRunJson(out: string): Promise<RunFile | null> {
  let existing: RunFile;
  try {
    existing = JSON.parse(await Deno.readTextFile(`${out}/run.json`)) as RunFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new Error(
      `${out}/run.json is unreadable (${(e as Error).message}); use another --out or delete the folder`,
    );
  }
  if (existing?.format !== RUN_FORMAT || !Array.isArray(existing.scenarios)) {
    throw new Error(`${out}/run.json is not an ${RUN_FORMAT} file`);
  }
  return existing;
}

/**
 * What a results folder holds: `run.json` merged with the `versions/` files (which decide where both name a
 * scenario), or `null` for a folder without either. Throws naming the file when one is unreadable.
 *
 * @example
 * ```ts
 * import { readRunFile } from "./store.ts";
 * console.assert((await readRunFile(await Deno.makeTempDir())) === null);
 * ```
 */
export async function readRunFile(out: string): Promise<RunFile | null> {
  const run = await readRunJson(out);
  const versions = await readVersionFiles(out);
  if (!run && !versions.length) return null;
  const list = [...(run?.scenarios ?? [])];
  for (const v of versions) {
    const entry = { id: v.id, hash: v.hash, ...(v.file ? { file: v.file } : {}) };
    const i = list.findIndex((p) => p.id === v.id);
    if (i < 0) list.push(entry);
    else {list[i] = {
        ...entry,
        ...(list[i]!.hash === v.hash && list[i]!.file ? { file: list[i]!.file } : {}),
      };}
  }
  return { format: RUN_FORMAT, scenarios: list };
}

/**
 * Check a results folder against the scenarios about to run. A folder holding a different version of a scenario
 * (another hash under the same id, in `run.json` or `versions/`) is refused, so results are never silently mixed.
 * Returns what the folder holds (or `null` for a new folder) without writing anything.
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
  const run = await readRunJson(out);
  const versions = await readVersionFiles(out);
  if (!run && !versions.length) {
    const entries = await Array.fromAsync(Deno.readDir(out)).catch(() => []);
    if (entries.some((e) => e.name === "cells")) {
      throw new Error(
        `${out} holds cells but no run.json; it was not made by this version of albench. Use another --out.`,
      );
    }
    return null;
  }
  for (const s of scenarios) {
    const prior = run?.scenarios.find((p) => p.id === s.id);
    if (prior && prior.hash !== s.hash) {
      throw versionConflict(out, s.id, prior.hash, s.hash, `${out}/run.json`);
    }
    const held = versions.find((v) => v.id === s.id);
    if (held && held.hash !== s.hash) {
      throw versionConflict(out, s.id, held.hash, s.hash, versionPath(out, s.id));
    }
  }
  return await readRunFile(out);
}

/**
 * Bind the folder to the versions of `scenarios`, atomically: each `versions/<id>.json` is created by hard-linking
 * a complete temporary file to its name, which fails for all but one process when several try at once (also on
 * NFS, unlike `fcntl` locks), so of two concurrent runs of different versions exactly one goes on; shards of one
 * run (the same hashes) all go on. Throws, naming both hashes, when the folder holds another version.
 *
 * @example
 * ```ts
 * import { claimScenarios } from "./store.ts";
 * const out = await Deno.makeTempDir();
 * const v = (hash: string) => [{ id: "s", hash }] as never;
 * // Two shards of one run at once both go on; another version is refused.
 * await Promise.all([claimScenarios(out, v("a".repeat(64))), claimScenarios(out, v("a".repeat(64)))]);
 * let refused = false;
 * await claimScenarios(out, v("b".repeat(64))).catch(() => (refused = true));
 * console.assert(refused);
 * ```
 */
export async function claimScenarios(out: string, scenarios: readonly ResolvedScenario[]): Promise<void> {
  for (const s of scenarios) {
    const path = versionPath(out, s.id);
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    const mine: VersionFile = {
      format: VERSION_FORMAT,
      id: s.id,
      hash: s.hash,
      ...(s.file ? { file: s.file } : {}),
    };
    const tmp = `${path}.${crypto.randomUUID()}.tmp`;
    let linkError: unknown;
    try {
      await Deno.writeTextFile(tmp, JSON.stringify(mine, null, 1));
      await Deno.link(tmp, path);
    } catch (e) {
      // AlreadyExists: another run got there first. Anything else (NFS may report a link that did succeed as
      // failed): what the file says decides.
      linkError = e;
    } finally {
      await Deno.remove(tmp).catch(() => {});
    }
    const held = await readVersionFile(path);
    if (!held) throw linkError;
    if (held.hash !== s.hash) throw versionConflict(out, s.id, held.hash, s.hash, path);
  }
}

/**
 * Write `run.json` with the union of what the folder holds (`run.json` as it is now and `versions/`), `prior` and
 * the current scenarios. Several runs may write it at once; the `versions/` files stay authoritative.
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
  await Deno.mkdir(out, { recursive: true });
  const now = await readRunFile(out);
  const list: RunFile["scenarios"] = [];
  for (const p of [...(now?.scenarios ?? []), ...(prior?.scenarios ?? [])]) {
    if (!list.some((q) => q.id === p.id)) list.push(p);
  }
  for (const s of scenarios) {
    if (!list.some((p) => p.id === s.id)) {
      list.push({ id: s.id, hash: s.hash, ...(s.file ? { file: s.file } : {}) });
    }
  }
  await writeFileAtomic(`${out}/run.json`, JSON.stringify({ format: RUN_FORMAT, scenarios: list }, null, 1));
}

/**
 * Every cell record under `out/cells` that belongs to the folder. A damaged record (not JSON, or not shaped like
 * a record), and a record made by another version of its scenario than the folder holds (`run.json`,
 * `versions/`) or of a scenario the folder does not hold, is left out with a warning naming the file, so it counts
 * as missing rather than being mixed in or stopping the report. Warnings go to `warn` (default: stderr). An
 * unreadable `run.json` or `versions/` file is an error naming it.
 *
 * @example
 * ```ts ignore
 * import { readAllCells } from "./store.ts";
 * const cells = await readAllCells("reports/default");
 * ```
 */
export async function readAllCells(
  out: string,
  warn: (text: string) => void = (text) => console.warn(`warning: ${text}`),
): Promise<CellRecord[]> {
  // A folder without run.json (and without versions/) has no version to check against: a run not yet started.
  // An unreadable one is an error naming it (never a report without the check).
  const run = await readRunFile(out);
  const hashes = run ? new Map(run.scenarios.map((s) => [s.id, s.hash])) : null;
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
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (e.name.endsWith(".json")) {
        const r = parseCell(await Deno.readTextFile(path));
        if (typeof r === "string") {
          warn(
            `${path}: damaged cell record (${r}); left out, so its cell counts as missing (bench on this folder ` +
              "sets it aside and recomputes the cell)",
          );
          continue;
        }
        if (r.format !== CELL_FORMAT) continue;
        if (hashes) {
          const hash = hashes.get(r.scenario);
          if (hash === undefined) {
            warn(
              `${path}: a cell of scenario ${r.scenario}, which ${out} does not hold (run.json); left out`,
            );
            continue;
          }
          const other = otherVersionError(path, r, hash);
          if (other) {
            warn(`${other.message} Left out, so its cell counts as missing.`);
            continue;
          }
        }
        records.push(r);
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
 * checkpoints in their staging folders, `versions/` files) has a name the file system accepts; throws naming the longest offender,
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
  for (const id of new Set(cells.map((c) => c.key.split("/").slice(0, -2).join("/")))) {
    paths.push(`${versionPath(out, id)}.${uuid}.tmp`);
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
