/**
 * The dataset a scenario names, as a {@linkcode DatasetSource}.
 *
 * @module
 */
import type { DatasetSource } from "../data/dataset.ts";
import { syntheticSource } from "../data/synthetic.ts";
import { ucmercedSource } from "../data/ucmerced.ts";
import { folderSource } from "../data/folder.ts";
import type { Scenario } from "./schema.ts";

/**
 * Where file-based data and caches live; `dataRoot` (the `--data` flag) overrides the scenario's `root`. Both are
 * used as given: a relative path is relative to the working directory (not to the scenario file).
 */
export interface SourceOptions {
  /** Dataset root overriding the scenario's `dataset.root`. */
  readonly dataRoot?: string;
  /** Cache folder for decoded images (default `.cache`). */
  readonly cacheDir?: string;
}

/**
 * Open the scenario's dataset.
 *
 * @example
 * ```ts
 * import { datasetSource } from "./dataset_source.ts";
 * const src = datasetSource({ kind: "synthetic", size: 21, seed: 0, resolution: 32 });
 * console.assert(src.kind === "synthetic");
 * ```
 */
export function datasetSource(spec: Scenario["dataset"], options: SourceOptions = {}): DatasetSource {
  switch (spec.kind) {
    case "synthetic":
      return syntheticSource({ size: spec.size, seed: spec.seed });
    case "ucmerced":
      return folderRootChecked(
        ucmercedSource({
          root: options.dataRoot ?? spec.root,
          ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
        }),
        options.dataRoot ?? spec.root,
        options.dataRoot ? "--data" : "dataset.root",
      );
    case "folder":
      return folderRootChecked(
        folderSource({
          root: options.dataRoot ?? spec.root,
          labels: spec.labels,
          ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
        }),
        options.dataRoot ?? spec.root,
        options.dataRoot ? "--data" : "dataset.root",
      );
  }
}

/** `src` whose every read first checks that `root`, when it exists, is a folder (named by `via` in the error). */
function folderRootChecked(src: DatasetSource, root: string, via: string): DatasetSource {
  let checked: Promise<void> | undefined;
  const check = () =>
    checked ??= Deno.stat(root).then(
      (info) => {
        if (!info.isDirectory) {
          throw new Error(
            `${via} ${root} is a file, not a folder: give the folder that holds the dataset's images`,
          );
        }
      },
      () => {}, // absent: each source says what it expected to find there
    );
  return {
    kind: src.kind,
    labels: async () => (await check(), await src.labels()),
    fingerprint: async () => (await check(), await src.fingerprint()),
    images: async (resolution, onProgress) => (await check(), await src.images(resolution, onProgress)),
  };
}

/**
 * A key that is equal for two dataset specs exactly when they name the same data (not the resolution): for
 * sharing one loaded label table between the scenarios of a run.
 *
 * @example
 * ```ts
 * import { datasetKey } from "./dataset_source.ts";
 * const a = datasetKey({ kind: "folder", root: "d", labels: "a.csv", resolution: 32 });
 * console.assert(a !== datasetKey({ kind: "folder", root: "d", labels: "b.csv", resolution: 32 }));
 * ```
 */
export function datasetKey(spec: Scenario["dataset"], options: SourceOptions = {}): string {
  switch (spec.kind) {
    case "synthetic":
      return `synthetic:${spec.size}:${spec.seed}`;
    case "ucmerced":
      return `ucmerced:${options.dataRoot ?? spec.root}`;
    case "folder":
      return `folder:${JSON.stringify([options.dataRoot ?? spec.root, spec.labels])}`;
  }
}

/**
 * The files and folders of the scenario's dataset, as absolute paths (relative ones against the working
 * directory, as {@linkcode datasetSource} reads them): the root, and for a folder dataset its label file. None for
 * the synthetic archive, which is made in memory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { datasetPaths } from "./dataset_source.ts";
 * assert.deepEqual(datasetPaths({ kind: "folder", root: "/d", labels: "l.csv", resolution: 32 }), ["/d", "/d/l.csv"]);
 * assert.deepEqual(datasetPaths({ kind: "synthetic", size: 21, seed: 0, resolution: 32 }), []);
 * ```
 */
export function datasetPaths(spec: Scenario["dataset"], options: SourceOptions = {}): string[] {
  const abs = (p: string, base: string) => (p.startsWith("/") ? p : `${base.replace(/\/$/, "")}/${p}`);
  switch (spec.kind) {
    case "synthetic":
      return [];
    case "ucmerced":
      return [abs(options.dataRoot ?? spec.root, Deno.cwd())];
    case "folder": {
      const root = abs(options.dataRoot ?? spec.root, Deno.cwd());
      return [root, abs(spec.labels ?? "labels.csv", root)];
    }
  }
}
