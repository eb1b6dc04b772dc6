/**
 * The Python bridge: a query plug-in written in Python (`my_query.py` defining `select`, see
 * docs/query-functions.md) runs in a long-lived Python process of its own, one per plug-in (and module text) per
 * thread, started on first use and reused for every round.
 *
 * The process is `python_host.py` (beside this file) under `ALBENCH_PYTHON`, else `python3`, with a cleared
 * environment (only `PATH`, `HOME`, `LANG` and the OpenBLAS settings this machine's NumPy may need are passed on,
 * plus `PYTHONHASHSEED=0`, no bytecode files, and one BLAS/OpenMP thread so a selection is the same on every
 * run). The host imports the plug-in once and answers each `select` in a child forked from it, in a fresh
 * temporary working folder, so no state survives from one call to the next, and a crash or exit inside the
 * plug-in fails that call, not the run.
 *
 * Requests and answers travel as framed messages on the process's own standard input and output, which the host
 * duplicates before the plug-in is imported (the plug-in's `print`s land on standard error, which is shown here,
 * capped). Arrays cross as raw little-endian bytes, never as text: arrays of 1 MiB and more in files under
 * `.cache/python-exchange/` that the host maps copy-on-write (kept per process from call to call, removed when it
 * ends), smaller ones (or all, where that folder may not be written) in the frame itself, read with
 * `numpy.frombuffer`.
 * When a call is abandoned (its `signal` aborts: a time limit) the process is killed, and the next call starts a
 * new one; when this thread ends, the host sees its input close and exits, ending a running call with it.
 *
 * Python cannot be sandboxed the way a Deno worker is: a Python plug-in runs with the user's rights. What it can
 * touch is listed in docs/query-functions.md.
 *
 * @module
 */
import { createHash } from "node:crypto";
import {
  declaredNeeds,
  type ModelOutput,
  type ModelView,
  type OptionSpec,
  type QueryFunction,
  type QueryInput,
  type QueryResult,
} from "../al/query.ts";
import { checkCodeUnchanged, type CodeIdentity, codeIdentity, pinCode } from "./code_hash.ts";
import { pluginReadScope } from "./sandbox.ts";

/** Seconds the Python process may take to import the plug-in and describe it. */
export const PYTHON_LOAD_TIMEOUT_SECONDS = 60;

/** Bytes of a plug-in's standard output and error shown per call before the rest is counted, not shown. */
export const PYTHON_OUTPUT_SHOWN_BYTES = 64 * 1024;

/** A Python plug-in as described by its module: what `query --help` shows and runs check. */
export interface PythonDescription {
  readonly name: string;
  /** The module docstring's first line. */
  readonly description: string;
  /** The whole module docstring. */
  readonly doc: string;
  readonly needs: readonly ModelOutput[];
  readonly needsLabelled: boolean;
  readonly optionSchema?: Readonly<Record<string, OptionSpec>>;
}

/**
 * The interpreter the bridge starts: `ALBENCH_PYTHON`, else `python3`.
 *
 * @example
 * ```ts
 * import { pythonInterpreter } from "./python.ts";
 * console.assert(pythonInterpreter() === (Deno.env.get("ALBENCH_PYTHON") || "python3"));
 * ```
 */
export function pythonInterpreter(): string {
  try {
    return Deno.env.get("ALBENCH_PYTHON") || "python3";
  } catch {
    return "python3";
  }
}

function envOrUndefined(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * The environment a Python plug-in runs with: nothing of this process's but `PATH`, `HOME` and the OpenBLAS
 * settings, plus albench's own fixed settings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pythonEnvironment } from "./python.ts";
 * const env = pythonEnvironment({ PATH: "/usr/bin", SECRET_TOKEN: "x" });
 * assert.equal(env.PATH, "/usr/bin");
 * assert.equal(env.SECRET_TOKEN, undefined);
 * assert.equal(env.PYTHONHASHSEED, "0");
 * ```
 */
export function pythonEnvironment(
  from: Readonly<Record<string, string | undefined>> = {
    PATH: envOrUndefined("PATH"),
    HOME: envOrUndefined("HOME"),
    OPENBLAS_CORETYPE: envOrUndefined("OPENBLAS_CORETYPE"),
    OPENBLAS_L2_SIZE: envOrUndefined("OPENBLAS_L2_SIZE"),
  },
): Record<string, string> {
  const env: Record<string, string> = {
    LANG: "C.UTF-8",
    PYTHONHASHSEED: "0",
    PYTHONDONTWRITEBYTECODE: "1",
    PYTHONUNBUFFERED: "1",
    PYTHONIOENCODING: "utf-8",
    OMP_NUM_THREADS: "1",
    OPENBLAS_NUM_THREADS: "1",
    MKL_NUM_THREADS: "1",
  };
  for (const key of ["PATH", "HOME", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]) {
    const v = from[key];
    if (v !== undefined) env[key] = v;
  }
  return env;
}

/** One decoded frame: its JSON header and the raw bytes of the arrays it announced. */
interface Frame {
  readonly header: Record<string, unknown>;
  readonly blobs: Map<string, Uint8Array>;
}

/** Reads exact byte counts from a stream of chunks. */
class ByteReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }
  /** `n` bytes, or null when the stream ended first. */
  async read(n: number): Promise<Uint8Array | null> {
    while (this.#buffered < n) {
      const { value, done } = await this.#reader.read();
      if (done) return null;
      this.#chunks.push(value);
      this.#buffered += value.byteLength;
    }
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const c = this.#chunks[0]!;
      const take = Math.min(c.byteLength, n - off);
      out.set(c.subarray(0, take), off);
      off += take;
      if (take === c.byteLength) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(take);
    }
    this.#buffered -= n;
    return out;
  }
  cancel(): void {
    this.#reader.cancel().catch(() => {});
  }
}

async function readFrame(r: ByteReader): Promise<Frame | null> {
  const head = await r.read(4);
  if (!head) return null;
  const size = new DataView(head.buffer).getUint32(0, true);
  const text = await r.read(size);
  if (!text) return null;
  const header = JSON.parse(new TextDecoder().decode(text)) as Record<string, unknown>;
  const blobs = new Map<string, Uint8Array>();
  for (const b of (header.blobs ?? []) as { key: string; bytes: number }[]) {
    const data = await r.read(b.bytes);
    if (!data) return null;
    blobs.set(b.key, data);
  }
  return { header, blobs };
}

/** An array left in a file for the host to map (listed in the header, no bytes in the frame). */
interface FileBlob {
  readonly key: string;
  readonly file: string;
  readonly bytes: number;
}

/**
 * One frame as the chunks to write: the 4-byte little-endian header length, the JSON header (with `blobs` listing
 * first the arrays left in `files`, then each inline array's key and byte length) and the inline arrays' own
 * bytes, uncopied.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeFrame } from "./python.ts";
 * const parts = encodeFrame({ op: "x" }, [["a", new Float32Array([1, 2])]], [{ key: "f", file: "/x/f", bytes: 4 }]);
 * const size = new DataView(parts[0]!.buffer).getUint32(0, true);
 * assert.deepEqual(JSON.parse(new TextDecoder().decode(parts[0]!.subarray(4, 4 + size))),
 *   { op: "x", blobs: [{ key: "f", file: "/x/f", bytes: 4 }, { key: "a", bytes: 8 }] });
 * assert.equal(parts.length, 2);
 * assert.equal(parts[1]!.byteLength, 8);
 * ```
 */
export function encodeFrame(
  header: Record<string, unknown>,
  blobs: readonly (readonly [string, ArrayBufferView])[] = [],
  files: readonly FileBlob[] = [],
): Uint8Array[] {
  const text = new TextEncoder().encode(
    JSON.stringify({
      ...header,
      blobs: [...files, ...blobs.map(([key, b]) => ({ key, bytes: b.byteLength }))],
    }),
  );
  const head = new Uint8Array(4 + text.byteLength);
  new DataView(head.buffer).setUint32(0, text.byteLength, true);
  head.set(text, 4);
  return [head, ...blobs.map(([, b]) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength))];
}

/** The project's folder for the files that carry arrays to Python processes. */
const EXCHANGE_FOLDER = new URL("../../.cache/python-exchange", import.meta.url);

/**
 * Where arrays are handed over in files: the project's `.cache/python-exchange/`, when this process may write
 * there (Deno refuses `/dev/shm` to anything short of `--allow-all`); null otherwise, and arrays then travel in
 * the pipe.
 */
function exchangeFolder(): string | null {
  if (EXCHANGE_FOLDER.protocol !== "file:") return null;
  const path = decodeURIComponent(EXCHANGE_FOLDER.pathname);
  try {
    if (Deno.permissions.querySync({ name: "write", path }).state !== "granted") return null;
    Deno.mkdirSync(path, { recursive: true });
    return path;
  } catch {
    return null;
  }
}

/** Write `data` over the file at `path` (created when missing) and cut it to that length. */
async function overwrite(path: string, data: Uint8Array): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true, mode: 0o600 });
  try {
    for (let off = 0; off < data.byteLength;) off += await f.write(data.subarray(off));
    await f.truncate(data.byteLength);
  } finally {
    f.close();
  }
}

/**
 * A request's frame: small arrays travel in the frame; large ones, where the exchange folder may be written, in
 * the process's exchange files there, which the host maps (Deno's pipes carry about 200 MB/s; a write over a
 * file's pages already in the page cache a few GB/s, which is why each process keeps its files from call to call).
 * Returns the chunks to write.
 */
async function requestParts(
  proc: PythonProcess,
  header: Record<string, unknown>,
  blobs: readonly (readonly [string, ArrayBufferView])[],
): Promise<Uint8Array[]> {
  const inline: (readonly [string, ArrayBufferView])[] = [];
  const files: FileBlob[] = [];
  for (const [key, b] of blobs) {
    const file = b.byteLength < FILE_EXCHANGE_BYTES ? null : proc.exchangeFile(key);
    if (file === null) {
      inline.push([key, b]);
      continue;
    }
    await overwrite(file, new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    files.push({ key, file, bytes: b.byteLength });
  }
  return encodeFrame(header, inline, files);
}

/** Arrays at least this large go through an exchange file instead of the pipe (when one may be written). */
const FILE_EXCHANGE_BYTES = 1 << 20;

/** A Python failure: the message and, for an exception, its traceback's last lines. */
function pythonError(h: Record<string, unknown>): string {
  const message = String(h.message ?? "failed");
  const tb = typeof h.traceback === "string" && h.traceback
    ? `\nPython traceback (last lines):\n${h.traceback}`
    : "";
  const type = typeof h.type === "string" && h.type && !message.startsWith(h.type) ? `${h.type}: ` : "";
  return `${type}${message}${tb}`;
}

/** A running Python host for one plug-in. */
class PythonProcess {
  readonly #child: Deno.ChildProcess;
  readonly #out: ByteReader;
  readonly #in: WritableStreamDefaultWriter<Uint8Array>;
  #tail = "";
  #shown = 0;
  #hidden = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #dead = false;
  readonly #id = crypto.randomUUID();
  /** The process's folder (exchange files, working folders), or null where none may be written here. */
  readonly #root: string | null;
  #exited = false;
  readonly python: string;

  constructor(python: string, modulePath: string) {
    this.python = python;
    const host = new URL("./python_host.py", import.meta.url);
    if (host.protocol !== "file:") {
      throw new Error(`the Python bridge needs albench on the local disk; it was loaded from ${host.href}`);
    }
    const folder = exchangeFolder();
    this.#root = folder === null ? null : `${folder}/${this.#id}`;
    this.#child = new Deno.Command(python, {
      args: [decodeURIComponent(host.pathname), modulePath, ...(this.#root ? [this.#root] : [])],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
      env: pythonEnvironment(),
      cwd: "/",
    }).spawn();
    this.#child.unref();
    this.#child.status.then(() => (this.#exited = true), () => (this.#exited = true));
    this.#out = new ByteReader(this.#child.stdout);
    this.#in = this.#child.stdin.getWriter();
    this.#pumpStderr();
  }

  async #pumpStderr(): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of this.#child.stderr) {
        const text = decoder.decode(chunk, { stream: true });
        this.#tail = (this.#tail + text).slice(-4000);
        const room = PYTHON_OUTPUT_SHOWN_BYTES - this.#shown;
        if (room > 0) {
          const part = chunk.subarray(0, room);
          this.#shown += part.byteLength;
          await Deno.stderr.write(part).catch(() => {});
          if (part.byteLength < chunk.byteLength) this.#hidden += chunk.byteLength - part.byteLength;
        } else {
          this.#hidden += chunk.byteLength;
        }
      }
    } catch {
      // The process was killed.
    }
  }

  /** The plug-in's output not shown since the last call, said once. */
  #flushHidden(): void {
    if (this.#hidden > 0) {
      console.error(
        `(${this.#hidden} more bytes of the Python plug-in's output were not shown; ` +
          `albench shows at most ${PYTHON_OUTPUT_SHOWN_BYTES} bytes a call)`,
      );
    }
    this.#shown = 0;
    this.#hidden = 0;
  }

  /** Why the process ended, with its last words on standard error. */
  async #ended(): Promise<string> {
    this.#dead = true;
    let status: Deno.CommandStatus | undefined;
    try {
      status = await Promise.race([
        this.#child.status,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000)),
      ]);
    } catch {
      status = undefined;
    }
    await new Promise((r) => setTimeout(r, 50));
    // A host that closed its output but runs on, or died by itself, is stopped and its folder removed all the same.
    this.kill();
    const how = status
      ? status.signal ? `it was ended by ${status.signal}` : `it exited with code ${status.code}`
      : "it closed its output";
    const tail = this.#tail.trim().split("\n").slice(-12).join("\n");
    return `the Python process (${this.python}) ended before answering: ${how}${
      tail ? `; its last output:\n${tail}` : ""
    }`;
  }

  /** The first frame: the plug-in's description, or why it does not load. */
  async hello(): Promise<Frame> {
    // While a call is in flight the process keeps this one alive; between calls it does not (unref), so a
    // command ends when its work does.
    this.#child.ref();
    try {
      const frame = await readFrame(this.#out);
      if (!frame) throw new Error(await this.#ended());
      return frame;
    } finally {
      this.#unref();
    }
  }

  #unref(): void {
    try {
      this.#child.unref();
    } catch {
      // Already gone.
    }
  }

  /**
   * The file that carries the array `key` to this process, the same one call after call (its pages stay in the
   * page cache), or null where arrays go in the pipe. Removed with the process's folder when it ends.
   */
  exchangeFile(key: string): string | null {
    return this.#root === null ? null : `${this.#root}/${key}`;
  }

  /** One request (its chunks made once the calls before it are over) and its answer; calls wait for each other. */
  request(parts: () => Promise<Uint8Array[]>, signal?: AbortSignal): Promise<Frame> {
    const run = this.#queue.then(async () => {
      if (this.#dead) throw new Error("the Python process was stopped");
      signal?.throwIfAborted();
      const onAbort = () => this.kill();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#child.ref();
      try {
        for (const p of await parts()) await this.#in.write(p);
        const frame = await readFrame(this.#out);
        if (!frame) throw new Error(await this.#ended());
        return frame;
      } catch (e) {
        if (signal?.aborted) {
          throw new Error("the call was abandoned (time limit), so its Python process was stopped");
        }
        if (!this.#dead) throw new Error(await this.#ended(), { cause: e });
        throw e;
      } finally {
        signal?.removeEventListener("abort", onAbort);
        this.#unref();
        this.#flushHidden();
      }
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  get dead(): boolean {
    return this.#dead;
  }

  /**
   * Stop the process: its input closes, so the host ends a running call (its whole process group) and removes its
   * folder, then exits; a host that has not gone within two seconds is killed. The folder is removed here too.
   */
  kill(): void {
    this.#dead = true;
    if (!this.#exited) {
      this.#in.close().catch(() => {});
      const timer = setTimeout(() => {
        try {
          if (!this.#exited) this.#child.kill("SIGKILL");
        } catch {
          // Already gone.
        }
      }, 2000);
      Deno.unrefTimer(timer);
    }
    this.#out.cancel();
    if (this.#root) {
      try {
        Deno.removeSync(this.#root, { recursive: true });
      } catch {
        // Never made, or the host removed it.
      }
    }
  }
}

/** Running hosts of this thread by interpreter, module path and module text. */
const processes = new Map<string, Promise<{ proc: PythonProcess; description: PythonDescription }>>();

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function spawnError(e: unknown, python: string): Error {
  if (e instanceof Deno.errors.NotFound) {
    return new Error(
      `no Python interpreter ${JSON.stringify(python)} was found${
        python === "python3" ? " on PATH" : " (ALBENCH_PYTHON)"
      }: install Python 3 with NumPy (apt-get install python3-numpy) or set ALBENCH_PYTHON to its path`,
    );
  }
  if (e instanceof Deno.errors.NotCapable) {
    return new Error(
      `this command may not start ${python}: the tasks start Python only as python3 or /usr/bin/python3 (their ` +
        `--allow-run in deno.json); to use ALBENCH_PYTHON=${python}, run the task's command with deno run and ` +
        `--allow-run=${python} (docs/permissions.md)`,
    );
  }
  return new Error(`could not start ${python}: ${(e as Error).message ?? String(e)}`, { cause: e });
}

function toDescription(h: Record<string, unknown>): PythonDescription {
  const doc = String(h.doc ?? "");
  return {
    name: String(h.name),
    description: doc.split("\n")[0]?.trim() || "(no module docstring)",
    doc,
    needs: (h.needs as ModelOutput[]) ?? ["probs", "features"],
    needsLabelled: h.needsLabelled === true,
    ...(h.optionSchema ? { optionSchema: h.optionSchema as Record<string, OptionSpec> } : {}),
  };
}

async function start(
  python: string,
  path: string,
): Promise<{ proc: PythonProcess; description: PythonDescription }> {
  let proc: PythonProcess;
  try {
    proc = new PythonProcess(python, path);
  } catch (e) {
    throw spawnError(e, python);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const frame = await Promise.race([
      proc.hello(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          proc.kill();
          reject(
            new Error(
              `it did not finish loading within ${PYTHON_LOAD_TIMEOUT_SECONDS} s, so its Python process was stopped`,
            ),
          );
        }, PYTHON_LOAD_TIMEOUT_SECONDS * 1000);
      }),
    ]);
    if (frame.header.ok !== true) {
      proc.kill();
      throw new Error(pythonError(frame.header));
    }
    return { proc, description: toDescription(frame.header) };
  } catch (e) {
    proc.kill();
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** The running host for a module, started when there is none (or the last one was stopped). */
function host(path: string): Promise<{ proc: PythonProcess; description: PythonDescription }> {
  const python = pythonInterpreter();
  const key = `${python}\0${path}\0${sha256(Deno.readFileSync(path))}`;
  const running = processes.get(key);
  if (running) {
    return running.then((h) => (h.proc.dead ? (processes.delete(key), host(path)) : h));
  }
  const started = start(python, path);
  processes.set(key, started);
  started.catch(() => processes.delete(key));
  return started;
}

/**
 * Import a Python plug-in (in its own Python process) and return its description; throws with the reason (the
 * Python traceback's last lines for an exception) when it does not load.
 *
 * @example
 * ```ts ignore
 * import { describePythonPlugin } from "./python.ts";
 * const d = await describePythonPlugin("/home/me/plugins/my_query.py");
 * ```
 */
export async function describePythonPlugin(path: string): Promise<PythonDescription> {
  return (await host(path)).description;
}

/**
 * Stop every Python process this thread started (they also end by themselves when this thread ends).
 *
 * @example
 * ```ts
 * import { stopPythonPlugins } from "./python.ts";
 * stopPythonPlugins(); // nothing started: nothing to stop
 * ```
 */
export function stopPythonPlugins(): void {
  for (const p of processes.values()) p.then((h) => h.proc.kill(), () => {});
  processes.clear();
}

function wire(
  prefix: string,
  v: ModelView,
  needs: ReadonlySet<ModelOutput>,
  numClasses: number,
  featureDim: number,
  blobs: [string, ArrayBufferView][],
): Record<string, unknown> {
  if (needs.has("probs")) blobs.push([`${prefix}.probs`, v.probs]);
  if (needs.has("features")) blobs.push([`${prefix}.features`, v.features]);
  return { ids: v.ids, widths: { probs: numClasses, features: featureDim } };
}

/**
 * The QueryFunction that stands for a Python plug-in: its description, and a `select` that hands the input to the
 * plug-in's Python process. Errors name the plug-in (`label`) and carry the Python traceback's last lines.
 *
 * @example
 * ```ts ignore
 * import { describePythonPlugin, pythonQuery } from "./python.ts";
 * const path = "/home/me/plugins/my_query.py";
 * const fn = pythonQuery(path, await describePythonPlugin(path), "./my_query.py");
 * ```
 */
export function pythonQuery(
  path: string,
  d: PythonDescription,
  label: string,
  code: CodeIdentity = codeIdentity(pluginReadScope(path)[0]!, path),
): QueryFunction {
  const scope = pluginReadScope(path)[0]!;
  const fn: QueryFunction = {
    name: d.name,
    description: d.description,
    ...(d.doc ? { doc: d.doc } : {}),
    needs: d.needs,
    needsLabelled: d.needsLabelled,
    ...(d.optionSchema ? { optionSchema: d.optionSchema } : {}),
    select: async (input: QueryInput): Promise<QueryResult> => {
      const fail = (message: string) => new Error(`query plug-in ${d.name} (${label}): ${message}`);
      try {
        checkCodeUnchanged(scope, path, code);
      } catch (e) {
        throw fail((e as Error).message);
      }
      const needs = declaredNeeds(fn);
      const blobs: [string, ArrayBufferView][] = [];
      const header = {
        op: "select",
        budget: input.budget,
        seed: input.rng.seed(),
        options: { ...input.options },
        unlabelled: wire("unlabelled", input.unlabelled, needs, input.numClasses, input.featureDim, blobs),
        labelled: d.needsLabelled && input.labelled
          ? wire("labelled", input.labelled, needs, input.numClasses, input.featureDim, blobs)
          : null,
      };
      let frame: Frame;
      try {
        const { proc } = await host(path);
        frame = await proc.request(() => requestParts(proc, header, blobs), input.signal);
      } catch (e) {
        throw fail((e as Error).message);
      }
      if (frame.header.ok !== true) throw fail(pythonError(frame.header));
      const selected = frame.header.selected as string[];
      const raw = frame.blobs.get("scores");
      if (!raw) return { selected };
      const values = new Float64Array(raw.buffer, raw.byteOffset, raw.byteLength / 8);
      const scores: Record<string, number> = {};
      input.unlabelled.ids.forEach((id, i) => {
        const v = values[i]!;
        if (!Number.isFinite(v)) {
          throw fail(
            `its scores[${i}] (id ${
              JSON.stringify(id)
            }) is ${v}; scores must be finite numbers (fix the score, ` +
              "e.g. numpy.nan_to_num, or return the ids alone)",
          );
        }
        scores[id] = v;
      });
      return { selected, scores };
    },
  };
  return pinCode(Object.freeze(fn), code);
}
