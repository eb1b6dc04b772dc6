/**
 * Peak resident memory of a perf model row (issue #27.5): each row runs alone in a fresh process, albench's
 * (bench/peak_rss_row.ts) and the PyTorch peer's (bench/peer_torch_cpu.py --peak-rss), and each process reports
 * its own `VmHWM` from /proc/PID/status, so both columns are measured the same way: everything the process held
 * at its peak, runtime and libraries included.
 *
 * @module
 */
import type { ModelPerfConfig } from "./configs.ts";
import type { ModelRow } from "./table.ts";

/** The script that runs one row alone and prints its peak memory. */
export const PEAK_RSS_ROW: string = new URL("../../bench/peak_rss_row.ts", import.meta.url).pathname;

/** The permissions {@linkcode PEAK_RSS_ROW} runs with (`cat` reads its /proc/PID/status: Deno would need --allow-all). */
export const PEAK_RSS_ROW_PERMISSIONS: readonly string[] = Object.freeze([
  "--no-prompt",
  "--allow-read",
  "--allow-env",
  "--allow-ffi",
  "--allow-run=cat",
]);

/**
 * Peak resident memory (MiB) of row `c` on `backend`, run alone in a fresh `deno` process
 * ({@linkcode PEAK_RSS_ROW}: one untimed and one timed step or batch); throws naming the failure.
 *
 * @example
 * ```ts ignore
 * import { albenchPeakRss } from "./memory.ts";
 * const mib = await albenchPeakRss("native", { mode: "train", backbone: "densenet121", resolution: 64, batch: 10, steps: 1, n: 1 });
 * ```
 */
export async function albenchPeakRss(backend: string, c: ModelPerfConfig): Promise<number> {
  const out = await new Deno.Command("deno", {
    args: [
      "run",
      ...PEAK_RSS_ROW_PERMISSIONS,
      PEAK_RSS_ROW,
      ...["--backend", backend, "--mode", c.mode, "--model", c.backbone],
      ...["--px", String(c.resolution), "--batch", String(c.batch), "--steps", "1"],
    ],
    cwd: new URL("../..", import.meta.url).pathname,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const what = `bench/peak_rss_row.ts on ${backend}`;
  if (!out.success) throw new Error(`${what} exited with ${out.code}`);
  return parsePeakRss(new TextDecoder().decode(out.stdout), what);
}

/** Peak resident memory of a row, MiB, by side; a side is absent when it was not measured. */
export type PeakRss = NonNullable<ModelRow["peakRssMiB"]>;

/**
 * `VmHWM` (peak resident set) of a /proc/PID/status text, in KiB; throws naming the text's problem.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { vmHwmKiB } from "./memory.ts";
 * assert.equal(vmHwmKiB("Name:\tdeno\nVmHWM:\t  204800 kB\nVmRSS:\t 1 kB\n"), 204800);
 * assert.throws(() => vmHwmKiB("Name:\tdeno\n"), /no VmHWM line/);
 * ```
 */
export function vmHwmKiB(status: string): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  if (!m) throw new Error("the process status has no VmHWM line (peak memory is read on Linux only)");
  return Number(m[1]);
}

/**
 * The peak-memory report a row's process prints on stdout (`{"peakRssKiB": n, …}`), as MiB; throws naming
 * what is wrong.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePeakRss } from "./memory.ts";
 * assert.equal(parsePeakRss('{"peakRssKiB": 2048}', "row"), 2);
 * assert.throws(() => parsePeakRss("{}", "row"), /row: no peakRssKiB in its output: \{\}/);
 * ```
 */
export function parsePeakRss(text: string, what: string): number {
  let v: unknown;
  try {
    v = JSON.parse(text.trim().split("\n").at(-1) ?? "");
  } catch {
    v = undefined;
  }
  const kib = (v as { peakRssKiB?: unknown } | undefined)?.peakRssKiB;
  if (typeof kib !== "number" || !Number.isFinite(kib) || kib <= 0) {
    throw new Error(`${what}: no peakRssKiB in its output: ${text.slice(0, 200)}`);
  }
  return kib / 1024;
}

/**
 * Model rows with `peakRssMiB` added from `measured` (keyed by {@linkcode rowKey}); rows without a
 * measurement are returned as they are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rowKey, withPeakRss } from "./memory.ts";
 * const row = { backend: "native", mode: "train", backbone: "small-cnn", resolution: 32, batch: 10 } as const;
 * const [r] = withPeakRss([row as never], new Map([[rowKey(row), { albench: 300, pytorch: 400 }]]));
 * assert.deepEqual((r as { peakRssMiB: unknown }).peakRssMiB, { albench: 300, pytorch: 400 });
 * ```
 */
export function withPeakRss(
  rows: readonly ModelRow[],
  measured: ReadonlyMap<string, PeakRss>,
): ModelRow[] {
  return rows.map((r) => {
    const m = measured.get(rowKey(r));
    return m === undefined ? r : { ...r, peakRssMiB: m };
  });
}

/**
 * The key of a model row for {@linkcode withPeakRss}: backend, mode, model, resolution and batch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rowKey } from "./memory.ts";
 * assert.equal(rowKey({ backend: "native", mode: "infer", backbone: "densenet121", resolution: 224, batch: 8 }), "native infer densenet121@224 b8");
 * ```
 */
export function rowKey(
  r: Pick<ModelRow, "backend" | "mode" | "backbone" | "resolution" | "batch">,
): string {
  return `${r.backend} ${r.mode} ${r.backbone}@${r.resolution} b${r.batch}`;
}
