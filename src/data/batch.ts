/**
 * Turning compact image bytes into float tensors, batch by batch, with optional per-sample flips and 90-degree
 * rotations applied on the host (exact, cheap, and independent of the backend).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ImageTable } from "./dataset.ts";

/** Per-channel normalisation: x/255, minus mean, divided by std (ImageNet statistics, as for DenseNet). */
export const CHANNEL_MEAN = [0.485, 0.456, 0.406] as const;
/** See {@linkcode CHANNEL_MEAN}. */
export const CHANNEL_STD = [0.229, 0.224, 0.225] as const;

/** A geometric augmentation of one sample: horizontal flip, then rotation by `rot90` quarter turns clockwise. */
export interface FlipRot {
  readonly flip: boolean;
  readonly rot90: 0 | 1 | 2 | 3;
}

/**
 * Copy sample `index`'s normalised pixels into `out` at `offset`, applying `aug`.
 *
 * Output pixel (y, x) reads input (sy, sx): rotation by q quarter turns clockwise maps (y, x) to the source
 * (r−1−x, y) once, applied q times; the flip mirrors x first.
 */
function writeSample(
  images: ImageTable,
  index: number,
  aug: FlipRot | undefined,
  out: Float32Array,
  offset: number,
) {
  const r = images.resolution, base = index * r * r * 3, px = images.pixels;
  for (let y = 0; y < r; y++) {
    for (let x = 0; x < r; x++) {
      let sy = y, sx = x;
      if (aug) {
        for (let q = 0; q < aug.rot90; q++) [sy, sx] = [r - 1 - sx, sy];
        if (aug.flip) sx = r - 1 - sx;
      }
      const src = base + (sy * r + sx) * 3, dst = offset + (y * r + x) * 3;
      for (let c = 0; c < 3; c++) out[dst + c] = (px[src + c]! / 255 - CHANNEL_MEAN[c]!) / CHANNEL_STD[c]!;
    }
  }
}

/**
 * A `[indices.length, R, R, 3]` float tensor of normalised images, optionally augmented per sample.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { imageBatch } from "./batch.ts";
 * await tf.setBackend("cpu");
 * const images = { resolution: 2, pixels: new Uint8Array(2 * 2 * 2 * 3).fill(255) };
 * const t = imageBatch(images, [1]);
 * console.assert(t.shape.join() === "1,2,2,3");
 * ```
 */
export function imageBatch(
  images: ImageTable,
  indices: readonly number[],
  augs?: readonly FlipRot[],
): tf.Tensor4D {
  const r = images.resolution, size = r * r * 3;
  const out = new Float32Array(indices.length * size);
  indices.forEach((idx, k) => writeSample(images, idx, augs?.[k], out, k * size));
  return tf.tensor4d(out, [indices.length, r, r, 3]);
}

/**
 * A `[indices.length, C]` float tensor of 0/1 labels.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { labelBatch } from "./batch.ts";
 * await tf.setBackend("cpu");
 * const t = labelBatch({ classNames: ["x"], labels: new Uint8Array([0, 1]) }, [1]);
 * console.assert(t.arraySync()[0]![0] === 1);
 * ```
 */
export function labelBatch(
  table: { classNames: readonly string[]; labels: Uint8Array },
  indices: readonly number[],
): tf.Tensor2D {
  const c = table.classNames.length;
  const out = new Float32Array(indices.length * c);
  indices.forEach((idx, k) => {
    for (let j = 0; j < c; j++) out[k * c + j] = table.labels[idx * c + j]!;
  });
  return tf.tensor2d(out, [indices.length, c]);
}

/**
 * A `[indices.length, R, R, 3]` float tensor of raw images in [0, 1] (for augmentations that work on colours).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { rawBatch } from "./batch.ts";
 * await tf.setBackend("cpu");
 * const t = rawBatch({ resolution: 1, pixels: new Uint8Array([255, 0, 51]) }, [0]);
 * console.assert(Math.abs(t.dataSync()[2]! - 0.2) < 1e-6);
 * ```
 */
export function rawBatch(images: ImageTable, indices: readonly number[]): tf.Tensor4D {
  const r = images.resolution, size = r * r * 3;
  const out = new Float32Array(indices.length * size);
  indices.forEach((idx, k) => {
    const src = images.pixels.subarray(idx * size, (idx + 1) * size);
    for (let i = 0; i < size; i++) out[k * size + i] = src[i]! / 255;
  });
  return tf.tensor4d(out, [indices.length, r, r, 3]);
}

/**
 * Normalise a [0, 1] batch with {@linkcode CHANNEL_MEAN} and {@linkcode CHANNEL_STD}.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { normalize } from "./batch.ts";
 * await tf.setBackend("cpu");
 * console.assert(normalize(tf.zeros([1, 1, 1, 3]) as tf.Tensor4D).shape.length === 4);
 * ```
 */
export function normalize(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() =>
    tf.div(tf.sub(x, tf.tensor1d([...CHANNEL_MEAN])), tf.tensor1d([...CHANNEL_STD])) as tf.Tensor4D
  );
}
