/**
 * Rendering Vega-Lite specs headlessly: SVG through vega's own renderer, PNG through resvg (WebAssembly, with the
 * DejaVu Sans font shipped by an npm package, so text renders the same everywhere and nothing is fetched).
 *
 * @module
 */
import * as vega from "vega";
import * as vl from "vega-lite";
import { initWasm, Resvg } from "@resvg/resvg-wasm";
import type { VegaLiteSpec } from "./specs.ts";

let resvgReady: Promise<void> | undefined;
let font: Uint8Array | undefined;

async function ensureResvg(): Promise<Uint8Array> {
  resvgReady ??= (async () => {
    await initWasm(
      await Deno.readFile(new URL("../../node_modules/@resvg/resvg-wasm/index_bg.wasm", import.meta.url)),
    );
  })();
  await resvgReady;
  font ??= await Deno.readFile(
    new URL("../../node_modules/dejavu-fonts-ttf/ttf/DejaVuSans.ttf", import.meta.url),
  );
  return font;
}

/**
 * Compile and render a Vega-Lite spec to SVG text.
 *
 * @example
 * ```ts
 * import { renderSvg } from "./render.ts";
 * const svg = await renderSvg({ data: { values: [{ x: 1 }] }, mark: "point", encoding: { x: { field: "x", type: "quantitative" } } });
 * console.assert(svg.startsWith("<svg"));
 * ```
 */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const compiled = vl.compile(spec as unknown as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/**
 * Rasterise SVG text to PNG bytes at `scale`.
 *
 * @example
 * ```ts ignore
 * import { svgToPng } from "./render.ts";
 * const png = await svgToPng(svg, 2);
 * ```
 */
export async function svgToPng(svg: string, scale = 2): Promise<Uint8Array> {
  const fontBuffer = await ensureResvg();
  const r = new Resvg(svg, {
    font: {
      fontBuffers: [fontBuffer],
      defaultFontFamily: "DejaVu Sans",
      sansSerifFamily: "DejaVu Sans",
      loadSystemFonts: false,
    },
    fitTo: { mode: "zoom", value: scale },
    background: "white",
  });
  const png = r.render().asPng();
  r.free();
  return png;
}
