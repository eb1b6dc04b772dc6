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
import { checkStatus, DNNL, type Dnnl, MEMORY_DESC_BYTES, outPointer } from "./dnnl.ts";

/** One argument of a primitive: its oneDNN argument id, its user layout, and whether it is written. */
export interface ArgSpec {
  readonly arg: number;
  /** The user memory descriptor (what the caller's array holds). */
  readonly user: Uint8Array;
  /** The primitive's query for this argument's own descriptor (e.g. `DNNL.querySrcMd`), index 0. */
  readonly query: number;
  readonly output: boolean;
}

interface ArgState {
  readonly spec: ArgSpec;
  /** Memory handed to the primitive (user layout or the primitive's). */
  readonly mem: Deno.PointerValue;
  /** When layouts differ: the user-layout memory, the reorder, and the primitive-layout buffer. */
  readonly reorder?: {
    readonly userMem: Deno.PointerValue;
    readonly prim: Deno.PointerValue;
    readonly buffer: Float32Array;
  };
}

const HANDLE_NONE = null;

/** A query value meaning "the primitive takes this argument in the user's layout" (plain vectors). */
export const USER_LAYOUT = -1;

function copyMd(ptr: Deno.PointerValue): Uint8Array {
  const md = new Uint8Array(MEMORY_DESC_BYTES);
  if (ptr === null) {
    throw new Error("oneDNN: a primitive descriptor has no descriptor for a queried argument");
  }
  new Deno.UnsafePointerView(ptr).copyInto(md);
  return md;
}

function createMemory(dnnl: Dnnl, md: Uint8Array): Deno.PointerValue {
  const out = outPointer();
  checkStatus(dnnl.sym.dnnl_memory_create(out.buf, md, dnnl.engine, HANDLE_NONE), "memory create");
  return out.get();
}

function createPrimitive(dnnl: Dnnl, pd: Deno.PointerValue): Deno.PointerValue {
  const out = outPointer();
  checkStatus(dnnl.sym.dnnl_primitive_create(out.buf, pd), "primitive create");
  return out.get();
}

function reorderPrimitive(dnnl: Dnnl, from: Uint8Array, to: Uint8Array): Deno.PointerValue {
  const pd = outPointer();
  checkStatus(
    dnnl.sym.dnnl_reorder_primitive_desc_create(pd.buf, from, dnnl.engine, to, dnnl.engine, null),
    "reorder descriptor",
  );
  const prim = createPrimitive(dnnl, pd.get());
  dnnl.sym.dnnl_primitive_desc_destroy(pd.get());
  return prim;
}

function pointerOf(a: Float32Array): Deno.PointerValue {
  // A zero-length array has no backing store; oneDNN never reads it, but must get a non-null handle.
  return Deno.UnsafePointer.of(a.length > 0 ? a : new Float32Array(1));
}

/**
 * The implementation oneDNN chose for a primitive descriptor, e.g. `brg:avx512_core` or `jit:avx2`.
 */
function implName(dnnl: Dnnl, pd: Deno.PointerValue): string {
  const out = new BigUint64Array(1);
  if (dnnl.sym.dnnl_primitive_desc_query(pd, DNNL.queryImplInfoStr, 0, out) !== DNNL.success) return "?";
  const p = Deno.UnsafePointer.create(out[0]!);
  return p === null ? "?" : new Deno.UnsafePointerView(p).getCString();
}

/** A ready primitive: run it with one array per argument, in the order of its specs. */
export class Primitive {
  readonly impl: string;
  readonly #dnnl: Dnnl;
  readonly #prim: Deno.PointerValue;
  readonly #args: ArgState[];
  readonly #extra: { arg: number; mem: Deno.PointerValue; buffer: Float32Array }[];
  readonly #execArgs: Uint8Array;
  readonly #execView: DataView;
  /** The primitive descriptor (kept alive: backward primitives use it as their forward hint). */
  readonly pd: Deno.PointerValue;

  /**
   * Build from a primitive descriptor. `extra` names arguments that only the library reads and writes between
   * calls (workspace): each gets a buffer of the size the descriptor asks for.
   */
  constructor(dnnl: Dnnl, pd: Deno.PointerValue, specs: readonly ArgSpec[], extra: readonly number[] = []) {
    this.#dnnl = dnnl;
    this.pd = pd;
    this.impl = implName(dnnl, pd);
    this.#prim = createPrimitive(dnnl, pd);
    this.#args = specs.map((spec) => {
      if (spec.query === USER_LAYOUT) return { spec, mem: createMemory(dnnl, spec.user) };
      const chosen = copyMd(dnnl.sym.dnnl_primitive_desc_query_md(pd, spec.query, 0));
      if (dnnl.sym.dnnl_memory_desc_equal(spec.user, Deno.UnsafePointer.of(chosen)) === 1) {
        return { spec, mem: createMemory(dnnl, spec.user) };
      }
      const size = Number(dnnl.sym.dnnl_memory_desc_get_size(chosen)) / 4;
      const buffer = new Float32Array(size);
      const mem = createMemory(dnnl, chosen);
      checkStatus(dnnl.sym.dnnl_memory_set_data_handle(mem, pointerOf(buffer)), "set handle");
      const prim = spec.output
        ? reorderPrimitive(dnnl, chosen, spec.user)
        : reorderPrimitive(dnnl, spec.user, chosen);
      return { spec, mem, reorder: { userMem: createMemory(dnnl, spec.user), prim, buffer } };
    });
    this.#extra = extra.map((arg) => {
      const md = copyMd(dnnl.sym.dnnl_primitive_desc_query_md(pd, DNNL.queryWorkspaceMd, 0));
      const buffer = new Float32Array(Math.ceil(Number(dnnl.sym.dnnl_memory_desc_get_size(md)) / 4));
      const mem = createMemory(dnnl, md);
      checkStatus(dnnl.sym.dnnl_memory_set_data_handle(mem, pointerOf(buffer)), "set handle");
      return { arg, mem, buffer };
    });
    const n = this.#args.length + this.#extra.length;
    this.#execArgs = new Uint8Array(16 * n);
    this.#execView = new DataView(this.#execArgs.buffer);
    [...this.#args.map((a) => ({ arg: a.spec.arg, mem: a.mem })), ...this.#extra].forEach(
      ({ arg, mem }, i) => {
        this.#execView.setInt32(16 * i, arg, true);
        this.#execView.setBigUint64(16 * i + 8, BigInt(Deno.UnsafePointer.value(mem)), true);
      },
    );
  }

  /** The workspace buffer of an `extra` argument (shared between a forward and its backward). */
  workspace(arg: number): Float32Array {
    const w = this.#extra.find((e) => e.arg === arg);
    if (!w) throw new Error(`primitive ${this.impl} has no workspace argument ${arg}`);
    return w.buffer;
  }

  /** Point the workspace argument at another buffer (e.g. the forward's). */
  setWorkspace(arg: number, buffer: Float32Array): void {
    const w = this.#extra.find((e) => e.arg === arg);
    if (!w) throw new Error(`primitive ${this.impl} has no workspace argument ${arg}`);
    checkStatus(this.#dnnl.sym.dnnl_memory_set_data_handle(w.mem, pointerOf(buffer)), "set handle");
  }

  /** Run on `arrays` (one per spec, in the user layouts). Synchronous. */
  run(arrays: readonly Float32Array[]): void {
    const { sym, stream } = this.#dnnl;
    const reorders: { from: Deno.PointerValue; to: Deno.PointerValue; prim: Deno.PointerValue }[] = [];
    this.#args.forEach((a, i) => {
      const ptr = pointerOf(arrays[i]!);
      if (!a.reorder) {
        checkStatus(sym.dnnl_memory_set_data_handle(a.mem, ptr), "set handle");
        return;
      }
      checkStatus(sym.dnnl_memory_set_data_handle(a.reorder.userMem, ptr), "set handle");
      if (!a.spec.output) runReorder(this.#dnnl, a.reorder.prim, a.reorder.userMem, a.mem);
      else reorders.push({ from: a.mem, to: a.reorder.userMem, prim: a.reorder.prim });
    });
    checkStatus(
      sym.dnnl_primitive_execute(this.#prim, stream, this.#args.length + this.#extra.length, this.#execArgs),
      `execute ${this.impl}`,
    );
    for (const r of reorders) runReorder(this.#dnnl, r.prim, r.from, r.to);
    checkStatus(sym.dnnl_stream_wait(stream), "stream wait");
  }
}

const reorderArgs = new Uint8Array(32);
const reorderView = new DataView(reorderArgs.buffer);

function runReorder(dnnl: Dnnl, prim: Deno.PointerValue, from: Deno.PointerValue, to: Deno.PointerValue) {
  reorderView.setInt32(0, DNNL.argSrc, true);
  reorderView.setBigUint64(8, BigInt(Deno.UnsafePointer.value(from)), true);
  reorderView.setInt32(16, DNNL.argDst, true);
  reorderView.setBigUint64(24, BigInt(Deno.UnsafePointer.value(to)), true);
  checkStatus(dnnl.sym.dnnl_primitive_execute(prim, dnnl.stream, 2, reorderArgs), "reorder");
}

/**
 * Create a primitive descriptor from an operation descriptor (with an optional forward hint for backward ops).
 */
export function primitiveDesc(
  dnnl: Dnnl,
  opDesc: Uint8Array,
  hint: Deno.PointerValue = null,
): Deno.PointerValue {
  const out = outPointer();
  checkStatus(
    dnnl.sym.dnnl_primitive_desc_create(out.buf, opDesc, null, dnnl.engine, hint),
    "primitive descriptor",
  );
  return out.get();
}

/** Primitives by key, built on first use. */
export class PrimitiveCache {
  readonly #map = new Map<string, Primitive>();
  /** Primitive for `key`, built by `make` the first time. */
  get(key: string, make: () => Primitive): Primitive {
    let p = this.#map.get(key);
    if (!p) {
      p = make();
      this.#map.set(key, p);
      if (Deno.env.get("ALBENCH_NATIVE_VERBOSE")) console.error(`native: ${key} -> ${p.impl}`);
    }
    return p;
  }
  /** How many primitives are cached. */
  get size(): number {
    return this.#map.size;
  }
}
