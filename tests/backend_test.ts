import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { BACKEND_NAMES, initBackend, isBackendName } from "../src/backend/backend.ts";
import { installHint } from "../src/backend/tensorflow.ts";
import { probeWebGpu } from "../src/backend/webgpu.ts";
import { nativeUnavailable } from "./native_available.ts";

Deno.test("backend: names are validated", () => {
  for (const n of BACKEND_NAMES) assert.ok(isBackendName(n));
  assert.ok(!isBackendName("cuda"));
  assert.ok(!isBackendName("WASM"));
});

Deno.test("backend: auto picks the first engine that loads here, found independently, and says why it skipped the others", async () => {
  // What should load, asked without initBackend: tfjs-node is a folder under node_modules or not; WebGPU counts
  // only with a hardware adapter; oneDNN 2.x loads or says why.
  const root = new URL("../node_modules/@tensorflow/", import.meta.url).pathname;
  const installed = (pkg: string) => Deno.stat(`${root}${pkg}/package.json`).then(() => true, () => false);
  const probe = await probeWebGpu();
  const noNative = nativeUnavailable();
  const expected = await installed("tfjs-node-gpu")
    ? "tensorflow-gpu"
    : await installed("tfjs-node")
    ? "tensorflow"
    : probe.available && !probe.fallback
    ? "webgpu"
    : noNative === undefined
    ? "native"
    : "wasm";
  const info = await initBackend("auto");
  try {
    assert.equal(info.name, expected, `skipped: ${info.skipped.join("; ")}`);
    const order = ["tensorflow-gpu", "tensorflow", "webgpu", "native", "wasm", "cpu"];
    assert.deepEqual(info.skipped.map((s) => s.split(":")[0]), order.slice(0, order.indexOf(expected)));
    // Each skip names its own reason.
    for (const s of info.skipped) {
      if (s.startsWith("tensorflow")) assert.match(s, /@tensorflow\/tfjs-node(-gpu)? is not installed \(no /);
      if (s.startsWith("webgpu:")) {
        assert.equal(
          s,
          `webgpu: ${probe.available ? `fallback adapter (${probe.description})` : probe.reason}`,
        );
      }
      if (s.startsWith("native:")) assert.equal(s, `native: ${noNative}`);
    }
    assert.equal(tf.getBackend(), info.tfjsBackend);
    assert.equal(info.tfjsVersion, "4.22.0");
  } finally {
    await tf.setBackend("cpu");
  }
});

Deno.test("backend: wasm reports SIMD and one thread", async () => {
  const info = await initBackend("wasm");
  try {
    assert.equal(info.simd, true);
    assert.equal(info.threads, 1);
  } finally {
    await tf.setBackend("cpu");
  }
});

Deno.test("backend: the libtensorflow install hint names the package and the script permission", () => {
  assert.match(installHint("tensorflow"), /deno install --allow-scripts=npm:@tensorflow\/tfjs-node@4\.22\.0/);
  assert.match(installHint("tensorflow-gpu"), /CUDA/);
});

Deno.test("backend: probing WebGPU without XDG_RUNTIME_DIR prints no window-system error (issue #29)", async () => {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const k of ["PATH", "HOME", "DENO_DIR"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", "src/cli/bench.ts", "--print-env", "--backend", "auto"],
    cwd: new URL("..", import.meta.url).pathname,
    clearEnv: true,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(o.stderr);
  assert.equal(o.code, 0, stderr);
  assert.ok(!stderr.includes("XDG_RUNTIME_DIR"), stderr);
});
