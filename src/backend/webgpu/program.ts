/**
 * What albench's WGSL kernels use of tfjs-backend-webgpu: its program interface (tfjs writes the bindings, the
 * uniform struct and the entry point around a program's `main`) and the backend's `runWebGPUProgram`.
 *
 * Inside a program's code, inputs are storage arrays named by `variableNames`, the output is `result`, the
 * program's own uniforms are fields of `uniforms` (declared in `uniforms`, passed in the same order), and
 * `localId`, `workgroupId` and `globalId` hold the builtins. A program whose `dispatchLayout` has only `x` gets
 * `main(index)` with the flat output index, else `main()`.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/** The fields of tfjs-backend-webgpu's `WebGPUProgram` that albench's programs set. */
export interface GpuProgram {
  /** Input names, bound in order after the output. */
  variableNames: string[];
  /** Output shape (float32). */
  outputShape: number[];
  /** Pipeline cache key: everything that changes the generated code, and nothing that does not. */
  shaderKey: string;
  /** Which output axes map to the dispatch's x, y, z (only `x`: a flat program with `main(index)`). */
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  /** Workgroups in x, y, z. */
  dispatch: [number, number, number];
  /** Invocations per workgroup. */
  workgroupSize: [number, number, number];
  /** The program's uniform fields, `name : type,` each, in the order of the values passed. */
  uniforms?: string;
  /** Whether tfjs adds `uniforms.size`, the output's element count. */
  size?: boolean;
  /** Elements per array entry of each input (4: bound as `array<vec4<f32>>`); 1 each when absent. */
  variableComponents?: number[];
  /** Elements per entry of `result` (4: `array<vec4<f32>>`); 1 when absent. */
  outputComponent?: number;
  /** WGSL with `fn main(index : i32)` or `fn main()`, plus any module-scope declarations. */
  getUserCode(): string;
}

/** A program uniform value, in the order of {@linkcode GpuProgram.uniforms}. */
export interface GpuUniform {
  /** `int32` for i32 fields, `float32` for f32. */
  type: "int32" | "float32";
  /** The value(s). */
  data: number[];
}

/**
 * Integer uniforms, one per value, in order.
 *
 * @example
 * ```ts
 * import { ints } from "./program.ts";
 * console.assert(JSON.stringify(ints(3, 4)) === '[{"type":"int32","data":[3]},{"type":"int32","data":[4]}]');
 * ```
 */
export function ints(...values: number[]): GpuUniform[] {
  return values.map((v) => ({ type: "int32", data: [v] }));
}

/** The part of tfjs-backend-webgpu's backend object the kernels call. */
export interface WebGpuBackendLike {
  /** Record one program into the backend's command stream and return its output tensor. */
  runWebGPUProgram(
    program: GpuProgram,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    uniforms?: GpuUniform[],
  ): tf.TensorInfo;
  /** Release an intermediate output. */
  disposeData(dataId: tf.DataId): boolean;
  /** One more reference to a buffer (a kernel returning the same data as two outputs). */
  incRef(dataId: tf.DataId): void;
}

/** Invocations per workgroup of albench's flat (one thread per output element) programs. */
export const FLAT_WORKGROUP = 64;

/**
 * The dispatch of a flat program over `size` output elements (tfjs reshapes it when x exceeds the device limit;
 * the index `main` receives accounts for that).
 *
 * @example
 * ```ts
 * import { flatDispatch } from "./program.ts";
 * console.assert(flatDispatch(65)[0] === 2 && flatDispatch(64)[0] === 1);
 * ```
 */
export function flatDispatch(size: number): [number, number, number] {
  return [Math.max(1, Math.ceil(size / FLAT_WORKGROUP)), 1, 1];
}

/**
 * A flat program: one invocation per element of `outputShape`, `main(index)` guarded by `uniforms.size`.
 *
 * @example
 * ```ts
 * import { flatProgram } from "./program.ts";
 * const p = flatProgram("albenchDouble", ["a"], [3, 5], "", "fn main(index : i32) { }");
 * console.assert(p.size === true && p.dispatch[0] === 1 && p.dispatchLayout.x.length === 2);
 * ```
 */
export function flatProgram(
  shaderKey: string,
  variableNames: string[],
  outputShape: number[],
  uniforms: string,
  code: string,
): GpuProgram {
  const size = outputShape.reduce((a, b) => a * b, 1);
  return {
    variableNames,
    outputShape,
    shaderKey,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: flatDispatch(size),
    workgroupSize: [FLAT_WORKGROUP, 1, 1],
    ...(uniforms ? { uniforms } : {}),
    size: true,
    getUserCode: () => code,
  };
}

const SUM_PARTS_CODE = `
  fn main(index : i32) {
    if (index < uniforms.size) {
      var s = 0.0;
      for (var p = 0; p < uniforms.parts; p = p + 1) {
        s = s + partial[p * uniforms.stride + uniforms.offset + index];
      }
      setOutputAtIndex(index, s);
    }
  }
`;

/**
 * The second pass of a split reduction: `out[i] = Σₚ partial[p·stride + offset + i]` over `parts` partial
 * results, added in ascending p (so the sum does not depend on scheduling); `out` has `outputShape`.
 *
 * @example
 * ```ts ignore
 * import { sumParts } from "./program.ts";
 * // partial holds 8 partial filter gradients of m·n values each, one after the other.
 * const dw = sumParts(backend, partial, [3, 3, 16, 32], 8, 3 * 3 * 16 * 32, 0);
 * ```
 */
export function sumParts(
  backend: WebGpuBackendLike,
  partial: tf.TensorInfo,
  outputShape: number[],
  parts: number,
  stride: number,
  offset: number,
): tf.TensorInfo {
  const program = flatProgram(
    "albenchSumParts",
    ["partial"],
    outputShape,
    "parts : i32, stride : i32, offset : i32,",
    SUM_PARTS_CODE,
  );
  return backend.runWebGPUProgram(
    program,
    [partial],
    "float32",
    ints(parts, stride, offset),
  );
}

/** What {@linkcode countPrograms} returns. */
export interface ProgramCounter {
  /** Programs recorded since the counter started or was last reset. */
  count(): number;
  /** Start counting from zero again. */
  reset(): void;
  /** Stop counting: the backend's own method is put back. */
  stop(): void;
}

/**
 * Count the programs a webgpu backend records (every `runWebGPUProgram` call, several per kernel for some), for
 * profiles and tests; `undefined` for a backend without programs.
 *
 * @example
 * ```ts
 * import { countPrograms } from "./program.ts";
 * const backend = { runWebGPUProgram: () => ({}) };
 * const counter = countPrograms(backend)!;
 * backend.runWebGPUProgram();
 * console.assert(counter.count() === 1);
 * counter.stop();
 * console.assert(countPrograms({}) === undefined);
 * ```
 */
export function countPrograms(backend: object): ProgramCounter | undefined {
  const b = backend as { runWebGPUProgram?: (...a: unknown[]) => unknown };
  const run = b.runWebGPUProgram;
  if (typeof run !== "function") return undefined;
  let n = 0;
  b.runWebGPUProgram = function (this: unknown, ...a: unknown[]) {
    n++;
    return run.apply(this, a);
  };
  return {
    count: () => n,
    reset: () => {
      n = 0;
    },
    stop: () => {
      b.runWebGPUProgram = run;
    },
  };
}

/**
 * `n` copies of a WGSL snippet, one per register of a register-blocked kernel (WGSL has no arrays held in
 * registers: a blocked kernel names each accumulator).
 *
 * @example
 * ```ts
 * import { unroll } from "./program.ts";
 * console.assert(unroll(3, (i) => `var a${i} = 0.0;`) === "var a0 = 0.0;\nvar a1 = 0.0;\nvar a2 = 0.0;");
 * ```
 */
export function unroll(n: number, snippet: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => snippet(i)).join("\n");
}

/**
 * A program over `blocks` blocks of work, one invocation each, in workgroups of {@linkcode FLAT_WORKGROUP}:
 * `main(index)` gets the block index and checks it against `uniforms.blocks` (the first uniform, which the
 * caller passes first). The output is written as vec4 where `vec4Output`. `code` is called only when tfjs
 * compiles the program (once per `shaderKey`), not on every dispatch.
 *
 * @example
 * ```ts
 * import { blockProgram } from "./program.ts";
 * const p = blockProgram("k", ["x"], [4, 8], 130, "", () => "fn main(index : i32) { }", [4], true);
 * console.assert(p.dispatch[0] === 3 && p.uniforms === "blocks : i32," && p.outputComponent === 4);
 * ```
 */
export function blockProgram(
  shaderKey: string,
  variableNames: string[],
  outputShape: number[],
  blocks: number,
  uniforms: string,
  code: () => string,
  variableComponents: number[],
  vec4Output: boolean,
): GpuProgram {
  return {
    variableNames,
    outputShape,
    shaderKey,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: flatDispatch(blocks),
    workgroupSize: [FLAT_WORKGROUP, 1, 1],
    uniforms: `blocks : i32,${uniforms ? ` ${uniforms}` : ""}`,
    variableComponents,
    outputComponent: vec4Output ? 4 : 1,
    getUserCode: code,
  };
}

/**
 * A float32 tensor of zeros of `shape` (size > 0), written by a program with no inputs: what a kernel returns
 * for a sum over nothing (a zero-size storage buffer cannot be bound, so its inputs are not read).
 *
 * @example
 * ```ts ignore
 * import { zeros } from "./program.ts";
 * const dw = zeros(backend, [3, 3, 8, 8]);
 * ```
 */
export function zeros(backend: WebGpuBackendLike, shape: number[]): tf.TensorInfo {
  const program = flatProgram(
    "albenchZeros",
    [],
    shape,
    "",
    "fn main(index : i32) { if (index < uniforms.size) { setOutputAtIndex(index, 0.0); } }",
  );
  return backend.runWebGPUProgram(program, [], "float32");
}
