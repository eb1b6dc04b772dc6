/**
 * Image decoding and encoding on well-kept npm libraries: TIFF (utif2), JPEG (jpeg-js), PNG (pngjs).
 *
 * Decoders return packed RGB bytes; alpha is dropped, grayscale is expanded.
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
    switch (ext) {
      case ".tif":
      case ".tiff": {
        const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
        const ifds = UTIF.decode(buf);
        const ifd = ifds[0];
        if (!ifd) throw new Error("no image directory in TIFF");
        UTIF.decodeImage(buf, ifd);
        return {
          width: ifd.width,
          height: ifd.height,
          rgb: rgbaToRgb(UTIF.toRGBA8(ifd), ifd.width, ifd.height),
        };
      }
      case ".jpg":
      case ".jpeg": {
        const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
        return { width: img.width, height: img.height, rgb: rgbaToRgb(img.data, img.width, img.height) };
      }
      case ".png": {
        const img = PNG.sync.read(Buffer.from(bytes));
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
    throw new Error(`cannot decode ${name}: ${(e as Error).message}`);
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
