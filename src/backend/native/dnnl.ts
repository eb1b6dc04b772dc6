/**
 * The oneDNN C API, as much of it as the native engine uses, bound with `Deno.dlopen`.
 *
 * Which versions load: oneDNN **2.x** (`libdnnl.so.2`, the C API with `*_desc_init` operation descriptors and
 * memory descriptors as plain structs; tested with Debian's `libdnnl2` 2.6.3, built with GNU OpenMP). oneDNN 3.x
 * (`libdnnl.so.3`) changed the C API — memory descriptors became opaque handles and the `*_desc_init` calls were
 * replaced by `*_primitive_desc_create` — and is refused with a message saying so: its bindings would be a
 * second module beside this one (a 3.x file loaded through ALBENCH_DNNL_LIB fails at load, naming the missing
 * 2.x symbols). The struct sizes below are those of the 2.x headers (`DNNL_MAX_NDIMS` = 12: `dnnl_memory_desc_t`
 * is 696 bytes, operation descriptors at most 5,976); a memory descriptor is checked against the library's own
 * `dnnl_memory_desc_get_size` at load.
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
  abc: 4,
  acb: 17,
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
  binaryAdd: 0x1fff0,
  // batch-norm flags
  useGlobalStats: 1,
  useScaleShift: 2,
  fuseNormRelu: 4,
  useScale: 8,
  useShift: 16,
  // execution arguments
  argSrc: 1,
  argSrc0: 1,
  argSrc1: 2,
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

// Handles (engine, stream, primitive descriptors, primitives, memories) and queried memory descriptors travel as
// integers (`usize`), and data as `buffer`s: Deno's pointer objects need unscoped --allow-ffi, integers and buffers
// only the library's own path.
const SYMBOLS = {
  dnnl_memory_desc_init_by_tag: {
    parameters: ["buffer", "i32", "buffer", "i32", "i32"],
    result: "i32",
  },
  dnnl_get_effective_cpu_isa: { parameters: [], result: "i32" },
  dnnl_engine_create: { parameters: ["buffer", "i32", "usize"], result: "i32" },
  dnnl_stream_create: { parameters: ["buffer", "usize", "u32"], result: "i32" },
  dnnl_stream_wait: { parameters: ["usize"], result: "i32" },
  dnnl_memory_desc_get_size: { parameters: ["buffer"], result: "usize" },
  dnnl_memory_desc_init_submemory: { parameters: ["buffer", "buffer", "buffer", "buffer"], result: "i32" },
  dnnl_matmul_desc_init: { parameters: ["buffer", "buffer", "buffer", "buffer", "buffer"], result: "i32" },
  dnnl_binary_desc_init: { parameters: ["buffer", "i32", "buffer", "buffer", "buffer"], result: "i32" },
  dnnl_concat_primitive_desc_create: {
    parameters: ["buffer", "buffer", "i32", "i32", "buffer", "usize", "usize"],
    result: "i32",
  },
  md_size_of_queried: { name: "dnnl_memory_desc_get_size", parameters: ["usize"], result: "usize" },
  dnnl_memory_desc_equal: { parameters: ["buffer", "usize"], result: "i32" },
  dnnl_memory_create: { parameters: ["buffer", "buffer", "usize", "usize"], result: "i32" },
  memory_create_queried: {
    name: "dnnl_memory_create",
    parameters: ["buffer", "usize", "usize", "usize"],
    result: "i32",
  },
  dnnl_memory_set_data_handle: { parameters: ["usize", "buffer"], result: "i32" },
  dnnl_memory_destroy: { parameters: ["usize"], result: "i32" },
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
  dnnl_primitive_desc_create: {
    parameters: ["buffer", "buffer", "usize", "usize", "usize"],
    result: "i32",
  },
  /** Reorder from a user descriptor to a queried one, and back. */
  reorder_to_queried: {
    name: "dnnl_reorder_primitive_desc_create",
    parameters: ["buffer", "buffer", "usize", "usize", "usize", "usize"],
    result: "i32",
  },
  reorder_user: {
    name: "dnnl_reorder_primitive_desc_create",
    parameters: ["buffer", "buffer", "usize", "buffer", "usize", "usize"],
    result: "i32",
  },
  reorder_from_queried: {
    name: "dnnl_reorder_primitive_desc_create",
    parameters: ["buffer", "usize", "usize", "buffer", "usize", "usize"],
    result: "i32",
  },
  dnnl_primitive_desc_query: { parameters: ["usize", "i32", "i32", "buffer"], result: "i32" },
  dnnl_primitive_desc_query_md: { parameters: ["usize", "i32", "i32"], result: "usize" },
  dnnl_primitive_desc_destroy: { parameters: ["usize"], result: "i32" },
  dnnl_primitive_create: { parameters: ["buffer", "usize"], result: "i32" },
  dnnl_primitive_execute: { parameters: ["usize", "usize", "i32", "buffer"], result: "i32" },
  dnnl_primitive_destroy: { parameters: ["usize"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

const OMP_SYMBOLS = {
  omp_get_max_threads: { parameters: [], result: "i32" },
  omp_set_num_threads: { parameters: ["i32"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

/** A oneDNN handle or queried descriptor address, as an integer. */
export type Handle = bigint;

/** The loaded library: its symbols, one CPU engine and stream, and what it runs on. */
export interface Dnnl {
  readonly sym: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
  readonly engine: Handle;
  readonly stream: Handle;
  /** `major.minor` from the library file, e.g. `2.6`. */
  readonly version: string;
  /** The instruction set oneDNN dispatches to, e.g. `avx512_core`. */
  readonly isa: string;
  /** Sets the calling thread's OpenMP thread count. */
  readonly setThreads: (n: number) => void;
  /** The file that loaded. */
  readonly path: string;
}

/** Folders searched for `libdnnl.so.2` and `libgomp.so.1` (Debian/Ubuntu multiarch, then the usual ones). */
export const LIBRARY_DIRS = [
  "/usr/lib/x86_64-linux-gnu",
  "/usr/lib/aarch64-linux-gnu",
  "/usr/lib64",
  "/usr/lib",
  "/usr/local/lib",
] as const;

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
 * import { outHandle } from "./dnnl.ts";
 * const out = outHandle();
 * console.assert(out.buf.byteLength === 8 && out.get() === 0n);
 * ```
 */
export function outHandle(): { buf: BigUint64Array; get(): Handle } {
  const buf = new BigUint64Array(1);
  return { buf, get: () => buf[0]! };
}

function open<S extends Deno.ForeignLibraryInterface>(
  file: string,
  symbols: S,
  envPath: string | undefined,
): { lib: Deno.DynamicLibrary<S>; path: string } {
  const candidates = envPath ? [envPath] : LIBRARY_DIRS.map((d) => `${d}/${file}`);
  const errors: string[] = [];
  for (const c of candidates) {
    try {
      return { lib: Deno.dlopen(c, symbols), path: c };
    } catch (e) {
      const msg = (e as Error).message.split("\n")[0]!;
      // Missing files are expected while searching; anything else (permissions, wrong version) is the answer.
      if (envPath || !/No such file|cannot open shared object/.test(msg)) errors.push(`${c}: ${msg}`);
    }
  }
  throw new Error(errors.length ? errors.join("; ") : `${file} not found in ${LIBRARY_DIRS.join(", ")}`);
}

/**
 * What a library that lacks oneDNN 2.x's symbols is: oneDNN of another major version (its `dnnl_version`), or not
 * oneDNN at all.
 */
function whichLibrary(given: string | undefined): string {
  const name = given ?? "libdnnl.so.2";
  let major: number | null = null;
  try {
    const lib = Deno.dlopen(name, { dnnl_version: { parameters: [], result: "pointer" } } as const);
    try {
      const p = lib.symbols.dnnl_version();
      major = p ? new Deno.UnsafePointerView(p).getInt32(0) : null;
    } finally {
      lib.close();
    }
  } catch {
    return `${name} is not a oneDNN library: it has no dnnl_version`;
  }
  return major === 3
    ? "the library lacks oneDNN 2.x's C API: oneDNN 3.x removed the `*_desc_init` calls albench binds"
    : `${name} is oneDNN ${major ?? "of an unknown version"}, without the oneDNN 2.x calls albench binds`;
}

/**
 * Load oneDNN 2.x (once per process or worker) and create its CPU engine and stream. `ALBENCH_DNNL_LIB` names
 * the library file when it is not in {@linkcode LIBRARY_DIRS}. Throws a message that says what to install when
 * nothing loads, and refuses oneDNN 3.x (see the module doc).
 *
 * @example
 * ```ts ignore
 * import { loadDnnl } from "./dnnl.ts";
 * const dnnl = loadDnnl();
 * console.log(dnnl.version, dnnl.isa);
 * ```
 */
export function loadDnnl(): Dnnl {
  if (loaded) return loaded;
  let lib: Deno.DynamicLibrary<typeof SYMBOLS>, path: string;
  try {
    ({ lib, path } = open("libdnnl.so.2", SYMBOLS, Deno.env.get("ALBENCH_DNNL_LIB")));
  } catch (e) {
    const msg = (e as Error).message;
    const v3 = /undefined symbol: dnnl_/.test(msg)
      ? ` (${whichLibrary(Deno.env.get("ALBENCH_DNNL_LIB"))})`
      : "";
    throw new Error(
      `native backend: oneDNN 2.x could not be loaded${v3} (${msg}). ` +
        "Install it (Debian/Ubuntu: `apt-get install libdnnl2`) or set ALBENCH_DNNL_LIB to the libdnnl.so.2 file " +
        "(and allow it: --allow-ffi=<that file>).",
    );
  }
  const sym = lib.symbols;
  const md = new Uint8Array(MEMORY_DESC_BYTES);
  check(sym.dnnl_memory_desc_init_by_tag(md, 2, new BigInt64Array([3n, 5n]), DNNL.f32, DNNL.ab), "md check");
  if (Number(sym.dnnl_memory_desc_get_size(md)) !== 60) {
    throw new Error(`native backend: ${path} does not lay out memory descriptors as oneDNN 2.x does`);
  }
  const engine = outHandle();
  check(sym.dnnl_engine_create(engine.buf, DNNL.cpu, 0n), "engine create");
  const stream = outHandle();
  check(sym.dnnl_stream_create(stream.buf, engine.get(), 1), "stream create");
  let omp: Deno.DynamicLibrary<typeof OMP_SYMBOLS>["symbols"] | undefined;
  try {
    omp = open("libgomp.so.1", OMP_SYMBOLS, undefined).lib.symbols;
  } catch {
    omp = undefined; // oneDNN built without GNU OpenMP: threads follow its own runtime.
  }
  const real = (() => {
    try {
      return Deno.realPathSync(path);
    } catch {
      return path;
    }
  })();
  const isaCode = sym.dnnl_get_effective_cpu_isa();
  loaded = {
    sym,
    engine: engine.get(),
    stream: stream.get(),
    version: /libdnnl\.so\.(\d+(?:\.\d+)*)$/.exec(real)?.[1] ?? "2",
    isa: ISA_NAMES[isaCode] ?? `isa 0x${isaCode.toString(16)}`,
    setThreads: (n) => omp?.omp_set_num_threads(n),
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

/** oneDNN `dnnl_dims_t` of the given values (unused entries zero). */
export function dims(values: readonly number[]): BigInt64Array {
  const d = new BigInt64Array(12);
  values.forEach((v, i) => (d[i] = BigInt(v)));
  return d;
}

export { check as checkStatus };
