/**
 * The native backend: tfjs's `cpu` backend whose large float32 outputs come from a pool of recycled arrays.
 *
 * A DenseNet step allocates thousands of multi-megabyte outputs; fresh typed arrays cost page faults, zeroing and
 * garbage collections triggered by external memory, which measured more than the oneDNN kernels themselves. An
 * array is recycled only when it is certain that nothing else can see it:
 * - it was allocated by {@linkcode NativeBackend.alloc} (never an array a caller handed to `tf.tensor`);
 * - no tensor data entry refers to its buffer any more (every entry is counted, whichever kernel made it,
 *   including views such as `cpu`'s zero-copy `Slice`);
 * - it was never returned by `readSync`/`read` (`dataSync()` hands out the backend's own array).
 *
 * @module
 */
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";

/** Arrays shorter than this are not pooled (allocation is cheap for them). */
const MIN_POOLED = 1 << 14;
/** Most bytes kept in the pool by default. */
const MAX_POOLED_BYTES = 1 << 30;

interface Entry {
  values?: unknown;
}

/** tfjs `cpu` storage with pooled float32 outputs for the native kernels. */
export class NativeBackend extends MathBackendCPU {
  readonly #free = new Map<number, Float32Array[]>();
  /** Every free array, oldest first (the eviction order when the pool is full). */
  readonly #age = new Set<Float32Array>();
  #freeBytes = 0;
  readonly #owned = new WeakSet<ArrayBufferLike>();
  readonly #exposed = new WeakSet<ArrayBufferLike>();
  readonly #refs = new Map<ArrayBufferLike, number>();

  readonly #maxPooled: number;

  /** `maxPooledBytes`: most bytes of free arrays kept (default 1 GiB); the oldest go first beyond it. */
  constructor(maxPooledBytes: number = MAX_POOLED_BYTES) {
    super();
    this.#maxPooled = maxPooledBytes;
    const data = this.data as unknown as {
      set(id: object, v: Entry): void;
      delete(id: object): boolean;
      has(id: object): boolean;
      get(id: object): Entry | undefined;
    };
    const set = data.set.bind(data), del = data.delete.bind(data);
    data.set = (id, v) => {
      if (data.has(id)) this.#release(data.get(id));
      this.#retain(v);
      set(id, v);
    };
    data.delete = (id) => {
      const v = data.has(id) ? data.get(id) : undefined;
      const r = del(id);
      this.#release(v);
      return r;
    };
  }

  /** A float32 array of `n` elements, recycled when one is free. Its contents are arbitrary: write all of it. */
  alloc(n: number): Float32Array {
    if (n < MIN_POOLED) return new Float32Array(n);
    const list = this.#free.get(n);
    const a = list?.pop();
    if (a) {
      this.#age.delete(a);
      this.#freeBytes -= a.byteLength;
      return a;
    }
    const fresh = new Float32Array(n);
    this.#owned.add(fresh.buffer);
    return fresh;
  }

  /** Return an array from {@linkcode NativeBackend.alloc} that no tensor holds (a kernel's temporary). */
  recycle(a: Float32Array): void {
    if (this.#owned.has(a.buffer) && !this.#refs.has(a.buffer)) this.#release({ values: a }, true);
  }

  /** Bytes held by free arrays. */
  get pooledBytes(): number {
    return this.#freeBytes;
  }

  override readSync(dataId: object): ReturnType<MathBackendCPU["readSync"]> {
    const v = (this.data.get(dataId) as Entry | undefined)?.values;
    if (ArrayBuffer.isView(v)) this.#exposed.add(v.buffer);
    return super.readSync(dataId);
  }

  #retain(entry: Entry | undefined): void {
    const v = entry?.values;
    if (!ArrayBuffer.isView(v) || !this.#owned.has(v.buffer)) return;
    this.#refs.set(v.buffer, (this.#refs.get(v.buffer) ?? 0) + 1);
  }

  #release(entry: Entry | undefined, unheld = false): void {
    const v = entry?.values;
    if (!ArrayBuffer.isView(v) || !this.#owned.has(v.buffer)) return;
    const left = unheld ? 0 : (this.#refs.get(v.buffer) ?? 1) - 1;
    if (left > 0) {
      this.#refs.set(v.buffer, left);
      return;
    }
    this.#refs.delete(v.buffer);
    if (this.#exposed.has(v.buffer) || v.buffer.byteLength > this.#maxPooled) return;
    // Full: the arrays freed longest ago go first. A phase that used other sizes (BYOL's batch before
    // fine-tuning's) would otherwise fill the pool with arrays nothing asks for again, and every later
    // allocation would be fresh (measured: fine-tuning after in-process BYOL 1.4x slower).
    for (const old of this.#age) {
      if (this.#freeBytes + v.buffer.byteLength <= this.#maxPooled) break;
      this.#age.delete(old);
      // Within one size the oldest free array is the first (arrays are pushed and popped at the end).
      this.#free.get(old.length)!.shift();
      this.#freeBytes -= old.byteLength;
    }
    const whole = new Float32Array(v.buffer);
    const list = this.#free.get(whole.length);
    if (list) list.push(whole);
    else this.#free.set(whole.length, [whole]);
    this.#age.add(whole);
    this.#freeBytes += whole.byteLength;
  }
}
