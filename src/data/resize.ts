/**
 * Resizing RGB images to a square resolution with an area filter.
 *
 * Each output pixel is the average of the input area it covers, with fractional weights at its edges (exact box
 * filtering, the "area" interpolation of OpenCV). Downscaling therefore antialiases; upscaling (for the few
 * UCMerced images smaller than 256 px when the target is 256) degrades gracefully to nearest-neighbour blocks.
 * Non-square inputs are stretched, as UCMerced's 44 off-size images (242–257 px) differ only by a few pixels.
 *
 * @module
 */
import type { RgbImage } from "./codecs.ts";

/** Per output index: the input indices it covers and their weights (summing to 1). */
function areaWeights(inSize: number, outSize: number): { start: number; weights: number[] }[] {
  const scale = inSize / outSize;
  const result: { start: number; weights: number[] }[] = [];
  for (let o = 0; o < outSize; o++) {
    const a = o * scale, b = (o + 1) * scale;
    const start = Math.floor(a), end = Math.min(inSize, Math.ceil(b));
    const weights: number[] = [];
    for (let i = start; i < end; i++) weights.push((Math.min(b, i + 1) - Math.max(a, i)) / scale);
    result.push({ start, weights });
  }
  return result;
}

/**
 * Resize to `size × size` with the area filter (separable: rows, then columns), writing into `out` at `offset`.
 *
 * @example
 * ```ts
 * import { resizeArea } from "./resize.ts";
 * // A 2x2 image averaged to 1x1.
 * const out = resizeArea({ width: 2, height: 2, rgb: new Uint8Array([0, 0, 0, 100, 100, 100, 50, 50, 50, 250, 250, 250]) }, 1);
 * console.assert(out.join() === "100,100,100");
 * ```
 */
export function resizeArea(
  img: RgbImage,
  size: number,
  out = new Uint8Array(size * size * 3),
  offset = 0,
): Uint8Array {
  const { width: w, height: h, rgb } = img;
  if (w === size && h === size) {
    out.set(rgb.subarray(0, size * size * 3), offset);
    return out;
  }
  const wx = areaWeights(w, size), wy = areaWeights(h, size);
  // Horizontal pass: h rows × size columns, in float.
  const tmp = new Float32Array(h * size * 3);
  for (let y = 0; y < h; y++) {
    for (let ox = 0; ox < size; ox++) {
      const { start, weights } = wx[ox]!;
      let r = 0, g = 0, b = 0;
      for (let k = 0; k < weights.length; k++) {
        const p = (y * w + start + k) * 3, wt = weights[k]!;
        r += rgb[p]! * wt;
        g += rgb[p + 1]! * wt;
        b += rgb[p + 2]! * wt;
      }
      const q = (y * size + ox) * 3;
      tmp[q] = r;
      tmp[q + 1] = g;
      tmp[q + 2] = b;
    }
  }
  for (let oy = 0; oy < size; oy++) {
    const { start, weights } = wy[oy]!;
    for (let ox = 0; ox < size; ox++) {
      let r = 0, g = 0, b = 0;
      for (let k = 0; k < weights.length; k++) {
        const p = ((start + k) * size + ox) * 3, wt = weights[k]!;
        r += tmp[p]! * wt;
        g += tmp[p + 1]! * wt;
        b += tmp[p + 2]! * wt;
      }
      const q = offset + (oy * size + ox) * 3;
      out[q] = Math.round(r);
      out[q + 1] = Math.round(g);
      out[q + 2] = Math.round(b);
    }
  }
  return out;
}
