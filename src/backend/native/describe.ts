/**
 * oneDNN **2.x**: how an operation and a memory layout are described. Every call of the C API that oneDNN 3.0
 * removed or changed lives here and nowhere else: memory descriptors as plain 696-byte structs
 * (`dnnl_memory_desc_init_by_tag`), operation descriptors filled by `*_desc_init` and turned into primitive
 * descriptors by `dnnl_primitive_desc_create`, and the calls whose arguments are memory descriptors (memory
 * creation, equality, size, reorders, concat). The rest of the engine sees {@linkcode MemoryDesc} as an opaque
 * value and primitive descriptors as {@linkcode Handle}s, so a oneDNN 3.x binding is this one file written
 * again against 3.x's `*_primitive_desc_create` calls and opaque `dnnl_memory_desc_t` handles (and the
 * constants in `abi.ts` checked against 3.x's header); `dnnl.ts` would then load `libdnnl.so.3`.
 *
 * @module
 */
import type { Dnnl } from "./dnnl.ts";
import { checkStatus, dims, DNNL, type Handle, outHandle } from "./abi.ts";

/** Bytes of `dnnl_memory_desc_t` in oneDNN 2.x (`DNNL_MAX_NDIMS` = 12). */
export const MEMORY_DESC_BYTES = 696;
/** Bytes reserved for any operation descriptor (the largest, `dnnl_convolution_desc_t`, is 5,976). */
const OP_DESC_BYTES = 6144;

/** A memory descriptor made here: in oneDNN 2.x the struct itself. Opaque to the rest of the engine. */
export type MemoryDesc = Uint8Array;

// Memory descriptors made here travel as buffers; those queried from a primitive descriptor as integers (`usize`,
// an address inside it). Some symbols are bound twice under other names for the two kinds.
/** The 2.x symbols the engine binds besides `dnnl.ts`'s own (merged into one `Deno.dlopen`). */
export const DESCRIBE_SYMBOLS = {
  dnnl_memory_desc_init_by_tag: {
    parameters: ["buffer", "i32", "buffer", "i32", "i32"],
    result: "i32",
  },
  dnnl_memory_desc_get_size: { parameters: ["buffer"], result: "usize" },
  dnnl_memory_desc_init_submemory: { parameters: ["buffer", "buffer", "buffer", "buffer"], result: "i32" },
  dnnl_matmul_desc_init: { parameters: ["buffer", "buffer", "buffer", "buffer", "buffer"], result: "i32" },
  dnnl_binary_desc_init: { parameters: ["buffer", "i32", "buffer", "buffer", "buffer"], result: "i32" },
  dnnl_concat_primitive_desc_create: {
    parameters: ["buffer", "buffer", "i32", "i32", "buffer", "usize", "usize"],
    result: "i32",
  },
  dnnl_sum_primitive_desc_create: {
    parameters: ["buffer", "buffer", "i32", "buffer", "buffer", "usize", "usize"],
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
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * Throws unless the library lays out memory descriptors as oneDNN 2.x does (checked once at load: a 3 x 5
 * float32 descriptor is 60 bytes of data).
 */
export function checkDescriptorLayout(
  sym: Deno.DynamicLibrary<typeof DESCRIBE_SYMBOLS>["symbols"],
  path: string,
): void {
  const md = new Uint8Array(MEMORY_DESC_BYTES);
  checkStatus(
    sym.dnnl_memory_desc_init_by_tag(md, 2, new BigInt64Array([3n, 5n]), DNNL.f32, DNNL.ab),
    "md check",
  );
  if (Number(sym.dnnl_memory_desc_get_size(md)) !== 60) {
    throw new Error(`native backend: ${path} does not lay out memory descriptors as oneDNN 2.x does`);
  }
}

/**
 * A memory descriptor of float32 data with the given logical dims and format tag.
 *
 * @example
 * ```ts ignore
 * import { DNNL } from "./abi.ts";
 * import { loadDnnl } from "./dnnl.ts";
 * import { memoryDesc } from "./describe.ts";
 * const md = memoryDesc(loadDnnl(), [10, 3, 32, 32], DNNL.nhwc);
 * ```
 */
export function memoryDesc(dnnl: Dnnl, shape: readonly number[], tag: number): MemoryDesc {
  const md = new Uint8Array(MEMORY_DESC_BYTES);
  checkStatus(
    dnnl.sym.dnnl_memory_desc_init_by_tag(md, shape.length, BigInt64Array.from(shape, BigInt), DNNL.f32, tag),
    `memory descriptor ${shape.join("x")} tag ${tag}`,
  );
  return md;
}

/** The part of `parent` of size `shape` starting at `offsets` (e.g. a block of columns). */
export function subMemoryDesc(
  dnnl: Dnnl,
  parent: MemoryDesc,
  shape: readonly number[],
  offsets: readonly number[],
): MemoryDesc {
  const sub = new Uint8Array(MEMORY_DESC_BYTES);
  checkStatus(
    dnnl.sym.dnnl_memory_desc_init_submemory(sub, parent, dims(shape), dims(offsets)),
    "sub-memory descriptor",
  );
  return sub;
}

/** Whether a primitive's queried descriptor describes the same layout as `md`. */
export function sameLayout(dnnl: Dnnl, md: MemoryDesc, queried: Handle): boolean {
  return dnnl.sym.dnnl_memory_desc_equal(md, queried) === 1;
}

/** Bytes of data a queried descriptor describes. */
export function queriedBytes(dnnl: Dnnl, queried: Handle): number {
  return Number(dnnl.sym.md_size_of_queried(queried));
}

/** A memory object (no data yet) of a descriptor made here or queried from a primitive descriptor. */
export function memoryOf(dnnl: Dnnl, md: MemoryDesc | Handle): Handle {
  const out = outHandle();
  checkStatus(
    typeof md === "bigint"
      ? dnnl.sym.memory_create_queried(out.buf, md, dnnl.engine, 0n)
      : dnnl.sym.dnnl_memory_create(out.buf, md, dnnl.engine, 0n),
    "memory create",
  );
  return out.get();
}

/**
 * The primitive descriptor of a reorder between two layouts, each made here or queried (not both queried).
 * The caller destroys it after creating the primitive.
 */
export function reorderPd(dnnl: Dnnl, from: MemoryDesc | Handle, to: MemoryDesc | Handle): Handle {
  const pd = outHandle();
  const { sym, engine } = dnnl;
  let status: number;
  if (typeof from === "bigint") {
    if (typeof to === "bigint") throw new Error("oneDNN: a reorder between two queried layouts is not bound");
    status = sym.reorder_from_queried(pd.buf, from, engine, to, engine, 0n);
  } else {
    status = typeof to === "bigint"
      ? sym.reorder_to_queried(pd.buf, from, engine, to, engine, 0n)
      : sym.reorder_user(pd.buf, from, engine, to, engine, 0n);
  }
  checkStatus(status, "reorder descriptor");
  return pd.get();
}

/** An operation descriptor filled by `init` (a `*_desc_init` call), made a primitive descriptor. */
function describe(dnnl: Dnnl, what: string, init: (op: Uint8Array) => number, hint: Handle = 0n): Handle {
  const op = new Uint8Array(OP_DESC_BYTES);
  checkStatus(init(op), what);
  const out = outHandle();
  checkStatus(
    dnnl.sym.dnnl_primitive_desc_create(out.buf, op, 0n, dnnl.engine, hint),
    "primitive descriptor",
  );
  return out.get();
}

/** A 2-D convolution's layouts and window: activations NHWC, `weights` usually of format `any`. */
export interface ConvDescs {
  readonly src: MemoryDesc;
  readonly weights: MemoryDesc;
  readonly dst: MemoryDesc;
  readonly strides: readonly number[];
  /** oneDNN's dilation: 0 for none (tfjs's dilation less one). */
  readonly dilation: readonly number[];
  readonly padL: readonly number[];
  readonly padR: readonly number[];
}

/**
 * A direct convolution's primitive descriptor: forward (training), backward-data or backward-weights (no bias);
 * the backward passes take the forward's primitive descriptor as `hint`.
 */
export function convolutionPd(
  dnnl: Dnnl,
  pass: "forward" | "backwardData" | "backwardWeights",
  d: ConvDescs,
  hint: Handle = 0n,
): Handle {
  const { sym } = dnnl;
  const [strides, dil, padL, padR] = [dims(d.strides), dims(d.dilation), dims(d.padL), dims(d.padR)];
  const alg = DNNL.convolutionDirect;
  switch (pass) {
    case "forward":
      return describe(
        dnnl,
        "convolution forward descriptor",
        (o) =>
          sym.dnnl_dilated_convolution_forward_desc_init(
            o,
            DNNL.forwardTraining,
            alg,
            d.src,
            d.weights,
            null,
            d.dst,
            strides,
            dil,
            padL,
            padR,
          ),
      );
    case "backwardData":
      return describe(
        dnnl,
        "convolution backward-data descriptor",
        (o) =>
          sym.dnnl_dilated_convolution_backward_data_desc_init(
            o,
            alg,
            d.src,
            d.weights,
            d.dst,
            strides,
            dil,
            padL,
            padR,
          ),
        hint,
      );
    case "backwardWeights":
      return describe(
        dnnl,
        "convolution backward-weights descriptor",
        (o) =>
          sym.dnnl_dilated_convolution_backward_weights_desc_init(
            o,
            alg,
            d.src,
            d.weights,
            null,
            d.dst,
            strides,
            dil,
            padL,
            padR,
          ),
        hint,
      );
  }
}

/**
 * Batch normalisation's primitive descriptor over `data`: forward (`prop` = `DNNL.forwardTraining` or
 * `DNNL.forwardInference`) or backward (`DNNL.backward`, with the forward's `hint`); `flags` are oneDNN's.
 */
export function batchNormPd(
  dnnl: Dnnl,
  prop: number,
  data: MemoryDesc,
  epsilon: number,
  flags: number,
  hint: Handle = 0n,
): Handle {
  if (prop === DNNL.backward) {
    return describe(
      dnnl,
      "batch-norm backward descriptor",
      (o) => dnnl.sym.dnnl_batch_normalization_backward_desc_init(o, prop, data, data, epsilon, flags),
      hint,
    );
  }
  return describe(
    dnnl,
    "batch-norm forward descriptor",
    (o) => dnnl.sym.dnnl_batch_normalization_forward_desc_init(o, prop, data, epsilon, flags),
  );
}

/** ReLU's primitive descriptor over `md`: forward (training or inference) or backward (with the forward's `hint`). */
export function reluPd(dnnl: Dnnl, prop: number, md: MemoryDesc, hint: Handle = 0n): Handle {
  if (prop === DNNL.backward) {
    return describe(
      dnnl,
      "relu backward descriptor",
      (o) => dnnl.sym.dnnl_eltwise_backward_desc_init(o, DNNL.eltwiseRelu, md, md, 0, 0),
      hint,
    );
  }
  return describe(
    dnnl,
    "relu forward descriptor",
    (o) => dnnl.sym.dnnl_eltwise_forward_desc_init(o, prop, DNNL.eltwiseRelu, md, 0, 0),
  );
}

/** A pooling window: strides, kernel and padding (top/left, bottom/right). */
export interface PoolWindow {
  readonly strides: readonly number[];
  readonly kernel: readonly number[];
  readonly padL: readonly number[];
  readonly padR: readonly number[];
}

/**
 * Pooling's primitive descriptor (`alg` = `DNNL.poolingMax` or an average): forward (training or inference) or
 * backward (`DNNL.backward`, with the forward's `hint`).
 */
export function poolingPd(
  dnnl: Dnnl,
  prop: number,
  alg: number,
  src: MemoryDesc,
  dst: MemoryDesc,
  w: PoolWindow,
  hint: Handle = 0n,
): Handle {
  const [strides, kernel, padL, padR] = [dims(w.strides), dims(w.kernel), dims(w.padL), dims(w.padR)];
  if (prop === DNNL.backward) {
    return describe(
      dnnl,
      "pooling backward descriptor",
      (o) => dnnl.sym.dnnl_pooling_backward_desc_init(o, alg, src, dst, strides, kernel, padL, padR),
      hint,
    );
  }
  return describe(
    dnnl,
    "pooling forward descriptor",
    (o) => dnnl.sym.dnnl_pooling_forward_desc_init(o, prop, alg, src, dst, strides, kernel, padL, padR),
  );
}

/** Matrix product's primitive descriptor (no bias). */
export function matmulPd(dnnl: Dnnl, src: MemoryDesc, weights: MemoryDesc, dst: MemoryDesc): Handle {
  return describe(
    dnnl,
    "matmul descriptor",
    (o) => dnnl.sym.dnnl_matmul_desc_init(o, src, weights, null, dst),
  );
}

/** Element-wise sum's primitive descriptor over three equal layouts. */
export function addPd(dnnl: Dnnl, md: MemoryDesc): Handle {
  return describe(
    dnnl,
    "binary descriptor",
    (o) => dnnl.sym.dnnl_binary_desc_init(o, DNNL.binaryAdd, md, md, md),
  );
}

/** Scaled sum's primitive descriptor: `dst = scales[0]·src0 + scales[1]·src1 + …`, every layout `md`. */
export function sumPd(dnnl: Dnnl, md: MemoryDesc, scales: readonly number[]): Handle {
  const packed = new Uint8Array(scales.length * MEMORY_DESC_BYTES);
  scales.forEach((_, i) => packed.set(md, i * MEMORY_DESC_BYTES));
  const pd = outHandle();
  checkStatus(
    dnnl.sym.dnnl_sum_primitive_desc_create(
      pd.buf,
      md,
      scales.length,
      Float32Array.from(scales),
      packed,
      0n,
      dnnl.engine,
    ),
    "sum descriptor",
  );
  return pd.get();
}

/** Concatenation's primitive descriptor: `srcs` along `axis` into `dst`. */
export function concatPd(dnnl: Dnnl, dst: MemoryDesc, srcs: readonly MemoryDesc[], axis: number): Handle {
  const packed = new Uint8Array(srcs.length * MEMORY_DESC_BYTES);
  srcs.forEach((md, i) => packed.set(md, i * MEMORY_DESC_BYTES));
  const pd = outHandle();
  checkStatus(
    dnnl.sym.dnnl_concat_primitive_desc_create(pd.buf, dst, srcs.length, axis, packed, 0n, dnnl.engine),
    "concat descriptor",
  );
  return pd.get();
}
