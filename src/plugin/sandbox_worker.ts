/**
 * The thread a query plug-in runs in (see `sandbox.ts`): started with narrow permissions, it imports the plug-in
 * module by a computed specifier (so every file of the plug-in's module graph is checked against the thread's own
 * read permission), describes it, or runs one `select` on the input it is sent.
 *
 * @module
 */
import { Rng, type RngState } from "../rng.ts";
import { declaredNeeds, type ModelView, type QueryFunction, restrictView } from "../al/query.ts";
import { guardedInput } from "../al/guard.ts";

/** A view as it crosses threads: ids and the outputs the function declared. */
export interface WireView {
  readonly ids: string[];
  readonly probs?: Float32Array;
  readonly features?: Float32Array;
}

/** What the sandbox is asked. */
export type SandboxRequest =
  | { readonly kind: "describe"; readonly url: string }
  | {
    readonly kind: "select";
    readonly url: string;
    readonly input: {
      readonly unlabelled: WireView;
      readonly labelled?: WireView;
      readonly numClasses: number;
      readonly featureDim: number;
      readonly budget: number;
      readonly rng: RngState;
      readonly options: Record<string, unknown>;
    };
  };

/** The plain description of a plug-in (everything but `select`). */
export interface PluginDescription {
  readonly name: string;
  readonly description: string;
  readonly optionSchema?: NonNullable<QueryFunction["optionSchema"]>;
  readonly defaults?: NonNullable<QueryFunction["defaults"]>;
  readonly needsLabelled?: boolean;
  readonly needs?: NonNullable<QueryFunction["needs"]>;
}

/** What the sandbox answers. */
export type SandboxReply =
  | { readonly kind: "loaded"; readonly exports: string[]; readonly description: PluginDescription | null }
  | { readonly kind: "selected"; readonly result: unknown }
  | {
    readonly kind: "error";
    readonly phase: "load" | "select";
    readonly name: string;
    readonly message: string;
  };

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<SandboxRequest>) => void) | null;
  postMessage(m: SandboxReply): void;
};

function isQueryFunction(x: unknown): x is QueryFunction {
  const q = x as QueryFunction | undefined;
  return !!q && typeof q === "object" && typeof q.name === "string" && typeof q.select === "function";
}

function describe(fn: QueryFunction): PluginDescription {
  // structuredClone fails here, inside the sandbox, on anything that cannot cross threads (a function in defaults).
  return structuredClone({
    name: fn.name,
    description: String(fn.description ?? ""),
    ...(fn.optionSchema !== undefined ? { optionSchema: fn.optionSchema } : {}),
    ...(fn.defaults !== undefined ? { defaults: fn.defaults } : {}),
    ...(fn.needsLabelled !== undefined ? { needsLabelled: fn.needsLabelled } : {}),
    ...(fn.needs !== undefined ? { needs: fn.needs } : {}),
  });
}

function view(fn: QueryFunction, v: WireView): ModelView {
  return restrictView(fn.name, v.ids, declaredNeeds(fn), v);
}

// Taken before any plug-in code runs, so that nothing the plug-in does to the global scope changes the answer.
const post = scope.postMessage.bind(scope);
let phase: "load" | "select" = "load";

function fail(err: unknown) {
  const error = err instanceof Error ? err : new Error(String(err));
  post({ kind: "error", phase, name: error.name, message: error.message });
}

// An error thrown later (in a timer) or a promise rejected and never handled is the plug-in's failure, answered
// like any other, not an uncaught error of the whole process.
globalThis.addEventListener("error", (e) => {
  e.preventDefault();
  fail(e.error ?? e.message);
});
globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  fail(e.reason);
});
// A plug-in's prints go to stderr: stdout belongs to the command (`deno task query` prints its selection there).
for (const key of ["log", "info", "debug", "dir", "table"] as const) {
  console[key] = (...args: unknown[]) => console.error(...args);
}
// No state may survive a call or pass between plug-ins: every storage or cross-thread channel the worker scope
// offers without a permission (the Cache API persists on disk; BroadcastChannel and Web Locks reach the other
// threads of the process) is replaced by a getter that throws, naming it. Listed here by what they are, so that a
// new one is one line: storage (caches, CacheStorage, Cache, localStorage, sessionStorage, indexedDB, Deno.openKv)
// and channels (BroadcastChannel, navigator.locks).
const NO_STATE: [object, string][] = [
  [globalThis, "caches"],
  [globalThis, "CacheStorage"],
  [globalThis, "Cache"],
  [globalThis, "localStorage"],
  [globalThis, "sessionStorage"],
  [globalThis, "indexedDB"],
  [globalThis, "BroadcastChannel"],
  [Deno, "openKv"],
  [navigator, "locks"],
];
for (const [owner, key] of NO_STATE) {
  Object.defineProperty(owner, key, {
    configurable: false,
    get() {
      throw new Error(
        `a query plug-in may not use ${key}: no state may survive between calls or pass between plug-ins ` +
          "(docs/query-functions.md: What a plug-in may touch)",
      );
    },
  });
}
// A plug-in may not end its thread: the caller would wait for an answer that never comes.
for (const [owner, key, name] of [[Deno, "exit", "Deno.exit"], [globalThis, "close", "close"]] as const) {
  Object.defineProperty(owner, key, {
    value: () => {
      throw new Error(`a query plug-in may not call ${name}()`);
    },
  });
}

scope.onmessage = async (e) => {
  const req = e.data;
  phase = "load";
  try {
    const mod: Record<string, unknown> = await import(req.url);
    const fn = mod.default ?? mod.query;
    if (req.kind === "describe") {
      post({
        kind: "loaded",
        exports: Object.keys(mod),
        description: isQueryFunction(fn) ? describe(fn) : null,
      });
      return;
    }
    if (!isQueryFunction(fn)) throw new Error("the module no longer exports a QueryFunction");
    phase = "select";
    const i = req.input;
    const input = guardedInput({
      unlabelled: view(fn, i.unlabelled),
      ...(i.labelled ? { labelled: view(fn, i.labelled) } : {}),
      numClasses: i.numClasses,
      featureDim: i.featureDim,
      budget: i.budget,
      rng: Rng.restore(i.rng),
      options: i.options,
    });
    const result = await fn.select(input);
    post({ kind: "selected", result });
  } catch (err) {
    fail(err);
  }
};
