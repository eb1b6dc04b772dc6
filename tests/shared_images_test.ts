/**
 * Worker threads read the main thread's pixels (issue #26.8): `RunContext.sharedImages` moves each image table into
 * shared memory once, and a context given those tables (as a worker's is) uses them instead of loading its own.
 */
import assert from "node:assert/strict";
import { loadScenarioFile } from "../src/scenario/load.ts";
import { RunContext } from "../src/runner/cells.ts";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("runner: sharedImages moves each image table into shared memory once; a context given them reads those", async () => {
  const cacheDir = await Deno.makeTempDir({ prefix: "albench-shared-images-" });
  const scenarios = await loadScenarioFile(`${ROOT}scenarios/ci/repro.json`);
  const options = { cacheDir, backendName: "cpu", environment: {}, emit: () => {} };
  const main = new RunContext(options);
  const before = await main.images(scenarios[0]!);
  assert.ok(!(before.pixels.buffer instanceof SharedArrayBuffer), "a loaded table is ordinary memory");
  const shared = await main.sharedImages([...scenarios, ...scenarios]);
  assert.equal(shared.size, 1, "one table per dataset and resolution, however many scenarios use it");
  const [table] = [...shared.values()];
  assert.ok(table!.pixels.buffer instanceof SharedArrayBuffer);
  assert.deepEqual(table!.pixels, before.pixels, "the same bytes");
  assert.equal(table!.resolution, before.resolution);
  assert.equal(await main.images(scenarios[0]!), table, "the main thread uses the shared table from then on");
  assert.equal(await main.sharedImages(scenarios).then((m) => [...m.values()][0]), table, "moved once");
  // A worker's context: given the tables, it never loads (its cache folder does not even exist).
  const worker = new RunContext({ ...options, cacheDir: `${cacheDir}/absent`, images: shared });
  assert.equal(await worker.images(scenarios[0]!), table);
  // Structured cloning to a worker keeps the memory shared: a write through one view shows in the other.
  const { port1, port2 } = new MessageChannel();
  const received = new Promise<Map<string, { pixels: Uint8Array }>>((
    r,
  ) => (port2.onmessage = (e) => r(e.data)));
  port1.postMessage(shared);
  const copy = [...(await received).values()][0]!.pixels;
  port1.close();
  port2.close();
  const old = table!.pixels[0]!;
  copy[0] = old ^ 0xff;
  assert.equal(table!.pixels[0], old ^ 0xff, "one buffer, not a copy");
  table!.pixels[0] = old;
  await Deno.remove(cacheDir, { recursive: true });
});
