/**
 * Loading oneDNN with `Deno.dlopen`: the library file, its CPU engine and stream, the instruction set it
 * dispatches to, and the OpenMP thread count.
 *
 * Which versions load: oneDNN **2.x** (`libdnnl.so.2`; tested with Debian's `libdnnl2` 2.6.3, built with GNU
 * OpenMP). oneDNN 3.x (`libdnnl.so.3`) changed the C API — memory descriptors became opaque handles and the
 * `*_desc_init` calls were replaced by `*_primitive_desc_create` — and is refused with a message saying so (a
 * 3.x file loaded through ALBENCH_DNNL_LIB fails at load, naming the missing 2.x symbols). Every call that
 * changed lives in `describe.ts`; the symbols bound here (engine, stream, primitives, memory handles, queries)
 * are the same in both, so a 3.x binding is a new `describe.ts` and the file name below.
 *
 * @module
 */

import { checkStatus as check, DNNL, type Handle, outHandle } from "./abi.ts";
import { checkDescriptorLayout, DESCRIBE_SYMBOLS } from "./describe.ts";

// Handles (engine, stream, primitive descriptors, primitives, memories) and queried memory descriptors travel as
// integers (`usize`), and data as `buffer`s: Deno's pointer objects need unscoped --allow-ffi, integers and buffers
// only the library's own path.
const CORE_SYMBOLS = {
  dnnl_get_effective_cpu_isa: { parameters: [], result: "i32" },
  dnnl_engine_create: { parameters: ["buffer", "i32", "usize"], result: "i32" },
  dnnl_stream_create: { parameters: ["buffer", "usize", "u32"], result: "i32" },
  dnnl_stream_wait: { parameters: ["usize"], result: "i32" },
  dnnl_memory_set_data_handle: { parameters: ["usize", "buffer"], result: "i32" },
  dnnl_memory_destroy: { parameters: ["usize"], result: "i32" },
  dnnl_primitive_desc_query: { parameters: ["usize", "i32", "i32", "buffer"], result: "i32" },
  dnnl_primitive_desc_query_md: { parameters: ["usize", "i32", "i32"], result: "usize" },
  dnnl_primitive_desc_destroy: { parameters: ["usize"], result: "i32" },
  dnnl_primitive_create: { parameters: ["buffer", "usize"], result: "i32" },
  dnnl_primitive_execute: { parameters: ["usize", "usize", "i32", "buffer"], result: "i32" },
  dnnl_primitive_destroy: { parameters: ["usize"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

const SYMBOLS = { ...CORE_SYMBOLS, ...DESCRIBE_SYMBOLS } as const satisfies Deno.ForeignLibraryInterface;

const OMP_SYMBOLS = {
  omp_get_max_threads: { parameters: [], result: "i32" },
  omp_set_num_threads: { parameters: ["i32"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

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
  checkDescriptorLayout(sym, path);
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
