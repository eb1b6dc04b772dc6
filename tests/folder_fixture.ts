/**
 * Tiny `folder` dataset fixtures written by tests: solid-colour images in nested folders, mixed formats, and a
 * label CSV in either form. Each image's colour is derived from its index, so tests can check that a row's image
 * is the one it names.
 */
import { encodeJpeg, encodePng, encodeTiff, type RgbImage } from "../src/data/codecs.ts";

export const FIXTURE_CLASSES = ["field", "road", "trees", "water"] as const;

/** A solid-colour image. */
export function solid(w: number, h: number, rgb: readonly [number, number, number]): RgbImage {
  const px = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) px.set(rgb, i * 3);
  return { width: w, height: h, rgb: px };
}

/** One fixture image. */
export interface FixtureImage {
  /** Path relative to the root. */
  readonly path: string;
  /** The name its row uses. */
  readonly name: string;
  readonly rgb: readonly [number, number, number];
  readonly positives: readonly string[];
}

/** The colour of image `i` (distinct, away from the ends of the range so JPEG error stays small). */
export function fixtureColour(i: number): [number, number, number] {
  return [20 + (i * 37) % 200, 20 + (i * 91) % 200, 20 + (i * 53) % 200];
}

/**
 * Write a folder dataset of `n` images (16×16; PNG, with every fifth a JPEG and every seventh a TIFF when `mixed`)
 * in nested folders `region-<k>/tile-<m>/`, labelled with the 4 fixture classes (each class positive on a
 * pattern that gives it positives and co-occurrences), and its CSV (`columns` or `list` form). Names are the
 * paths without extension for even rows and bare file names for odd rows.
 */
export async function writeFolderFixture(
  root: string,
  opts: { n?: number; form?: "columns" | "list"; mixed?: boolean; labels?: string } = {},
): Promise<FixtureImage[]> {
  const n = opts.n ?? 12;
  const images: FixtureImage[] = [];
  for (let i = 0; i < n; i++) {
    const dir = `region-${i % 3}/tile-${i % 2}`;
    const ext = opts.mixed && i % 7 === 3 ? "tif" : opts.mixed && i % 5 === 1 ? "jpg" : "png";
    const file = `img${String(i).padStart(3, "0")}.${ext}`;
    const rgb = fixtureColour(i);
    const img = solid(16, 16, rgb);
    const bytes = ext === "png" ? encodePng(img) : ext === "jpg" ? encodeJpeg(img, 95) : encodeTiff(img);
    await Deno.mkdir(`${root}/${dir}`, { recursive: true });
    await Deno.writeFile(`${root}/${dir}/${file}`, bytes);
    const positives = FIXTURE_CLASSES.filter((_, j) => (i + j) % 3 === 0 || (j === 3 && i % 4 === 1));
    const name = i % 2 === 0 ? `${dir}/${file.slice(0, file.lastIndexOf("."))}` : file;
    images.push({ path: `${dir}/${file}`, name, rgb, positives });
  }
  const lines = opts.form === "list"
    ? ["name,labels", ...images.map((im) => `${im.name},${im.positives.join(";")}`)]
    : [
      `name,${FIXTURE_CLASSES.join(",")}`,
      ...images.map((im) =>
        `${im.name},${FIXTURE_CLASSES.map((c) => im.positives.includes(c) ? 1 : 0).join(",")}`
      ),
    ];
  await Deno.writeTextFile(`${root}/${opts.labels ?? "labels.csv"}`, lines.join("\r\n") + "\r\n");
  return images;
}
