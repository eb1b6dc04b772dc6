/**
 * The oneDNN C API, as much of it as the native engine uses, bound with `Deno.dlopen`.
 *
 * Which versions load: oneDNN **2.x** (`libdnnl.so.2`, the C API with `*_desc_init` operation descriptors and
 * memory descriptors as plain structs; tested with Debian's `libdnnl2` 2.6.3, built with GNU OpenMP). oneDNN 3.x
 * (`libdnnl.so.3`) changed the C API — memory descriptors became opaque handles and the `*_desc_init` calls were
 * replaced by `*_primitive_desc_create` — and is refused with a message saying so: its bindings would be a
 * second module beside this one. The struct sizes below are those of the 2.x headers (`DNNL_MAX_NDIMS` = 12:
 * `dnnl_memory_desc_t` is 696 bytes, operation descriptors at most 5,976); they are checked against the
 * library's own `dnnl_memory_desc_get_size` at load.
 *
 * Everything else in the engine goes through {@linkcode Dnnl}: one place holds the symbol table and the
 * numeric constants (taken from `dnnl_types.h` of 2.6).
 *
 * @module
 */

/** Numeric constants of the oneDNN 2.x C API (dnnl_types.h). */
export const DNNL = {
  success: 0,
  cpu: 1,
  f32: 3,
  // format tags
  any: 1,
  a: 2,
  ab: 3,
  nchw: 5,
  nhwc: 20,
  hwio: 30,
  // propagation kinds
  forwardTraining: 64,
  forwardInference: 96,
  backward: 128,
  backwardData: 160,
  backwardWeights: 192,
  // algorithms
  convolutionDirect: 1,
  poolingMax: 511,
  poolingAvgIncludePadding: 767,
  poolingAvgExcludePadding: 1023,
  eltwiseRelu: 31,
  // batch-norm flags
  useGlobalStats: 1,
  useScaleShift: 2,
  fuseNormRelu: 4,
  useScale: 8,
  useShift: 16,
  // execution arguments
  argSrc: 1,
  argDst: 17,
  argWeights: 33,
  argBias: 41,
  argMean: 49,
  argVariance: 50,
  argScale: 51,
  argShift: 52,
  argWorkspace: 64,
  argDiffSrc: 129,
  argDiffDst: 145,
  argDiffWeights: 161,
  argDiffBias: 169,
  argDiffScale: 255,
  argDiffShift: 256,
  argMultipleSrc: 1024,
  // queries
  queryImplInfoStr: 8,
  querySrcMd: 129,
  queryDiffSrcMd: 130,
  queryWeightsMd: 131,
  queryDiffWeightsMd: 132,
  queryDstMd: 133,
  queryDiffDstMd: 134,
  queryWorkspaceMd: 135,
} as const;

/** Bytes of `dnnl_memory_desc_t` in oneDNN 2.x. */
export const MEMORY_DESC_BYTES = 696;
/** Bytes reserved for any operation descriptor (the largest, `dnnl_convolution_desc_t`, is 5,976). */
export const OP_DESC_BYTES = 6144;

const SYMBOLS = {
  dnnl_version: { parameters: [], result: "pointer" },
  dnnl_get_effective_cpu_isa: { parameters: [], result: "i32" },
  dnnl_engine_create: { parameters: ["buffer", "i32", "usize"], result: "i32" },
  dnnl_stream_create: { parameters: ["buffer", "pointer", "u32"], result: "i32" },
  dnnl_stream_wait: { parameters: ["pointer"], result: "i32" },
  dnnl_memory_desc_init_by_tag: {
    parameters: ["buffer", "i32", "buffer", "i32", "i32"],
    result: "i32",
  },
  dnnl_memory_desc_init_by_strides: {
    parameters: ["buffer", "i32", "buffer", "i32", "buffer"],
    result: "i32",
  },
  dnnl_memory_desc_get_size: { parameters: ["buffer"], result: "usize" },
  dnnl_memory_desc_equal: { parameters: ["buffer", "pointer"], result: "i32" },
  dnnl_memory_create: { parameters: ["buffer", "buffer", "pointer", "pointer"], result: "i32" },
  dnnl_memory_set_data_handle: { parameters: ["pointer", "pointer"], result: "i32" },
  dnnl_memory_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_dilated_convolution_forward_desc_init: {
    parameters: [
      "buffer",
      "i32",
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  dnnl_dilated_convolution_backward_data_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  dnnl_dilated_convolution_backward_weights_desc_init: {
    parameters: [
      "buffer",
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  dnnl_batch_normalization_forward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "f32", "u32"],
    result: "i32",
  },
  dnnl_batch_normalization_backward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "f32", "u32"],
    result: "i32",
  },
  dnnl_pooling_forward_desc_init: {
    parameters: ["buffer", "i32", "i32", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  dnnl_pooling_backward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  dnnl_eltwise_forward_desc_init: {
    parameters: ["buffer", "i32", "i32", "buffer", "f32", "f32"],
    result: "i32",
  },
  dnnl_eltwise_backward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "f32", "f32"],
    result: "i32",
  },
  dnnl_primitive_attr_create: { parameters: ["buffer"], result: "i32" },
  dnnl_primitive_desc_create: {
    parameters: ["buffer", "buffer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  dnnl_concat_primitive_desc_create: {
    parameters: ["buffer", "buffer", "i32", "i32", "buffer", "pointer", "pointer"],
    result: "i32",
  },
  dnnl_reorder_primitive_desc_create: {
    parameters: ["buffer", "buffer", "pointer", "buffer", "pointer", "pointer"],
    result: "i32",
  },
  dnnl_primitive_desc_query: { parameters: ["pointer", "i32", "i32", "buffer"], result: "i32" },
  dnnl_primitive_desc_query_md: { parameters: ["pointer", "i32", "i32"], result: "pointer" },
  dnnl_primitive_desc_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_primitive_create: { parameters: ["buffer", "pointer"], result: "i32" },
  dnnl_primitive_execute: { parameters: ["pointer", "pointer", "i32", "buffer"], result: "i32" },
  dnnl_primitive_destroy: { parameters: ["pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

const OMP_SYMBOLS = {
  omp_get_max_threads: { parameters: [], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded library: its symbols, one CPU engine and stream, and what it runs on. */
export interface Dnnl {
  readonly sym: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
  readonly engine: Deno.PointerValue;
  readonly stream: Deno.PointerValue;
  /** e.g. `2.6.3`. */
  readonly version: string;
  /** The instruction set oneDNN dispatches to, e.g. `avx512_core`. */
  readonly isa: string;
  /** OpenMP threads every primitive uses. */
  readonly threads: number;
  /** The file that loaded. */
  readonly path: string;
}

/** Library file names tried, in order, when `ALBENCH_DNNL_LIB` is not set. */
export const DNNL_LIBRARY_CANDIDATES = ["libdnnl.so.2", "libdnnl.so"] as const;

const ISA_NAMES: Record<number, string> = {
  0x0: "isa_all",
  0x1: "sse41",
  0x3: "avx",
  0x7: "avx2",
  0x407: "avx2_vnni",
  0xf: "avx512_mic",
  0x1f: "avx512_mic_4ops",
  0x27: "avx512_core",
  0x67: "avx512_core_vnni",
  0xe7: "avx512_core_bf16",
  0x3e7: "avx512_core_amx",
};

let loaded: Dnnl | undefined;

function check(status: number, what: string): void {
  if (status !== DNNL.success) throw new Error(`oneDNN: ${what} failed with status ${status}`);
}

/**
 * A pointer-sized out-parameter and its value after the call.
 *
 * @example
 * ```ts
 * import { outPointer } from "./dnnl.ts";
 * const out = outPointer();
 * console.assert(out.buf.byteLength === 8 && out.get() === null);
 * ```
 */
export function outPointer(): { buf: BigUint64Array; get(): Deno.PointerValue } {
  const buf = new BigUint64Array(1);
  return { buf, get: () => Deno.UnsafePointer.create(buf[0]!) };
}

/**
 * Load oneDNN 2.x (once per process) and create its CPU engine and stream. `ALBENCH_DNNL_LIB` names the library
 * file when it is not on the loader's path. Throws a message that says what to install when nothing loads,
 * and refuses oneDNN 3.x (see the module doc).
 *
 * @example
 * ```ts ignore
 * import { loadDnnl } from "./dnnl.ts";
 * const dnnl = loadDnnl();
 * console.log(dnnl.version, dnnl.isa, dnnl.threads);
 * ```
 */
export function loadDnnl(): Dnnl {
  if (loaded) return loaded;
  const fromEnv = Deno.env.get("ALBENCH_DNNL_LIB");
  const candidates = fromEnv ? [fromEnv] : [...DNNL_LIBRARY_CANDIDATES];
  const errors: string[] = [];
  let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;
  let path = "";
  for (const c of candidates) {
    try {
      lib = Deno.dlopen(c, SYMBOLS);
      path = c;
      break;
    } catch (e) {
      errors.push(`${c}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  if (!lib) {
    throw new Error(
      `native backend: oneDNN 2.x could not be loaded (${errors.join("; ")}). ` +
        "Install it (Debian/Ubuntu: `apt-get install libdnnl2`) or set ALBENCH_DNNL_LIB to the libdnnl.so.2 file.",
    );
  }
  const sym = lib.symbols;
  const v = new DataView(Deno.UnsafePointerView.getArrayBuffer(sym.dnnl_version()!, 12));
  const version = `${v.getInt32(0, true)}.${v.getInt32(4, true)}.${v.getInt32(8, true)}`;
  if (!version.startsWith("2.")) {
    lib.close();
    throw new Error(
      `native backend: ${path} is oneDNN ${version}; albench binds the oneDNN 2.x C API ` +
        "(3.x changed memory descriptors and operation descriptors). Install oneDNN 2.x (Debian 12: libdnnl2) " +
        "and point ALBENCH_DNNL_LIB at libdnnl.so.2.",
    );
  }
  const md = new Uint8Array(MEMORY_DESC_BYTES);
  check(sym.dnnl_memory_desc_init_by_tag(md, 2, new BigInt64Array([3n, 5n]), DNNL.f32, DNNL.ab), "md check");
  if (Number(sym.dnnl_memory_desc_get_size(md)) !== 60) {
    throw new Error(`native backend: ${path} does not lay out memory descriptors as oneDNN 2.6 does`);
  }
  const engine = outPointer();
  check(sym.dnnl_engine_create(engine.buf, DNNL.cpu, 0n), "engine create");
  const stream = outPointer();
  check(sym.dnnl_stream_create(stream.buf, engine.get(), 1), "stream create");
  let threads = 1;
  try {
    const omp = Deno.dlopen("libgomp.so.1", OMP_SYMBOLS);
    threads = omp.symbols.omp_get_max_threads();
  } catch {
    threads = 1;
  }
  const isaCode = sym.dnnl_get_effective_cpu_isa();
  loaded = {
    sym,
    engine: engine.get(),
    stream: stream.get(),
    version,
    isa: ISA_NAMES[isaCode] ?? `isa 0x${isaCode.toString(16)}`,
    threads,
    path,
  };
  return loaded;
}

/**
 * A memory descriptor of float32 data with the given logical dims and format tag.
 *
 * @example
 * ```ts ignore
 * import { DNNL, loadDnnl, memoryDesc } from "./dnnl.ts";
 * const md = memoryDesc(loadDnnl(), [10, 3, 32, 32], DNNL.nhwc);
 * ```
 */
export function memoryDesc(dnnl: Dnnl, dims: readonly number[], tag: number): Uint8Array {
  const md = new Uint8Array(MEMORY_DESC_BYTES);
  check(
    dnnl.sym.dnnl_memory_desc_init_by_tag(md, dims.length, BigInt64Array.from(dims, BigInt), DNNL.f32, tag),
    `memory descriptor ${dims.join("x")} tag ${tag}`,
  );
  return md;
}

/**
 * A memory descriptor with explicit strides (in elements), e.g. a channel slice of an NHWC tensor.
 *
 * @example
 * ```ts ignore
 * import { loadDnnl, stridedDesc } from "./dnnl.ts";
 * const md = stridedDesc(loadDnnl(), [2, 4, 1, 1], [8, 1, 8, 8]);
 * ```
 */
export function stridedDesc(dnnl: Dnnl, dims: readonly number[], strides: readonly number[]): Uint8Array {
  const md = new Uint8Array(MEMORY_DESC_BYTES);
  check(
    dnnl.sym.dnnl_memory_desc_init_by_strides(
      md,
      dims.length,
      BigInt64Array.from(dims, BigInt),
      DNNL.f32,
      BigInt64Array.from(strides, BigInt),
    ),
    `strided memory descriptor ${dims.join("x")}`,
  );
  return md;
}

/** oneDNN `dnnl_dims_t` of the given values (unused entries zero). */
export function dims(values: readonly number[]): BigInt64Array {
  const d = new BigInt64Array(12);
  values.forEach((v, i) => (d[i] = BigInt(v)));
  return d;
}

export { check as checkStatus };
