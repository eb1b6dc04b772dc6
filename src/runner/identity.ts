/**
 * A record's identity beyond its scenario: the dataset's content, the arm's code and the engine (see
 * {@linkcode CellIdentity}). Pure functions that compare identities and say, in words, where two disagree; the
 * results folder (`store.ts`) binds a folder to one identity per scenario and arm, the runner checks every record it
 * resumes or keeps against it, and `report` refuses a folder whose records disagree.
 *
 * @module
 */
import { engineIdentity } from "../backend/doctor.ts";
import type { CellIdentity, CellRecord } from "../records/records.ts";

/** What a run computes one scenario with: the dataset, the engine and each arm's code. */
export interface ScenarioIdentity {
  /** The dataset's content fingerprint. */
  readonly dataset: string;
  /** The engine's numeric identity. */
  readonly engine: string;
  /** Each arm's code identity, by arm name. */
  readonly arms: Readonly<Record<string, string>>;
}

/** A short form of a fingerprint or hash for messages (`sha256:` and `folder:` kept, 12 hex digits). */
export function short(id: string): string {
  return id.replace(/^((?:[a-z0-9-]+:)?)([0-9a-f]{12})[0-9a-f]{4,}$/, "$1$2");
}

/**
 * The identity of a record: its `identity` field's dataset and code (absent in records made before it was kept)
 * and the engine its environment names.
 *
 * @example
 * ```ts
 * import { recordIdentity } from "./identity.ts";
 * const r = { environment: { backend: { name: "wasm" } } } as never;
 * console.assert(recordIdentity(r).engine === "wasm" && recordIdentity(r).dataset === undefined);
 * ```
 */
export function recordIdentity(
  r: Pick<CellRecord, "identity" | "environment">,
): { dataset?: string; code?: string; engine: string } {
  // The engine is read from the environment the record names, which its identity must repeat.
  const engine = engineIdentity(r.environment);
  if (!r.identity) return { engine };
  return { dataset: r.identity.dataset, code: r.identity.code, engine };
}

/**
 * Why a record disagrees with itself (its `identity.engine` is not what its environment says), or null.
 *
 * @example
 * ```ts
 * import { selfDisagreement } from "./identity.ts";
 * const r = { key: "k", environment: { backend: { name: "cpu" } }, identity: { dataset: "d", code: "c", engine: "wasm" } };
 * console.assert(selfDisagreement(r as never)!.includes("cpu"));
 * ```
 */
export function selfDisagreement(r: Pick<CellRecord, "key" | "identity" | "environment">): string | null {
  if (!r.identity) return null;
  const engine = engineIdentity(r.environment);
  return r.identity.engine === engine
    ? null
    : `cell ${r.key} names the engine ${r.identity.engine} in its identity but ${engine} in its environment`;
}

/**
 * Where a record's identity differs from what a run computes its cell with, as `what: held → now` phrases (none
 * when they agree). A part `held` lacks is not compared.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { identityDifferences } from "./identity.ts";
 * const held = { dataset: "folder:aaaaaaaaaaaaaaaa", code: "builtin:random", engine: "wasm" };
 * assert.deepEqual(identityDifferences(held, { ...held, engine: "native (avx2, x86_64, 2 threads)" }), [
 *   "engine wasm → native (avx2, x86_64, 2 threads)",
 * ]);
 * ```
 */
export function identityDifferences(
  held: { dataset?: string; code?: string; engine: string },
  now: CellIdentity,
): string[] {
  const out: string[] = [];
  if (held.dataset !== undefined && held.dataset !== now.dataset) {
    out.push(`dataset ${short(held.dataset)} → ${short(now.dataset)}`);
  }
  if (held.code !== undefined && held.code !== now.code) {
    out.push(`code ${short(held.code)} → ${short(now.code)}`);
  }
  if (held.engine !== now.engine) out.push(`engine ${held.engine} → ${now.engine}`);
  return out;
}

/** The way out of an identity conflict, per part that differs. */
function fixFor(differences: readonly string[]): string {
  const fixes: string[] = [];
  if (differences.some((d) => d.startsWith("dataset"))) {
    fixes.push("run with the data the folder was computed on");
  }
  if (differences.some((d) => d.startsWith("code"))) fixes.push("restore the plug-in's folder as it was");
  if (differences.some((d) => d.startsWith("engine"))) {
    fixes.push(
      "run with the engine the folder holds (--backend, and the same --jobs, ALBENCH_NATIVE_THREADS and ALBENCH_NATIVE_STEP)",
    );
  }
  return `Results of different data, code or engines are never mixed: give this run another --out${
    fixes.length ? `, or ${fixes.join(", or ")}` : ""
  }.`;
}

/**
 * The error for a folder whose cell `key` (in `path`) was computed with another identity than this run's; null
 * when they agree.
 *
 * @example
 * ```ts
 * import { identityConflict } from "./identity.ts";
 * const now = { dataset: "d", code: "builtin:random", engine: "wasm" };
 * const e = identityConflict("out", "s/random/seed-0", { ...now, dataset: "e" }, now);
 * console.assert(e!.message.includes("dataset e → d") && e!.message.includes("another --out"));
 * ```
 */
export function identityConflict(
  out: string,
  key: string,
  held: { dataset?: string; code?: string; engine: string },
  now: CellIdentity,
): Error | null {
  const diff = identityDifferences(held, now);
  if (!diff.length) return null;
  return new Error(
    `${out} holds cell ${key} computed with another ${
      diff.map((d) => d.split(" ")[0]).join(", ")
    } than this run ` +
      `(${diff.join("; ")}). ${fixFor(diff)}`,
  );
}

/**
 * Why the records of one results folder cannot stand together, or null: two cells of one scenario computed on
 * different data, two cells of one arm with different code, or any two with different engines. Names both sides
 * with one cell each.
 *
 * @example
 * ```ts
 * import { disagreeingRecords } from "./identity.ts";
 * const rec = (key: string, dataset: string) => ({
 *   key, scenario: "s", arm: "a", environment: { backend: { name: "wasm" } },
 *   identity: { dataset, code: "builtin:random", engine: "wasm" },
 * });
 * console.assert(disagreeingRecords([rec("s/a/seed-0", "d1"), rec("s/a/seed-1", "d1")] as never) === null);
 * console.assert(disagreeingRecords([rec("s/a/seed-0", "d1"), rec("s/a/seed-1", "d2")] as never)!.includes("dataset"));
 * ```
 */
export function disagreeingRecords(
  records: readonly Pick<CellRecord, "key" | "scenario" | "arm" | "identity" | "environment">[],
): string | null {
  const first = new Map<string, { key: string; value: string }>();
  for (const r of records) {
    const self = selfDisagreement(r);
    if (self) return self;
    const id = recordIdentity(r);
    const parts: [string, string | undefined][] = [
      ["engine", id.engine],
      [`dataset of scenario ${r.scenario}`, id.dataset],
      [`code of arm ${r.arm} in ${r.scenario}`, id.code],
    ];
    for (const [what, value] of parts) {
      if (value === undefined) continue;
      const seen = first.get(what);
      if (!seen) first.set(what, { key: r.key, value });
      else if (seen.value !== value) {
        return `its cells disagree on the ${what}: ${seen.key} has ${short(seen.value)}, ${r.key} has ${
          short(value)
        }`;
      }
    }
  }
  return null;
}
