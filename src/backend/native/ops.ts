/**
 * The native engine's operations on plain float32 arrays in albench's layouts (NHWC activations, HWIO
 * filters): convolution forward and both gradients, batch normalisation forward (training and inference) and
 * backward, pooling forward and backward. Each builds its oneDNN primitive once per shape and reuses it.
 *
 * @module
 */
import { dims, DNNL, type Dnnl, MEMORY_DESC_BYTES, memoryDesc, OP_DESC_BYTES, outHandle } from "./dnnl.ts";
import { checkStatus } from "./dnnl.ts";
import { type ArgSpec, Primitive, PrimitiveCache, primitiveDesc, USER_LAYOUT } from "./primitive.ts";

/** A 2-D convolution's geometry (NHWC input `[n, h, w, c]`, HWIO filter `[kh, kw, c, o]`). */
export interface ConvGeometry {
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly c: number;
  readonly o: number;
  readonly kh: number;
  readonly kw: number;
  readonly oh: number;
  readonly ow: number;
  readonly sh: number;
  readonly sw: number;
  readonly dh: number;
  readonly dw: number;
  readonly top: number;
  readonly left: number;
  readonly bottom: number;
  readonly right: number;
}

/** A pooling window's geometry over NHWC `[n, h, w, c]`. */
export interface PoolGeometry {
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly c: number;
  readonly oh: number;
  readonly ow: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly top: number;
  readonly left: number;
  readonly bottom: number;
  readonly right: number;
}

const key = (name: string, g: object) => `${name} ${Object.values(g).join(",")}`;

/** The oneDNN operations of one engine instance. */
export class NativeOps {
  readonly dnnl: Dnnl;
  readonly cache: PrimitiveCache = new PrimitiveCache();

  constructor(dnnl: Dnnl) {
    this.dnnl = dnnl;
  }

  /** An operation descriptor filled by `init` (a oneDNN `*_desc_init` call); throws naming `what` on failure. */
  #describe(what: string, init: (op: Uint8Array) => number): Uint8Array {
    const op = new Uint8Array(OP_DESC_BYTES);
    checkStatus(init(op), what);
    return op;
  }

  #act(n: number, c: number, h: number, w: number, tag: number = DNNL.nhwc): Uint8Array {
    return memoryDesc(this.dnnl, [n, c, h, w], tag);
  }

  #convDescs(g: ConvGeometry) {
    return {
      src: this.#act(g.n, g.c, g.h, g.w),
      dst: this.#act(g.n, g.o, g.oh, g.ow),
      anyW: memoryDesc(this.dnnl, [g.o, g.c, g.kh, g.kw], DNNL.any),
      userW: memoryDesc(this.dnnl, [g.o, g.c, g.kh, g.kw], DNNL.hwio),
      strides: dims([g.sh, g.sw]),
      dil: dims([g.dh - 1, g.dw - 1]),
      padL: dims([g.top, g.left]),
      padR: dims([g.bottom, g.right]),
    };
  }

  #convForwardPd(g: ConvGeometry): Primitive {
    return this.cache.get(key("conv-fwd", g), () => {
      const d = this.#convDescs(g);
      const op = this.#describe(
        "convolution forward descriptor",
        (o) =>
          this.dnnl.sym.dnnl_dilated_convolution_forward_desc_init(
            o,
            DNNL.forwardTraining,
            DNNL.convolutionDirect,
            d.src,
            d.anyW,
            null,
            d.dst,
            d.strides,
            d.dil,
            d.padL,
            d.padR,
          ),
      );
      const specs: ArgSpec[] = [
        { arg: DNNL.argSrc, user: d.src, query: DNNL.querySrcMd, output: false },
        { arg: DNNL.argWeights, user: d.userW, query: DNNL.queryWeightsMd, output: false },
        { arg: DNNL.argDst, user: d.dst, query: DNNL.queryDstMd, output: true },
      ];
      return new Primitive(this.dnnl, primitiveDesc(this.dnnl, op), specs);
    });
  }

  /** y = conv(x, filter): x NHWC, filter HWIO, y `[n, oh, ow, o]`. */
  conv2d(g: ConvGeometry, x: Float32Array, filter: Float32Array, y: Float32Array): void {
    this.#convForwardPd(g).run([x, filter, y]);
  }

  /** dx from dy and the filter. */
  conv2dBackpropInput(g: ConvGeometry, dy: Float32Array, filter: Float32Array, dx: Float32Array): void {
    const hint = this.#convForwardPd(g).pd;
    this.cache.get(key("conv-bwd-data", g), () => {
      const d = this.#convDescs(g);
      const op = this.#describe(
        "convolution backward-data descriptor",
        (o) =>
          this.dnnl.sym.dnnl_dilated_convolution_backward_data_desc_init(
            o,
            DNNL.convolutionDirect,
            d.src,
            d.anyW,
            d.dst,
            d.strides,
            d.dil,
            d.padL,
            d.padR,
          ),
      );
      const specs: ArgSpec[] = [
        { arg: DNNL.argDiffDst, user: d.dst, query: DNNL.queryDiffDstMd, output: false },
        { arg: DNNL.argWeights, user: d.userW, query: DNNL.queryWeightsMd, output: false },
        { arg: DNNL.argDiffSrc, user: d.src, query: DNNL.queryDiffSrcMd, output: true },
      ];
      return new Primitive(this.dnnl, primitiveDesc(this.dnnl, op, hint), specs);
    }).run([dy, filter, dx]);
  }

  /** dFilter (HWIO) from x and dy. */
  conv2dBackpropFilter(g: ConvGeometry, x: Float32Array, dy: Float32Array, dw: Float32Array): void {
    const hint = this.#convForwardPd(g).pd;
    this.cache.get(key("conv-bwd-weights", g), () => {
      const d = this.#convDescs(g);
      const op = this.#describe(
        "convolution backward-weights descriptor",
        (o) =>
          this.dnnl.sym.dnnl_dilated_convolution_backward_weights_desc_init(
            o,
            DNNL.convolutionDirect,
            d.src,
            d.anyW,
            null,
            d.dst,
            d.strides,
            d.dil,
            d.padL,
            d.padR,
          ),
      );
      const specs: ArgSpec[] = [
        { arg: DNNL.argSrc, user: d.src, query: DNNL.querySrcMd, output: false },
        { arg: DNNL.argDiffDst, user: d.dst, query: DNNL.queryDiffDstMd, output: false },
        { arg: DNNL.argDiffWeights, user: d.userW, query: DNNL.queryDiffWeightsMd, output: true },
      ];
      return new Primitive(this.dnnl, primitiveDesc(this.dnnl, op, hint), specs);
    }).run([x, dy, dw]);
  }

  #bnDescs(rows: number, c: number) {
    // Any rank is viewed as [rows, c, 1, 1] in NHWC: statistics over all axes but the last.
    return { data: this.#act(rows, c, 1, 1), vec: memoryDesc(this.dnnl, [c], DNNL.a) };
  }

  #bnForwardPd(rows: number, c: number, epsilon: number, training: boolean, relu = false): Primitive {
    return this.cache.get(`bn-fwd ${rows},${c},${epsilon},${training},${relu}`, () => {
      const d = this.#bnDescs(rows, c);
      const flags = DNNL.useScale | DNNL.useShift | (training ? 0 : DNNL.useGlobalStats) |
        (relu ? DNNL.fuseNormRelu : 0);
      const prop = training ? DNNL.forwardTraining : DNNL.forwardInference;
      const op = this.#describe(
        "batch-norm forward descriptor",
        (o) => this.dnnl.sym.dnnl_batch_normalization_forward_desc_init(o, prop, d.data, epsilon, flags),
      );
      const stat = training ? DNNL.queryDstMd : DNNL.querySrcMd;
      const specs: ArgSpec[] = [
        { arg: DNNL.argSrc, user: d.data, query: DNNL.querySrcMd, output: false },
        { arg: DNNL.argDst, user: d.data, query: DNNL.queryDstMd, output: true },
        { arg: DNNL.argScale, user: d.vec, query: DNNL.queryWeightsMd, output: false },
        { arg: DNNL.argShift, user: d.vec, query: DNNL.queryWeightsMd, output: false },
        { arg: DNNL.argMean, user: d.vec, query: stat, output: training },
        { arg: DNNL.argVariance, user: d.vec, query: stat, output: training },
        ...(relu && training
          ? [{ arg: DNNL.argWorkspace, user: null, query: DNNL.queryWorkspaceMd, output: true }]
          : []),
      ];
      return new Primitive(this.dnnl, primitiveDesc(this.dnnl, op), specs.map((s) => vecQuery(s)));
    });
  }

  /** Float32 elements of the workspace of {@linkcode NativeOps.batchNormTraining} with `relu`. */
  batchNormReluWorkspace(rows: number, c: number, epsilon: number): number {
    return this.#bnForwardPd(rows, c, epsilon, true, true).elements(DNNL.queryWorkspaceMd);
  }

  /**
   * Training-mode batch norm over all axes but the last (`x` is `[rows, c]` row-major): y, and the batch mean
   * and biased variance. With `workspace`, ReLU is fused (y = max(bn(x), 0)) and the workspace records the mask
   * for {@linkcode NativeOps.batchNormBackward}.
   */
  batchNormTraining(
    rows: number,
    c: number,
    epsilon: number,
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    y: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    workspace?: Float32Array,
  ): void {
    const args = [x, y, gamma, beta, mean, variance];
    this.#bnForwardPd(rows, c, epsilon, true, workspace !== undefined).run(
      workspace ? [...args, workspace] : args,
    );
  }

  /** Inference-mode batch norm with the given statistics (and ReLU fused with `relu`). */
  batchNormInference(
    rows: number,
    c: number,
    epsilon: number,
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    y: Float32Array,
    relu = false,
  ): void {
    this.#bnForwardPd(rows, c, epsilon, false, relu).run([x, y, gamma, beta, mean, variance]);
  }

  /**
   * Batch-norm backward: dx, dγ, dβ from dy, x and the batch statistics of the forward pass (through the fused
   * ReLU's mask when the forward's `workspace` is given).
   */
  batchNormBackward(
    rows: number,
    c: number,
    epsilon: number,
    x: Float32Array,
    dy: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    dx: Float32Array,
    dGamma: Float32Array,
    dBeta: Float32Array,
    workspace?: Float32Array,
  ): void {
    const relu = workspace !== undefined;
    const hint = this.#bnForwardPd(rows, c, epsilon, true, relu).pd;
    this.cache.get(`bn-bwd ${rows},${c},${epsilon},${relu}`, () => {
      const d = this.#bnDescs(rows, c);
      const op = this.#describe(
        "batch-norm backward descriptor",
        (o) =>
          this.dnnl.sym.dnnl_batch_normalization_backward_desc_init(
            o,
            DNNL.backward,
            d.data,
            d.data,
            epsilon,
            DNNL.useScale | DNNL.useShift | (relu ? DNNL.fuseNormRelu : 0),
          ),
      );
      const specs: ArgSpec[] = [
        { arg: DNNL.argSrc, user: d.data, query: DNNL.querySrcMd, output: false },
        { arg: DNNL.argDiffDst, user: d.data, query: DNNL.queryDiffDstMd, output: false },
        { arg: DNNL.argMean, user: d.vec, query: DNNL.querySrcMd, output: false },
        { arg: DNNL.argVariance, user: d.vec, query: DNNL.querySrcMd, output: false },
        { arg: DNNL.argScale, user: d.vec, query: DNNL.queryWeightsMd, output: false },
        // oneDNN 2.6 asks for the shift too, although the gradient does not depend on it.
        { arg: DNNL.argShift, user: d.vec, query: DNNL.queryWeightsMd, output: false },
        { arg: DNNL.argDiffSrc, user: d.data, query: DNNL.queryDiffSrcMd, output: true },
        { arg: DNNL.argDiffScale, user: d.vec, query: DNNL.queryDiffWeightsMd, output: true },
        { arg: DNNL.argDiffShift, user: d.vec, query: DNNL.queryDiffWeightsMd, output: true },
        ...(relu
          ? [{ arg: DNNL.argWorkspace, user: null, query: DNNL.queryWorkspaceMd, output: false }]
          : []),
      ];
      return new Primitive(this.dnnl, primitiveDesc(this.dnnl, op, hint), specs.map((s) => vecQuery(s)));
    }).run(
      workspace
        ? [x, dy, mean, variance, gamma, beta, dx, dGamma, dBeta, workspace]
        : [x, dy, mean, variance, gamma, beta, dx, dGamma, dBeta],
    );
  }

  /** y = max(x, 0) over `n` values. */
  relu(n: number, x: Float32Array, y: Float32Array): void {
    this.cache.get(`relu-fwd ${n}`, () => {
      const md = memoryDesc(this.dnnl, [n], DNNL.a);
      const op = this.#describe(
        "relu forward descriptor",
        (o) =>
          this.dnnl.sym.dnnl_eltwise_forward_desc_init(o, DNNL.forwardInference, DNNL.eltwiseRelu, md, 0, 0),
      );
      return new Primitive(this.dnnl, primitiveDesc(this.dnnl, op), [
        { arg: DNNL.argSrc, user: md, query: DNNL.querySrcMd, output: false },
        { arg: DNNL.argDst, user: md, query: DNNL.queryDstMd, output: true },
      ]);
    }).run([x, y]);
  }

  /** dx = x > 0 ? dy : 0 over `n` values. */
  reluBackward(n: number, x: Float32Array, dy: Float32Array, dx: Float32Array): void {
    this.cache.get(`relu-bwd ${n}`, () => {
      const md = memoryDesc(this.dnnl, [n], DNNL.a);
      const fwd = this.#describe(
        "relu forward descriptor",
        (o) =>
          this.dnnl.sym.dnnl_eltwise_forward_desc_init(o, DNNL.forwardTraining, DNNL.eltwiseRelu, md, 0, 0),
      );
      const hint = primitiveDesc(this.dnnl, fwd);
      const op = this.#describe(
        "relu backward descriptor",
        (o) => this.dnnl.sym.dnnl_eltwise_backward_desc_init(o, DNNL.eltwiseRelu, md, md, 0, 0),
      );
      return new Primitive(this.dnnl, primitiveDesc(this.dnnl, op, hint), [
        { arg: DNNL.argSrc, user: md, query: DNNL.querySrcMd, output: false },
        { arg: DNNL.argDiffDst, user: md, query: DNNL.queryDiffDstMd, output: false },
        { arg: DNNL.argDiffSrc, user: md, query: DNNL.queryDiffSrcMd, output: true },
      ]);
    }).run([x, dy, dx]);
  }

  /** Concatenate `parts` (`rows` x `widths[i]` each) along columns into `y` (`rows` x sum of widths). */
  concatColumns(
    rows: number,
    widths: readonly number[],
    parts: readonly Float32Array[],
    y: Float32Array,
  ): void {
    this.cache.get(`concat ${rows} ${widths.join(",")}`, () => {
      const total = widths.reduce((a, b) => a + b, 0);
      const dst = memoryDesc(this.dnnl, [rows, total], DNNL.ab);
      const srcs = widths.map((w) => memoryDesc(this.dnnl, [rows, w], DNNL.ab));
      const packed = new Uint8Array(srcs.length * MEMORY_DESC_BYTES);
      srcs.forEach((md, i) => packed.set(md, i * MEMORY_DESC_BYTES));
      const pd = outHandle();
      checkStatus(
        this.dnnl.sym.dnnl_concat_primitive_desc_create(
          pd.buf,
          dst,
          srcs.length,
          1,
          packed,
          0n,
          this.dnnl.engine,
        ),
        "concat descriptor",
      );
      const specs: ArgSpec[] = [
        ...srcs.map((md, i) => ({
          arg: DNNL.argMultipleSrc + i,
          user: md,
          query: USER_LAYOUT,
          output: false,
        })),
        { arg: DNNL.argDst, user: dst, query: USER_LAYOUT, output: true },
      ];
      return new Primitive(this.dnnl, pd.get(), specs);
    }).run([...parts, y]);
  }

  /** Columns `[offset, offset + width)` of `x` (`rows` x `total`) into `y` (`rows` x `width`). */
  columns(
    rows: number,
    total: number,
    offset: number,
    width: number,
    x: Float32Array,
    y: Float32Array,
  ): void {
    this.cache.get(`columns ${rows} ${total} ${offset} ${width}`, () => {
      const parent = memoryDesc(this.dnnl, [rows, total], DNNL.ab);
      const sub = new Uint8Array(MEMORY_DESC_BYTES);
      checkStatus(
        this.dnnl.sym.dnnl_memory_desc_init_submemory(sub, parent, dims([rows, width]), dims([0, offset])),
        "sub-memory descriptor",
      );
      const dst = memoryDesc(this.dnnl, [rows, width], DNNL.ab);
      const pd = outHandle();
      checkStatus(
        this.dnnl.sym.reorder_user(pd.buf, sub, this.dnnl.engine, dst, this.dnnl.engine, 0n),
        "reorder descriptor",
      );
      return new Primitive(this.dnnl, pd.get(), [
        { arg: DNNL.argSrc, user: sub, query: USER_LAYOUT, output: false },
        { arg: DNNL.argDst, user: dst, query: USER_LAYOUT, output: true },
      ]);
    }).run([x, y]);
  }

  /**
   * Batched matrix product y[i] = op(a[i]) · op(b[i]) for `batch` pairs, op = transpose where asked: a is stored
   * `[batch, m, k]` (or `[batch, k, m]` with `transA`), b `[batch, k, n]` (or `[batch, n, k]`), y `[batch, m, n]`.
   */
  matmul(
    batch: number,
    m: number,
    k: number,
    n: number,
    transA: boolean,
    transB: boolean,
    a: Float32Array,
    b: Float32Array,
    y: Float32Array,
  ): void {
    this.cache.get(`matmul ${batch},${m},${k},${n},${transA},${transB}`, () => {
      const src = memoryDesc(this.dnnl, [batch, m, k], transA ? DNNL.acb : DNNL.abc);
      const wei = memoryDesc(this.dnnl, [batch, k, n], transB ? DNNL.acb : DNNL.abc);
      const dst = memoryDesc(this.dnnl, [batch, m, n], DNNL.abc);
      const op = this.#describe(
        "matmul descriptor",
        (o) => this.dnnl.sym.dnnl_matmul_desc_init(o, src, wei, null, dst),
      );
      return new Primitive(this.dnnl, primitiveDesc(this.dnnl, op), [
        { arg: DNNL.argSrc, user: src, query: USER_LAYOUT, output: false },
        { arg: DNNL.argWeights, user: wei, query: USER_LAYOUT, output: false },
        { arg: DNNL.argDst, user: dst, query: USER_LAYOUT, output: true },
      ]);
    }).run([a, b, y]);
  }

  /** y = a + b over `n` values. */
  add(n: number, a: Float32Array, b: Float32Array, y: Float32Array): void {
    this.cache.get(`add ${n}`, () => {
      const md = memoryDesc(this.dnnl, [n], DNNL.a);
      const op = this.#describe(
        "binary descriptor",
        (o) => this.dnnl.sym.dnnl_binary_desc_init(o, DNNL.binaryAdd, md, md, md),
      );
      return new Primitive(this.dnnl, primitiveDesc(this.dnnl, op), [
        { arg: DNNL.argSrc0, user: md, query: USER_LAYOUT, output: false },
        { arg: DNNL.argSrc1, user: md, query: USER_LAYOUT, output: false },
        { arg: DNNL.argDst, user: md, query: USER_LAYOUT, output: true },
      ]);
    }).run([a, b, y]);
  }

  #poolDescs(g: PoolGeometry) {
    return {
      src: this.#act(g.n, g.c, g.h, g.w),
      dst: this.#act(g.n, g.c, g.oh, g.ow),
      strides: dims([g.sh, g.sw]),
      kernel: dims([g.kh, g.kw]),
      padL: dims([g.top, g.left]),
      padR: dims([g.bottom, g.right]),
    };
  }

  #poolForwardPd(alg: number, g: PoolGeometry, training: boolean): Primitive {
    return this.cache.get(key(`pool-fwd ${alg} ${training}`, g), () => {
      const d = this.#poolDescs(g);
      const op = this.#describe(
        "pooling forward descriptor",
        (o) =>
          this.dnnl.sym.dnnl_pooling_forward_desc_init(
            o,
            training ? DNNL.forwardTraining : DNNL.forwardInference,
            alg,
            d.src,
            d.dst,
            d.strides,
            d.kernel,
            d.padL,
            d.padR,
          ),
      );
      const specs: ArgSpec[] = [
        { arg: DNNL.argSrc, user: d.src, query: DNNL.querySrcMd, output: false },
        { arg: DNNL.argDst, user: d.dst, query: DNNL.queryDstMd, output: true },
      ];
      const ws = training && alg === DNNL.poolingMax ? [DNNL.argWorkspace] : [];
      return new Primitive(this.dnnl, primitiveDesc(this.dnnl, op), specs, ws);
    });
  }

  /** Max pooling (`alg` = `DNNL.poolingMax`) or average pooling excluding padding, forward. */
  pool(alg: number, g: PoolGeometry, x: Float32Array, y: Float32Array): void {
    this.#poolForwardPd(alg, g, false).run([x, y]);
  }

  /**
   * Pooling backward. Max pooling recomputes the forward pass to get oneDNN's workspace (the argmax), since
   * tfjs hands the gradient the input and output, not the workspace.
   */
  poolBackward(alg: number, g: PoolGeometry, x: Float32Array, dy: Float32Array, dx: Float32Array): void {
    const fwd = this.#poolForwardPd(alg, g, true);
    let workspace: Float32Array | undefined;
    if (alg === DNNL.poolingMax) {
      fwd.run([x, new Float32Array(g.n * g.oh * g.ow * g.c)]);
      workspace = fwd.workspace(DNNL.argWorkspace);
    }
    const bwd = this.cache.get(key(`pool-bwd ${alg}`, g), () => {
      const d = this.#poolDescs(g);
      const op = this.#describe(
        "pooling backward descriptor",
        (o) =>
          this.dnnl.sym.dnnl_pooling_backward_desc_init(
            o,
            alg,
            d.src,
            d.dst,
            d.strides,
            d.kernel,
            d.padL,
            d.padR,
          ),
      );
      const specs: ArgSpec[] = [
        { arg: DNNL.argDiffDst, user: d.dst, query: DNNL.queryDiffDstMd, output: false },
        { arg: DNNL.argDiffSrc, user: d.src, query: DNNL.queryDiffSrcMd, output: true },
      ];
      return new Primitive(
        this.dnnl,
        primitiveDesc(this.dnnl, op, fwd.pd),
        specs,
        alg === DNNL.poolingMax ? [DNNL.argWorkspace] : [],
      );
    });
    if (workspace) bwd.setWorkspace(DNNL.argWorkspace, workspace);
    bwd.run([dy, dx]);
  }
}

/**
 * Scale, shift, mean and variance are plain vectors whose layout never differs from the user's: mark them so the
 * primitive takes them as they are rather than querying a descriptor (which, for batch norm, oneDNN files under
 * other query kinds).
 */
function vecQuery(s: ArgSpec): ArgSpec {
  return isVectorArg(s.arg) ? { ...s, query: USER_LAYOUT } : s;
}

function isVectorArg(arg: number): boolean {
  return arg === DNNL.argScale || arg === DNNL.argShift || arg === DNNL.argMean || arg === DNNL.argVariance ||
    arg === DNNL.argDiffScale || arg === DNNL.argDiffShift;
}
