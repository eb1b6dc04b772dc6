/**
 * The results folder: one JSON record per cell, rewritten atomically after every AL iteration, plus the model state
 * needed to resume, and `run.json` naming the scenarios (with hashes) the folder belongs to. This module owns every
 * path under a results folder and the checkpoint lifecycle; what each file holds (types, schemas, format tags) is
 * in `records.ts`, and every file is validated on read.
 *
 * Layout: `run.json`, `versions/<scenario>.json` (the scenario's hash, dataset and engine), `arms/<scenario>/<arm>.json`
 * (the code each arm's cells are computed with), `cells/<scenario>/<arm>/seed-<k>.json`, `compare.json` (arms
 * added by `compare`), `state/<scenario>/<arm>/seed-<k>/iter-<t>/` (a checkpoint of the model after iteration t;
 * the one matching the record's last iteration is kept). The report's files are written beside them by
 * `report/report.ts`.
 *
 * Checkpoint lifecycle ({@linkcode persistIteration}, {@linkcode loadResumeCheckpoint}): the checkpoint is written
 * before the record that refers to it, so after a crash the record's last iteration always has its checkpoint;
 * the previous one is removed after the record is written, and the cell's whole state folder once it is
 * complete. A checkpoint that does not load is set aside and the cell recomputed.
 *
 * Which version of each scenario a folder holds is decided once, atomically: the first run to use the folder for a
 * scenario creates `versions/<scenario id>.json` (its hash) with a hard link of a complete file, which succeeds for
 * exactly one process also on NFS; every later or concurrent run, shard or resume reads it and is refused unless its
 * scenario hashes the same and, where the file records them, its dataset, engine and arms' code agree (see
 * `identity.ts`). Shards of one run (same hashes) all pass and write into the folder at once; there is no
 * lock to hold, so a crashed run leaves nothing stale behind. Cell records are checked against that hash whenever
 * they are resumed, skipped as complete or reported; a record that does not parse or does not validate against its
 * schema is set aside (`<name>.damaged-<n>`) and recomputed by `bench`, and left out (counted missing) by `report`.
 *
 * @module
 */
import type { LayersModel } from "@tensorflow/tfjs";
import { writeFileAtomic } from "../atomic_write.ts";
import type { ResolvedScenario } from "../scenario/load.ts";
import { codeChanges } from "../plugin/code_hash.ts";
import { identityDifferences, type ScenarioIdentity, short } from "./identity.ts";
import {
  ARM_FORMAT,
  type ArmFile,
  CELL_FORMAT,
  type CellRecord,
  COMPARE_FORMAT,
  type CompareFile,
  formatOf,
  parseRecord,
  type RecordError,
  recordProblem,
  type RecordTypes,
  RUN_FORMAT,
  type RunFile,
  VERSION_FORMAT,
  type VersionFile,
} from "../records/records.ts";

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
 * Where the checkpoint of a cell's model after iteration `t` lives (kept only while `t` is the record's last).
 *
 * @example
 * ```ts
 * import { checkpointDir } from "./store.ts";
 * console.assert(checkpointDir("out", "s/arm/seed-0", 2) === "out/state/s/arm/seed-0/iter-2");
 * ```
 */
export function checkpointDir(out: string, key: string, t: number): string {
  return `${stateDir(out, key)}/iter-${t}`;
}

/**
 * Where `run.json` lives.
 *
 * @example
 * ```ts
 * import { runPath } from "./store.ts";
 * console.assert(runPath("out") === "out/run.json");
 * ```
 */
export function runPath(out: string): string {
  return `${out}/run.json`;
}

/**
 * Where `compare.json` (the arms `compare` added, with their definitions) lives.
 *
 * @example
 * ```ts
 * import { comparePath } from "./store.ts";
 * console.assert(comparePath("out") === "out/compare.json");
 * ```
 */
export function comparePath(out: string): string {
  return `${out}/compare.json`;
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

/**
 * A parsed record, or why the text is not one (validated against the cell schema in `records.ts`, naming the
 * field at fault). A record of another format is returned as it is, for the caller to refuse or skip.
 */
function parseCell(text: string): CellRecord | string {
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch (e) {
    return `not valid JSON: ${(e as Error).message}`;
  }
  if (typeof r !== "object" || r === null || Array.isArray(r)) return "not a JSON object";
  if (formatOf(r) !== CELL_FORMAT) return r as CellRecord;
  return recordProblem("cell", r) ?? (r as CellRecord);
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

function versionConflict(
  out: string,
  id: string,
  held: string,
  now: string,
  where: string,
  recordHashes: ReadonlySet<string> = new Set(),
): Error {
  if (recordHashes.size === 1 && recordHashes.has(now)) {
    // The records agree with the scenario; the file that names the folder's version does not.
    return new Error(
      `${where} says ${out} holds scenario ${id} with hash ${
        held.slice(0, 12)
      }, but its cell records and the ` +
        `scenario all hash to ${
          now.slice(0, 12)
        }: ${where} was changed by hand. Restore it ("hash": "${now}"), ` +
        "or use another --out.",
    );
  }
  return new Error(
    `${out} holds results of scenario ${id} with hash ${held.slice(0, 12)}, but the scenario now hashes to ` +
      `${
        now.slice(0, 12)
      } (it was edited, or another run of a different version of it uses this folder; see ` +
      `${where}). Results are never mixed: use another --out, or delete ${out} to start over.`,
  );
}

/** `e` with a note on the `--set` overrides when the folder's run and this one applied different ones. */
function withSetsNote(e: Error, held?: readonly string[], now?: readonly string[]): Error {
  const sets = (l: readonly string[] | undefined) =>
    l?.length ? l.map((o) => `--set ${o}`).join(" ") : "no --set";
  return sets(held) === sets(now)
    ? e
    : new Error(`${e.message} (The folder's run applied ${sets(held)}; this one applies ${sets(now)}.)`);
}

/** The scenario hashes the cell records of scenario `id` in `out` were made with (damaged records skipped). */
async function recordHashesOf(out: string, id: string): Promise<Set<string>> {
  const hashes = new Set<string>();
  for (const path of await jsonFilesUnder(`${out}/cells/${id}`)) {
    const r = parseCell(await Deno.readTextFile(path).catch(() => ""));
    if (typeof r !== "string" && typeof r.scenarioHash === "string") hashes.add(r.scenarioHash);
  }
  return hashes;
}

/**
 * Where an arm's code identity lives in a results folder.
 *
 * @example
 * ```ts
 * import { armPath } from "./store.ts";
 * console.assert(armPath("out", "s/v", "mine") === "out/arms/s/v/mine.json");
 * ```
 */
export function armPath(out: string, scenario: string, arm: string): string {
  return `${out}/arms/${scenario}/${arm}.json`;
}

/** Create `path` with `text` unless it exists (a hard link of a complete file: one creator wins, also on NFS). */
async function createOnce(path: string, text: string): Promise<unknown> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  let linkError: unknown;
  try {
    await Deno.writeTextFile(tmp, text);
    await Deno.link(tmp, path);
  } catch (e) {
    // AlreadyExists: another run got there first. Anything else (NFS may report a link that did succeed as
    // failed): what the file says decides.
    linkError = e;
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
  return linkError;
}

/** A file that binds a results folder (`versions/`, `arms/`), or null when absent; damage is an error naming it. */
async function readBindingFile<K extends "version" | "arm">(
  kind: K,
  path: string,
  what: string,
): Promise<RecordTypes[K] | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  try {
    return parseRecord(kind, path, text);
  } catch (e) {
    throw new Error(
      `${path} is damaged; it records ${what}, so nothing can be checked without it: restore it, or use another ` +
        `--out (${(e as RecordError).reason})`,
    );
  }
}

const readVersionFile = (path: string) =>
  readBindingFile("version", path, "which version of a scenario the results folder holds");

/** Every `versions/**.json` of a folder (none when the folder has no such directory). */
async function readVersionFiles(out: string): Promise<VersionFile[]> {
  const found: VersionFile[] = [];
  // The folder of versionPath.
  for (const path of await jsonFilesUnder(`${out}/versions`)) found.push((await readVersionFile(path))!);
  return found;
}

/** Every `*.json` file below `dir`, depth first in name order; none when `dir` does not exist. */
async function jsonFilesUnder(dir: string): Promise<string[]> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const found: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) found.push(...await jsonFilesUnder(path));
    else if (e.name.endsWith(".json")) found.push(path);
  }
  return found;
}

async function readRunJson(out: string): Promise<RunFile | null> {
  const path = runPath(out);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new Error(
      `${path} is unreadable (${(e as Error).message}); use another --out or delete the folder`,
      { cause: e },
    );
  }
  try {
    return parseRecord("run", path, text);
  } catch (e) {
    const reason = (e as RecordError).reason;
    if (reason.startsWith("not valid JSON")) {
      throw new Error(`${path} is unreadable (${reason}); use another --out or delete the folder`);
    }
    throw new Error(`${path} is not an ${RUN_FORMAT} file (${reason})`);
  }
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
    const entry = {
      id: v.id,
      hash: v.hash,
      ...(v.file ? { file: v.file } : {}),
      ...(v.overrides?.length ? { overrides: v.overrides } : {}),
    };
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
    // versions/ decides where it names the scenario (run.json is a summary several runs rewrite).
    const held = versions.find((v) => v.id === s.id);
    const prior = run?.scenarios.find((p) => p.id === s.id);
    const [heldHash, where] = held ? [held.hash, versionPath(out, s.id)] : [prior?.hash, runPath(out)];
    if (heldHash !== undefined && heldHash !== s.hash) {
      throw withSetsNote(
        versionConflict(out, s.id, heldHash, s.hash, where, await recordHashesOf(out, s.id)),
        held?.overrides,
        s.overrides,
      );
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
export async function claimScenarios(
  out: string,
  scenarios: readonly ResolvedScenario[],
  identities?: ReadonlyMap<string, ScenarioIdentity & { files?: Record<string, ArmFile["files"]> }>,
): Promise<void> {
  // First without writing (a refusal leaves the folder as it was), then creating what is missing and checking
  // again what the files say (another run may have created them in between).
  for (const create of [false, true]) {
    for (const s of scenarios) await claimScenario(out, s, identities?.get(s.id), create);
  }
}

async function claimScenario(
  out: string,
  s: ResolvedScenario,
  identity: (ScenarioIdentity & { files?: Record<string, ArmFile["files"]> }) | undefined,
  create: boolean,
): Promise<void> {
  {
    const path = versionPath(out, s.id);
    const mine: VersionFile = {
      format: VERSION_FORMAT,
      id: s.id,
      hash: s.hash,
      ...(s.file ? { file: s.file } : {}),
      ...(s.overrides?.length ? { overrides: [...s.overrides] } : {}),
      ...(identity ? { identity: { dataset: identity.dataset, engine: identity.engine } } : {}),
    };
    const linkError = create ? await createOnce(path, JSON.stringify(mine, null, 1)) : null;
    const held = await readVersionFile(path);
    if (!held && create) throw linkError;
    if (held && held.hash !== s.hash) {
      throw withSetsNote(
        versionConflict(out, s.id, held.hash, s.hash, path, await recordHashesOf(out, s.id)),
        held.overrides,
        s.overrides,
      );
    }
    if (identity && held?.identity) {
      const diff = identityDifferences(
        { ...held.identity },
        { dataset: identity.dataset, engine: identity.engine, code: "" },
      ).filter((d) => !d.startsWith("code"));
      if (diff.length) {
        throw new Error(
          `${out} holds results of scenario ${s.id} computed with another ${
            diff.map((d) => d.split(" ")[0]).join(" and ")
          } than this run (${
            diff.join("; ")
          }; see ${path}). Results of different data or engines are never ` +
            "mixed: give this run another --out" +
            (diff.some((d) => d.startsWith("dataset"))
              ? ", or run it on the data the folder was computed on"
              : "") +
            (diff.some((d) => d.startsWith("engine"))
              ? ", or with the engine the folder holds (--backend, and the same --jobs, ALBENCH_NATIVE_THREADS and ALBENCH_NATIVE_STEP)"
              : "") +
            ".",
        );
      }
    }
    for (const [arm, code] of Object.entries(identity?.arms ?? {})) {
      const armFile = armPath(out, s.id, arm);
      const files = identity?.files?.[arm] ?? [];
      const want: ArmFile = { format: ARM_FORMAT, scenario: s.id, arm, code, files: files.slice(0, 1000) };
      const armError = create ? await createOnce(armFile, JSON.stringify(want, null, 1)) : null;
      const have = await readArmFile(armFile);
      if (!have && create) throw armError;
      if (have && have.code !== code) {
        const what = have.files.length && files.length
          ? ` (${codeChanges({ hash: have.code, files: have.files }, { hash: code, files })})`
          : "";
        throw new Error(
          `${out} holds results of arm ${arm} in ${s.id} computed with other code: ${short(have.code)}, now ${
            short(code)
          }${what}; see ${armFile}. Results of two versions of a query function are never mixed: restore the ` +
            "plug-in's folder as it was, or give this run another --out (or the arm another name, NAME=MODULE).",
        );
      }
    }
  }
}

const readArmFile = (path: string) =>
  readBindingFile("arm", path, "which code an arm's results were computed with");

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
      list.push({
        id: s.id,
        hash: s.hash,
        ...(s.file ? { file: s.file } : {}),
        ...(s.overrides?.length ? { overrides: [...s.overrides] } : {}),
      });
    }
  }
  await writeFileAtomic(runPath(out), JSON.stringify({ format: RUN_FORMAT, scenarios: list }, null, 1));
}

/**
 * Every cell record under `out/cells` that belongs to the folder. A damaged record (not JSON, or not valid
 * against the cell schema of `records.ts`), and a record made by another version of its scenario than the folder holds (`run.json`,
 * `versions/`) or of a scenario the folder does not hold, is left out with a warning naming the file, so it counts
 * as missing rather than being mixed in; with `refuseOthers` (the report's way) such a record is an error instead. Warnings go to `warn` (default: stderr). An
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
  options: { readonly refuseOthers?: boolean } = {},
): Promise<CellRecord[]> {
  // A folder without run.json (and without versions/) has no version to check against: a run not yet started.
  // An unreadable one is an error naming it (never a report without the check).
  const run = await readRunFile(out);
  const hashes = run ? new Map(run.scenarios.map((s) => [s.id, s.hash])) : null;
  const records: CellRecord[] = [];
  const others: string[] = [];
  for (const path of await jsonFilesUnder(`${out}/cells`)) { // the folder of cellPath
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
        others.push(`${path}: a cell of scenario ${r.scenario}, which ${out} does not hold (run.json)`);
        if (!options.refuseOthers) warn(`${others.at(-1)}; left out`);
        continue;
      }
      const other = otherVersionError(path, r, hash);
      if (other) {
        others.push(other.message);
        if (!options.refuseOthers) warn(`${other.message} Left out, so its cell counts as missing.`);
        continue;
      }
    }
    records.push(r);
  }
  if (options.refuseOthers && others.length) {
    throw new Error(
      `${out} holds cell records that disagree with the scenario versions it holds (run.json, versions/), so it ` +
        `is not reported: ${others[0]}${
          others.length > 1 ? ` (and ${others.length - 1} more like it)` : ""
        } (If versions/ was edited by hand, restore it; bench on this folder says which.)`,
    );
  }
  return records;
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
  const paths = [`${runPath(out)}.${uuid}.tmp`];
  for (const c of cells) {
    paths.push(`${cellPath(out, c.key)}.${uuid}.tmp`);
    paths.push(`${checkpointDir(out, c.key, c.scenario.iterations)}.staging-xxxxxxxx/manifest.json`);
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

/**
 * The arms `compare` added to a folder (`compare.json`), or an empty list for a folder without one. Throws naming
 * the file (and the field) when it is unreadable.
 *
 * @example
 * ```ts
 * import { readCompareFile } from "./store.ts";
 * console.assert(Object.keys((await readCompareFile(await Deno.makeTempDir())).arms).length === 0);
 * ```
 */
export async function readCompareFile(out: string): Promise<CompareFile> {
  const path = comparePath(out);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { format: COMPARE_FORMAT, arms: {} };
    throw new Error(`${path} is unreadable (${(e as Error).message}); use another --out`, { cause: e });
  }
  try {
    return parseRecord("compare", path, text);
  } catch (e) {
    throw new Error(`${path} is unreadable (${(e as RecordError).reason}); use another --out`);
  }
}

/**
 * Write `compare.json` atomically (creating the folder).
 *
 * @example
 * ```ts ignore
 * import { writeCompareFile } from "./store.ts";
 * await writeCompareFile("reports/compare/default", { format: "albench-compare-v1", arms: {} });
 * ```
 */
export async function writeCompareFile(out: string, file: CompareFile): Promise<void> {
  await Deno.mkdir(out, { recursive: true });
  await writeFileAtomic(comparePath(out), JSON.stringify(file, null, 1));
}

// The checkpoint lifecycle of a cell: after iteration t the model is saved to checkpointDir(t), then the record
// naming t is written, then checkpointDir(t - 1) is removed; a complete cell removes its whole stateDir. So after
// a crash at any point the record's last iteration has its checkpoint. (model/checkpoint.ts is loaded on first use,
// so reading records, as the report does, does not load the engine.)

/**
 * Persist a cell after an iteration, in the order that keeps it resumable: the model's checkpoint (unless the
 * record is complete), the record, then the checkpoint the record no longer names (all of them when complete).
 *
 * @example
 * ```ts ignore
 * import { persistIteration } from "./store.ts";
 * await persistIteration("reports/default", record, [model.backbone, model.head]);
 * ```
 */
export async function persistIteration(
  out: string,
  record: CellRecord,
  models: readonly LayersModel[],
): Promise<void> {
  const { saveCheckpoint } = await import("../model/checkpoint.ts");
  const dir = stateDir(out, record.key);
  const t = record.iterations[record.iterations.length - 1]!.iteration;
  if (!record.complete) await saveCheckpoint(checkpointDir(out, record.key, t), models);
  await writeCell(out, record);
  if (record.complete) await Deno.remove(dir, { recursive: true }).catch(() => {});
  else if (t > 0) {
    await Deno.remove(checkpointDir(out, record.key, t - 1), { recursive: true }).catch(() => {});
  }
}

/**
 * Load the checkpoint of a cell's last recorded iteration `t` into `models`. Returns `null` when it loaded;
 * otherwise sets a damaged checkpoint aside (beside the cell's state folder, as `<state>.iter-<t>.damaged-<n>`,
 * since that folder is removed when the cell completes) and returns the warning to give: the cell is then
 * recomputed from the start.
 *
 * @example
 * ```ts ignore
 * import { loadResumeCheckpoint } from "./store.ts";
 * const problem = await loadResumeCheckpoint("reports/default", key, 1, [model.backbone, model.head]);
 * ```
 */
export async function loadResumeCheckpoint(
  out: string,
  key: string,
  t: number,
  models: readonly LayersModel[],
): Promise<string | null> {
  const { CheckpointError, loadCheckpoint } = await import("../model/checkpoint.ts");
  const checkpoint = checkpointDir(out, key, t);
  try {
    await loadCheckpoint(checkpoint, models);
    return null;
  } catch (e) {
    const present = await Deno.lstat(checkpoint).then(() => true, () => false);
    const aside = present ? await setAside(checkpoint, `${stateDir(out, key)}.iter-${t}`) : null;
    return `${checkpoint}: the resume checkpoint of cell ${key} is ${
      present
        ? `damaged (${
          e instanceof CheckpointError ? e.problem : (e as Error).message
        }); set aside as ${aside}`
        : "missing"
    }, so the cell is recomputed from the start (cells are deterministic: the results are those of an ` +
      "uninterrupted run)";
  }
}

/**
 * Remove the folders under `state/` that finished cells emptied (and `state/` itself when empty).
 *
 * @example
 * ```ts
 * import { removeEmptyStateDirs } from "./store.ts";
 * const out = await Deno.makeTempDir();
 * await Deno.mkdir(`${out}/state/s/a`, { recursive: true });
 * await removeEmptyStateDirs(out);
 * console.assert(!(await Deno.lstat(`${out}/state`).then(() => true, () => false)));
 * ```
 */
export async function removeEmptyStateDirs(out: string): Promise<void> {
  await removeEmptyDirs(`${out}/state`);
}

async function removeEmptyDirs(dir: string): Promise<boolean> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return false;
  }
  let empty = true;
  for (const e of entries) empty = (e.isDirectory && await removeEmptyDirs(`${dir}/${e.name}`)) && empty;
  if (empty) await Deno.remove(dir).catch(() => {});
  return empty;
}
