/**
 * The machine's theoretical float32 peak, for "fraction of peak" in `deno task perf`.
 *
 * How it is computed (per core, then × cores):
 * - native: clock (`cpu MHz` of /proc/cpuinfo, the nominal clock on VMs) × float32 FLOPs per cycle of the widest
 *   vector FMA the flags show, assuming two FMA pipes: AVX-512 on Intel 2 × 16 lanes × 2 = 64; AVX-512 on AMD
 *   (Zen 4 executes 512-bit operations as two 256-bit halves) and AVX2+FMA 2 × 8 × 2 = 32; AVX without FMA
 *   (separate multiply and add pipes) 16; SSE 8.
 * - wasm SIMD128: 4 float32 lanes and no fused multiply-add in the instruction set (XNNPACK's wasmsimd kernels
 *   issue a multiply and an add), two vector pipes: 2 × 4 × 2 = 16 FLOPs per cycle. This is the ceiling a
 *   single-threaded tfjs-wasm kernel can reach on one core; it is what the achieved GFLOP/s are compared to.
 *
 * @module
 */

/** The peak, with what it was derived from. */
export interface CpuPeak {
  /** CPU model name, as /proc/cpuinfo gives it ("unknown" when unreadable). */
  readonly model: string;
  readonly vendor: string;
  /** Logical CPUs listed. */
  readonly cores: number;
  readonly mhz: number;
  /** The widest vector extension found: "avx512", "avx2+fma", "avx", "sse" or "unknown". */
  readonly isa: string;
  /** Native float32 FLOPs per cycle per core. */
  readonly nativeFlopsPerCycle: number;
  /** Native float32 GFLOP/s of one core and of all cores. */
  readonly nativeCoreGflops: number;
  readonly nativeMachineGflops: number;
  /** wasm SIMD128 float32 GFLOP/s of one core (16 FLOPs per cycle). */
  readonly wasmCoreGflops: number;
}

/**
 * The peak described by the text of /proc/cpuinfo.
 *
 * @example
 * ```ts
 * import { peakFromCpuinfo } from "./peak.ts";
 * const p = peakFromCpuinfo("vendor_id : GenuineIntel\nmodel name : X\ncpu MHz : 2000.0\nflags : sse avx avx2 fma\n");
 * console.assert(p.nativeCoreGflops === 64 && p.wasmCoreGflops === 32);
 * ```
 */
export function peakFromCpuinfo(text: string): CpuPeak {
  const blocks = text.split(/\n\s*\n/).filter((b) => /^processor\s*:/m.test(b) || /model name/.test(b));
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(text)?.[1]?.trim();
  const flags = new Set((field("flags") ?? "").split(/\s+/));
  const vendor = field("vendor_id") ?? "unknown";
  const mhz = Number(field("cpu MHz") ?? NaN);
  let isa = "unknown", perCycle = NaN;
  if (flags.has("avx512f")) {
    isa = "avx512";
    perCycle = vendor === "AuthenticAMD" ? 32 : 64;
  } else if (flags.has("avx2") && flags.has("fma")) [isa, perCycle] = ["avx2+fma", 32];
  else if (flags.has("avx")) [isa, perCycle] = ["avx", 16];
  else if (flags.has("sse")) [isa, perCycle] = ["sse", 8];
  const cores = Math.max(1, blocks.length);
  const core = (mhz / 1000) * perCycle;
  return {
    model: field("model name") ?? "unknown",
    vendor,
    cores,
    mhz,
    isa,
    nativeFlopsPerCycle: perCycle,
    nativeCoreGflops: core,
    nativeMachineGflops: core * cores,
    wasmCoreGflops: (mhz / 1000) * 16,
  };
}

/**
 * Read /proc/cpuinfo (Linux) and compute the peak; on other systems every number is NaN and the model "unknown".
 * Deno lets a program read /proc only with --allow-all, so without it the file is read by `cat` (--allow-run).
 *
 * @example
 * ```ts ignore
 * import { detectPeak } from "./peak.ts";
 * console.log((await detectPeak()).wasmCoreGflops);
 * ```
 */
export async function detectPeak(): Promise<CpuPeak> {
  try {
    return peakFromCpuinfo(await Deno.readTextFile("/proc/cpuinfo"));
  } catch {
    try {
      const out = await new Deno.Command("cat", { args: ["/proc/cpuinfo"], stdout: "piped", stderr: "null" })
        .output();
      if (out.success) return peakFromCpuinfo(new TextDecoder().decode(out.stdout));
    } catch {
      // Not Linux, or no permission to run `cat`: fall through.
    }
    return peakFromCpuinfo("");
  }
}
