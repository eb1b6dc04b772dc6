/**
 * Kernel-by-kernel profile of fine-tuning steps (issue #17.1), or of inference batches (`--mode infer`, as the
 * pool and test passes run them), on any backend:
 *
 * `deno task profile --backend webgpu --model densenet-cpu --px 32 [--batch 10] [--steps 2] [--kernels albench|stock] [--mode train|infer]`
 *
 * Runs one untimed step (compiles pipelines), then `--steps` timed steps with no profiling (wall time), then the
 * same steps under `tf.profile` (on the native engine's compiled step, its own timing of each planned operation, by
 * phase and kind, as rows `compiled: forward conv` and so on): per kernel the calls, the programs dispatched (webgpu: every
 * `runWebGPUProgram`, which a kernel may call several times) and the time the backend measured (webgpu: GPU
 * timestamps where the adapter offers them, summed over the kernel's programs; other backends: wall time per
 * kernel). "Outside kernels" is the unprofiled wall time less the summed kernel time: JS, recording and encoding,
 * waiting. `--json FILE` also writes the table (under `reports/`, the only folder the task may write). `--kernels stock` switches to tfjs's own kernels (wasm, webgpu).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { initBackend, isBackendName } from "../src/backend/backend.ts";
import { setWasmKernels } from "../src/backend/wasm.ts";
import { setWebGpuKernels } from "../src/backend/webgpu/kernels.ts";
import { countPrograms } from "../src/backend/webgpu/program.ts";
import { Rng } from "../src/rng.ts";
import { syntheticImages, syntheticLabels } from "../src/data/synthetic.ts";
import { buildBackbone } from "../src/model/backbones.ts";
import { isBackboneName } from "../src/model/names.ts";
import { withHead } from "../src/model/classifier.ts";
import { rowRunner } from "../src/perf/row.ts";
import { nativeStepFor } from "../src/train/native_step.ts";

const fail = (msg: string): never => {
  console.error(`profile: ${msg}`);
  Deno.exit(2);
};
const OPTIONS = {
  backend: { type: "string", default: "webgpu" },
  model: { type: "string", default: "densenet-cpu" },
  px: { type: "string", default: "32" },
  batch: { type: "string", default: "10" },
  steps: { type: "string", default: "2" },
  kernels: { type: "string", default: "albench" },
  mode: { type: "string", default: "train" },
  json: { type: "string" },
} as const;
function parse() {
  try {
    return parseArgs({ args: Deno.args, options: OPTIONS }).values;
  } catch (e) {
    // A value that looks like a flag (`--batch -3`): say how to pass it.
    const ambiguous = /^Option '(--[\w-]+)' argument is ambiguous/.exec((e as Error).message);
    if (ambiguous) {
      const flag = ambiguous[1]!, next = Deno.args[Deno.args.indexOf(flag) + 1] ?? "";
      return fail(
        `${flag} is followed by ${JSON.stringify(next)}, which looks like a flag: write ${flag}=${next}`,
      );
    }
    // Unknown flags or a missing value.
    return fail(
      `${
        (e as Error).message.replace(/\.?$/, ".")
      } Flags: --backend --model --px --batch --steps --kernels --mode --json.`,
    );
  }
}
const values = parse();
const int = (name: string, v: string, min: number, max: number, why: string) => {
  const n = /^[0-9]{1,9}$/.test(v) ? Number(v) : NaN;
  if (!(n >= min && n <= max)) {
    fail(`--${name} must be an integer from ${min} to ${max} (${why}); got ${JSON.stringify(v)}`);
  }
  return n;
};
const backendName = values.backend;
if (!isBackendName(backendName)) fail(`--backend ${JSON.stringify(backendName)} is not a backend name`);
if (!isBackboneName(values.model)) fail(`--model ${JSON.stringify(values.model)} is not a backbone name`);
if (values.mode !== "train" && values.mode !== "infer") {
  fail(`--mode ${JSON.stringify(values.mode)}: train (fine-tuning steps) or infer (inference batches)`);
}
const training = values.mode === "train";
if (values.kernels !== "albench" && values.kernels !== "stock") {
  fail(`--kernels ${JSON.stringify(values.kernels)}: albench or stock`);
}
const px = int("px", values.px, 8, 512, "the scenario schema's dataset.resolution range"),
  batch = int("batch", values.batch, 1, 1024, "a profile's batch"),
  steps = int("steps", values.steps, 1, 10_000, "a profile's steps");

const info = await initBackend(backendName as "webgpu");
if (info.tfjsBackend === "wasm") setWasmKernels(values.kernels as "albench");
if (info.tfjsBackend === "webgpu") setWebGpuKernels(values.kernels as "albench");

// On webgpu, count the programs each kernel records (every runWebGPUProgram between two kernel boundaries);
// other backends have none, and their kernels stay unwrapped.
const counter = countPrograms(tf.backend());
const programs = () => counter?.count() ?? 0;
const perKernelPrograms = new Map<string, number>();
for (const k of counter ? tf.getKernelsForBackend(info.tfjsBackend) : []) {
  const f = k.kernelFunc;
  tf.unregisterKernel(k.kernelName, k.backendName);
  tf.registerKernel({
    ...k,
    kernelFunc: (args) => {
      const before = programs();
      const r = f(args);
      perKernelPrograms.set(k.kernelName, (perKernelPrograms.get(k.kernelName) ?? 0) + programs() - before);
      return r;
    },
  });
}

const n = batch * steps;
const images = syntheticImages({ size: Math.max(n, 10) }, px),
  table = syntheticLabels({ size: Math.max(n, 10) });
const modelName = values.model as "densenet-cpu";
const model = withHead(
  buildBackbone(modelName, px, Rng.root(0), "", { batchNorm: "fused" }),
  17,
  Rng.root(0),
);
// A step: `steps` fine-tuning steps, or `steps` inference batches (as the pool and test passes run them).
const row = rowRunner(
  model,
  training ? "train" : "infer",
  batch,
  images,
  table,
  Array.from({ length: n }, (_, k) => k),
);
const run = () => row.run();
await row.warmUp();
let t0 = performance.now();
await run();
const wallMs = performance.now() - t0;
perKernelPrograms.clear();
counter?.reset();
// The native engine's compiled step has no tfjs kernels to profile: it times its own planned operations.
const compiled = nativeStepFor(model);
if (compiled) compiled.profile = new Map();
t0 = performance.now();
const profile = await tf.profile(async () => {
  await run();
  return [];
});
const profiledMs = performance.now() - t0;
if (compiled) {
  for (const [name, r] of compiled.profile!) {
    profile.kernels.push({ name: `compiled: ${name}`, kernelTimeMs: r.ms, calls: r.calls } as never);
  }
  compiled.profile = undefined;
}

// tf.profile also lists op scopes (customGrad's "unnamed scope", fused ops' "fusedConv2d__op") whose time
// includes the kernels they ran: only registered kernels are counted, so nothing is counted twice.
const isKernel = (name: string) =>
  tf.getKernel(name, info.tfjsBackend) !== undefined || name.startsWith("compiled: ");
const scopes = new Set(profile.kernels.filter((k) => !isKernel(k.name)).map((k) => k.name));
const rows = new Map<string, { calls: number; ms: number }>();
for (const k of profile.kernels.filter((k) => isKernel(k.name))) {
  const r = rows.get(k.name) ?? { calls: 0, ms: 0 };
  r.calls += (k as { calls?: number }).calls ?? 1;
  r.ms += typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
  rows.set(k.name, r);
}
const sorted = [...rows.entries()].sort((a, b) => b[1].ms - a[1].ms);
const kernelMs = sorted.reduce((s, [, r]) => s + r.ms, 0);
const perStep = (v: number) => v / steps;
const lines = [
  `${info.tfjsBackend} (${values.kernels} kernels) ${values.model}@${px}, ${
    training ? "training" : "inference"
  }, batch ${batch}, ${steps} ${training ? "steps" : "batches"}: ` +
  `${(n / (wallMs / 1000)).toFixed(2)} img/s unprofiled (${perStep(wallMs).toFixed(1)} ms a step; ` +
  `${perStep(profiledMs).toFixed(1)} ms profiled)`,
  `per step: ${perStep(sorted.reduce((n, [, r]) => n + r.calls, 0)).toFixed(0)} kernels` +
  (counter ? `, ${perStep(programs()).toFixed(0)} programs dispatched` : "") +
  `, ${perStep(kernelMs).toFixed(1)} ms in kernels, ${
    perStep(Math.max(0, wallMs - kernelMs)).toFixed(1)
  } ms outside ` +
  `kernels (of the unprofiled step)`,
  ...(scopes.size ? [`(op scopes left out, their kernels counted: ${[...scopes].sort().join(", ")})`] : []),
  "",
  "| kernel | calls/step | programs/step | ms/step | share |",
  "| --- | ---: | ---: | ---: | ---: |",
  ...sorted.map(([name, r]) =>
    `| ${name} | ${perStep(r.calls).toFixed(0)} | ${
      perStep(perKernelPrograms.get(name) ?? 0).toFixed(0)
    } | ` +
    `${perStep(r.ms).toFixed(2)} | ${(100 * r.ms / Math.max(kernelMs, 1e-9)).toFixed(1)}% |`
  ),
];
console.log(lines.join("\n"));
if (values.json) {
  const out = {
    backend: info.tfjsBackend,
    kernels: values.kernels,
    model: values.model,
    mode: values.mode,
    px,
    batch,
    steps,
    wallMsPerStep: perStep(wallMs),
    kernelMsPerStep: perStep(kernelMs),
    programsPerStep: perStep(programs()),
    rows: sorted.map(([name, r]) => ({
      kernel: name,
      callsPerStep: perStep(r.calls),
      programsPerStep: perStep(perKernelPrograms.get(name) ?? 0),
      msPerStep: perStep(r.ms),
    })),
  };
  const tmp = `${values.json}.tmp`;
  try {
    await Deno.writeTextFile(tmp, JSON.stringify(out, null, 2) + "\n");
    await Deno.rename(tmp, values.json);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    fail(`--json ${values.json}: ${(e as Error).message} (the task may write under reports/ only)`);
  }
}
