/**
 * What this machine offers albench: the environment record written beside every result.
 *
 * @module
 */
import type { BackendInfo } from "./backend.ts";

/** The run environment, recorded in every result and printed by `--print-env`. */
export interface EnvironmentRecord {
  readonly backend: BackendInfo;
  readonly deno: string;
  readonly v8: string;
  readonly os: string;
  readonly arch: string;
  readonly cpus: number;
}

/**
 * Describe the machine and the chosen backend.
 *
 * @example
 * ```ts ignore
 * import { initBackend } from "./backend.ts";
 * import { environmentRecord } from "./doctor.ts";
 * console.log(environmentRecord(await initBackend("cpu")));
 * ```
 */
export function environmentRecord(backend: BackendInfo): EnvironmentRecord {
  // The CPU model is not recorded: Deno allows reading /proc/cpuinfo only under --allow-all.
  return {
    backend,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    os: Deno.build.os,
    arch: Deno.build.arch,
    cpus: navigator.hardwareConcurrency,
  };
}

/**
 * The record as aligned `key: value` lines for a terminal.
 *
 * @example
 * ```ts ignore
 * import { formatEnvironment } from "./doctor.ts";
 * ```
 */
export function formatEnvironment(env: EnvironmentRecord): string {
  const b = env.backend;
  const rows: [string, string][] = [
    ["backend", `${b.name} (tfjs ${b.tfjsBackend} ${b.tfjsVersion})`],
    ["threads", String(b.threads)],
    ["simd", String(b.simd)],
    ["detail", b.detail],
    ...b.skipped.map((s, i): [string, string] => [i === 0 ? "skipped" : "", s]),
    ["deno", `${env.deno} (v8 ${env.v8})`],
    ["machine", `${env.os}/${env.arch}, ${env.cpus} cpus`],
  ];
  return rows.map(([k, v]) => `${k.padEnd(8)} ${v}`).join("\n");
}

/**
 * The part of a run's environment record that decides its numbers: the engine and, where the docs say results
 * depend on it, the instruction set (native: oneDNN's ISA; webgpu: the adapter), the machine architecture and
 * the thread count (native: each job's share, `nativeThreadsPerJob`, else every thread).
 * wasm is bit-identical everywhere, so it is the engine alone. Two records with different identities must never
 * share a results folder.
 *
 * @example
 * ```ts
 * import { engineIdentity } from "./doctor.ts";
 * console.assert(engineIdentity({ backend: { name: "wasm", threads: 1 }, arch: "x86_64" }) === "wasm");
 * console.assert(
 *   engineIdentity({ backend: { name: "native", detail: "oneDNN 2 avx2, 2 OpenMP threads (/l)", threads: 2 }, arch: "x86_64" }) ===
 *     "native (avx2, x86_64, 2 threads)",
 * );
 * console.assert(
 *   engineIdentity({ backend: { name: "native", detail: "oneDNN 2 avx2, 2 OpenMP threads (/l), compiled step", threads: 2 }, arch: "x86_64" }) ===
 *     "native (avx2, x86_64, 2 threads, compiled step)",
 * );
 * ```
 */
export function engineIdentity(env: Readonly<Record<string, unknown>>): string {
  const b = (env.backend ?? {}) as { name?: unknown; detail?: unknown };
  const name = typeof b.name === "string" ? b.name : "unknown engine";
  const detail = typeof b.detail === "string" ? b.detail : "";
  const arch = typeof env.arch === "string" ? env.arch : "unknown architecture";
  switch (name) {
    case "wasm":
    case "cpu":
      return name;
    case "native": {
      // OpenMP's thread count decides how reductions are split (docs/backends.md): part of the identity.
      const perJob = env.nativeThreadsPerJob, all = (b as { threads?: unknown }).threads;
      const threads = typeof perJob === "number" ? perJob : typeof all === "number" ? all : undefined;
      // The compiled step rounds differently from the tape path (src/train/native_step.ts): part of the
      // identity too. Records from before it name no step and were computed on the tape.
      const compiled = /, compiled step$/.test(detail) ? ", compiled step" : "";
      return `native (${/oneDNN \S+ ([^,]+),/.exec(detail)?.[1] ?? "unknown ISA"}, ${arch}${
        threads === undefined ? "" : `, ${threads} thread${threads === 1 ? "" : "s"}`
      }${compiled})`;
    }
    case "webgpu":
      return `webgpu (${detail || "unknown adapter"})`;
    default:
      return `${name} (${arch})`;
  }
}
