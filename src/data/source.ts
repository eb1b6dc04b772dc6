/**
 * The dataset a scenario names, as a {@linkcode DatasetSource}.
 *
 * @module
 */
import type { DatasetSource } from "./dataset.ts";
import { syntheticSource } from "./synthetic.ts";
import { ucmercedSource } from "./ucmerced.ts";
import type { Scenario } from "../scenario/schema.ts";

/** Where file-based data and caches live; `dataRoot` (the `--data` flag) overrides the scenario's `root`. */
export interface SourceOptions {
  readonly dataRoot?: string;
  readonly cacheDir?: string;
}

/**
 * Open the scenario's dataset.
 *
 * @example
 * ```ts
 * import { datasetSource } from "./source.ts";
 * const src = datasetSource({ kind: "synthetic", size: 21, seed: 0, resolution: 32 });
 * console.assert(src.kind === "synthetic");
 * ```
 */
export function datasetSource(spec: Scenario["dataset"], options: SourceOptions = {}): DatasetSource {
  switch (spec.kind) {
    case "synthetic":
      return syntheticSource({ size: spec.size, seed: spec.seed });
    case "ucmerced":
      return ucmercedSource({
        root: options.dataRoot ?? spec.root,
        ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
      });
  }
}
