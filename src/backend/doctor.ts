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
