/**
 * Named, seeded random streams.
 *
 * Every random decision in albench comes from an {@linkcode Rng}. A root stream is made from an integer seed and
 * forked by name (`rng.fork("split")`, `rng.fork("al/iter-3/query")`). A fork's numbers depend only on the root
 * seed and the fork's path, never on how many numbers the parent or a sibling has drawn, so adding a new consumer
 * never shifts anybody else's numbers.
 *
 * The generator is Alea (from `seedrandom`): fast, 2^116 period, and its state is four numbers that can be saved and
 * restored exactly (the runner resumes cells from saved stream states).
 *
 * @module
 */
// @ts-types="@types/seedrandom"
import seedrandom from "seedrandom";

/** The saved state of one stream: its path and the Alea generator state. */
export interface RngState {
  /** The stream's full path, e.g. `"7/al/iter-3/query"`. */
  readonly path: string;
  /** Alea's internal state. */
  readonly alea: { c: number; s0: number; s1: number; s2: number };
}

/**
 * A seeded random stream with a path-derived identity.
 *
 * @example Forked streams are independent of each other's use
 * ```ts
 * import { Rng } from "./rng.ts";
 * const a = Rng.root(7).fork("split");
 * const b = Rng.root(7);
 * b.fork("other").next(); // drawing elsewhere changes nothing for "split"
 * console.assert(a.next() === b.fork("split").next());
 * ```
 */
export class Rng {
  readonly #prng: seedrandom.StatefulPRNG<seedrandom.State.Alea>;
  /** The stream's full path: the root seed followed by fork names joined with `/`. */
  readonly path: string;

  private constructor(path: string, state?: RngState["alea"]) {
    this.path = path;
    this.#prng = seedrandom.alea(path, { state: state ? { ...state } : true });
  }

  /**
   * The root stream of a seed.
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * const r = Rng.root(1);
   * console.assert(r.path === "1");
   * ```
   */
  static root(seed: number): Rng {
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(`Rng.root: seed must be a safe integer, got ${seed}`);
    }
    return new Rng(String(seed));
  }

  /**
   * Restore a stream from {@linkcode Rng.state}; it continues exactly where the saved one stood.
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * const r = Rng.root(3).fork("x");
   * r.next();
   * const copy = Rng.restore(r.state());
   * console.assert(copy.next() === r.next());
   * ```
   */
  static restore(state: RngState): Rng {
    return new Rng(state.path, state.alea);
  }

  /**
   * A child stream named `name`. Names may contain `/` to express nesting (`"al/iter-3/query"` equals
   * `fork("al").fork("iter-3").fork("query")`).
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * const r = Rng.root(5);
   * console.assert(r.fork("a/b").next() === r.fork("a").fork("b").next());
   * ```
   */
  fork(name: string): Rng {
    if (name.length === 0 || name.startsWith("/") || name.endsWith("/") || name.includes("//")) {
      throw new RangeError(
        `Rng.fork: name must be non-empty path segments joined by "/", got ${JSON.stringify(name)}`,
      );
    }
    return new Rng(`${this.path}/${name}`);
  }

  /**
   * The stream's current state, for saving.
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * console.assert(Rng.root(1).state().path === "1");
   * ```
   */
  state(): RngState {
    return { path: this.path, alea: { ...this.#prng.state() } };
  }

  /**
   * A float in [0, 1) with 53 bits of randomness.
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * const x = Rng.root(1).next();
   * console.assert(x >= 0 && x < 1);
   * ```
   */
  next(): number {
    return this.#prng.double();
  }

  /**
   * An integer in [0, n).
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * const k = Rng.root(1).int(6);
   * console.assert(Number.isInteger(k) && k >= 0 && k < 6);
   * ```
   */
  int(n: number): number {
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new RangeError(`Rng.int: n must be a positive integer, got ${n}`);
    }
    return Math.floor(this.#prng.double() * n);
  }

  /**
   * An unsigned 32-bit integer, used to seed tfjs initializers and other generators.
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * const s = Rng.root(1).fork("init/conv1").seed();
   * console.assert(Number.isInteger(s) && s >= 0 && s < 2 ** 32);
   * ```
   */
  seed(): number {
    return this.#prng.int32() >>> 0;
  }

  /**
   * A standard normal draw (Box–Muller; consumes two uniforms).
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * console.assert(Number.isFinite(Rng.root(1).normal()));
   * ```
   */
  normal(mean = 0, std = 1): number {
    const u = 1 - this.#prng.double(); // (0, 1], so log is finite
    const v = this.#prng.double();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /**
   * Shuffle `items` in place (Fisher–Yates) and return it.
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * const xs = Rng.root(1).shuffle([1, 2, 3, 4]);
   * console.assert([...xs].sort().join() === "1,2,3,4");
   * ```
   */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.#prng.double() * (i + 1));
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /**
   * `k` distinct items drawn uniformly without replacement, in draw order. The input is not modified.
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * const s = Rng.root(1).sample(["a", "b", "c", "d"], 2);
   * console.assert(s.length === 2 && s[0] !== s[1]);
   * ```
   */
  sample<T>(items: readonly T[], k: number): T[] {
    if (!Number.isSafeInteger(k) || k < 0 || k > items.length) {
      throw new RangeError(`Rng.sample: k must be an integer in [0, ${items.length}], got ${k}`);
    }
    // Partial Fisher–Yates over an index array: O(n) memory, O(k) swaps.
    const idx = Array.from(items.keys());
    const out: T[] = [];
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.#prng.double() * (idx.length - i));
      const tmp = idx[i] as number;
      idx[i] = idx[j] as number;
      idx[j] = tmp;
      out.push(items[idx[i] as number] as T);
    }
    return out;
  }

  /**
   * One item drawn uniformly.
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * console.assert(["x", "y"].includes(Rng.root(1).choice(["x", "y"])));
   * ```
   */
  choice<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Rng.choice: cannot choose from an empty list");
    return items[this.int(items.length)] as T;
  }
}
