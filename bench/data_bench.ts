/**
 * Data timings: synthetic generation, and UCMerced loading cold (decode + resize) against cached.
 *
 * Run: `deno bench --allow-read --allow-write --allow-env bench/data_bench.ts` (UCMerced benches need
 * `../shared/data/ucmerced` or ALBENCH_UCMERCED=DIR). Compare the `ucmerced` group's cold and cached rows.
 */
import { syntheticImages } from "../src/data/synthetic.ts";
import { ucmercedSource } from "../src/data/ucmerced.ts";

Deno.bench({ name: "synthetic: 2100 images at 32 px", n: 3, warmup: 0 }, () => {
  syntheticImages({ size: 2100 }, 32);
});
Deno.bench({ name: "synthetic: 2100 images at 64 px", n: 1, warmup: 0 }, () => {
  syntheticImages({ size: 2100 }, 64);
});

const root = Deno.env.get("ALBENCH_UCMERCED") ??
  new URL("../../shared/data/ucmerced", import.meta.url).pathname;
const hasData = await Deno.stat(`${root}/LandUse_Multilabeled.txt`).then(() => true, () => false);
const warmCache = await Deno.makeTempDir({ prefix: "albench-bench-cache-" });
if (hasData) await ucmercedSource({ root, cacheDir: warmCache }).images(64);

Deno.bench({
  name: "ucmerced: 2100 images at 64 px, cold (decode + resize + write cache)",
  group: "ucmerced",
  baseline: true,
  n: 1,
  warmup: 0,
  ignore: !hasData,
  async fn(b) {
    const dir = await Deno.makeTempDir({ prefix: "albench-bench-cold-" });
    b.start();
    await ucmercedSource({ root, cacheDir: dir }).images(64);
    b.end();
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.bench({
  name: "ucmerced: 2100 images at 64 px, cached (hash files + read cache)",
  group: "ucmerced",
  n: 3,
  warmup: 0,
  ignore: !hasData,
  async fn() {
    await ucmercedSource({ root, cacheDir: warmCache }).images(64);
  },
});
