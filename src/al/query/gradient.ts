/**
 * The last-layer gradient of the BCE loss (the paper's eq. 2) under pseudo-labels, in closed form.
 *
 * With logits z = W·h + b, p = σ(z) and pseudo-labels ŷ = [p ≥ 0.5], the gradient of eq. (2) with respect to the
 * weights is g = (p − ŷ) ⊗ h / C, so its norm is ‖p − ŷ‖·‖h‖ / C. The bias gradient (p − ŷ)/C is left out by
 * default, following the paper ("with respect to the weights W of the last layer"); with it, the norm is
 * ‖p − ŷ‖·√(‖h‖² + 1) / C.
 *
 * @module
 */

/**
 * Per-sample gradient norms (MGE uncertainty) from probabilities and features.
 *
 * @example
 * ```ts
 * import { gradientNorms } from "./gradient.ts";
 * // p = [0.75], ŷ = [1], h = [3, 4]: |0.25| · 5 / 1.
 * console.assert(gradientNorms(new Float32Array([0.75]), new Float32Array([3, 4]), 1, 1, 2)[0] === 1.25);
 * ```
 */
export function gradientNorms(
  probs: Float32Array,
  features: Float32Array,
  n: number,
  c: number,
  d: number,
  includeBias = false,
): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let a = 0;
    for (let j = 0; j < c; j++) {
      const p = probs[i * c + j]!;
      const r = p - (p >= 0.5 ? 1 : 0);
      a += r * r;
    }
    let h = includeBias ? 1 : 0;
    for (let k = 0; k < d; k++) h += features[i * d + k]! ** 2;
    out[i] = (Math.sqrt(a) * Math.sqrt(h)) / c;
  }
  return out;
}

/**
 * The residual vector p − ŷ of sample `i` (the "gradient embedding" factor over classes).
 *
 * @example
 * ```ts
 * import { residual } from "./gradient.ts";
 * console.assert(Array.from(residual(new Float32Array([0.2, 0.9]), 0, 2), (v) => v.toFixed(1)).join() === "0.2,-0.1");
 * ```
 */
export function residual(probs: Float32Array, i: number, c: number): Float64Array {
  const r = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    const p = probs[i * c + j]!;
    r[j] = p - (p >= 0.5 ? 1 : 0);
  }
  return r;
}
