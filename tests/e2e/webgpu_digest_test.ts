/**
 * Issue #17.4 on the adapter at hand: the CI scenario (BYOL, fine-tuning, both query functions) run twice on
 * webgpu, each in fresh results and cache folders, gives the same result digest. On a software adapter
 * (lavapipe) this checks albench's WGSL kernels and tfjs-webgpu's together for run-to-run determinism; a GPU
 * session repeats it on the card (results differ from the wasm golden digest, and between adapter kinds).
 */
import assert from "node:assert/strict";
import { probeWebGpuInChild, ROOT, runBench } from "./bench_cli.ts";

const probe = probeWebGpuInChild();
const ignore = !probe.available || Deno.env.get("ALBENCH_TEST_WEBGPU") === "0";
const why = probe.available ? "ALBENCH_TEST_WEBGPU=0" : `no adapter: ${probe.reason}`;

async function run(dir: string): Promise<{ digest: string; manifest: string }> {
  const r = await runBench(`${ROOT}/scenarios/ci/repro.json`, dir, "--backend", "webgpu");
  assert.equal(r.code, 0, r.stderr);
  const manifest = await Deno.readTextFile(`${dir}/out/manifest.json`);
  return { digest: JSON.parse(manifest).digest, manifest: JSON.stringify(JSON.parse(manifest)) };
}

Deno.test({
  name: `webgpu: the CI scenario run twice gives the same result digest${ignore ? ` (skipped: ${why})` : ""}`,
  ignore,
  fn: async () => {
    const dirs = [
      await Deno.makeTempDir({ prefix: "albench-wgd-" }),
      await Deno.makeTempDir({ prefix: "albench-wgd-" }),
    ];
    try {
      const [a, b] = [await run(dirs[0]!), await run(dirs[1]!)];
      assert.match(a.manifest, /"tfjsBackend":"webgpu"/);
      assert.match(a.digest, /^[0-9a-f]{64}$/);
      assert.equal(a.digest, b.digest);
    } finally {
      for (const d of dirs) await Deno.remove(d, { recursive: true });
    }
  },
});
