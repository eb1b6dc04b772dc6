/**
 * `synthetic`: the embedded default dataset, generated from a seed in seconds, shaped like UCMerced's multi-label
 * archive in the ways the paper depends on.
 *
 * - The same 17 classes as UCMerced's multi-labels, in the same order; nine are land-cover textures (bare-soil,
 *   chaparral, field, grass, pavement, sand, sea, trees, water) and eight are objects drawn as small shapes
 *   (airplane, buildings, cars, court, dock, mobile-home, ship, tanks), so both texture and shape matter.
 * - Images come from 21 scene types (agricultural, airplane, …, tenniscourt), one per 21 images in turn as UCMerced
 *   has 100 of each; every scene type has a prior over labels. That gives long-tailed positives (about 100 to 1300
 *   per 2100 images), about 3 labels per image, at least one per image, and dock/ship co-occurring in 98% of docks.
 * - What is drawn is exactly what is labelled: every positive class is painted (a texture region covering at least
 *   a tenth of the image, or at least one object); no absent class is painted.
 * - Geometry lives in unit coordinates, so an image at 64 px is a sharper version of the same scene at 32 px. Each
 *   image has its own stream (`synthetic/<index>`), so image `i` does not depend on the dataset size.
 *
 * @module
 */
import { Rng } from "../rng.ts";
import type { DatasetSource, ImageTable, LabelTable } from "./dataset.ts";

/** UCMerced's 17 multi-label classes, in its file order. */
export const UCMERCED_CLASSES = [
  "airplane",
  "bare-soil",
  "buildings",
  "cars",
  "chaparral",
  "court",
  "dock",
  "field",
  "grass",
  "mobile-home",
  "pavement",
  "sand",
  "sea",
  "ship",
  "tanks",
  "trees",
  "water",
] as const;
type ClassName = typeof UCMERCED_CLASSES[number];

const TEXTURES = [
  "bare-soil",
  "chaparral",
  "field",
  "grass",
  "pavement",
  "sand",
  "sea",
  "trees",
  "water",
] as const;
type Texture = typeof TEXTURES[number];
const isTexture = (c: ClassName): c is Texture => (TEXTURES as readonly string[]).includes(c);

/** Scene types and their label priors: P(class | scene). Probability 1 marks the scene's defining class. */
export const SCENES: readonly { name: string; prior: Partial<Record<ClassName, number>> }[] = [
  { name: "agricultural", prior: { field: 1, trees: 0.1 } },
  { name: "airplane", prior: { airplane: 1, pavement: 1, "bare-soil": 0.5, cars: 0.3, grass: 0.3 } },
  {
    name: "baseballdiamond",
    prior: { grass: 0.9, "bare-soil": 0.9, buildings: 0.3, pavement: 0.4, cars: 0.3, trees: 0.4 },
  },
  { name: "beach", prior: { sand: 1, sea: 0.9, water: 0.1, trees: 0.1 } },
  { name: "buildings", prior: { buildings: 1, pavement: 0.9, cars: 0.8, trees: 0.3, grass: 0.2 } },
  { name: "chaparral", prior: { chaparral: 1, "bare-soil": 0.6 } },
  { name: "denseresidential", prior: { buildings: 1, cars: 0.8, pavement: 0.9, trees: 0.8, grass: 0.4 } },
  { name: "forest", prior: { trees: 1, grass: 0.2 } },
  { name: "freeway", prior: { pavement: 1, cars: 0.8, grass: 0.6, trees: 0.5, "bare-soil": 0.3 } },
  { name: "golfcourse", prior: { grass: 1, trees: 0.9, sand: 0.5, water: 0.2 } },
  { name: "harbor", prior: { dock: 1, ship: 0.98, water: 1, pavement: 0.3, buildings: 0.1 } },
  {
    name: "intersection",
    prior: { pavement: 1, cars: 0.9, buildings: 0.6, trees: 0.5, grass: 0.4, "bare-soil": 0.2 },
  },
  { name: "mediumresidential", prior: { buildings: 1, trees: 0.9, grass: 0.8, cars: 0.7, pavement: 0.9 } },
  { name: "mobilehomepark", prior: { "mobile-home": 1, pavement: 0.9, cars: 0.7, trees: 0.5, grass: 0.4 } },
  { name: "overpass", prior: { pavement: 1, cars: 0.8, grass: 0.4, "bare-soil": 0.4, trees: 0.2 } },
  { name: "parkinglot", prior: { cars: 1, pavement: 1, trees: 0.2, buildings: 0.2 } },
  { name: "river", prior: { water: 1, trees: 0.9, grass: 0.6, sand: 0.2, "bare-soil": 0.3 } },
  { name: "runway", prior: { pavement: 1, grass: 0.7, "bare-soil": 0.5 } },
  {
    name: "sparseresidential",
    prior: { buildings: 0.9, grass: 1, trees: 0.9, "bare-soil": 0.5, pavement: 0.6, cars: 0.4 },
  },
  { name: "storagetanks", prior: { tanks: 1, pavement: 0.6, "bare-soil": 0.6, grass: 0.3, buildings: 0.2 } },
  {
    name: "tenniscourt",
    prior: { court: 1, trees: 0.8, grass: 0.7, pavement: 0.6, buildings: 0.5, cars: 0.4 },
  },
];

/** Options of the synthetic dataset. */
export interface SyntheticOptions {
  /** Number of images; default 2100 (21 scene types x 100). */
  readonly size?: number;
  /** Generator seed; default 0. The dataset is a pure function of (seed, size, resolution). */
  readonly seed?: number;
}

/** The defaults of {@linkcode SyntheticOptions}. */
export const SYNTHETIC_DEFAULTS: Required<SyntheticOptions> = { size: 2100, seed: 0 };

/** The labels of image `i`: a draw from its scene's prior, with the scene's defining class always present. */
function sampleLabels(i: number, rng: Rng): { scene: string; present: Set<ClassName> } {
  const scene = SCENES[i % SCENES.length]!;
  const present = new Set<ClassName>();
  for (const c of UCMERCED_CLASSES) {
    const p = scene.prior[c] ?? 0;
    if (p > 0 && rng.next() < p) present.add(c);
  }
  // Ships are only drawn next to docks (UCMerced: dock and ship co-occur almost always).
  if (present.has("ship") && !present.has("dock")) present.delete("ship");
  if (present.size === 0) {
    const best = Object.entries(scene.prior).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))[0]![0] as ClassName;
    present.add(best);
  }
  return { scene: scene.name, present };
}

/** Ids like UCMerced's: `<scene><NN>`. */
function sampleId(i: number, size: number): string {
  const perScene = Math.ceil(size / SCENES.length);
  const digits = Math.max(2, String(perScene - 1).length);
  return `${SCENES[i % SCENES.length]!.name}${String(Math.floor(i / SCENES.length)).padStart(digits, "0")}`;
}

/**
 * The label table of the synthetic dataset (no pixels rendered).
 *
 * @example
 * ```ts
 * import { syntheticLabels } from "./synthetic.ts";
 * const t = syntheticLabels({ size: 42 });
 * console.assert(t.ids.length === 42 && t.classNames.length === 17 && t.ids[0] === "agricultural00");
 * ```
 */
export function syntheticLabels(options: SyntheticOptions = {}): LabelTable {
  const { size, seed } = { ...SYNTHETIC_DEFAULTS, ...options };
  const root = Rng.root(seed).fork("synthetic");
  const c = UCMERCED_CLASSES.length;
  const labels = new Uint8Array(size * c);
  const ids: string[] = [];
  for (let i = 0; i < size; i++) {
    const { present } = sampleLabels(i, root.fork(`labels/${i}`));
    UCMERCED_CLASSES.forEach((name, j) => (labels[i * c + j] = present.has(name) ? 1 : 0));
    ids.push(sampleId(i, size));
  }
  return { ids, classNames: [...UCMERCED_CLASSES], labels };
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering

type RGB = [number, number, number];

/** Smooth value noise on a `g × g` lattice (bilinear, smoothstep), in [0, 1]. */
class ValueNoise {
  readonly #g: number;
  readonly #v: Float32Array;
  constructor(rng: Rng, g: number) {
    this.#g = g;
    this.#v = Float32Array.from({ length: (g + 1) * (g + 1) }, () => rng.next());
  }
  at(u: number, v: number): number {
    const g = this.#g;
    const x = u * g, y = v * g;
    const x0 = Math.min(g - 1, Math.floor(x)), y0 = Math.min(g - 1, Math.floor(y));
    let fx = x - x0, fy = y - y0;
    fx = fx * fx * (3 - 2 * fx);
    fy = fy * fy * (3 - 2 * fy);
    const a = this.#v[y0 * (g + 1) + x0]!, b = this.#v[y0 * (g + 1) + x0 + 1]!;
    const c = this.#v[(y0 + 1) * (g + 1) + x0]!, d = this.#v[(y0 + 1) * (g + 1) + x0 + 1]!;
    return a + (b - a) * fx + (c - a) * fy + (a - b - c + d) * fx * fy;
  }
}

/** A texture: base colour, two noise fields and how they modulate the colour. */
interface TextureStyle {
  readonly base: RGB;
  readonly coarse: number; // lattice of the low-frequency field
  readonly fine: number; // lattice of the high-frequency field
  readonly coarseAmp: number;
  readonly fineAmp: number;
  /** Optional stripes (fields in rows, sea waves): spatial frequency in cycles per image and amplitude. */
  readonly stripes?: { freq: number; amp: number };
  /** Optional second colour blended by the fine field above a threshold (tree crowns, chaparral shrubs). */
  readonly spots?: { color: RGB; threshold: number };
}

const STYLES: Record<Texture | "ground", TextureStyle> = {
  "bare-soil": { base: [0.6, 0.47, 0.33], coarse: 4, fine: 24, coarseAmp: 0.15, fineAmp: 0.1 },
  chaparral: {
    base: [0.55, 0.52, 0.36],
    coarse: 5,
    fine: 20,
    coarseAmp: 0.08,
    fineAmp: 0.06,
    spots: { color: [0.3, 0.35, 0.2], threshold: 0.62 },
  },
  field: {
    base: [0.52, 0.62, 0.3],
    coarse: 3,
    fine: 16,
    coarseAmp: 0.1,
    fineAmp: 0.04,
    stripes: { freq: 9, amp: 0.12 },
  },
  grass: { base: [0.4, 0.6, 0.28], coarse: 6, fine: 28, coarseAmp: 0.1, fineAmp: 0.05 },
  pavement: { base: [0.55, 0.55, 0.55], coarse: 3, fine: 24, coarseAmp: 0.05, fineAmp: 0.03 },
  sand: { base: [0.85, 0.78, 0.6], coarse: 4, fine: 24, coarseAmp: 0.06, fineAmp: 0.03 },
  sea: {
    base: [0.12, 0.3, 0.55],
    coarse: 3,
    fine: 12,
    coarseAmp: 0.06,
    fineAmp: 0.03,
    stripes: { freq: 14, amp: 0.07 },
  },
  trees: {
    base: [0.17, 0.33, 0.15],
    coarse: 5,
    fine: 22,
    coarseAmp: 0.08,
    fineAmp: 0.12,
    spots: { color: [0.1, 0.2, 0.08], threshold: 0.55 },
  },
  water: { base: [0.16, 0.25, 0.3], coarse: 4, fine: 10, coarseAmp: 0.06, fineAmp: 0.02 },
  ground: { base: [0.62, 0.6, 0.52], coarse: 4, fine: 20, coarseAmp: 0.08, fineAmp: 0.04 },
};

/** A region mask in unit coordinates. */
type Mask = (u: number, v: number) => boolean;

function bandMask(rng: Rng, width: number): Mask {
  const angle = rng.next() * Math.PI, cu = 0.3 + 0.4 * rng.next(), cv = 0.3 + 0.4 * rng.next();
  const nx = -Math.sin(angle), ny = Math.cos(angle);
  return (u, v) => Math.abs((u - cu) * nx + (v - cv) * ny) < width / 2;
}

function halfPlaneMask(rng: Rng): Mask {
  const angle = rng.next() * 2 * Math.PI, offset = 0.25 + 0.3 * rng.next();
  const nx = Math.cos(angle), ny = Math.sin(angle);
  // The edge passes offset - 0.25 (0 to 0.30) from the image centre, which lies inside the region, so the region
  // covers 50% (offset 0.25) to 80-83% (offset 0.55, depending on the angle) of the image.
  return (u, v) => (u - 0.5) * nx + (v - 0.5) * ny > 0.5 - offset - 0.25;
}

function blobMask(rng: Rng): Mask {
  const noise = new ValueNoise(rng, 3);
  const threshold = 0.45 + 0.1 * rng.next();
  return (u, v) => noise.at(u, v) > threshold;
}

/** Where each texture goes: bands for roads and rivers, half-planes for coasts, blobs for vegetation and soil. */
function regionFor(t: Texture, rng: Rng): Mask {
  switch (t) {
    case "pavement":
      return rng.next() < 0.7 ? bandMask(rng, 0.18 + 0.1 * rng.next()) : blobMask(rng);
    case "water":
      return rng.next() < 0.6 ? bandMask(rng, 0.25 + 0.15 * rng.next()) : halfPlaneMask(rng);
    case "sea":
    case "sand":
      return halfPlaneMask(rng);
    default:
      return blobMask(rng);
  }
}

/** Fraction of a 24x24 grid on which each layer is the topmost. */
function visibleFractions(masks: (Mask | null)[]): number[] {
  const g = 24, counts = new Array<number>(masks.length).fill(0);
  for (let y = 0; y < g; y++) {
    for (let x = 0; x < g; x++) {
      const u = (x + 0.5) / g, v = (y + 0.5) / g;
      let top = 0;
      for (let k = masks.length - 1; k > 0; k--) {
        if (masks[k]!(u, v)) {
          top = k;
          break;
        }
      }
      counts[top]!++;
    }
  }
  return counts.map((c) => c / (g * g));
}

/**
 * Region masks for the textures in `order` (the first is the base and has none), redrawn until every texture is
 * the visible top layer on at least a tenth of the image (at most 30 tries, then the best try is kept).
 */
function chooseMasks(order: Texture[], rng: Rng): (Mask | null)[] {
  let best: (Mask | null)[] = [], bestMin = -1;
  for (let attempt = 0; attempt < 30; attempt++) {
    const masks = order.map((t, k) => (k === 0 ? null : regionFor(t, rng.fork(`region/${t}/${attempt}`))));
    const minVisible = Math.min(...visibleFractions(masks));
    if (minVisible >= 0.1) return masks;
    if (minVisible > bestMin) [best, bestMin] = [masks, minVisible];
  }
  return best;
}

/** An object to draw: a rotated rectangle or ellipse with a fill colour, in unit coordinates. */
interface Shape {
  readonly kind: "rect" | "ellipse";
  readonly cu: number;
  readonly cv: number;
  readonly hw: number; // half extent along the rotated x axis
  readonly hh: number; // half extent along the rotated y axis
  readonly angle: number;
  readonly color: RGB;
}

function shapesFor(c: ClassName, rng: Rng, anchor: () => [number, number]): Shape[] {
  const shapes: Shape[] = [];
  const rot = () => rng.next() * Math.PI;
  const count = (lo: number, hi: number) => lo + rng.int(hi - lo + 1);
  const gray = (l: number): RGB => [l, l, l];
  switch (c) {
    case "airplane":
      for (let k = count(1, 2); k > 0; k--) {
        const [cu, cv] = anchor(),
          a = rot(),
          s = 0.13 + 0.05 * rng.next(),
          col = gray(0.88 + 0.1 * rng.next());
        shapes.push({ kind: "rect", cu, cv, hw: s, hh: s * 0.18, angle: a, color: col }); // fuselage
        shapes.push({ kind: "rect", cu, cv, hw: s * 0.2, hh: s * 0.95, angle: a, color: col }); // wings
        const tu = cu - Math.cos(a) * s * 0.85, tv = cv - Math.sin(a) * s * 0.85;
        shapes.push({ kind: "rect", cu: tu, cv: tv, hw: s * 0.1, hh: s * 0.4, angle: a, color: col }); // tail
      }
      break;
    case "ship":
      for (let k = count(1, 3); k > 0; k--) {
        const [cu, cv] = anchor();
        const s = 0.06 + 0.04 * rng.next();
        shapes.push({ kind: "ellipse", cu, cv, hw: s, hh: s * 0.32, angle: rot(), color: gray(0.92) });
      }
      break;
    case "dock":
      for (let k = count(1, 2); k > 0; k--) {
        const [cu, cv] = anchor();
        shapes.push({ kind: "rect", cu, cv, hw: 0.22, hh: 0.035, angle: rot(), color: [0.45, 0.42, 0.38] });
      }
      break;
    case "tanks":
      for (let k = count(2, 5); k > 0; k--) {
        const [cu, cv] = anchor(), r = 0.05 + 0.04 * rng.next();
        shapes.push({
          kind: "ellipse",
          cu: cu + 0.012,
          cv: cv + 0.012,
          hw: r,
          hh: r,
          angle: 0,
          color: gray(0.15),
        });
        shapes.push({ kind: "ellipse", cu, cv, hw: r, hh: r, angle: 0, color: gray(0.9) });
        shapes.push({ kind: "ellipse", cu, cv, hw: r * 0.35, hh: r * 0.35, angle: 0, color: gray(0.7) });
      }
      break;
    case "cars":
      for (let k = count(4, 12); k > 0; k--) {
        const [cu, cv] = anchor();
        const col: RGB = [rng.next(), rng.next(), rng.next()];
        shapes.push({ kind: "rect", cu, cv, hw: 0.022, hh: 0.011, angle: rot(), color: col });
      }
      break;
    case "buildings":
      for (let k = count(2, 6); k > 0; k--) {
        const [cu, cv] = anchor(), w = 0.06 + 0.06 * rng.next(), h = 0.05 + 0.05 * rng.next(), a = rot();
        const roof: RGB = rng.next() < 0.5 ? [0.62, 0.3, 0.25] : gray(0.35 + 0.4 * rng.next());
        shapes.push({
          kind: "rect",
          cu: cu + 0.015,
          cv: cv + 0.015,
          hw: w,
          hh: h,
          angle: a,
          color: gray(0.12),
        });
        shapes.push({ kind: "rect", cu, cv, hw: w, hh: h, angle: a, color: roof });
      }
      break;
    case "mobile-home": {
      const [cu, cv] = anchor(), a = rot(), rows = count(2, 4), cols = count(3, 5);
      const ca = Math.cos(a), sa = Math.sin(a);
      for (let r = 0; r < rows; r++) {
        for (let q = 0; q < cols; q++) {
          const du = (q - (cols - 1) / 2) * 0.07, dv = (r - (rows - 1) / 2) * 0.11;
          shapes.push({
            kind: "rect",
            cu: cu + du * ca - dv * sa,
            cv: cv + du * sa + dv * ca,
            hw: 0.018,
            hh: 0.045,
            angle: a,
            color: gray(0.85),
          });
        }
      }
      break;
    }
    case "court":
      for (let k = count(1, 2); k > 0; k--) {
        const [cu, cv] = anchor(), a = rot();
        const surface: RGB = rng.next() < 0.5 ? [0.25, 0.5, 0.35] : [0.65, 0.35, 0.25];
        shapes.push({ kind: "rect", cu, cv, hw: 0.13, hh: 0.075, angle: a, color: gray(0.95) });
        shapes.push({ kind: "rect", cu, cv, hw: 0.115, hh: 0.06, angle: a, color: surface });
        shapes.push({ kind: "rect", cu, cv, hw: 0.006, hh: 0.06, angle: a, color: gray(0.95) });
      }
      break;
    default:
      break;
  }
  return shapes;
}

/** Fraction of a pixel's 2x2 sub-samples inside a shape (cheap anti-aliasing). */
function coverage(s: Shape, u0: number, v0: number, px: number): number {
  const ca = Math.cos(s.angle), sa = Math.sin(s.angle);
  let inside = 0;
  for (const [ou, ov] of [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]] as const) {
    const du = u0 + ou * px - s.cu, dv = v0 + ov * px - s.cv;
    const x = du * ca + dv * sa, y = -du * sa + dv * ca;
    if (s.kind === "rect") inside += Math.abs(x) <= s.hw && Math.abs(y) <= s.hh ? 1 : 0;
    else inside += (x / s.hw) ** 2 + (y / s.hh) ** 2 <= 1 ? 1 : 0;
  }
  return inside / 4;
}

/** Render image `i` at `r × r` into `out` (bytes, RGB) starting at `offset`. */
function renderImage(
  i: number,
  root: Rng,
  present: Set<ClassName>,
  r: number,
  out: Uint8Array,
  offset: number,
) {
  const rng = root.fork(`image/${i}`);
  const textures = TEXTURES.filter((t) => present.has(t));
  // Base: the first texture in a seeded order, or neutral unlabelled ground when the image has no texture class.
  const order = rng.fork("order").shuffle([...textures]);
  const layers: { style: TextureStyle; mask: Mask | null; noise: [ValueNoise, ValueNoise]; tint: RGB }[] = [];
  const addLayer = (name: Texture | "ground", mask: Mask | null) => {
    const style = STYLES[name];
    const lr = rng.fork(`layer/${name}`);
    const tint: RGB = [lr.normal(0, 0.03), lr.normal(0, 0.03), lr.normal(0, 0.03)];
    layers.push({
      style,
      mask,
      noise: [new ValueNoise(lr, style.coarse), new ValueNoise(lr, style.fine)],
      tint,
    });
  };
  if (order.length === 0) addLayer("ground", null);
  const masks = chooseMasks(order, rng);
  order.forEach((t, k) => addLayer(t, masks[k] ?? null));
  // Objects: ships and docks sit in water when there is water; cars on pavement when there is pavement.
  const shapes: Shape[] = [];
  const objectClasses = UCMERCED_CLASSES.filter((c) => !isTexture(c) && present.has(c));
  const waterLayer = layers.find((l) => l.style === STYLES.water);
  const paveLayer = layers.find((l) => l.style === STYLES.pavement);
  const layerAt = (u: number, v: number) => {
    for (let k = layers.length - 1; k >= 0; k--) {
      if (!layers[k]!.mask || layers[k]!.mask!(u, v)) return layers[k]!;
    }
    return layers[0]!;
  };
  for (const c of objectClasses) {
    const orng = rng.fork(`object/${c}`);
    const wanted = c === "ship" || c === "dock" ? waterLayer : c === "cars" ? paveLayer : undefined;
    const anchor = (): [number, number] => {
      let u = 0.15 + 0.7 * orng.next(), v = 0.15 + 0.7 * orng.next();
      for (let tries = 0; wanted && tries < 20 && layerAt(u, v) !== wanted; tries++) {
        u = 0.1 + 0.8 * orng.next();
        v = 0.1 + 0.8 * orng.next();
      }
      return [u, v];
    };
    shapes.push(...shapesFor(c, orng, anchor));
  }
  // Per-image radiometry: brightness and contrast jitter, then sensor noise.
  const gain = 1 + rng.normal(0, 0.06), bias = rng.normal(0, 0.03);
  const px = 1 / r;
  const sensor = rng.fork("sensor");
  for (let y = 0; y < r; y++) {
    for (let x = 0; x < r; x++) {
      const u = (x + 0.5) * px, v = (y + 0.5) * px;
      const layer = layerAt(u, v);
      const st = layer.style;
      const n1 = layer.noise[0].at(u, v) - 0.5, n2 = layer.noise[1].at(u, v) - 0.5;
      let m = 1 + st.coarseAmp * 2 * n1 + st.fineAmp * 2 * n2;
      if (st.stripes) m += st.stripes.amp * Math.sin(2 * Math.PI * st.stripes.freq * (u + 0.3 * v));
      let col: RGB = [
        st.base[0] * m + layer.tint[0],
        st.base[1] * m + layer.tint[1],
        st.base[2] * m + layer.tint[2],
      ];
      if (st.spots && n2 + 0.5 > st.spots.threshold) col = [...st.spots.color];
      for (const s of shapes) {
        const reach = Math.max(s.hw, s.hh) + px;
        if (Math.abs(u - s.cu) > reach || Math.abs(v - s.cv) > reach) continue;
        const a = coverage(s, x * px, y * px, px);
        if (a > 0) {
          col = [
            col[0] + (s.color[0] - col[0]) * a,
            col[1] + (s.color[1] - col[1]) * a,
            col[2] + (s.color[2] - col[2]) * a,
          ];
        }
      }
      const o = offset + (y * r + x) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const value = (col[ch]! * gain + bias + sensor.normal(0, 0.015)) * 255;
        out[o + ch] = value < 0 ? 0 : value > 255 ? 255 : Math.round(value);
      }
    }
  }
}

/**
 * Render the synthetic images at `resolution`.
 *
 * @example
 * ```ts
 * import { syntheticImages } from "./synthetic.ts";
 * const img = syntheticImages({ size: 3 }, 16);
 * console.assert(img.pixels.length === 3 * 16 * 16 * 3);
 * ```
 */
export function syntheticImages(
  options: SyntheticOptions,
  resolution: number,
  onProgress?: (done: number, total: number) => void,
): ImageTable {
  const { size, seed } = { ...SYNTHETIC_DEFAULTS, ...options };
  if (!Number.isInteger(resolution) || resolution < 8) {
    throw new RangeError(`synthetic: resolution must be an integer >= 8, got ${resolution}`);
  }
  const root = Rng.root(seed).fork("synthetic");
  const pixels = new Uint8Array(size * resolution * resolution * 3);
  for (let i = 0; i < size; i++) {
    const { present } = sampleLabels(i, root.fork(`labels/${i}`));
    renderImage(i, root, present, resolution, pixels, i * resolution * resolution * 3);
    if (onProgress && (i % 100 === 99 || i === size - 1)) onProgress(i + 1, size);
  }
  return { resolution, pixels };
}

/**
 * The synthetic dataset as a {@linkcode DatasetSource}.
 *
 * @example
 * ```ts
 * import { syntheticSource } from "./synthetic.ts";
 * const src = syntheticSource({ size: 21 });
 * console.assert((await src.labels()).ids.length === 21);
 * ```
 */
export function syntheticSource(options: SyntheticOptions = {}): DatasetSource {
  const opts = { ...SYNTHETIC_DEFAULTS, ...options };
  return {
    kind: "synthetic",
    labels: () => Promise.resolve(syntheticLabels(opts)),
    images: (resolution, onProgress) => Promise.resolve(syntheticImages(opts, resolution, onProgress)),
    // The generator version is part of the fingerprint: bump it whenever rendering or labelling changes.
    fingerprint: () => Promise.resolve(`synthetic-v1:size=${opts.size}:seed=${opts.seed}`),
  };
}
