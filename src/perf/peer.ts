/**
 * The PyTorch CPU peer of `deno task perf`: bench/peer_torch_cpu.py runs the same model rows (networks, batch,
 * resolution, fine-tuning step, inference batches) in PyTorch, once with one thread (`pytorch1`) and once with
 * every logical CPU (`pytorch`), and its img/s go beside `stock` and `albench` in each model row.
 *
 * The Python interpreter: `ALBENCH_PYTHON` when set (only that one), otherwise the first of `python3` (on PATH)
 * and `/usr/bin/python3` that can import torch (a pyenv or virtualenv `python3` often hides the system's
 * PyTorch). Without one, `deno task perf` prints one line saying so and the rows carry no `pytorch` and
 * `pytorch1` img/s (the keys are absent) and `pytorchRatio: null`; perf.json's `pytorch` is null.
 *
 * @module
 */
import type { ModelPerfConfig, PeerVariant } from "./configs.ts";
import type { ModelRow } from "./table.ts";
import { parsePeakRss } from "./memory.ts";

/** The peer script. */
export const PEER_SCRIPT: string = new URL("../../bench/peer_torch_cpu.py", import.meta.url).pathname;

/** One row of the peer's output. */
export interface PeerRow {
  readonly mode: "train" | "infer";
  readonly backbone: string;
  readonly resolution: number;
  readonly batch: number;
  readonly imgPerS: number;
}

/** The peer's output: torch version, threads it ran with, memory format, BLAS and rows. */
export interface PeerReport {
  readonly torch: string;
  readonly threads: number;
  readonly memoryFormat: string;
  /**
   * The BLAS torch was built against (`BLAS_INFO`: `mkl`, `open`, `generic` = the system's libblas.so.3);
   * "unknown" when the peer does not say. PyTorch runs 1x1 convolutions at batch < 16 on one thread through it
   * (im2col and a matrix product) instead of oneDNN, so it matters to `pytorch1` of the DenseNet training rows.
   */
  readonly blas: string;
  readonly rows: readonly PeerRow[];
}

/** A Python that imports torch. */
export interface TorchPython {
  readonly python: string;
  readonly torch: string;
}

/**
 * The rows the peer is given (its stdin): the configurations without Deno.bench's iteration count as `n`
 * repetitions.
 *
 * @example
 * ```ts
 * import { peerInput } from "./peer.ts";
 * const c = { mode: "train", backbone: "small-cnn", resolution: 16, batch: 10, steps: 2, n: 1 } as const;
 * console.assert(peerInput([c]) === '[{"mode":"train","backbone":"small-cnn","resolution":16,"batch":10,"steps":2,"n":1}]');
 * ```
 */
export function peerInput(configs: readonly ModelPerfConfig[]): string {
  return JSON.stringify(configs.map((c) => ({
    mode: c.mode,
    backbone: c.backbone,
    resolution: c.resolution,
    batch: c.batch,
    steps: c.steps,
    n: c.n,
  })));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
const positive = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v > 0;

/**
 * Parse the peer's stdout (one JSON object); throws with what is wrong.
 *
 * @example
 * ```ts
 * import { parsePeerReport } from "./peer.ts";
 * const r = parsePeerReport('{"torch":"1.13.1","threads":2,"memoryFormat":"channels_last","rows":[]}');
 * console.assert(r.threads === 2 && r.rows.length === 0 && r.blas === "unknown");
 * ```
 */
export function parsePeerReport(text: string): PeerReport {
  let v: unknown;
  try {
    v = JSON.parse(text.trim());
  } catch (e) {
    throw new Error(
      `the PyTorch peer's output is not JSON (${(e as Error).message}): ${text.slice(0, 200)}`,
      { cause: e },
    );
  }
  if (
    !isObject(v) || typeof v.torch !== "string" || !Number.isInteger(v.threads) || !positive(v.threads) ||
    typeof v.memoryFormat !== "string" || !Array.isArray(v.rows)
  ) {
    throw new Error(
      `the PyTorch peer's output lacks torch, threads, memoryFormat or rows: ${text.slice(0, 200)}`,
    );
  }
  const rows = v.rows.map((r: unknown): PeerRow => {
    if (
      !isObject(r) || (r.mode !== "train" && r.mode !== "infer") || typeof r.backbone !== "string" ||
      !positive(r.resolution) || !positive(r.batch) || !positive(r.imgPerS)
    ) {
      throw new Error(
        `the PyTorch peer's row ${JSON.stringify(r)} is not {mode, backbone, resolution, batch, imgPerS}`,
      );
    }
    return {
      mode: r.mode,
      backbone: r.backbone,
      resolution: r.resolution,
      batch: r.batch,
      imgPerS: r.imgPerS,
    };
  });
  const blas = typeof v.blas === "string" ? v.blas : "unknown";
  return { torch: v.torch, threads: v.threads as number, memoryFormat: v.memoryFormat, blas, rows };
}

/**
 * Model rows with the peer's img/s as `variant` (`pytorch`: all threads, `pytorch1`: one thread), matched on
 * mode, backbone, resolution and batch (every backend's row of a configuration gets the same peer value), and
 * `pytorchRatio` = albench ÷ pytorch recomputed. Rows the peer did not measure are unchanged.
 *
 * @example
 * ```ts
 * import { withPeer } from "./peer.ts";
 * import type { ModelRow } from "./table.ts";
 * const row = { backend: "wasm", mode: "train", backbone: "small-cnn", resolution: 16, batch: 10,
 *   imgPerS: { albench: 50 }, pytorchRatio: null } as unknown as ModelRow;
 * const peer = { torch: "1.13", threads: 2, memoryFormat: "channels_last", blas: "open",
 *   rows: [{ mode: "train", backbone: "small-cnn", resolution: 16, batch: 10, imgPerS: 200 }] } as const;
 * const [r] = withPeer([row], peer, "pytorch");
 * console.assert(r!.imgPerS.pytorch === 200 && r!.pytorchRatio === 0.25);
 * ```
 */
export function withPeer(rows: readonly ModelRow[], peer: PeerReport, variant: PeerVariant): ModelRow[] {
  return rows.map((r) => {
    const p = peer.rows.find((q) =>
      q.mode === r.mode && q.backbone === r.backbone && q.resolution === r.resolution && q.batch === r.batch
    );
    if (!p) return r;
    const imgPerS = { ...r.imgPerS, [variant]: p.imgPerS };
    const fast = imgPerS.albench, torch = imgPerS.pytorch;
    return {
      ...r,
      imgPerS,
      pytorchRatio: fast !== undefined && torch !== undefined ? fast / torch : null,
    };
  });
}

/**
 * The interpreters to try, in order: `ALBENCH_PYTHON` alone when set, otherwise `python3` then
 * `/usr/bin/python3`.
 *
 * @example
 * ```ts
 * import { pythonCandidates } from "./peer.ts";
 * console.assert(pythonCandidates(undefined).join() === "python3,/usr/bin/python3");
 * console.assert(pythonCandidates("/opt/venv/bin/python").join() === "/opt/venv/bin/python");
 * ```
 */
export function pythonCandidates(override: string | undefined): string[] {
  return override ? [override] : ["python3", "/usr/bin/python3"];
}

async function probe(python: string): Promise<{ code: number; stdout: string } | undefined> {
  try {
    const out = await new Deno.Command(python, {
      args: [PEER_SCRIPT, "--probe"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/**
 * The first candidate that imports torch (it runs the peer with `--probe`), or why none does: one line naming
 * each candidate and what it lacks.
 *
 * @example
 * ```ts ignore
 * import { findTorchPython, pythonCandidates } from "./peer.ts";
 * const found = await findTorchPython(pythonCandidates(Deno.env.get("ALBENCH_PYTHON")));
 * ```
 */
export async function findTorchPython(
  candidates: readonly string[],
): Promise<{ found: TorchPython } | { missing: string }> {
  const why: string[] = [];
  for (const python of candidates) {
    const r = await probe(python);
    if (!r) {
      why.push(`${python}: not found`);
      continue;
    }
    if (r.code === 0) {
      try {
        const v = JSON.parse(r.stdout) as { torch?: unknown };
        if (typeof v.torch === "string") return { found: { python, torch: v.torch } };
      } catch {
        // reported below
      }
    }
    why.push(`${python}: ${r.code === 3 ? "no torch" : `probe failed (exit ${r.code})`}`);
  }
  return { missing: why.join("; ") };
}

/**
 * Run the peer over `configs` with `threads` threads (progress on stderr goes to ours) and parse its report.
 *
 * @example
 * ```ts ignore
 * import { runPeer } from "./peer.ts";
 * const report = await runPeer("python3", configs, 1);
 * ```
 */
export async function runPeer(
  python: string,
  configs: readonly ModelPerfConfig[],
  threads: number,
): Promise<PeerReport> {
  const child = new Deno.Command(python, {
    args: [PEER_SCRIPT, "--threads", String(threads)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(peerInput(configs)));
  await w.close();
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`the PyTorch peer (${python} ${PEER_SCRIPT}) exited with ${out.code}`);
  return parsePeerReport(text);
}

/**
 * The peak resident memory (MiB) of one row run alone in a fresh peer process with `threads` threads
 * (`--peak-rss`: the process's `VmHWM` after a warm-up and one step or batch).
 *
 * @example
 * ```ts ignore
 * import { peerPeakRss } from "./peer.ts";
 * const mib = await peerPeakRss("python3", config, 2);
 * ```
 */
export async function peerPeakRss(
  python: string,
  config: ModelPerfConfig,
  threads: number,
): Promise<number> {
  const out = await new Deno.Command(python, {
    args: [
      PEER_SCRIPT,
      "--threads",
      String(threads),
      "--peak-rss",
      peerInput([{ ...config, steps: 1, n: 1 }]),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const what = `the PyTorch peer's memory run (${python} ${PEER_SCRIPT})`;
  if (!out.success) throw new Error(`${what} exited with ${out.code}`);
  return parsePeakRss(new TextDecoder().decode(out.stdout), what);
}
