/**
 * Pre-registration: the design of a comparison written down before its first cell runs — the primary metric and
 * contrast, α, the stopping rule and its parameters, the margin, the seeds, the scenarios' hashes and every
 * compared function's code and options — and, after the run, whether the run followed it. A report calls a
 * result "pre-registered" only when nothing of the design changed. Pure: designs in, differences out.
 *
 * @module
 */
import { canonicalJson } from "../canonical_json.ts";

/** The format tag of a pre-registration file. */
export const PREREGISTRATION_FORMAT = "albench-preregistration-v1";

/** A comparison's design, as written before it runs. */
export interface Preregistration {
  /** {@linkcode PREREGISTRATION_FORMAT}. */
  readonly format: typeof PREREGISTRATION_FORMAT;
  /** The primary contrast, in words, and its metric. */
  readonly primary: { readonly metric: "macro_f1"; readonly contrast: string; readonly test: string };
  /** Total type-I error. */
  readonly alpha: number;
  /** The stopping rule: `fixed` (one test after all seeds) or the sequential rule with its parameters. */
  readonly rule:
    | { readonly kind: "fixed"; readonly seeds: number }
    | {
      readonly kind: "sequential";
      readonly name: string;
      readonly batch: number;
      readonly maxSeeds: number;
      /** Equivalence margin in F1 units; null without one. */
      readonly margin: number | null;
    };
  /** Each scenario's id and hash. */
  readonly scenarios: readonly { readonly id: string; readonly hash: string }[];
  /** The baseline arm. */
  readonly baseline: string;
  /** Each compared function: arm name, query (a built-in name or a module path), its text's SHA-256, options. */
  readonly arms: readonly {
    readonly name: string;
    readonly query: string;
    readonly sha256: string | null;
    readonly options: Readonly<Record<string, unknown>>;
  }[];
}

/**
 * What differs between a pre-registered design and the run's, one entry per top-level field (empty: followed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { preregistrationDifferences } from "./preregistration.ts";
 * const a = { format: "albench-preregistration-v1", primary: { metric: "macro_f1", contrast: "c", test: "t" },
 *   alpha: 0.05, rule: { kind: "fixed", seeds: 10 }, scenarios: [{ id: "s", hash: "h" }], baseline: "random",
 *   arms: [] } as const;
 * assert.deepEqual(preregistrationDifferences(a, a), []);
 * assert.deepEqual(preregistrationDifferences(a, { ...a, rule: { kind: "fixed", seeds: 12 } }),
 *   ['rule: {"kind":"fixed","seeds":10} was registered, the run has {"kind":"fixed","seeds":12}']);
 * ```
 */
export function preregistrationDifferences(registered: unknown, run: Preregistration): string[] {
  if (registered === null || typeof registered !== "object" || Array.isArray(registered)) {
    return ["the file holds no design (not a JSON object)"];
  }
  const r = registered as Record<string, unknown>;
  const out: string[] = [];
  const keys = new Set([...Object.keys(r), ...Object.keys(run)]);
  for (const k of keys) {
    const was = canonicalJson(r[k] ?? null),
      now = canonicalJson((run as unknown as Record<string, unknown>)[k] ?? null);
    if (was !== now) {
      const short = (s: string) => (s.length > 200 ? `${s.slice(0, 200)}…` : s);
      out.push(`${k}: ${short(was)} was registered, the run has ${short(now)}`);
    }
  }
  return out;
}

/** The status a report states. */
export interface PreregistrationStatus {
  /** The file, as given. */
  readonly file: string;
  /** SHA-256 of its text. */
  readonly sha256: string;
  /** Whether this run wrote it (before its first cell) or found it. */
  readonly written: boolean;
  /** What differs (empty: the run followed it). */
  readonly differences: readonly string[];
}

/**
 * The report's sentence on a pre-registration.
 *
 * @example
 * ```ts
 * import { preregistrationSentence } from "./preregistration.ts";
 * const s = { file: "prereg.json", sha256: "ab".repeat(32), written: false, differences: [] };
 * console.assert(preregistrationSentence(s).startsWith("Pre-registered: the run followed the design in prereg.json"));
 * console.assert(preregistrationSentence({ ...s, differences: ["alpha: 0.05 was registered, the run has 0.1"] })
 *   .startsWith("Not pre-registered: the run departs from prereg.json"));
 * ```
 */
export function preregistrationSentence(s: PreregistrationStatus): string {
  if (s.differences.length) {
    return `Not pre-registered: the run departs from ${s.file} (SHA-256 ${
      s.sha256.slice(0, 12)
    }) in ${s.differences.length} field${s.differences.length === 1 ? "" : "s"}: ${
      s.differences.join("; ")
    }.`;
  }
  return `Pre-registered: the run followed the design in ${s.file} (SHA-256 ${s.sha256.slice(0, 12)}; ${
    s.written
      ? "written by this run before its first cell"
      : "found there when the run started; its history (e.g. git log) shows when it was written"
  }): primary metric, contrast, α, stopping rule, seeds, scenarios and functions as registered.`;
}
