/**
 * The dataset conformance suite: properties every {@linkcode DatasetSource} must have, whatever it reads (the
 * generated `synthetic` archive, UCMerced, a `folder` of one's own, or a new kind).
 *
 * 1. Its label table is well formed: at least one sample and one class; ids non-empty and unique; class names
 *    non-empty and unique; labels a `Uint8Array` of `N × C` values, each 0 or 1; every class has a positive.
 * 2. `kind` is a non-empty string and `fingerprint()` a non-empty string, the same on every call.
 * 3. `images(r)` gives, for each resolution asked, an {@linkcode ImageTable} of that resolution holding exactly
 *    `N × r × r × 3` bytes (RGB, 0–255, in the label table's id order), not all images alike; progress reports,
 *    if any, count up to `N`.
 * 4. Two sources opened separately (a second load: another process, or an empty cache) give identical ids, class
 *    names, labels, fingerprints and pixels.
 * 5. Ids, labels and images are aligned: for samples whose truth is known (`known`), their labels and their mean
 *    colour match, wherever the sample sits in the table.
 *
 * @module
 */
import type { DatasetSource, ImageTable, LabelTable } from "./dataset.ts";

/** A sample whose truth is known: for checking that ids, labels and images are aligned. */
export interface KnownSample {
  /** Its sample id. */
  readonly id: string;
  /** Its positive classes (every other class must be 0). */
  readonly positives?: readonly string[];
  /** Its mean RGB colour at any resolution, within `tolerance` (default 4) per channel. */
  readonly meanRgb?: readonly [number, number, number];
  /** Allowed difference per channel of the mean colour (default 4). */
  readonly tolerance?: number;
}

/** Options of the suite. */
export interface DatasetConformanceOptions {
  /** Resolutions to load (default `[8, 12]`). */
  readonly resolutions?: readonly number[];
  /** Samples whose labels and colour are known. */
  readonly known?: readonly KnownSample[];
  /** Require every class to have a positive (default true). */
  readonly everyClassPositive?: boolean;
}

/** One named property check. */
export interface DatasetCheck {
  /** What the check asserts. */
  readonly name: string;
  /** Runs it; rejects with a message naming the dataset when the property does not hold. */
  readonly run: () => Promise<void>;
}

/**
 * Check a label table's shape; throws naming the first problem.
 *
 * @example
 * ```ts
 * import { checkLabelTableShape } from "./conformance.ts";
 * checkLabelTableShape({ ids: ["a", "b"], classNames: ["x"], labels: new Uint8Array([1, 0]) }, true);
 * ```
 */
export function checkLabelTableShape(t: LabelTable, everyClassPositive = true): void {
  if (!Array.isArray(t.ids) || !Array.isArray(t.classNames)) {
    throw new Error("ids and classNames must be arrays");
  }
  if (!(t.labels instanceof Uint8Array)) throw new Error("labels must be a Uint8Array");
  const n = t.ids.length, c = t.classNames.length;
  if (n === 0) throw new Error("the label table has no samples");
  if (c === 0) throw new Error("the label table has no classes");
  const ids = new Set<string>();
  t.ids.forEach((id, i) => {
    if (typeof id !== "string" || id === "") throw new Error(`ids[${i}] is not a non-empty string`);
    if (ids.has(id)) throw new Error(`ids[${i}] ${JSON.stringify(id)} repeats an earlier id`);
    ids.add(id);
  });
  const classes = new Set<string>();
  t.classNames.forEach((name, j) => {
    if (typeof name !== "string" || name.trim() === "") {
      throw new Error(`classNames[${j}] is not a non-empty string`);
    }
    if (classes.has(name)) {
      throw new Error(`classNames[${j}] ${JSON.stringify(name)} repeats an earlier class`);
    }
    classes.add(name);
  });
  if (t.labels.length !== n * c) throw new Error(`labels hold ${t.labels.length} values, not ${n} x ${c}`);
  const positives = new Array<number>(c).fill(0);
  for (let k = 0; k < n * c; k++) {
    const v = t.labels[k]!;
    if (v !== 0 && v !== 1) {
      throw new Error(`label of ${t.ids[Math.floor(k / c)]} / ${t.classNames[k % c]} is ${v}, not 0 or 1`);
    }
    positives[k % c]! += v;
  }
  if (everyClassPositive) {
    const empty = t.classNames.filter((_, j) => positives[j] === 0);
    if (empty.length) throw new Error(`classes without a positive: ${empty.join(", ")}`);
  }
}

/**
 * Check an image table against a label table and the resolution asked for; throws naming the problem.
 *
 * @example
 * ```ts
 * import { checkImageTable } from "./conformance.ts";
 * checkImageTable({ resolution: 1, pixels: new Uint8Array([0, 0, 0, 9, 9, 9]) }, 2, 1);
 * ```
 */
export function checkImageTable(img: ImageTable, n: number, resolution: number): void {
  if (img.resolution !== resolution) throw new Error(`asked for ${resolution} px, got ${img.resolution} px`);
  if (!(img.pixels instanceof Uint8Array)) throw new Error("pixels must be a Uint8Array (RGB bytes, 0-255)");
  const per = resolution * resolution * 3;
  if (img.pixels.length !== n * per) {
    throw new Error(
      `${n} images at ${resolution} px need ${n * per} bytes (N x R x R x 3), got ${img.pixels.length}`,
    );
  }
  if (n > 1) {
    const first = img.pixels.subarray(0, per);
    let differs = false;
    for (let i = 1; i < n && !differs; i++) {
      const other = img.pixels.subarray(i * per, (i + 1) * per);
      differs = other.some((v, k) => v !== first[k]);
    }
    if (!differs) throw new Error(`all ${n} images are identical`);
  }
}

function meanRgb(img: ImageTable, i: number): [number, number, number] {
  const per = img.resolution * img.resolution;
  const sum = [0, 0, 0];
  for (let p = 0; p < per; p++) {
    for (let ch = 0; ch < 3; ch++) sum[ch]! += img.pixels[(i * per + p) * 3 + ch]!;
  }
  return [sum[0]! / per, sum[1]! / per, sum[2]! / per];
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, k) => v === b[k]);

/**
 * The suite's checks as plain functions that throw on a violation. `open` makes a fresh source each call (the
 * determinism check opens two).
 *
 * @example
 * ```ts
 * import { datasetConformanceChecks } from "./conformance.ts";
 * import { syntheticSource } from "./synthetic.ts";
 * for (const c of datasetConformanceChecks(() => syntheticSource({ size: 42 }), { everyClassPositive: false })) {
 *   await c.run();
 * }
 * ```
 */
export function datasetConformanceChecks(
  open: () => DatasetSource,
  opts: DatasetConformanceOptions = {},
): DatasetCheck[] {
  const resolutions = opts.resolutions ?? [8, 12];
  let first: DatasetSource | undefined;
  const source = () => first ??= open();
  const images = new Map<number, Promise<{ table: ImageTable; progress: [number, number][] }>>();
  const load = (r: number) => {
    if (!images.has(r)) {
      images.set(
        r,
        (async () => {
          const progress: [number, number][] = [];
          const table = await source().images(r, (done, total) => progress.push([done, total]));
          return { table, progress };
        })(),
      );
    }
    return images.get(r)!;
  };
  return [
    {
      name: "label table: samples and classes, unique non-empty ids and class names, N x C labels of 0/1",
      run: async () => checkLabelTableShape(await source().labels(), opts.everyClassPositive ?? true),
    },
    {
      name: "kind and fingerprint are non-empty strings; the fingerprint is stable",
      run: async () => {
        const src = source();
        if (typeof src.kind !== "string" || src.kind === "") {
          throw new Error("kind is not a non-empty string");
        }
        const a = await src.fingerprint(), b = await src.fingerprint();
        if (typeof a !== "string" || a === "") throw new Error("fingerprint() is not a non-empty string");
        if (a !== b) throw new Error(`fingerprint() changed between calls: ${a} then ${b}`);
      },
    },
    {
      name: `images at ${
        resolutions.join(" and ")
      } px: N x R x R x 3 RGB bytes in id order, progress up to N`,
      run: async () => {
        const n = (await source().labels()).ids.length;
        for (const r of resolutions) {
          const { table, progress } = await load(r);
          checkImageTable(table, n, r);
          let last = 0;
          for (const [done, total] of progress) {
            if (total !== n) throw new Error(`progress reports a total of ${total}, not ${n}`);
            if (done < last || done > n) throw new Error(`progress went from ${last} to ${done} of ${n}`);
            last = done;
          }
        }
      },
    },
    {
      name: "deterministic: a second, separately opened source gives the same labels, fingerprint and pixels",
      run: async () => {
        const a = source(), b = open();
        const [ta, tb] = [await a.labels(), await b.labels()];
        if (ta.ids.join("\n") !== tb.ids.join("\n")) throw new Error("the ids differ between two loads");
        if (ta.classNames.join("\n") !== tb.classNames.join("\n")) {
          throw new Error("the class names differ between two loads");
        }
        if (!sameBytes(ta.labels, tb.labels)) throw new Error("the labels differ between two loads");
        const [fa, fb] = [await a.fingerprint(), await b.fingerprint()];
        if (fa !== fb) throw new Error(`the fingerprints differ between two loads: ${fa} and ${fb}`);
        const r = resolutions[0]!;
        const pa = (await load(r)).table.pixels, pb = (await b.images(r)).pixels;
        if (!sameBytes(pa, pb)) throw new Error(`the pixels at ${r} px differ between two loads`);
      },
    },
    {
      name: "ids, labels and images are aligned (known samples)",
      run: async () => {
        const t = await source().labels();
        const c = t.classNames.length;
        for (const k of opts.known ?? []) {
          const i = t.ids.indexOf(k.id);
          if (i < 0) throw new Error(`the known sample ${JSON.stringify(k.id)} is not among the ids`);
          if (k.positives) {
            for (const p of k.positives) {
              if (!t.classNames.includes(p)) throw new Error(`${k.id}: ${JSON.stringify(p)} is not a class`);
            }
            const got = t.classNames.filter((_, j) => t.labels[i * c + j] === 1);
            if ([...got].sort().join() !== [...k.positives].sort().join()) {
              throw new Error(
                `${k.id}: labels ${got.join("+") || "none"}, expected ${k.positives.join("+")}`,
              );
            }
          }
          if (k.meanRgb) {
            for (const r of resolutions) {
              const m = meanRgb((await load(r)).table, i);
              const tol = k.tolerance ?? 4;
              if (m.some((v, ch) => Math.abs(v - k.meanRgb![ch]!) > tol)) {
                throw new Error(
                  `${k.id} at ${r} px: mean colour ${m.map((v) => v.toFixed(1)).join(",")}, expected ${
                    k.meanRgb.join(",")
                  }: its image is not the one its row names`,
                );
              }
            }
          }
        }
      },
    },
  ];
}

/**
 * Run the suite as test steps.
 *
 * @example
 * ```ts ignore
 * import { datasetConformance } from "./conformance.ts";
 * Deno.test("my dataset", (t) => datasetConformance(() => mySource(), t));
 * ```
 */
export async function datasetConformance(
  open: () => DatasetSource,
  t: Deno.TestContext,
  opts: DatasetConformanceOptions = {},
): Promise<void> {
  for (const check of datasetConformanceChecks(open, opts)) await t.step(check.name, check.run);
}
