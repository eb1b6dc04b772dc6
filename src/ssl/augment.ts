/**
 * BYOL's image augmentations as tensor ops on whole batches (Grill et al. 2020, appendix B), with every random
 * parameter drawn per sample from a seeded stream on the host and applied as tensors.
 *
 * Per sample, in order: random resized crop (scale 0.08–1 of the area, aspect ratio 3/4–4/3, bilinear back to
 * the input size), horizontal flip (p 0.5), colour jitter with probability 0.8 (brightness 0.4, contrast 0.4,
 * saturation 0.2, hue 0.1, applied in that fixed order rather than BYOL's random order), grayscale (p 0.2),
 * Gaussian blur (p 1.0 for the first view, 0.1 for the second; σ from 0.1 to 2.0 pixels at 224 px, scaled with the
 * resolution, kernel about a tenth of the image), solarisation (p 0 / 0.2). Options add vertical flips and
 * 90-degree rotations: aerial images have no "up".
 *
 * Inputs and outputs are in [0, 1] (normalise afterwards).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../rng.ts";

/** One view's augmentation distribution. */
export interface ViewConfig {
  readonly cropScale: readonly [number, number];
  readonly cropRatio: readonly [number, number];
  readonly flipP: number;
  readonly jitterP: number;
  readonly brightness: number;
  readonly contrast: number;
  readonly saturation: number;
  readonly hue: number;
  readonly grayscaleP: number;
  readonly blurP: number;
  readonly solarizeP: number;
  /** Extra for aerial images: vertical flip with p 0.5. */
  readonly verticalFlip: boolean;
  /** Extra for aerial images: rotation by a uniform multiple of 90 degrees. */
  readonly rot90: boolean;
}

const COMMON = {
  cropScale: [0.08, 1],
  cropRatio: [3 / 4, 4 / 3],
  flipP: 0.5,
  jitterP: 0.8,
  brightness: 0.4,
  contrast: 0.4,
  saturation: 0.2,
  hue: 0.1,
  grayscaleP: 0.2,
  verticalFlip: false,
  rot90: false,
} as const;

/** BYOL's first view distribution T (blur always, no solarisation). */
export const BYOL_VIEW_1: ViewConfig = { ...COMMON, blurP: 1.0, solarizeP: 0 };
/** BYOL's second view distribution T' (blur 0.1, solarisation 0.2). */
export const BYOL_VIEW_2: ViewConfig = { ...COMMON, blurP: 0.1, solarizeP: 0.2 };

/** The random parameters of one sample. */
export interface SampleParams {
  /** Crop box in unit coordinates [y1, x1, y2, x2]. */
  readonly box: [number, number, number, number];
  readonly flip: boolean;
  readonly vflip: boolean;
  readonly rot90: number;
  readonly brightness: number;
  readonly contrast: number;
  readonly saturation: number;
  readonly hue: number;
  readonly grayscale: boolean;
  /** Blur σ in pixels at this resolution; 0 for none. */
  readonly sigma: number;
  readonly solarize: boolean;
}

/**
 * Draw one sample's parameters. Each draw consumes a fixed number of uniforms whatever the outcome, so a change
 * of probabilities does not shift later samples' streams.
 *
 * @example
 * ```ts
 * import { Rng } from "../rng.ts";
 * import { BYOL_VIEW_1, drawParams } from "./augment.ts";
 * const p = drawParams(BYOL_VIEW_1, 32, Rng.root(0));
 * console.assert(p.box[2] > p.box[0] && p.sigma > 0);
 * ```
 */
export function drawParams(cfg: ViewConfig, resolution: number, rng: Rng): SampleParams {
  // Random resized crop: up to 10 tries, then the whole image (torchvision's fallback).
  let box: [number, number, number, number] = [0, 0, 1, 1];
  let found = false;
  const [smin, smax] = cfg.cropScale, [rmin, rmax] = cfg.cropRatio;
  for (let t = 0; t < 10; t++) {
    const area = smin + (smax - smin) * rng.next();
    const ratio = Math.exp(Math.log(rmin) + (Math.log(rmax) - Math.log(rmin)) * rng.next());
    const w = Math.sqrt(area * ratio), h = Math.sqrt(area / ratio);
    const u = rng.next(), v = rng.next();
    if (!found && w <= 1 && h <= 1) {
      const y = (1 - h) * u, x = (1 - w) * v;
      box = [y, x, y + h, x + w];
      found = true;
    }
  }
  const uniform = (spread: number) => 1 - spread + 2 * spread * rng.next();
  const flip = rng.next() < cfg.flipP;
  const vflip = rng.next() < 0.5;
  const rot90 = rng.int(4);
  const jitter = rng.next() < cfg.jitterP;
  const b = uniform(cfg.brightness), c = uniform(cfg.contrast), s = uniform(cfg.saturation);
  const h = (2 * rng.next() - 1) * cfg.hue;
  const grayscale = rng.next() < cfg.grayscaleP;
  const blur = rng.next() < cfg.blurP;
  const sigma224 = 0.1 + 1.9 * rng.next();
  const solarize = rng.next() < cfg.solarizeP;
  return {
    box,
    flip,
    vflip: cfg.verticalFlip && vflip,
    rot90: cfg.rot90 ? rot90 : 0,
    brightness: jitter ? b : 1,
    contrast: jitter ? c : 1,
    saturation: jitter ? s : 1,
    hue: jitter ? h : 0,
    grayscale,
    sigma: blur ? (sigma224 * resolution) / 224 : 0,
    solarize,
  };
}

const LUMA = [0.299, 0.587, 0.114];

/** Per-sample values as a `[B, 1, 1, 1]` tensor. */
const perSample = (xs: number[]) => tf.tensor4d(xs, [xs.length, 1, 1, 1]);

function grayOf(x: tf.Tensor4D): tf.Tensor4D {
  return tf.sum(tf.mul(x, tf.tensor1d(LUMA)), 3, true) as tf.Tensor4D;
}

/** Hue rotation by `turns` (fraction of a full turn) in YIQ space, per sample. */
function rotateHue(x: tf.Tensor4D, turns: number[]): tf.Tensor4D {
  // RGB → YIQ, rotate the IQ plane, YIQ → RGB: one 3x3 matrix per sample.
  const toYiq = [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]];
  const toRgb = [[1, 0.956, 0.621], [1, -0.272, -0.647], [1, -1.106, 1.703]];
  const mats = turns.map((t) => {
    const c = Math.cos(2 * Math.PI * t), s = Math.sin(2 * Math.PI * t);
    const rot = [[1, 0, 0], [0, c, -s], [0, s, c]];
    const mul = (a: number[][], b: number[][]) =>
      a.map((row) => b[0]!.map((_, j) => row.reduce((acc, v, k) => acc + v * b[k]![j]!, 0)));
    // Row-vector convention: out = in · Mᵀ with M = toRgb · rot · toYiq.
    const m = mul(mul(toRgb, rot), toYiq);
    return m[0]!.map((_, i) => m.map((row) => row[i]!)); // transpose
  });
  const [b, h, w] = x.shape;
  const flat = tf.reshape(x, [b, h * w, 3]);
  return tf.reshape(tf.matMul(flat, tf.tensor3d(mats.flat(2), [b, 3, 3])), [b, h, w, 3]) as tf.Tensor4D;
}

/** Separable Gaussian blur with a per-sample σ (σ = 0: identity), reflecting nothing: zero-padded "same". */
function blur(x: tf.Tensor4D, sigmas: number[]): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const radius = Math.max(1, Math.floor(Math.max(h, w) / 20)); // kernel ~ a tenth of the image
  const k = 2 * radius + 1;
  const kernels = sigmas.map((s) => {
    if (s <= 0) return Array.from({ length: k }, (_, i) => (i === radius ? 1 : 0));
    const g = Array.from({ length: k }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * s * s)));
    const sum = g.reduce((a, v) => a + v, 0);
    return g.map((v) => v / sum);
  });
  // Channels of every sample side by side, one depthwise kernel per (sample, channel).
  const wide = tf.reshape(tf.transpose(x, [1, 2, 0, 3]), [1, h, w, b * c]) as tf.Tensor4D;
  const weights = new Float32Array(k * b * c);
  for (let i = 0; i < k; i++) {
    for (let s = 0; s < b; s++) {
      for (let ch = 0; ch < c; ch++) weights[i * b * c + s * c + ch] = kernels[s]![i]!;
    }
  }
  const vertical = tf.tensor4d(weights, [k, 1, b * c, 1]);
  const horizontal = tf.tensor4d(weights, [1, k, b * c, 1]);
  const blurred = tf.depthwiseConv2d(tf.depthwiseConv2d(wide, vertical, 1, "same"), horizontal, 1, "same");
  return tf.transpose(tf.reshape(blurred, [h, w, b, c]), [2, 0, 1, 3]) as tf.Tensor4D;
}

/** Select per sample between `a` (mask 1) and `b` (mask 0). */
function choose(mask: boolean[], a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D {
  if (!mask.some((m) => m)) return b;
  if (mask.every((m) => m)) return a;
  return tf.where(tf.cast(perSample(mask.map((m) => (m ? 1 : 0))), "bool"), a, b) as tf.Tensor4D;
}

/**
 * Apply drawn parameters to a `[B, R, R, 3]` batch in [0, 1]. Returns a new tensor in [0, 1].
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../rng.ts";
 * import { applyParams, BYOL_VIEW_2, drawParams } from "./augment.ts";
 * await tf.setBackend("cpu");
 * const x = tf.randomUniform([2, 8, 8, 3]) as tf.Tensor4D;
 * const y = applyParams(x, [0, 1].map((i) => drawParams(BYOL_VIEW_2, 8, Rng.root(i))));
 * console.assert(y.shape.join() === "2,8,8,3");
 * ```
 */
export function applyParams(x: tf.Tensor4D, params: readonly SampleParams[]): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w] = x.shape;
    const boxes = tf.tensor2d(params.flatMap((p) => p.box), [b, 4]);
    let y = tf.image.cropAndResize(x, boxes, tf.range(0, b, 1, "int32") as tf.Tensor1D, [h, w], "bilinear");
    y = choose(params.map((p) => p.flip), tf.reverse(y, 2), y);
    y = choose(params.map((p) => p.vflip), tf.reverse(y, 1), y);
    if (params.some((p) => p.rot90 > 0)) {
      let rotated = y;
      for (let q = 1; q < 4; q++) {
        rotated = tf.reverse(tf.transpose(rotated, [0, 2, 1, 3]), 2) as tf.Tensor4D; // one quarter turn clockwise
        y = choose(params.map((p) => p.rot90 === q), rotated, y);
      }
    }
    const clip = (t: tf.Tensor) => tf.clipByValue(t, 0, 1) as tf.Tensor4D;
    y = clip(tf.mul(y, perSample(params.map((p) => p.brightness))));
    const mean = tf.mean(grayOf(y), [1, 2, 3], true);
    y = clip(tf.add(tf.mul(tf.sub(y, mean), perSample(params.map((p) => p.contrast))), mean));
    const gray = grayOf(y);
    y = clip(tf.add(gray, tf.mul(tf.sub(y, gray), perSample(params.map((p) => p.saturation)))));
    if (params.some((p) => p.hue !== 0)) y = clip(rotateHue(y, params.map((p) => p.hue)));
    y = choose(params.map((p) => p.grayscale), tf.tile(grayOf(y), [1, 1, 1, 3]) as tf.Tensor4D, y);
    if (params.some((p) => p.sigma > 0)) y = blur(y, params.map((p) => p.sigma));
    y = choose(params.map((p) => p.solarize), tf.where(tf.less(y, 0.5), y, tf.sub(1, y)) as tf.Tensor4D, y);
    return y;
  });
}

/**
 * Draw parameters for every sample from `rng` and apply them.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "../rng.ts";
 * import { augmentView, BYOL_VIEW_1 } from "./augment.ts";
 * await tf.setBackend("cpu");
 * const v = augmentView(tf.ones([3, 16, 16, 3]) as tf.Tensor4D, BYOL_VIEW_1, Rng.root(0));
 * console.assert(v.shape[0] === 3);
 * ```
 */
export function augmentView(x: tf.Tensor4D, cfg: ViewConfig, rng: Rng): tf.Tensor4D {
  const params = Array.from({ length: x.shape[0] }, () => drawParams(cfg, x.shape[1], rng));
  return applyParams(x, params);
}
