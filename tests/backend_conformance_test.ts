import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend/backend.ts";
import { probeWebGpu } from "../src/backend/webgpu.ts";
import { nativeUnavailable } from "./native_available.ts";
import {
  caseInputs,
  type CaseResult,
  CONFORMANCE_CASES,
  FILTER_GRAD_CASES,
  filterGradByKernel,
  filterGradViaConv,
  relativeError,
  runCase,
} from "../src/backend/conformance.ts";

const SEED = 20240611;
const TOL = 1e-4;

await tf.setBackend("cpu");
const reference: CaseResult[] = [];
for (const c of CONFORMANCE_CASES) reference.push(await runCase(c, caseInputs(c, SEED)));
const filterReference: Float32Array[] = [];
for (const c of FILTER_GRAD_CASES) filterReference.push(await filterGradByKernel(c, SEED));

const webgpu = await probeWebGpu();
const noNative = nativeUnavailable();
const backends: { name: "wasm" | "webgpu" | "native"; ignore: boolean; why: string }[] = [
  { name: "wasm", ignore: false, why: "" },
  { name: "native", ignore: noNative !== undefined, why: noNative ?? "" },
  {
    name: "webgpu",
    // A software adapter (llvmpipe) runs the same shaders, so it is tested too; ALBENCH_TEST_WEBGPU=0 opts out.
    ignore: !webgpu.available || Deno.env.get("ALBENCH_TEST_WEBGPU") === "0",
    why: webgpu.available ? "ALBENCH_TEST_WEBGPU=0" : `no adapter: ${webgpu.reason}`,
  },
];

Deno.test("conformance: albench's filter-gradient formula matches cpu's own kernel within 1e-5", async () => {
  for (const [i, c] of FILTER_GRAD_CASES.entries()) {
    const err = relativeError(await filterGradViaConv(c, SEED), filterReference[i] as Float32Array);
    assert.ok(err < 1e-5, `${JSON.stringify(c)}: relative error ${err}`);
  }
});

for (const b of backends) {
  Deno.test({
    name: `conformance: ${b.name} matches cpu on forward and gradients${
      b.ignore ? ` (skipped: ${b.why})` : ""
    }`,
    ignore: b.ignore,
    fn: async (t) => {
      await initBackend(b.name);
      try {
        for (const [i, c] of CONFORMANCE_CASES.entries()) {
          await t.step(c.name, async () => {
            const got = await runCase(c, caseInputs(c, SEED));
            const ref = reference[i]!;
            const outErr = relativeError(got.output, ref.output);
            assert.ok(outErr < TOL, `output relative error ${outErr}`);
            got.grads.forEach((g, k) => {
              const e = relativeError(g, ref.grads[k] as Float32Array);
              assert.ok(e < TOL, `gradient ${k} relative error ${e}`);
            });
          });
        }
        await t.step("Conv2DBackpropFilter within 1e-5", async () => {
          for (const [i, c] of FILTER_GRAD_CASES.entries()) {
            const err = relativeError(await filterGradByKernel(c, SEED), filterReference[i] as Float32Array);
            assert.ok(err < 1e-5, `${JSON.stringify(c)}: relative error ${err}`);
          }
        });
        await t.step("no tensors leak from the registered kernel", async () => {
          const before = tf.memory().numTensors;
          const c = FILTER_GRAD_CASES[1]!;
          await filterGradByKernel(c, SEED);
          assert.equal(tf.memory().numTensors, before);
        });
      } finally {
        await tf.setBackend("cpu");
      }
    },
  });
}
