/**
 * A cached oneDNN primitive with its argument memories, run on float32 arrays in the caller's layout.
 *
 * Each argument has a *user* layout (how albench stores the tensor: NHWC activations, HWIO filters, plain
 * vectors) and the layout the primitive chose. Where they differ, the argument goes through a cached reorder
 * primitive and a scratch buffer, in or out; where they agree the caller's array is handed to oneDNN as it is.
 * Primitives are cached by a key of the operation and shapes, so a training step builds each one once.
 *
 * @module
 */
import { checkStatus, DNNL, type Handle, outHandle } from "./abi.ts";
import type { Dnnl } from "./dnnl.ts";
import { type MemoryDesc, memoryOf, queriedBytes, reorderPd, sameLayout } from "./describe.ts";

/** A query value meaning "the primitive takes this argument in the user's layout" (plain vectors). */
export const USER_LAYOUT = -1;

/** One argument of a primitive: its oneDNN argument id, its user layout, and whether it is written. */
export interface ArgSpec {
  readonly arg: number;
  /** The user memory descriptor (what the caller's array holds); null: the primitive's own (opaque workspace). */
  readonly user: MemoryDesc | null;
  /** The primitive's query for this argument's descriptor (e.g. `DNNL.querySrcMd`), or {@linkcode USER_LAYOUT}. */
  readonly query: number;
  readonly output: boolean;
}

interface ArgState {
  readonly spec: ArgSpec;
  /** Memory handed to the primitive (user layout or the primitive's). */
  readonly mem: Handle;
  /** When layouts differ: the user-layout memory, the reorder, and the primitive-layout buffer. */
  readonly reorder?: { readonly userMem: Handle; readonly prim: Handle; readonly buffer: Float32Array };
}

function createPrimitive(dnnl: Dnnl, pd: Handle): Handle {
  const out = outHandle();
  checkStatus(dnnl.sym.dnnl_primitive_create(out.buf, pd), "primitive create");
  return out.get();
}

function finishReorder(dnnl: Dnnl, pd: Handle): Handle {
  const prim = createPrimitive(dnnl, pd);
  dnnl.sym.dnnl_primitive_desc_destroy(pd);
  return prim;
}

/** A buffer oneDNN may hold until the next execution: never zero-length (Deno passes those as null). */
function nonEmpty(a: Float32Array): Float32Array {
  return a.length > 0 ? a : new Float32Array(1);
}

/**
 * The implementation oneDNN chose, e.g. `brgconv:avx512_core`: readable only with unscoped `--allow-ffi`
 * (it is a C string), so only for ALBENCH_NATIVE_VERBOSE; "?" otherwise.
 */
function implName(dnnl: Dnnl, pd: Handle): string {
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return "?";
  const out = new BigUint64Array(1);
  if (dnnl.sym.dnnl_primitive_desc_query(pd, DNNL.queryImplInfoStr, 0, out) !== DNNL.success) return "?";
  const p = Deno.UnsafePointer.create(out[0]!);
  return p === null ? "?" : new Deno.UnsafePointerView(p).getCString();
}

/** A ready primitive: run it with one array per argument, in the order of its specs. */
export class Primitive {
  readonly #dnnl: Dnnl;
  readonly #prim: Handle;
  readonly #args: ArgState[];
  readonly #extra: { arg: number; mem: Handle; buffer: Float32Array }[];
  readonly #execArgs: Uint8Array;
  /** The primitive descriptor (kept alive: backward primitives use it as their forward hint). */
  readonly pd: Handle;

  /**
   * Build from a primitive descriptor. `extra` names arguments that only the library reads and writes between
   * calls (workspace): each gets a buffer of the size the descriptor asks for.
   */
  constructor(dnnl: Dnnl, pd: Handle, specs: readonly ArgSpec[], extra: readonly number[] = []) {
    const { sym } = dnnl;
    this.#dnnl = dnnl;
    this.pd = pd;
    this.#prim = createPrimitive(dnnl, pd);
    const queriedMemory = (md: Handle, buffer: Float32Array) => {
      const mem = memoryOf(dnnl, md);
      checkStatus(sym.dnnl_memory_set_data_handle(mem, nonEmpty(buffer)), "set handle");
      return mem;
    };
    this.#args = specs.map((spec) => {
      if (spec.query === USER_LAYOUT && spec.user) return { spec, mem: memoryOf(dnnl, spec.user) };
      const chosen = sym.dnnl_primitive_desc_query_md(pd, spec.query, 0);
      if (chosen === 0n) throw new Error(`oneDNN: no descriptor for argument ${spec.arg}`);
      if (spec.user === null) return { spec, mem: memoryOf(dnnl, chosen) };
      if (sameLayout(dnnl, spec.user, chosen)) return { spec, mem: memoryOf(dnnl, spec.user) };
      const buffer = new Float32Array(queriedBytes(dnnl, chosen) / 4);
      const rpd = spec.output ? reorderPd(dnnl, chosen, spec.user) : reorderPd(dnnl, spec.user, chosen);
      return {
        spec,
        mem: queriedMemory(chosen, buffer),
        reorder: { userMem: memoryOf(dnnl, spec.user), prim: finishReorder(dnnl, rpd), buffer },
      };
    });
    this.#extra = extra.map((arg) => {
      const md = sym.dnnl_primitive_desc_query_md(pd, DNNL.queryWorkspaceMd, 0);
      const buffer = new Float32Array(Math.ceil(queriedBytes(dnnl, md) / 4));
      return { arg, mem: queriedMemory(md, buffer), buffer };
    });
    const all = [...this.#args.map((a) => ({ arg: a.spec.arg, mem: a.mem })), ...this.#extra];
    this.#execArgs = execArgs(all);
  }

  /** Float32 elements of the buffer the primitive wants for a queried argument (e.g. its workspace). */
  elements(query: number): number {
    const md = this.#dnnl.sym.dnnl_primitive_desc_query_md(this.pd, query, 0);
    return Math.ceil(queriedBytes(this.#dnnl, md) / 4);
  }

  /** The workspace buffer of an `extra` argument (shared between a forward and its backward). */
  workspace(arg: number): Float32Array {
    return this.#workspace(arg).buffer;
  }

  /** Point the workspace argument at another buffer (e.g. the forward's). */
  setWorkspace(arg: number, buffer: Float32Array): void {
    const w = this.#workspace(arg);
    w.buffer = buffer;
    checkStatus(this.#dnnl.sym.dnnl_memory_set_data_handle(w.mem, nonEmpty(buffer)), "set handle");
  }

  #workspace(arg: number) {
    const w = this.#extra.find((e) => e.arg === arg);
    if (!w) throw new Error(`oneDNN primitive has no workspace argument ${arg}`);
    return w;
  }

  /** Run on `arrays` (one per spec, in the user layouts). Synchronous. */
  run(arrays: readonly Float32Array[]): void {
    const { sym, stream } = this.#dnnl;
    const after: { from: Handle; to: Handle; prim: Handle }[] = [];
    this.#args.forEach((a, i) => {
      const data = nonEmpty(arrays[i]!);
      if (!a.reorder) {
        checkStatus(sym.dnnl_memory_set_data_handle(a.mem, data), "set handle");
        return;
      }
      checkStatus(sym.dnnl_memory_set_data_handle(a.reorder.userMem, data), "set handle");
      if (!a.spec.output) runReorder(this.#dnnl, a.reorder.prim, a.reorder.userMem, a.mem);
      else after.push({ from: a.mem, to: a.reorder.userMem, prim: a.reorder.prim });
    });
    checkStatus(
      sym.dnnl_primitive_execute(this.#prim, stream, this.#args.length + this.#extra.length, this.#execArgs),
      "execute",
    );
    for (const r of after) runReorder(this.#dnnl, r.prim, r.from, r.to);
    checkStatus(sym.dnnl_stream_wait(stream), "stream wait");
  }

  /** The implementation oneDNN chose (see {@linkcode implName}). */
  get impl(): string {
    return implName(this.#dnnl, this.pd);
  }
}

/** A `dnnl_exec_arg_t` array: `{ int arg; dnnl_memory_t memory; }` (16 bytes each). */
function execArgs(args: readonly { arg: number; mem: Handle }[]): Uint8Array {
  const buf = new Uint8Array(16 * args.length);
  const view = new DataView(buf.buffer);
  args.forEach(({ arg, mem }, i) => {
    view.setInt32(16 * i, arg, true);
    view.setBigUint64(16 * i + 8, mem, true);
  });
  return buf;
}

function runReorder(dnnl: Dnnl, prim: Handle, from: Handle, to: Handle): void {
  const args = execArgs([{ arg: DNNL.argSrc, mem: from }, { arg: DNNL.argDst, mem: to }]);
  checkStatus(dnnl.sym.dnnl_primitive_execute(prim, dnnl.stream, 2, args), "reorder");
}

const verbose = (() => {
  try {
    return Deno.env.get("ALBENCH_NATIVE_VERBOSE") !== undefined;
  } catch {
    return false;
  }
})();

/** Primitives by key, built on first use. */
export class PrimitiveCache {
  readonly #map = new Map<string, Primitive>();
  /** Primitive for `key`, built by `make` the first time. */
  get(key: string, make: () => Primitive): Primitive {
    let p = this.#map.get(key);
    if (!p) {
      p = make();
      this.#map.set(key, p);
      if (verbose) console.error(`native: ${key} -> ${p.impl}`);
    }
    return p;
  }
}
