/**
 * Turning `deno bench --json` output into the `deno task perf` table: img/s, achieved GFLOP/s, fraction of peak,
 * and the albench/stock ratio per model configuration; query seconds per pool size; data-loading times.
 *
 * FLOPs: a training image costs three forward passes (forward, input gradient, weight gradient: the usual
 * estimate for convolutional networks), an inference image one. Forward FLOPs count convolutions and dense layers
 * (`forwardFlops`), the head included.
 *
 * @module
 */
import { parsePerfName, type PeerVariant, type PerfVariant } from "./configs.ts";
import type { CpuPeak } from "./peak.ts";

/** The part of `deno bench --json` output this module reads. */
export interface DenoBenchReport {
  readonly runtime?: string;
  readonly cpu?: string;
  readonly benches: readonly {
    readonly name: string;
    readonly group?: string | null;
    readonly results: readonly {
      readonly ok?: { readonly n: number; readonly avg: number; readonly min: number };
    }[];
  }[];
}

/** One model row: a configuration on one backend with both variants. */
export interface ModelRow {
  readonly backend: string;
  readonly mode: "train" | "infer";
  readonly backbone: string;
  readonly resolution: number;
  readonly batch: number;
  /**
   * Images per second, by variant; `pytorch` (all threads) and `pytorch1` (one thread) from the PyTorch peer,
   * absent when it did not run (src/perf/peer.ts).
   */
  readonly imgPerS: Partial<Record<PerfVariant | PeerVariant, number>>;
  /** albench img/s ÷ stock img/s. */
  readonly ratio: number | null;
  /** albench img/s ÷ pytorch (all threads) img/s; null without the peer. */
  readonly pytorchRatio: number | null;
  /** Achieved GFLOP/s of the albench variant. */
  readonly gflops: number | null;
  /** That ÷ one core's wasm SIMD128 peak (wasm rows) and ÷ one core's native peak. */
  readonly fractionOfWasmPeak: number | null;
  readonly fractionOfNativePeak: number | null;
  /** Forward GFLOPs per image. */
  readonly forwardGflopsPerImage: number;
  /** Timed iterations behind each mean. */
  readonly samples: Partial<Record<PerfVariant, number>>;
  /**
   * Peak resident memory (MiB) of the row run alone in a fresh process: albench on this backend, and the PyTorch
   * peer with every thread (src/perf/memory.ts); absent when not measured (`--skip memory`).
   */
  readonly peakRssMiB?: { readonly albench?: number; readonly pytorch?: number };
}

/** One query-time row. */
export interface QueryRow {
  readonly query: string;
  readonly n: number;
  readonly seconds: number;
}

/**
 * Model rows from one backend's bench report. `flopsPerImage` gives forward FLOPs of a `backbone@resolution`.
 *
 * @example
 * ```ts
 * import { modelRows } from "./table.ts";
 * const bench = (name: string, avg: number) => ({ name, results: [{ ok: { n: 2, avg, min: avg } }] });
 * const report = { benches: [bench("train small-cnn@32 b10x2 stock", 2e9), bench("train small-cnn@32 b10x2 albench", 1e9)] };
 * const [row] = modelRows(report, "wasm", () => 1e9, undefined);
 * console.assert(row!.imgPerS.albench === 20 && row!.ratio === 2 && row!.gflops === 60);
 * ```
 */
export function modelRows(
  report: DenoBenchReport,
  backend: string,
  flopsPerImage: (backbone: string, resolution: number) => number,
  peak: CpuPeak | undefined,
): ModelRow[] {
  const rows = new Map<string, ModelRow & { imgPerS: Partial<Record<PerfVariant | PeerVariant, number>> }>();
  for (const b of report.benches) {
    const p = parsePerfName(b.name);
    const ok = b.results[0]?.ok;
    if (!p || !ok) continue;
    const key = `${p.mode} ${p.backbone}@${p.resolution} b${p.batch}`;
    let row = rows.get(key);
    if (!row) {
      row = {
        backend,
        mode: p.mode,
        backbone: p.backbone,
        resolution: p.resolution,
        batch: p.batch,
        imgPerS: {},
        ratio: null,
        pytorchRatio: null,
        gflops: null,
        fractionOfWasmPeak: null,
        fractionOfNativePeak: null,
        forwardGflopsPerImage: flopsPerImage(p.backbone, p.resolution) / 1e9,
        samples: {},
      };
      rows.set(key, row);
    }
    row.imgPerS[p.variant] = (p.batch * p.steps) / (ok.avg / 1e9);
    (row.samples as Record<string, number>)[p.variant] = ok.n;
  }
  return [...rows.values()].map((r) => {
    const fast = r.imgPerS.albench, slow = r.imgPerS.stock;
    const gflops = fast === undefined ? null : fast * r.forwardGflopsPerImage * (r.mode === "train" ? 3 : 1);
    return {
      ...r,
      ratio: fast !== undefined && slow !== undefined ? fast / slow : null,
      gflops,
      fractionOfWasmPeak: gflops !== null && peak && backend === "wasm" ? gflops / peak.wasmCoreGflops : null,
      fractionOfNativePeak: gflops !== null && peak ? gflops / peak.nativeCoreGflops : null,
    };
  });
}

/**
 * Query rows (`query NAME N=n` benches) from a bench report.
 *
 * @example
 * ```ts
 * import { queryRows } from "./table.ts";
 * const rows = queryRows({ benches: [{ name: "query badge N=1000", results: [{ ok: { n: 1, avg: 5e8, min: 5e8 } }] }] });
 * console.assert(rows[0]!.seconds === 0.5 && rows[0]!.n === 1000);
 * ```
 */
export function queryRows(report: DenoBenchReport): QueryRow[] {
  const out: QueryRow[] = [];
  for (const b of report.benches) {
    const m = /^query (\S+) N=(\d+)$/.exec(b.name);
    const ok = b.results[0]?.ok;
    if (m && ok) out.push({ query: m[1]!, n: Number(m[2]), seconds: ok.avg / 1e9 });
  }
  return out;
}

/**
 * Other benches (data loading and anything else) as name → mean seconds; ignored benches are absent.
 *
 * @example
 * ```ts
 * import { otherRows } from "./table.ts";
 * console.assert(otherRows({ benches: [{ name: "x", results: [{ ok: { n: 1, avg: 2e9, min: 2e9 } }] }] })[0]!.seconds === 2);
 * ```
 */
export function otherRows(report: DenoBenchReport): { name: string; seconds: number }[] {
  return report.benches.flatMap((b) => {
    const ok = b.results[0]?.ok;
    return ok && !parsePerfName(b.name) && !b.name.startsWith("query ")
      ? [{ name: b.name, seconds: ok.avg / 1e9 }]
      : [];
  });
}

const f = (v: number | null | undefined, d = 1) => (v === null || v === undefined ? "-" : v.toFixed(d));

/**
 * The table as aligned text lines. The PyTorch peer's columns (`pytorch1 img/s`, `pytorch img/s` and
 * `albench/pytorch`, after `ratio`) appear when any row has a peer measurement, and the peak-memory columns
 * (`albench MiB`, `pytorch MiB`) when any row has `peakRssMiB`.
 *
 * @example
 * ```ts
 * import { formatModelRows } from "./table.ts";
 * console.assert(formatModelRows([]).length === 1);
 * ```
 */
export function formatModelRows(rows: readonly ModelRow[]): string[] {
  const peer = rows.some((r) => r.imgPerS.pytorch !== undefined || r.imgPerS.pytorch1 !== undefined);
  const memory = rows.some((r) => r.peakRssMiB !== undefined);
  const x = (v: number | null) => (v === null ? "-" : `${v.toFixed(2)}x`);
  const head = [
    "backend",
    "mode",
    "model",
    "px",
    "batch",
    "stock img/s",
    "albench img/s",
    "ratio",
    ...(peer ? ["pytorch1 img/s", "pytorch img/s", "albench/pytorch"] : []),
    ...(memory ? ["albench MiB", "pytorch MiB"] : []),
    "GFLOP/s",
    "%wasm peak",
    "%native peak",
  ];
  const body = rows.map((r) => [
    r.backend,
    r.mode,
    r.backbone,
    String(r.resolution),
    String(r.batch),
    f(r.imgPerS.stock),
    f(r.imgPerS.albench),
    x(r.ratio),
    ...(peer ? [f(r.imgPerS.pytorch1), f(r.imgPerS.pytorch), x(r.pytorchRatio)] : []),
    ...(memory ? [f(r.peakRssMiB?.albench, 0), f(r.peakRssMiB?.pytorch, 0)] : []),
    f(r.gflops, 2),
    r.fractionOfWasmPeak === null ? "-" : `${(100 * r.fractionOfWasmPeak).toFixed(1)}%`,
    r.fractionOfNativePeak === null ? "-" : `${(100 * r.fractionOfNativePeak).toFixed(1)}%`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  return [head, ...body].map((row) =>
    row.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
  );
}
