import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { BACKEND_NAMES, initBackend, isBackendName } from "../src/backend/backend.ts";
import { installHint } from "../src/backend/tensorflow.ts";

Deno.test("backend: names are validated", () => {
  for (const n of BACKEND_NAMES) assert.ok(isBackendName(n));
  assert.ok(!isBackendName("cuda"));
  assert.ok(!isBackendName("WASM"));
});

Deno.test("backend: auto picks the first that loads and says why it skipped the others", async () => {
  const info = await initBackend("auto");
  try {
    const order = ["tensorflow-gpu", "tensorflow", "webgpu", "native", "wasm", "cpu"];
    const chosen = order.indexOf(info.name);
    assert.ok(chosen >= 0, info.name);
    assert.equal(info.skipped.length, chosen, `skipped: ${info.skipped.join("; ")}`);
    info.skipped.forEach((s, i) => assert.ok(s.startsWith(`${order[i]}:`), s));
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
