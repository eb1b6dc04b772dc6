import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend/backend.ts";
import { nativeThreads } from "../src/backend/native.ts";
import { NativeBackend } from "../src/backend/native/backend.ts";
import { Rng } from "../src/rng.ts";
import { syntheticImages, syntheticLabels } from "../src/data/synthetic.ts";
import { buildBackbone } from "../src/model/backbones.ts";
import { withHead } from "../src/model/classifier.ts";
import { finetune } from "../src/train/finetune.ts";
import { createHash } from "node:crypto";
import { nativeUnavailable } from "./native_available.ts";

const missing = nativeUnavailable();
const skip = missing !== undefined;
const why = skip ? ` (skipped: ${missing})` : "";

Deno.test("native: ALBENCH_NATIVE_THREADS must be a whole number from 1 to 1024", () => {
  assert.equal(nativeThreads("2"), 2);
  assert.equal(nativeThreads(""), Math.max(1, navigator.hardwareConcurrency));
  for (const bad of ["0", "-1", "1.5", "two", "2000"]) {
    assert.throws(
      () => nativeThreads(bad),
      new RegExp(`ALBENCH_NATIVE_THREADS="${bad}" is not a whole number of threads from 1 to 1024`),
    );
  }
});

async function run(code: string, env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

const backendUrl = new URL("../src/backend/backend.ts", import.meta.url).href;

Deno.test("native: without oneDNN, --backend native names the fix and auto falls back to wasm saying why", async () => {
  const env = { ALBENCH_DNNL_LIB: "/nonexistent/libdnnl.so.2" };
  const explicit = await run(
    `import { initBackend } from "${backendUrl}"; await initBackend("native");`,
    env,
  );
  assert.notEqual(explicit.code, 0);
  assert.match(
    explicit.stderr,
    /native backend: oneDNN 2\.x could not be loaded \(\/nonexistent\/libdnnl\.so\.2: /,
  );
  assert.match(explicit.stderr, /apt-get install libdnnl2/);
  const auto = await run(
    `import { initBackend } from "${backendUrl}"; const i = await initBackend("auto"); ` +
      `console.log(JSON.stringify({ name: i.name, skipped: i.skipped }));`,
    env,
  );
  assert.equal(auto.code, 0, auto.stderr);
  const info = JSON.parse(auto.stdout) as { name: string; skipped: string[] };
  assert.equal(info.name, "wasm");
  assert.ok(info.skipped.some((s) => s.startsWith("native: native backend: oneDNN 2.x could not be loaded")));
});

Deno.test("native: a library that is not oneDNN 2.x is refused by name", async () => {
  const fake = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"]
    .map((d) => `${d}/libgomp.so.1`).find((f) => {
      try {
        return Deno.statSync(f).isFile;
      } catch {
        return false;
      }
    });
  if (!fake) return; // nothing to stand in for a foreign library
  const r = await run(`import { initBackend } from "${backendUrl}"; await initBackend("native");`, {
    ALBENCH_DNNL_LIB: fake,
  });
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    // Not "oneDNN 3.x" (issue #25): the library says what it is, or that it is not oneDNN at all.
    new RegExp(
      `native backend: oneDNN 2\\.x could not be loaded \\(${fake} is not a oneDNN library: it has no dnnl_version\\)`,
    ),
  );
  assert.ok(r.stderr.includes(fake), r.stderr);
});

Deno.test({
  name: `native: the engine records oneDNN's version, instruction set and threads${why}`,
  ignore: skip,
  fn: async () => {
    const info = await initBackend("native");
    try {
      assert.equal(info.tfjsBackend, "native");
      assert.equal(info.threads, nativeThreads(Deno.env.get("ALBENCH_NATIVE_THREADS")));
      assert.match(info.detail, /^oneDNN 2(\.\d+)* [a-z0-9_]+, \d+ OpenMP threads? \(\/usr\//);
    } finally {
      await tf.setBackend("cpu");
    }
  },
});

Deno.test({
  name: `native: arrays handed out by dataSync or viewed by a slice are never recycled${why}`,
  ignore: skip,
  fn: async () => {
    await initBackend("native");
    try {
      const n = 1 << 16;
      const x = tf.tensor1d(Float32Array.from({ length: n }, (_, i) => i - n / 2));
      const y = tf.relu(x);
      const held = y.dataSync() as Float32Array;
      const copy = held.slice();
      const view = tf.slice(tf.relu(tf.neg(x)), [0], [8]); // cpu's zero-copy slice of a pooled array
      const viewCopy = (await view.data()).slice();
      tf.dispose([y]);
      const backend = tf.backend() as NativeBackend;
      const before = backend.pooledBytes;
      tf.dispose(tf.relu(x)); // never read: its array goes back to the pool
      assert.equal(backend.pooledBytes, before + 4 * n, "an unread output is recycled");
      // Churn: many outputs of the same size, which would reuse a recycled array.
      for (let k = 0; k < 8; k++) tf.tidy(() => tf.relu(tf.add(x, tf.scalar(k))).dataSync());
      for (let k = 0; k < 8; k++) tf.dispose(tf.relu(tf.sub(x, x)));
      assert.deepEqual(held, copy);
      assert.deepEqual(await view.data(), viewCopy);
      tf.dispose([x, view]);
    } finally {
      await tf.setBackend("cpu");
    }
  },
});

async function trainDigest(backend: "native" | "cpu", res: number, size: number) {
  await initBackend(backend);
  try {
    const images = syntheticImages({ size }, res), table = syntheticLabels({ size });
    const model = withHead(buildBackbone("densenet-cpu", res, Rng.root(3)), 17, Rng.root(3));
    const recipe = {
      epochs: 2,
      lr: 0.05,
      momentum: 0.9,
      weightDecay: 0,
      decayEpochs: [],
      decayFactor: 0.1,
      augment: { flip: true, rot90: true },
      batchSize: 10,
    };
    await finetune(model, images, table, Array.from({ length: size }, (_, i) => i), recipe, Rng.root(4));
    const weights = [...model.backbone.weights, ...model.head.weights].map((w) => w.read());
    const values = await Promise.all(weights.map((w) => w.data() as Promise<Float32Array>));
    model.backbone.dispose();
    model.head.dispose();
    const h = createHash("sha256");
    for (const v of values) h.update(new Uint8Array(v.slice().buffer));
    return { digest: h.digest("hex"), values };
  } finally {
    await tf.setBackend("cpu");
  }
}

Deno.test({
  name: `native: the same seed gives bit-identical weights, run twice in one process${why}`,
  ignore: skip,
  fn: async () => {
    const a = await trainDigest("native", 16, 20);
    const b = await trainDigest("native", 16, 20);
    assert.equal(a.digest, b.digest);
  },
});

Deno.test({
  name: `native: fine-tuning follows the cpu reference backend (relative weight difference < 1e-3)${why}`,
  ignore: skip,
  fn: async () => {
    // 8 px keeps the pure-JS reference fast; every DenseNet kernel still runs (the last block at 2x2).
    const n = await trainDigest("native", 8, 10);
    const c = await trainDigest("cpu", 8, 10);
    assert.equal(n.values.length, c.values.length);
    let diff = 0, scale = 0;
    n.values.forEach((v, i) => {
      const r = c.values[i]!;
      for (let k = 0; k < v.length; k++) {
        diff = Math.max(diff, Math.abs(v[k]! - r[k]!));
        scale = Math.max(scale, Math.abs(r[k]!));
      }
    });
    assert.ok(diff / scale < 1e-3, `relative difference ${diff / scale}`);
    assert.notEqual(n.digest, c.digest, "native is not the cpu backend under another name");
  },
});

Deno.test("native pool: when full, the arrays freed longest ago make room; one larger than the pool is not kept", () => {
  const kib64 = 1 << 14, kib128 = 1 << 15; // float32 elements
  const pool = new NativeBackend(3 * 4 * kib64); // room for three 64 KiB arrays
  const [a1, a2, a3] = [pool.alloc(kib64), pool.alloc(kib64), pool.alloc(kib64)];
  for (const a of [a1!, a2!, a3!]) pool.recycle(a);
  assert.equal(pool.pooledBytes, 3 * 4 * kib64);
  const b = pool.alloc(kib128);
  // The pool hands out views of the same buffers: compare buffers.
  const buf = (a: Float32Array) => a.buffer;
  assert.ok(![a1!, a2!, a3!].map(buf).includes(buf(b)), "no free array of that size: a fresh one");
  pool.recycle(b);
  // a1 and a2 (the oldest) were dropped for b; a3 and b remain.
  assert.equal(pool.pooledBytes, 4 * kib64 + 4 * kib128);
  assert.equal(buf(pool.alloc(kib64)), buf(a3!));
  const fresh = buf(pool.alloc(kib64));
  assert.ok(fresh !== buf(a1!) && fresh !== buf(a2!), "a1 and a2 are gone");
  assert.equal(buf(pool.alloc(kib128)), buf(b));
  assert.equal(pool.pooledBytes, 0);
  const huge = pool.alloc(4 * kib128);
  pool.recycle(huge);
  assert.equal(pool.pooledBytes, 0, "larger than the whole pool: not kept");
  pool.dispose();
});

Deno.test("native: every oneDNN 2.x descriptor call is in describe.ts, the file a 3.x binding replaces (issue #27.4)", async () => {
  const { DESCRIBE_SYMBOLS } = await import("../src/backend/native/describe.ts");
  const names = Object.keys(DESCRIBE_SYMBOLS);
  assert.ok(names.includes("dnnl_primitive_desc_create") && names.includes("dnnl_memory_desc_init_by_tag"));
  const dir = new URL("../src/backend/", import.meta.url).pathname;
  const files = ["native.ts", ...[...Deno.readDirSync(`${dir}native`)].map((e) => `native/${e.name}`)];
  const offenders: string[] = [];
  for (const f of files.filter((f) => f.endsWith(".ts") && f !== "native/describe.ts")) {
    const text = await Deno.readTextFile(`${dir}${f}`);
    for (const name of names) if (new RegExp(`\\b${name}\\b`).test(text)) offenders.push(`${f}: ${name}`);
    // The 2.x-only API by its names, in case a symbol is bound again elsewhere.
    for (const m of text.matchAll(/\bdnnl_\w*_desc_init\w*|\bdnnl_primitive_desc_create\b/g)) {
      offenders.push(`${f}: ${m[0]}`);
    }
  }
  assert.deepEqual(offenders, [], "oneDNN 2.x descriptor calls outside src/backend/native/describe.ts");
});
