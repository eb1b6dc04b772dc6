/**
 * Convolution kernels on webgpu, tfjs-webgpu's stock set against albench's, one process, per call:
 * `deno run -A bench/webgpu_kernels_bench.ts [reps]` (default 3). Shapes: CPU-DenseNet's layers at 32 px, batch
 * 10, and DenseNet121's at 28 px, batch 8. On a software adapter the numbers are CPU time, useful only as
 * ratios.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend/backend.ts";
import { setWebGpuKernels } from "../src/backend/webgpu/kernels.ts";

await initBackend("webgpu");
const reps = Number(Deno.args[0] ?? 3);
if (!Number.isInteger(reps) || reps < 1) throw new Error(`reps ${Deno.args[0]} is not a positive integer`);
const shapes: [[number, number, number, number], [number, number, number, number]][] = [
  [[10, 32, 32, 48], [3, 3, 48, 12]],
  [[10, 32, 32, 72], [1, 1, 72, 48]],
  [[8, 28, 28, 256], [1, 1, 256, 128]],
  [[8, 28, 28, 128], [3, 3, 128, 32]],
];
console.log("| x | filter | kernel | stock ms | albench ms | ratio |");
console.log("| --- | --- | --- | ---: | ---: | ---: |");
for (const [xs, ws] of shapes) {
  const x = tf.randomNormal(xs) as tf.Tensor4D, w = tf.randomNormal(ws) as tf.Tensor4D;
  const dy = tf.randomNormal(tf.conv2d(x, w, 1, "same").shape) as tf.Tensor4D;
  const ops: Record<string, () => tf.Tensor> = {
    Conv2D: () => tf.conv2d(x, w, 1, "same"),
    Conv2DBackpropInput: () => tf.conv2dTranspose(dy, w, xs, 1, "same"),
    Conv2DBackpropFilter: () =>
      tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
        strides: 1,
        pad: "same",
        dataFormat: "NHWC",
        filterShape: ws,
      } as unknown as tf.NamedAttrMap) as tf.Tensor,
  };
  for (const [name, f] of Object.entries(ops)) {
    const ms: number[] = [];
    for (const set of ["stock", "albench"] as const) {
      setWebGpuKernels(set);
      let t = f();
      await t.data(); // compiles the pipeline
      t.dispose();
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) {
        t = f();
        await t.data();
        t.dispose();
      }
      ms.push((performance.now() - t0) / reps);
    }
    console.log(
      `| ${xs.join("×")} | ${ws.join("×")} | ${name} | ${ms[0]!.toFixed(1)} | ${ms[1]!.toFixed(1)} | ${
        (ms[0]! / ms[1]!).toFixed(2)
      }x |`,
    );
  }
  tf.dispose([x, w, dy]);
}
