/**
 * Image decoding and encoding on well-kept npm libraries: TIFF (utif2), JPEG (jpeg-js), PNG (pngjs).
 *
 * Decoders return packed RGB bytes; alpha is dropped, grayscale is expanded. Before decoding, each file's structure
 * is checked ({@linkcode checkImageStructure}), because the decoders are lenient: utif2 decodes a TIFF whose strips
 * run past the end of the file into partly wrong pixels without an error, and a truncated JPEG or PNG fails with a
 * message that does not say so. After decoding, the pixel count must match the image's size.
 *
 * @module
 */
import UTIF from "utif2";
import jpeg from "jpeg-js";
// @ts-types="@types/pngjs"
import { PNG } from "pngjs";
import { Buffer } from "node:buffer";

/** A decoded image: packed `height × width × 3` RGB bytes. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
}

/** File extensions albench decodes. */
export const IMAGE_EXTENSIONS = [".tif", ".tiff", ".jpg", ".jpeg", ".png"] as const;

function rgbaToRgb(rgba: Uint8Array, width: number, height: number): Uint8Array {
  const n = width * height;
  if (rgba.length < n * 4) throw new Error(`expected ${n * 4} RGBA bytes, got ${rgba.length}`);
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgb[i * 3] = rgba[i * 4]!;
    rgb[i * 3 + 1] = rgba[i * 4 + 1]!;
    rgb[i * 3 + 2] = rgba[i * 4 + 2]!;
  }
  return rgb;
}

const TIFF_TYPE_BYTES: Record<number, number> = {
  1: 1,
  2: 1,
  3: 2,
  4: 4,
  5: 8,
  6: 1,
  7: 1,
  8: 2,
  9: 4,
  10: 8,
  11: 4,
  12: 8,
  13: 4,
  16: 8,
  17: 8,
  18: 8,
};

/** Tags whose values point at further image directories: SubIFDs, EXIF, GPS, interoperability. */
const TIFF_SUB_IFD_TAGS = [330, 34665, 34853, 40965];
const SUB_IFD_NAMES: Record<number, string> = {
  34665: "the EXIF directory",
  34853: "the GPS directory",
  40965: "the interoperability directory",
};

/**
 * Check a TIFF's structure: header; every image directory (IFD) of the main chain and every sub-directory it
 * points at (SubIFDs, EXIF, GPS, interoperability), with every tag value, inside the file; every strip or tile
 * (offset + byte count) inside the file; for uncompressed strips of the main chain, that they hold all the rows.
 * Classic and BigTIFF, either byte order. Throws saying what is wrong.
 */
function checkTiff(bytes: Uint8Array): void {
  const len = bytes.length;
  if (len < 8) throw new Error(`truncated: ${len} bytes, shorter than a TIFF header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const order = String.fromCharCode(bytes[0]!, bytes[1]!);
  if (order !== "II" && order !== "MM") throw new Error("not a TIFF file (no II/MM byte-order mark)");
  const le = order === "II";
  const u16 = (o: number) => dv.getUint16(o, le);
  const u32 = (o: number) => dv.getUint32(o, le);
  const u64 = (o: number) => Number(dv.getBigUint64(o, le));
  const magic = u16(2);
  if (magic !== 42 && magic !== 43) throw new Error(`not a TIFF file (version ${magic}, expected 42 or 43)`);
  const big = magic === 43;
  if (big && len < 16) throw new Error(`truncated: ${len} bytes, shorter than a BigTIFF header`);
  const offSize = big ? 8 : 4, countBytes = big ? 8 : 2, entryBytes = big ? 20 : 12;
  const off = (o: number) => (big ? u64(o) : u32(o));
  const seen = new Set<number>();
  /** Directories to check: offset, name for errors, whether it is in the main chain. */
  const queue: [number, string, boolean][] = [[big ? u64(8) : u32(4), "the first image directory", true]];
  for (let mainIndex = 1; queue.length;) {
    const [ifdAt, which, main] = queue.shift()!;
    if (seen.has(ifdAt) || seen.size >= 1000) throw new Error("image directories form a loop");
    seen.add(ifdAt);
    if (ifdAt + countBytes > len) {
      throw new Error(`truncated: ${which} starts at byte ${ifdAt}, past the end of the file (${len} bytes)`);
    }
    const count = big ? u64(ifdAt) : u16(ifdAt);
    const end = ifdAt + countBytes + count * entryBytes + offSize;
    if (end > len) {
      throw new Error(`truncated: ${which} (${count} entries) ends at byte ${end}, the file has ${len}`);
    }
    const tags = new Map<number, number[]>();
    for (let k = 0; k < count; k++) {
      const e = ifdAt + countBytes + k * entryBytes;
      const tag = u16(e), type = u16(e + 2), n = big ? u64(e + 4) : u32(e + 4);
      const size = TIFF_TYPE_BYTES[type];
      if (size === undefined) continue; // unknown types are skipped, as the TIFF specification asks
      const total = size * n;
      const at = total <= offSize ? e + 4 + offSize : off(e + 4 + offSize);
      if (at + total > len) {
        throw new Error(
          `truncated: ${which}: tag ${tag}'s ${n} values (${total} bytes at byte ${at}) run past the end of ` +
            `the file (${len} bytes)`,
        );
      }
      if ([256, 257, 258, 259, 277, 284, 273, 279, 324, 325, ...TIFF_SUB_IFD_TAGS].includes(tag)) {
        const read = (i: number): number =>
          size === 1
            ? bytes[at + i]!
            : size === 2
            ? u16(at + 2 * i)
            : size === 4
            ? u32(at + 4 * i)
            : u64(at + 8 * i);
        tags.set(tag, Array.from({ length: Math.min(n, 1 << 20) }, (_, i) => read(i)));
      }
    }
    for (const tag of TIFF_SUB_IFD_TAGS) {
      for (const [k, at] of (tags.get(tag) ?? []).entries()) {
        const name = tag === 330 ? `sub-image directory ${k + 1}` : SUB_IFD_NAMES[tag]!;
        if (at !== 0) queue.push([at, `${name} of ${which}`, false]);
      }
    }
    const next = off(ifdAt + countBytes + count * entryBytes);
    if (main && next !== 0) queue.push([next, `image directory ${++mainIndex}`, true]);
    const [offsets, counts, what] = tags.has(273)
      ? [tags.get(273)!, tags.get(279), "strip"]
      : [tags.get(324), tags.get(325), "tile"];
    if (!main && !offsets) continue; // an EXIF or GPS directory holds no pixels
    const width = tags.get(256)?.[0] ?? 0, height = tags.get(257)?.[0] ?? 0;
    if (!(width > 0 && height > 0)) throw new Error(`${which} has no image width and height`);
    checkMegapixels(width, height);
    if (!offsets || !counts) throw new Error(`${which} has no strip or tile offsets and byte counts`);
    if (offsets.length !== counts.length) {
      throw new Error(`${which} has ${offsets.length} ${what} offsets but ${counts.length} byte counts`);
    }
    for (let i = 0; i < offsets.length; i++) {
      if (offsets[i]! + counts[i]! > len) {
        throw new Error(
          `truncated: ${what} ${i + 1} of ${offsets.length} (bytes ${offsets[i]}..${
            offsets[i]! + counts[i]!
          }) runs past the end of the file (${len} bytes)`,
        );
      }
    }
    const compression = tags.get(259)?.[0] ?? 1, planar = tags.get(284)?.[0] ?? 1;
    if (main && what === "strip" && compression === 1 && planar === 1) {
      const spp = tags.get(277)?.[0] ?? 1;
      const bps = tags.get(258) ?? [1];
      const bitsPerPixel = bps.length >= spp ? bps.slice(0, spp).reduce((a, b) => a + b, 0) : spp * bps[0]!;
      const need = height * Math.ceil((width * bitsPerPixel) / 8);
      const have = counts.reduce((a, b) => a + b, 0);
      if (have < need) {
        throw new Error(
          `truncated: the uncompressed strips hold ${have} bytes, a ${width}x${height} image needs ${need}`,
        );
      }
    }
  }
}

/** The largest image decoded, in pixels (jpeg-js's own default limit): a bigger one is refused before decoding. */
export const MAX_PIXELS = 100_000_000;

function checkMegapixels(width: number, height: number): void {
  if (width * height > MAX_PIXELS) {
    throw new Error(`the image is ${width}x${height}, over the ${MAX_PIXELS / 1e6}-megapixel limit`);
  }
}

/** Check a PNG's chunk structure: signature, IHDR first, every chunk inside the file, up to IEND. */
function checkPng(bytes: Uint8Array): void {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 8 || sig.some((b, i) => bytes[i] !== b)) {
    throw new Error("not a PNG file (no PNG signature)");
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 8, first = true;; first = false) {
    if (at + 8 > bytes.length) {
      throw new Error(`truncated: the file ends at byte ${bytes.length} before the IEND chunk`);
    }
    const length = dv.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (first && type !== "IHDR") throw new Error(`the first chunk is ${JSON.stringify(type)}, not IHDR`);
    if (first && length >= 8 && at + 16 <= bytes.length) {
      checkMegapixels(dv.getUint32(at + 8), dv.getUint32(at + 12));
    }
    const end = at + 12 + length;
    if (end > bytes.length) {
      throw new Error(
        `truncated: chunk ${type} at byte ${at} needs ${
          12 + length
        } bytes, the file ends at byte ${bytes.length}`,
      );
    }
    if (type === "IEND") return;
    at = end;
  }
}

/** Check a JPEG's marker structure: SOI, every segment inside the file, entropy-coded data up to EOI. */
function checkJpeg(bytes: Uint8Array): void {
  const len = bytes.length;
  if (len < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new Error("not a JPEG file (no SOI marker)");
  let at = 2;
  const ended = () => new Error(`truncated: the file ends at byte ${len} before the end-of-image marker`);
  while (true) {
    if (at >= len) throw ended();
    if (bytes[at] !== 0xff) throw new Error(`no JPEG marker at byte ${at}`);
    while (at < len && bytes[at] === 0xff) at++; // fill bytes
    if (at >= len) throw ended();
    const marker = bytes[at++]!;
    if (marker === 0xd9) return; // EOI
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // no length
    if (at + 2 > len) throw ended();
    const length = (bytes[at]! << 8) | bytes[at + 1]!;
    if (length < 2) throw new Error(`segment 0xFF${marker.toString(16).toUpperCase()} has length ${length}`);
    if (at + length > len) {
      throw new Error(
        `truncated: segment 0xFF${marker.toString(16).toUpperCase()} at byte ${
          at - 2
        } needs ${length} bytes, the file ends at byte ${len}`,
      );
    }
    at += length;
    if (marker === 0xda) {
      // Entropy-coded data: up to the next marker that is neither a stuffed 0x00 nor a restart marker.
      while (true) {
        const ff = bytes.indexOf(0xff, at);
        if (ff < 0 || ff + 1 >= len) throw ended();
        const next = bytes[ff + 1]!;
        if (next === 0x00 || next === 0xff || (next >= 0xd0 && next <= 0xd7)) {
          at = ff + (next === 0xff ? 1 : 2);
          continue;
        }
        at = ff;
        break;
      }
    }
  }
}

/**
 * Check an image file's structure by its extension, without decoding its pixels: a TIFF's directories, tags and
 * strips or tiles lie inside the file; a PNG's chunks run to IEND; a JPEG's segments and scan run to its
 * end-of-image marker. Throws saying what is wrong (for example `truncated: strip 1 of 1 (bytes 8..776) runs past
 * the end of the file (400 bytes)`). {@linkcode decodeImage} runs it first.
 *
 * @example
 * ```ts
 * import { checkImageStructure, encodeTiff } from "./codecs.ts";
 * const tif = encodeTiff({ width: 4, height: 4, rgb: new Uint8Array(48) });
 * checkImageStructure(tif, "x.tif");
 * let threw = false;
 * try { checkImageStructure(tif.subarray(0, tif.length - 1), "x.tif"); } catch { threw = true; }
 * console.assert(threw);
 * ```
 */
export function checkImageStructure(bytes: Uint8Array, name: string): void {
  const ext = name.slice(name.lastIndexOf(".")).toLowerCase();
  if (!(IMAGE_EXTENSIONS as readonly string[]).includes(ext)) return; // decodeImage names the extension
  if (bytes.length === 0) throw new Error("empty file (0 bytes)");
  switch (ext) {
    case ".tif":
    case ".tiff":
      return checkTiff(bytes);
    case ".png":
      return checkPng(bytes);
    case ".jpg":
    case ".jpeg":
      return checkJpeg(bytes);
  }
}

function checkSize(width: number, height: number, rgba: Uint8Array): void {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new Error(`decoded to an invalid size ${width}x${height}`);
  }
  if (rgba.length !== width * height * 4) {
    throw new Error(
      `decoded ${rgba.length} RGBA bytes, a ${width}x${height} image has ${width * height * 4}`,
    );
  }
}

/**
 * Decode an image by its file name's extension. Throws naming the file and the problem.
 *
 * @example
 * ```ts
 * import { decodeImage, encodePng } from "./codecs.ts";
 * const png = encodePng({ width: 1, height: 1, rgb: new Uint8Array([1, 2, 3]) });
 * console.assert(decodeImage(png, "x.png").rgb.join() === "1,2,3");
 * ```
 */
export function decodeImage(bytes: Uint8Array, name: string): RgbImage {
  const ext = name.slice(name.lastIndexOf(".")).toLowerCase();
  try {
    checkImageStructure(bytes, name);
    switch (ext) {
      case ".tif":
      case ".tiff": {
        const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
        const ifds = UTIF.decode(buf);
        const ifd = ifds[0];
        if (!ifd) throw new Error("no image directory in TIFF");
        // Colour models the decoder cannot turn into RGB here (its CMYK path needs a browser's canvas).
        const photometric = ((ifd as Record<string, unknown>).t262 as number[] | undefined)?.[0];
        const unsupported: Record<number, string> = {
          5: "CMYK",
          8: "CIE L*a*b*",
          9: "ICC L*a*b*",
          10: "ITU L*a*b*",
        };
        if (photometric !== undefined && unsupported[photometric]) {
          throw new Error(
            `a ${
              unsupported[photometric]
            } TIFF (photometric interpretation ${photometric}); albench reads RGB, ` +
              "grey and palette TIFFs: convert it to RGB (e.g. `magick in.tif -colorspace sRGB out.tif`)",
          );
        }
        UTIF.decodeImage(buf, ifd);
        let rgba: Uint8Array;
        try {
          rgba = UTIF.toRGBA8(ifd);
        } catch (e) {
          // A decoder path that needs a browser (`window`, `document`): say what the file is, not what is missing.
          if (e instanceof ReferenceError) {
            throw new Error(
              `a TIFF whose colour model the decoder cannot convert here (photometric interpretation ${photometric}); ` +
                "convert it to an RGB TIFF or a PNG",
            );
          }
          throw e;
        }
        checkSize(ifd.width, ifd.height, rgba);
        return { width: ifd.width, height: ifd.height, rgb: rgbaToRgb(rgba, ifd.width, ifd.height) };
      }
      case ".jpg":
      case ".jpeg": {
        const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
        checkSize(img.width, img.height, img.data);
        return { width: img.width, height: img.height, rgb: rgbaToRgb(img.data, img.width, img.height) };
      }
      case ".png": {
        const img = PNG.sync.read(Buffer.from(bytes));
        checkSize(
          img.width,
          img.height,
          new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.length),
        );
        return {
          width: img.width,
          height: img.height,
          rgb: rgbaToRgb(new Uint8Array(img.data), img.width, img.height),
        };
      }
      default:
        throw new Error(
          `unsupported extension ${JSON.stringify(ext)}; expected one of ${IMAGE_EXTENSIONS.join(", ")}`,
        );
    }
  } catch (e) {
    throw new Error(`cannot decode ${name}: ${(e as Error).message}`, { cause: e });
  }
}

function rgbToRgba(img: RgbImage): Uint8Array {
  const n = img.width * img.height;
  const rgba = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    rgba[i * 4] = img.rgb[i * 3]!;
    rgba[i * 4 + 1] = img.rgb[i * 3 + 1]!;
    rgba[i * 4 + 2] = img.rgb[i * 3 + 2]!;
    rgba[i * 4 + 3] = 255;
  }
  return rgba;
}

/**
 * Encode RGB bytes as PNG.
 *
 * @example
 * ```ts
 * import { encodePng } from "./codecs.ts";
 * const png = encodePng({ width: 2, height: 1, rgb: new Uint8Array(6) });
 * console.assert(png[1] === 0x50); // "P" of the PNG signature
 * ```
 */
export function encodePng(img: RgbImage): Uint8Array {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(rgbToRgba(img));
  return new Uint8Array(PNG.sync.write(png));
}

/**
 * Encode RGB bytes as baseline JPEG (quality 0–100).
 *
 * @example
 * ```ts
 * import { encodeJpeg } from "./codecs.ts";
 * console.assert(encodeJpeg({ width: 8, height: 8, rgb: new Uint8Array(192) }, 90)[0] === 0xff);
 * ```
 */
export function encodeJpeg(img: RgbImage, quality = 95): Uint8Array {
  const out = jpeg.encode({ data: rgbToRgba(img), width: img.width, height: img.height }, quality);
  return new Uint8Array(out.data);
}

/**
 * Encode RGB bytes as an uncompressed RGBA TIFF (utif2's encoder; used by tests to make fixtures).
 *
 * @example
 * ```ts
 * import { encodeTiff } from "./codecs.ts";
 * const tif = encodeTiff({ width: 1, height: 1, rgb: new Uint8Array([9, 8, 7]) });
 * console.assert(tif[0] === 0x4d || tif[0] === 0x49); // "MM" or "II"
 * ```
 */
export function encodeTiff(img: RgbImage): Uint8Array {
  return new Uint8Array(UTIF.encodeImage(rgbToRgba(img), img.width, img.height));
}
