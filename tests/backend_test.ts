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
