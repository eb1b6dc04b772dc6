/**
 * `deno task perf`: run the `bench/perf_*_bench.ts` and `bench/data_bench.ts` files with `deno bench --json`, and
 * print and write (`reports/perf/perf.json`) one table: training and inference img/s per backend and model
 * configuration for albench and the stock baseline measured in the same process, their ratio, achieved GFLOP/s
 * and fraction of peak (src/perf/peak.ts says how peak is computed), query time against pool size, and data
 * loading cold against cached. Where a Python with torch is found, bench/peer_torch_cpu.py measures the same model
 * rows in PyTorch with one thread and with all of them (src/perf/peer.ts), beside `stock` and `albench`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseFlags } from "./args.ts";
import { runMain, UsageError } from "./errors.ts";
import { BACKEND_NAMES, initBackend, isBackendName } from "../backend/backend.ts";
import {
  modelConfigs,
  type ModelPerfConfig,
  parseOnly,
  perfSetFrom,
  selectConfigs,
} from "../perf/configs.ts";
import {
  findTorchPython,
  peerPeakRss,
  type PeerReport,
  pythonCandidates,
  runPeer,
  withPeer,
} from "../perf/peer.ts";
import { albenchPeakRss, type PeakRss, rowKey, withPeakRss } from "../perf/memory.ts";
import { detectPeak } from "../perf/peak.ts";
import {
  type DenoBenchReport,
  formatModelRows,
  type ModelRow,
  modelRows,
  otherRows,
  queryRows,
} from "../perf/table.ts";
import { type BackboneName, buildBackbone, forwardFlops, isBackboneName } from "../model/backbones.ts";
import { Rng } from "../rng.ts";
import { writeFileAtomic } from "../atomic_write.ts";
import { PERF_FORMAT, type PerfFile } from "../records/records.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const SKIPPABLE = ["models", "query", "data", "pytorch", "memory"] as const;
const CONCRETE_BACKENDS = BACKEND_NAMES.filter((b) => b !== "auto");
const USAGE = `Usage: deno task perf [--set quick|default] [--backends wasm[,${
  CONCRETE_BACKENDS.filter((b) => b !== "wasm").join(",")
}]] [--out DIR]
                      [--skip ${SKIPPABLE.join(",")}] [--only MODE:MODEL@PX[,...]]

Runs bench/perf_models_bench.ts once per backend (albench and the stock baseline in the same process),
bench/perf_query_bench.ts and bench/data_bench.ts, then prints the table and writes DIR/perf.json
(default reports/perf). --set default takes about ten minutes on a 2-core machine. --only keeps the model rows
named (MODE train or infer, e.g. --only train:densenet-cpu@32,infer:densenet121@224), for engines that take
minutes per row (WebGPU on a software adapter).

The PyTorch peer (bench/peer_torch_cpu.py) runs the same model rows with one thread (pytorch1) and with one
thread per logical CPU, ${navigator.hardwareConcurrency} here (pytorch), when python3, else /usr/bin/python3
(or $ALBENCH_PYTHON alone), imports torch; --skip pytorch leaves it out.

Peak memory: each model row runs once more alone in a fresh process, albench's (bench/peak_rss_row.ts) on each
backend and the PyTorch peer's with every thread, and each reports its own peak resident memory (VmHWM, Linux);
the table's "albench MiB" and "pytorch MiB" columns. --skip memory leaves them out.`;

async function denoBench(
  file: string,
  env: Record<string, string>,
  label: string,
  extraFlags: readonly string[] = [],
): Promise<DenoBenchReport> {
  console.error(`perf: ${label} (bench/${file}) ...`);
  const t0 = performance.now();
  // `deno` by name: the task may run only `deno`, `python3` and `cat` (--allow-run=deno,…), which Deno checks
  // against the name on PATH, not against this binary's own path (Deno.execPath()).
  const out = await new Deno.Command("deno", {
    args: [
      "bench",
      "--no-prompt",
      "--json",
      "--allow-read",
      "--allow-env",
      "--allow-write",
      ...extraFlags,
      `${ROOT}bench/${file}`,
    ],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const start = text.indexOf("{\n");
  if (!out.success || start < 0) {
    throw new UsageError(`perf: deno bench bench/${file} failed (exit ${out.code}); its output is above`, 1);
  }
  console.error(`perf: ${label} done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return JSON.parse(text.slice(start)) as DenoBenchReport;
}

function flopsTable(): (backbone: string, resolution: number) => number {
  const memo = new Map<string, number>();
  return (backbone, resolution) => {
    const key = `${backbone}@${resolution}`;
    let v = memo.get(key);
    if (v === undefined) {
      if (!isBackboneName(backbone)) return NaN;
      const m = buildBackbone(backbone as BackboneName, resolution, Rng.root(0));
      const featureDim = m.outputs[0]!.shape[1] as number;
      v = forwardFlops(m) + 2 * featureDim * 17;
      m.dispose();
      memo.set(key, v);
    }
    return v;
  };
}

/**
 * The PyTorch peer over `configs` with one thread and with every logical CPU (one run when there is one CPU), or
 * why not (also said in one line on stderr).
 */
async function pytorchPeer(
  configs: readonly ModelPerfConfig[],
): Promise<{ python: string; one: PeerReport; all: PeerReport } | { reason: string }> {
  const probe = await findTorchPython(pythonCandidates(Deno.env.get("ALBENCH_PYTHON")));
  if ("missing" in probe) {
    const reason = `not run: no Python with torch (${probe.missing})`;
    console.error(`perf: PyTorch peer ${reason}; pytorch columns left out`);
    return { reason };
  }
  const { python, torch } = probe.found;
  const cores = Math.max(1, navigator.hardwareConcurrency || 1);
  try {
    const t0 = performance.now();
    console.error(`perf: PyTorch ${torch} peer (${python} bench/peer_torch_cpu.py), 1 thread ...`);
    const one = await runPeer(python, configs, 1);
    let all = one;
    if (cores > 1) {
      console.error(`perf: PyTorch ${torch} peer, ${cores} threads ...`);
      all = await runPeer(python, configs, cores);
    }
    console.error(`perf: PyTorch peer done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    return { python, one, all };
  } catch (e) {
    const reason = `failed: ${(e as Error).message}`;
    console.error(`perf: PyTorch peer ${reason}; pytorch columns left out`);
    return { reason };
  }
}

/**
 * Peak memory of every row in `configs` on each of `backends` (where the backend runs it) and, with `python`, in
 * the PyTorch peer with `threads` threads. A row whose process fails is said on stderr and left unmeasured.
 */
async function peakMemory(
  configs: readonly ModelPerfConfig[],
  backends: readonly string[],
  python: string | undefined,
  threads: number,
): Promise<Map<string, PeakRss>> {
  const measured = new Map<string, PeakRss>();
  const t0 = performance.now();
  const attempt = async (label: string, run: () => Promise<number>): Promise<number | undefined> => {
    console.error(`perf:   peak memory: ${label}`);
    try {
      return await run();
    } catch (e) {
      console.error(`perf: peak memory of ${label} not measured: ${(e as Error).message}`);
      return undefined;
    }
  };
  for (const c of configs) {
    const row = `${c.mode} ${c.backbone}@${c.resolution} b${c.batch}`;
    const torch = python === undefined
      ? undefined
      : await attempt(`pytorch ${row}`, () => peerPeakRss(python, c, threads));
    for (const backend of backends) {
      if (backend === "wasm" && c.fitsWasm === false) continue;
      const mib = await attempt(`${backend} ${row}`, () => albenchPeakRss(backend, c));
      measured.set(rowKey({ backend, ...c }), {
        ...(mib !== undefined ? { albench: mib } : {}),
        ...(torch !== undefined ? { pytorch: torch } : {}),
      });
    }
  }
  console.error(`perf: peak memory done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return measured;
}

async function main(args: string[]): Promise<void> {
  const { values } = parseFlags(args, {
    set: { type: "string", default: "default" },
    backends: { type: "string", default: "wasm" },
    out: { type: "string", default: "reports/perf" },
    skip: { type: "string" },
    only: { type: "string" },
    debug: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  }, "perf");
  if (values.help) return void console.log(USAGE);
  let set;
  try {
    set = perfSetFrom(values.set);
  } catch (e) {
    throw new UsageError(`--set: ${(e as Error).message}`, 2, { cause: e });
  }
  const backends = values.backends.split(",").map((s) => s.trim()).filter(Boolean);
  for (const b of backends) {
    if (!isBackendName(b) || b === "auto") {
      throw new UsageError(
        `--backends: ${JSON.stringify(b)} is not a concrete backend (${CONCRETE_BACKENDS.join(", ")})`,
      );
    }
  }
  const skip = new Set((values.skip ?? "").split(",").map((s) => s.trim()).filter(Boolean));
  for (const s of skip) {
    if (!(SKIPPABLE as readonly string[]).includes(s)) {
      throw new UsageError(`--skip: ${JSON.stringify(s)} is not one of ${SKIPPABLE.join(", ")}`);
    }
  }
  let only;
  let configs;
  try {
    only = values.only === undefined ? undefined : parseOnly(values.only);
    configs = selectConfigs(modelConfigs(set), only);
  } catch (e) {
    throw new UsageError(`--only: ${(e as Error).message}`, 2, { cause: e });
  }
  const peak = await detectPeak();
  const env: Record<string, string> = {
    ALBENCH_PERF_SET: set,
    ...(values.only !== undefined ? { ALBENCH_PERF_ONLY: values.only } : {}),
  };
  let runtime: string | undefined;

  let models: ModelRow[] = [];
  let pytorch:
    | { python: string; torch: string; memoryFormat: string; blas: string; threads: Record<string, number> }
    | null = null;
  let pytorchNote = "skipped (--skip pytorch)"; // replaced by the reason when the peer was tried and did not run
  if (!skip.has("models")) {
    await initBackend("cpu"); // for counting FLOPs; production mode keeps tfjs banners out of the output
    const flops = flopsTable();
    for (const backend of backends) {
      const report = await denoBench(
        "perf_models_bench.ts",
        { ...env, ALBENCH_PERF_BACKEND: backend },
        `models on ${backend}`,
        ["--allow-ffi"], // native (oneDNN) and tensorflow load their libraries with Deno.dlopen
      );
      runtime ??= report.runtime;
      models.push(...modelRows(report, backend, flops, peak));
    }
    if (!skip.has("pytorch")) {
      const peer = await pytorchPeer(configs);
      if ("reason" in peer) pytorchNote = peer.reason;
      else {
        models = withPeer(withPeer(models, peer.one, "pytorch1"), peer.all, "pytorch");
        pytorch = {
          python: peer.python,
          torch: peer.all.torch,
          memoryFormat: peer.all.memoryFormat,
          blas: peer.all.blas,
          threads: { pytorch1: peer.one.threads, pytorch: peer.all.threads },
        };
      }
    }
  }
  if (!skip.has("models") && !skip.has("memory")) {
    const cores = Math.max(1, navigator.hardwareConcurrency || 1);
    models = withPeakRss(models, await peakMemory(configs, backends, pytorch?.python, cores));
  }
  const queries = skip.has("query")
    ? []
    // Python plug-ins start their interpreter (ALBENCH_PYTHON, else python3).
    : queryRows(
      await denoBench("perf_query_bench.ts", env, "query step", ["--allow-run"]),
    );
  const data = skip.has("data") || set === "quick"
    ? []
    : otherRows(await denoBench("data_bench.ts", env, "data loading"));

  const dn = models.find((r) =>
    r.backend === "wasm" && r.mode === "train" && r.backbone === "densenet-cpu" && r.resolution === 32
  );
  const inferDn = models.find((r) =>
    r.backend === "wasm" && r.mode === "infer" && r.backbone === "densenet-cpu" && r.resolution === 32
  );
  const gpuDn = models.find((r) =>
    r.backend === "webgpu" && r.mode === "train" && r.backbone === "densenet-cpu" && r.resolution === 32
  );
  const mge100k = queries.find((q) => q.query === "mge-clustering" && q.n === 100_000);
  const mge1k = queries.find((q) => q.query === "mge-clustering" && q.n === 1000);
  const bridge100k = queries.find((q) => q.query === "python-bridge" && q.n === 100_000);
  const poolInference = inferDn?.imgPerS.albench ? 1050 / inferDn.imgPerS.albench : undefined;
  const targets = {
    trainSpeedupDensenetCpu32: {
      value: dn?.ratio ?? null,
      target: 5,
      met: dn?.ratio != null ? dn.ratio >= 5 : null,
    },
    webgpuTrainSpeedupDensenetCpu32: {
      value: gpuDn?.ratio ?? null,
      target: 5,
      met: gpuDn?.ratio != null ? gpuDn.ratio >= 5 : null,
      note: "albench's webgpu kernels against tfjs-webgpu's stock ones, same adapter and process (issue #17)",
    },
    mgeSecondsAt100k: {
      value: mge100k?.seconds ?? null,
      target: 2,
      met: mge100k ? mge100k.seconds <= 2 : null,
    },
    queriesAt100kWithin2s: {
      value: queries.some((q) => q.n === 100_000)
        ? Object.fromEntries(queries.filter((q) => q.n === 100_000).map((q) => [q.query, q.seconds]))
        : null,
      target: 2,
      met: queries.some((q) => q.n === 100_000)
        ? queries.filter((q) => q.n === 100_000).every((q) => q.seconds <= 2)
        : null,
      note: "every timed query function at N = 100,000 (d = 1024, C = 17, b = 20, 200 labelled) within 2 s",
    },
    pythonBridgeSecondsAt100k: {
      value: bridge100k?.seconds ?? null,
      target: 0.5,
      met: bridge100k ? bridge100k.seconds <= 0.5 : null,
      note:
        "a Python plug-in that reads nothing, N = 100,000, d = 1024, C = 17: the bridge's cost per call beyond the function's own time (issue #28)",
    },
    densenet121Train224PeakMemory: (() => {
      const m = models.find((r) =>
        r.backend === "native" && r.mode === "train" && r.backbone === "densenet121" && r.resolution === 224
      )?.peakRssMiB;
      const value = m?.albench !== undefined && m.pytorch !== undefined ? m.albench / m.pytorch : null;
      return {
        value,
        target: 1,
        met: value === null ? null : value <= 1,
        note:
          "native peak resident memory of densenet121 224 px training (batch 10) ÷ PyTorch's (issue #27.5)",
      };
    })(),
    mgeAt1kOverPoolInference: {
      value: mge1k && poolInference ? mge1k.seconds / poolInference : null,
      target: 0.1,
      met: mge1k && poolInference ? mge1k.seconds / poolInference <= 0.1 : null,
      note:
        "MGE+Clustering at N = 1000 against the inference pass over the paper's 1050-image pool (densenet-cpu, 32 px)",
    },
  };
  const result: PerfFile = {
    format: PERF_FORMAT,
    set,
    // The model rows --only kept (null: every row of the set).
    only: values.only ?? null,
    runtime: runtime ?? null,
    tfjs: tf.version.tfjs,
    threads: 1,
    peak,
    pytorch,
    models,
    queries,
    data,
    targets,
  };
  await Deno.mkdir(values.out, { recursive: true });
  await writeFileAtomic(`${values.out}/perf.json`, JSON.stringify(result, null, 1) + "\n");

  if (values.only !== undefined) console.log(`model rows: only ${values.only} (--only)`);
  console.log(
    `CPU: ${peak.model} (${peak.cores} logical, ${peak.mhz} MHz, ${peak.isa}); peak per core: native ${
      peak.nativeCoreGflops.toFixed(1)
    } GFLOP/s, wasm SIMD128 ${peak.wasmCoreGflops.toFixed(1)} GFLOP/s; one thread per process`,
  );
  if (!skip.has("models")) {
    const p = pytorch;
    console.log(
      p
        ? `PyTorch peer: torch ${p.torch} (${p.python}, ${p.memoryFormat}, BLAS ${p.blas}); pytorch1: 1 thread, pytorch: ${p.threads.pytorch} threads; albench/pytorch = albench img/s / pytorch img/s`
        : `PyTorch peer: ${pytorchNote}`,
    );
  }
  for (const line of formatModelRows(models)) console.log(line);
  if (queries.length) {
    const ns = [...new Set(queries.map((q) => q.n))];
    console.log(
      `\nquery seconds (d = 1024, C = 17, b = 20)   ${ns.map((n) => `N=${n}`.padStart(10)).join("")}`,
    );
    for (const name of [...new Set(queries.map((q) => q.query))]) {
      const cells = ns.map((n) => {
        const q = queries.find((x) => x.query === name && x.n === n);
        return (q ? q.seconds.toFixed(3) : "-").padStart(10);
      });
      console.log(`${name.padEnd(42)}${cells.join("")}`);
    }
  }
  if (data.length) {
    console.log("");
    for (const d of data) console.log(`${d.name}: ${d.seconds.toFixed(2)} s`);
  }
  console.log("");
  const fmt = (v: number | null, d: number, unit = "") => (v === null ? "not measured" : v.toFixed(d) + unit);
  console.log(
    `target: wasm densenet-cpu 32 px training (batch 10) ${
      fmt(targets.trainSpeedupDensenetCpu32.value, 2, "x")
    } the stock path (goal 5x)`,
  );
  console.log(
    `target: webgpu densenet-cpu 32 px training (batch 10) ${
      fmt(targets.webgpuTrainSpeedupDensenetCpu32.value, 2, "x")
    } the stock webgpu kernels (goal 5x)`,
  );
  console.log(
    `target: MGE+Clustering at N = 100k ${fmt(targets.mgeSecondsAt100k.value, 3, " s")} (goal 2 s)`,
  );
  const at100k = targets.queriesAt100kWithin2s.value;
  console.log(
    `target: every query function at N = 100k within 2 s: ${
      at100k === null
        ? "not measured"
        : Object.entries(at100k).map(([name, sec]) =>
          `${name} ${sec.toFixed(2)} s${sec > 2 ? " (over)" : ""}`
        )
          .join(", ")
    }`,
  );
  console.log(
    `target: Python bridge at N = 100k (d = 1024, C = 17) ${
      fmt(targets.pythonBridgeSecondsAt100k.value, 3, " s")
    } a call beyond the function's own time (goal 0.5 s)`,
  );
  console.log(
    `target: native densenet121 224 px training peak memory ${
      fmt(targets.densenet121Train224PeakMemory.value, 2, "x")
    } PyTorch's (goal at most 1x)`,
  );
  console.log(
    `target: MGE+Clustering at N = 1k / inference over 1050 images ${
      fmt(targets.mgeAt1kOverPoolInference.value, 4)
    } (goal 0.1)`,
  );
  console.log(`wrote ${values.out}/perf.json`);
}

if (import.meta.main) await runMain(main, Deno.args);
