/**
 * The process a query plug-in's sandbox worker lives in (see `sandbox.ts`): one per load or call, started by the
 * calling thread with a bounded JavaScript heap, so that a plug-in that exhausts its memory, or crashes V8, ends
 * this process and fails its call, never the run. It reads one request frame from stdin (8-byte little-endian
 * length, then the V8-serialised `{ request, readScope }`), starts the sandbox worker with the plug-in's read scope
 * and nothing else, and writes the worker's answer to stdout as one frame after {@linkcode REPLY_MARK}; then it
 * exits. When stdin ends before that (the caller was stopped), it exits at once.
 *
 * @module
 */
import v8 from "node:v8";
import type { SandboxReply, SandboxRequest } from "./sandbox_worker.ts";

/** The bytes before a reply frame on stdout (a plug-in can write to stdout too; the last frame counts). */
export const REPLY_MARK = "\0albench-sandbox-reply\0";

/** One frame: 8-byte little-endian length, then the bytes. */
export function frame(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + bytes.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(bytes.length), true);
  out.set(bytes, 8);
  return out;
}

async function main() {
  const reader = Deno.stdin.readable.getReader();
  let held = new Uint8Array(0);
  const readExactly = async (n: number): Promise<Uint8Array> => {
    while (held.length < n) {
      const { value, done } = await reader.read();
      if (done) Deno.exit(70); // the caller went away before sending a whole request
      const next = new Uint8Array(held.length + value.length);
      next.set(held);
      next.set(value, held.length);
      held = next;
    }
    const out = held.slice(0, n);
    held = held.slice(n);
    return out;
  };
  const length = Number(new DataView((await readExactly(8)).buffer).getBigUint64(0, true));
  const { request, readScope } = v8.deserialize(await readExactly(length)) as {
    request: SandboxRequest;
    readScope: string[];
  };
  // The caller keeps stdin open while it waits: its end means the caller was stopped, so this process stops too.
  (async () => {
    while (!(await reader.read()).done) { /* nothing more is sent */ }
    Deno.exit(70);
  })();
  const answer = async (reply: SandboxReply | { kind: "crashed"; message: string }) => {
    const bytes = new Uint8Array(v8.serialize(reply));
    const mark = new TextEncoder().encode(REPLY_MARK);
    const out = new Uint8Array(mark.length + 8 + bytes.length);
    out.set(mark);
    out.set(frame(bytes), mark.length);
    let written = 0;
    while (written < out.length) written += await Deno.stdout.write(out.subarray(written));
    Deno.exit(0);
  };
  const worker = new Worker(new URL("./sandbox_worker.ts", import.meta.url), {
    type: "module",
    deno: {
      permissions: {
        read: readScope,
        write: false,
        net: false,
        env: false,
        run: false,
        ffi: false,
        sys: false,
        import: false,
      },
    },
  });
  worker.onmessage = (e: MessageEvent<SandboxReply>) => answer(e.data);
  worker.onerror = (e) => {
    e.preventDefault();
    answer({ kind: "crashed", message: e.message ?? String(e) });
  };
  worker.onmessageerror = () => answer({ kind: "crashed", message: "its answer could not be read" });
  worker.postMessage(request);
}

if (import.meta.main) await main();
