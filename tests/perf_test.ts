import assert from "node:assert/strict";
import { peakFromCpuinfo } from "../src/perf/peak.ts";
import { formatModelRows, modelRows, otherRows, queryRows } from "../src/perf/table.ts";
import { modelConfigs, parsePerfName, perfName, perfSetFrom } from "../src/perf/configs.ts";

function cpuinfo(vendor: string, mhz: number, flags: string, cores = 2): string {
  return Array.from(
    { length: cores },
    (_, i) =>
      `processor\t: ${i}\nvendor_id\t: ${vendor}\nmodel name\t: Test CPU\ncpu MHz\t\t: ${mhz}\nflags\t\t: ${flags}\n`,
  ).join("\n");
}

Deno.test("perf peak: FLOPs per cycle follow the widest FMA the flags show, wasm SIMD128 is 16 per cycle", () => {
  const amd = peakFromCpuinfo(cpuinfo("AuthenticAMD", 2500, "fpu sse avx avx2 fma avx512f avx512bw"));
  assert.equal(amd.isa, "avx512");
  assert.equal(amd.cores, 2);
  assert.equal(amd.nativeCoreGflops, 2.5 * 32);
  assert.equal(amd.nativeMachineGflops, 2 * 2.5 * 32);
  assert.equal(amd.wasmCoreGflops, 2.5 * 16);
  const intel = peakFromCpuinfo(cpuinfo("GenuineIntel", 2000, "sse avx avx2 fma avx512f", 4));
  assert.equal(intel.nativeCoreGflops, 2 * 64);
  assert.equal(intel.nativeMachineGflops, 4 * 2 * 64);
  assert.equal(peakFromCpuinfo(cpuinfo("GenuineIntel", 3000, "sse avx avx2 fma")).nativeFlopsPerCycle, 32);
  assert.equal(peakFromCpuinfo(cpuinfo("GenuineIntel", 3000, "sse avx")).nativeFlopsPerCycle, 16);
  const none = peakFromCpuinfo("");
  assert.equal(none.model, "unknown");
  assert.ok(Number.isNaN(none.nativeCoreGflops));
});

Deno.test("perf configs: every bench name parses back to its configuration; the default set has the 5x target row", () => {
  for (const c of [...modelConfigs("quick"), ...modelConfigs("default")]) {
    for (const v of ["stock", "albench"] as const) {
      const p = parsePerfName(perfName(c, v));
      assert.deepEqual(p, {
        mode: c.mode,
        backbone: c.backbone,
        resolution: c.resolution,
        batch: c.batch,
        steps: c.steps,
        variant: v,
      });
    }
  }
  assert.equal(parsePerfName("query badge N=1000"), undefined);
  const names = new Set(modelConfigs("default").map((c) => perfName(c, "stock")));
  assert.ok(
    [...names].some((n) => n.startsWith("train densenet-cpu@32 b10")),
    "the 5x target row",
  );
  assert.throws(() => perfSetFrom("fast"), /perf set "fast" is not one of quick, default/);
});

Deno.test("perf table: img/s, ratio, GFLOP/s and fraction of peak from bench means", () => {
  const ok = (avg: number) => [{ ok: { n: 3, avg, min: avg } }];
  const report = {
    benches: [
      { name: "train densenet-cpu@32 b10x6 stock", results: ok(12e9) },
      { name: "train densenet-cpu@32 b10x6 albench", results: ok(2e9) },
      { name: "infer small-cnn@64 b64x2 albench", results: ok(0.5e9) },
      { name: "query mge-clustering N=100000", results: ok(0.25e9) },
      { name: "ucmerced: cold", results: ok(11e9) },
      { name: "ignored bench", results: [{}] },
    ],
  };
  const peak = peakFromCpuinfo(cpuinfo("AuthenticAMD", 2000, "avx2 fma"));
  const rows = modelRows(report, "wasm", (b, r) => (b === "densenet-cpu" && r === 32 ? 0.1e9 : 1e9), peak);
  assert.equal(rows.length, 2);
  const dn = rows[0]!;
  assert.equal(dn.imgPerS.stock, 5);
  assert.equal(dn.imgPerS.albench, 30);
  assert.equal(dn.ratio, 6);
  assert.ok(Math.abs(dn.gflops! - 30 * 0.1 * 3) < 1e-9, "training counts three forward passes");
  assert.ok(Math.abs(dn.fractionOfWasmPeak! - 9 / 32) < 1e-12);
  assert.ok(Math.abs(dn.fractionOfNativePeak! - 9 / 64) < 1e-12);
  const inf = rows[1]!;
  assert.equal(inf.ratio, null, "no stock row, no ratio");
  assert.equal(inf.imgPerS.albench, 256);
  assert.equal(inf.gflops, 256);
  assert.equal(modelRows(report, "cpu", () => 1e9, peak)[0]!.fractionOfWasmPeak, null);
  assert.deepEqual(queryRows(report), [{ query: "mge-clustering", n: 100000, seconds: 0.25 }]);
  assert.deepEqual(otherRows(report), [{ name: "ucmerced: cold", seconds: 11 }]);
  const lines = formatModelRows(rows);
  assert.equal(lines.length, 3);
  assert.match(lines[1]!, /densenet-cpu\s+32\s+10\s+5\.0\s+30\.0\s+6\.00x/);
});
