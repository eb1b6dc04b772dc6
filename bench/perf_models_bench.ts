/**
 * Model throughput for `deno task perf`: fine-tuning steps and inference batches per model configuration, each
 * with albench's kernels and fused batch norm (`albench`) and with the stock baseline (`stock`, see
 * src/perf/configs.ts), in one process so the ratio compares like with like.
 *
 * Run through `deno task perf` (which turns the results into img/s, GFLOP/s and ratios), or directly:
 * `ALBENCH_PERF_SET=quick deno bench --allow-read --allow-env bench/perf_models_bench.ts`.
 * `ALBENCH_PERF_BACKEND` picks the backend (default wasm); on webgpu the variants are albench's WGSL kernels
 * (src/backend/webgpu/) against tfjs-webgpu's own; on native only batch norm differs between them.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend, isBackendName } from "../src/backend/backend.ts";
import { setWasmKernels } from "../src/backend/wasm.ts";
import { setWebGpuKernels } from "../src/backend/webgpu/kernels.ts";
import { Rng } from "../src/rng.ts";
import { syntheticImages, syntheticLabels } from "../src/data/synthetic.ts";
import { buildBackbone } from "../src/model/backbones.ts";
import { type Classifier, withHead } from "../src/model/classifier.ts";
import { rowRunner } from "../src/perf/row.ts";
import {
  modelConfigs,
  modelConfigsFor,
  type ModelPerfConfig,
  parseOnly,
  perfName,
  perfSetFrom,
  type PerfVariant,
  selectConfigs,
} from "../src/perf/configs.ts";
import type { ImageTable, LabelTable } from "../src/data/dataset.ts";

const announced = new Set<string>();
/** Progress on stderr (deno bench --json keeps console output to itself): one line when a bench starts. */
function started(name: string): void {
  if (announced.has(name)) return;
  announced.add(name);
  Deno.stderr.writeSync(new TextEncoder().encode(`perf:   ${name}\n`));
}

const backendName = Deno.env.get("ALBENCH_PERF_BACKEND") ?? "wasm";
if (!isBackendName(backendName)) throw new Error(`ALBENCH_PERF_BACKEND=${backendName} is not a backend name`);
const info = await initBackend(backendName);
const set = perfSetFrom(Deno.env.get("ALBENCH_PERF_SET"));
// `deno task perf --only MODE:MODEL@PX[,…]` passes its filter on (checked there).
const onlyValue = Deno.env.get("ALBENCH_PERF_ONLY");
const only = onlyValue ? parseOnly(onlyValue) : undefined;

function useVariant(v: PerfVariant): void {
  if (info.tfjsBackend === "wasm") setWasmKernels(v);
  if (info.tfjsBackend === "webgpu") setWebGpuKernels(v);
}

const data = new Map<number, { images: ImageTable; table: LabelTable }>();
function dataAt(resolution: number, size: number) {
  const key = resolution * 1e6 + size;
  let d = data.get(key);
  if (!d) {
    d = { images: syntheticImages({ size }, resolution), table: syntheticLabels({ size }) };
    data.set(key, d);
  }
  return d;
}

let current: { key: string; model: Classifier } | undefined;
function modelFor(c: ModelPerfConfig, v: PerfVariant): Classifier {
  const key = `${c.backbone}@${c.resolution}/${v}`;
  if (current?.key === key) return current.model;
  if (current) {
    current.model.backbone.dispose();
    current.model.head.dispose();
  }
  const rng = Rng.root(0);
  const backbone = buildBackbone(c.backbone, c.resolution, rng, "", {
    batchNorm: v === "albench" ? "fused" : "layers",
  });
  current = { key, model: withHead(backbone, 17, rng) };
  return current.model;
}

// Rows --only names (checked against the whole set by the CLI) that this engine can run (wasm cannot hold some).
const wanted = new Set(selectConfigs(modelConfigs(set), only).map((c) => perfName(c, "albench")));
for (const c of modelConfigsFor(set, backendName).filter((c) => wanted.has(perfName(c, "albench")))) {
  const images = c.batch * c.steps;
  // The stock baseline is tfjs-wasm's: rows wasm cannot hold have none (on native, the stock variant's
  // tf.layers batch norm at 224 px ran past 10 minutes and 11 GB without finishing a step).
  for (const v of c.fitsWasm === false ? ["albench"] as const : ["stock", "albench"] as const) {
    Deno.bench({
      name: perfName(c, v),
      group: `${c.mode} ${c.backbone}@${c.resolution}`,
      baseline: v === "stock",
      n: c.n,
      warmup: 0,
      async fn(b) {
        started(perfName(c, v));
        useVariant(v);
        const model = modelFor(c, v);
        const { images: imgs, table } = dataAt(c.resolution, Math.max(images, 10));
        const ids = Array.from({ length: images }, (_, k) => k);
        // One untimed step or batch first: it builds XNNPACK operators and JIT-compiles the step.
        const row = rowRunner(model, c.mode, c.batch, imgs, table, ids);
        await row.warmUp();
        b.start();
        await row.run();
        b.end();
      },
    });
  }
}
addEventListener("unload", () => tf.disposeVariables());
