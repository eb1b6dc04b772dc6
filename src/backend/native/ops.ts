/**
 * The native engine's operations on plain float32 arrays in albench's layouts (NHWC activations, HWIO
 * filters): convolution forward and both gradients, batch normalisation forward (training and inference) and
 * backward, pooling forward and backward. Each builds its oneDNN primitive once per shape and reuses it.
 *
 * @module
 */
import { DNNL } from "./abi.ts";
import type { Dnnl } from "./dnnl.ts";
import {
  addPd,
  batchNormPd,
  concatPd,
  type ConvDescs,
  convolutionPd,
  matmulPd,
  type MemoryDesc,
  memoryDesc,
  poolingPd,
  type PoolWindow,
  reluPd,
  reorderPd,
  subMemoryDesc,
  sumPd,
} from "./describe.ts";
import { type ArgSpec, Primitive, PrimitiveCache, USER_LAYOUT } from "./primitive.ts";

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

  #act(n: number, c: number, h: number, w: number): MemoryDesc {
    return memoryDesc(this.dnnl, [n, c, h, w], DNNL.nhwc);
  }

  /** The convolution's layouts (weights of format `any`: oneDNN chooses) and the user's HWIO filter. */
  #convDescs(g: ConvGeometry): ConvDescs & { userW: MemoryDesc } {
    return {
      src: this.#act(g.n, g.c, g.h, g.w),
      dst: this.#act(g.n, g.o, g.oh, g.ow),
      weights: memoryDesc(this.dnnl, [g.o, g.c, g.kh, g.kw], DNNL.any),
      userW: memoryDesc(this.dnnl, [g.o, g.c, g.kh, g.kw], DNNL.hwio),
      strides: [g.sh, g.sw],
      dilation: [g.dh - 1, g.dw - 1],
      padL: [g.top, g.left],
      padR: [g.bottom, g.right],
    };
  }

  #convForwardPd(g: ConvGeometry): Primitive {
    return this.cache.get(key("conv-fwd", g), () => {
      const d = this.#convDescs(g);
      const specs: ArgSpec[] = [
        { arg: DNNL.argSrc, user: d.src, query: DNNL.querySrcMd, output: false },
        { arg: DNNL.argWeights, user: d.userW, query: DNNL.queryWeightsMd, output: false },
        { arg: DNNL.argDst, user: d.dst, query: DNNL.queryDstMd, output: true },
      ];
      return new Primitive(this.dnnl, convolutionPd(this.dnnl, "forward", d), specs);
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
      const specs: ArgSpec[] = [
        { arg: DNNL.argDiffDst, user: d.dst, query: DNNL.queryDiffDstMd, output: false },
        { arg: DNNL.argWeights, user: d.userW, query: DNNL.queryWeightsMd, output: false },
        { arg: DNNL.argDiffSrc, user: d.src, query: DNNL.queryDiffSrcMd, output: true },
      ];
      return new Primitive(this.dnnl, convolutionPd(this.dnnl, "backwardData", d, hint), specs);
    }).run([dy, filter, dx]);
  }

  /** dFilter (HWIO) from x and dy. */
  conv2dBackpropFilter(g: ConvGeometry, x: Float32Array, dy: Float32Array, dw: Float32Array): void {
    const hint = this.#convForwardPd(g).pd;
    this.cache.get(key("conv-bwd-weights", g), () => {
      const d = this.#convDescs(g);
      const specs: ArgSpec[] = [
        { arg: DNNL.argSrc, user: d.src, query: DNNL.querySrcMd, output: false },
        { arg: DNNL.argDiffDst, user: d.dst, query: DNNL.queryDiffDstMd, output: false },
        { arg: DNNL.argDiffWeights, user: d.userW, query: DNNL.queryDiffWeightsMd, output: true },
      ];
      return new Primitive(this.dnnl, convolutionPd(this.dnnl, "backwardWeights", d, hint), specs);
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
      const pd = batchNormPd(this.dnnl, prop, d.data, epsilon, flags);
      return new Primitive(this.dnnl, pd, specs.map((s) => vecQuery(s)));
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
      const flags = DNNL.useScale | DNNL.useShift | (relu ? DNNL.fuseNormRelu : 0);
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
      const pd = batchNormPd(this.dnnl, DNNL.backward, d.data, epsilon, flags, hint);
      return new Primitive(this.dnnl, pd, specs.map((s) => vecQuery(s)));
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
      return new Primitive(this.dnnl, reluPd(this.dnnl, DNNL.forwardInference, md), [
        { arg: DNNL.argSrc, user: md, query: DNNL.querySrcMd, output: false },
        { arg: DNNL.argDst, user: md, query: DNNL.queryDstMd, output: true },
      ]);
    }).run([x, y]);
  }

  /** dx = x > 0 ? dy : 0 over `n` values. */
  reluBackward(n: number, x: Float32Array, dy: Float32Array, dx: Float32Array): void {
    this.cache.get(`relu-bwd ${n}`, () => {
      const md = memoryDesc(this.dnnl, [n], DNNL.a);
      const hint = reluPd(this.dnnl, DNNL.forwardTraining, md);
      return new Primitive(this.dnnl, reluPd(this.dnnl, DNNL.backward, md, hint), [
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
      const specs: ArgSpec[] = [
        ...srcs.map((md, i) => ({
          arg: DNNL.argMultipleSrc + i,
          user: md,
          query: USER_LAYOUT,
          output: false,
        })),
        { arg: DNNL.argDst, user: dst, query: USER_LAYOUT, output: true },
      ];
      return new Primitive(this.dnnl, concatPd(this.dnnl, dst, srcs, 1), specs);
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
      const sub = subMemoryDesc(this.dnnl, parent, [rows, width], [0, offset]);
      const dst = memoryDesc(this.dnnl, [rows, width], DNNL.ab);
      return new Primitive(this.dnnl, reorderPd(this.dnnl, sub, dst), [
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
      return new Primitive(this.dnnl, matmulPd(this.dnnl, src, wei, dst), [
        { arg: DNNL.argSrc, user: src, query: USER_LAYOUT, output: false },
        { arg: DNNL.argWeights, user: wei, query: USER_LAYOUT, output: false },
        { arg: DNNL.argDst, user: dst, query: USER_LAYOUT, output: true },
      ]);
    }).run([a, b, y]);
  }

  /**
   * y = α·a + β·b over `n` values, on all of the engine's threads; `y` may be `a` (oneDNN's sum works in
   * place on its first input). One primitive per (n, α, β).
   */
  axpby(n: number, alpha: number, a: Float32Array, beta: number, b: Float32Array, y: Float32Array): void {
    this.cache.get(`sum ${n} ${alpha} ${beta}`, () => {
      const md = memoryDesc(this.dnnl, [n], DNNL.a);
      return new Primitive(this.dnnl, sumPd(this.dnnl, md, [alpha, beta]), [
        { arg: DNNL.argMultipleSrc, user: md, query: USER_LAYOUT, output: false },
        { arg: DNNL.argMultipleSrc + 1, user: md, query: USER_LAYOUT, output: false },
        { arg: DNNL.argDst, user: md, query: USER_LAYOUT, output: true },
      ]);
    }).run([a, b, y]);
  }

  /** y = a + b over `n` values. */
  add(n: number, a: Float32Array, b: Float32Array, y: Float32Array): void {
    this.cache.get(`add ${n}`, () => {
      const md = memoryDesc(this.dnnl, [n], DNNL.a);
      return new Primitive(this.dnnl, addPd(this.dnnl, md), [
        { arg: DNNL.argSrc0, user: md, query: USER_LAYOUT, output: false },
        { arg: DNNL.argSrc1, user: md, query: USER_LAYOUT, output: false },
        { arg: DNNL.argDst, user: md, query: USER_LAYOUT, output: true },
      ]);
    }).run([a, b, y]);
  }

  #poolDescs(g: PoolGeometry): { src: MemoryDesc; dst: MemoryDesc; window: PoolWindow } {
    return {
      src: this.#act(g.n, g.c, g.h, g.w),
      dst: this.#act(g.n, g.c, g.oh, g.ow),
      window: {
        strides: [g.sh, g.sw],
        kernel: [g.kh, g.kw],
        padL: [g.top, g.left],
        padR: [g.bottom, g.right],
      },
    };
  }

  #poolForwardPd(alg: number, g: PoolGeometry, training: boolean): Primitive {
    return this.cache.get(key(`pool-fwd ${alg} ${training}`, g), () => {
      const d = this.#poolDescs(g);
      const prop = training ? DNNL.forwardTraining : DNNL.forwardInference;
      const specs: ArgSpec[] = [
        { arg: DNNL.argSrc, user: d.src, query: DNNL.querySrcMd, output: false },
        { arg: DNNL.argDst, user: d.dst, query: DNNL.queryDstMd, output: true },
      ];
      const ws = training && alg === DNNL.poolingMax ? [DNNL.argWorkspace] : [];
      return new Primitive(this.dnnl, poolingPd(this.dnnl, prop, alg, d.src, d.dst, d.window), specs, ws);
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
      const specs: ArgSpec[] = [
        { arg: DNNL.argDiffDst, user: d.dst, query: DNNL.queryDiffDstMd, output: false },
        { arg: DNNL.argDiffSrc, user: d.src, query: DNNL.queryDiffSrcMd, output: true },
      ];
      return new Primitive(
        this.dnnl,
        poolingPd(this.dnnl, DNNL.backward, alg, d.src, d.dst, d.window, fwd.pd),
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
