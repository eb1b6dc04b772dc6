/**
 * Pre-training once per distinct key, shared by every cell that needs it: the backbone BYOL produces is stored
 * under `<cache>/pretrain/<key>/` and reused (after an integrity check) by every arm and scenario with the same
 * key.
 *
 * The key is the SHA-256 of: the dataset fingerprint, the archive ids BYOL sees, the backbone and resolution, the
 * BYOL settings, the seed and the backend family (`cpu` for wasm/cpu, else the backend's name: kernels differ in
 * floating-point order between families, so their checkpoints are not interchangeable for reproducibility).
 *
 * @module
 */
import { createHash } from "node:crypto";
import type * as tf from "@tensorflow/tfjs";
import { Rng } from "../rng.ts";
import type { ImageTable } from "../data/dataset.ts";
import { type BackboneName, buildBackbone } from "../model/backbones.ts";
import { loadCheckpoint, readManifest, saveCheckpoint } from "../model/checkpoint.ts";
import { canonicalJson } from "../canonical_json.ts";
import { type ByolOptions, pretrainByol } from "./byol.ts";

/** What identifies a pre-trained backbone. */
export interface PretrainSpec {
  readonly datasetFingerprint: string;
  readonly archiveIds: readonly string[];
  readonly backbone: BackboneName;
  readonly resolution: number;
  readonly byol: ByolOptions;
  readonly seed: number;
  readonly backendFamily: string;
}

/**
 * The cache key of a spec.
 *
 * @example
 * ```ts
 * import { pretrainKey } from "./pretrain.ts";
 * const spec = { datasetFingerprint: "synthetic-v1", archiveIds: ["a"], backbone: "small-cnn" as const, resolution: 32,
 *   byol: { epochs: 1, batchSize: 10, lr: 1e-3, projector: { hidden: 8, out: 4 }, predictorHidden: 8, tau: { base: 0.99, final: 1 } },
 *   seed: 0, backendFamily: "cpu" };
 * console.assert(pretrainKey(spec) !== pretrainKey({ ...spec, seed: 1 }));
 * ```
 */
export function pretrainKey(spec: PretrainSpec): string {
  return createHash("sha256").update(canonicalJson({ ...spec, archiveIds: [...spec.archiveIds] })).digest(
    "hex",
  );
}

/**
 * The family of a backend for checkpoint sharing: wasm and cpu agree to float32 rounding on the same machine,
 * GPU backends are families of their own.
 *
 * @example
 * ```ts
 * import { backendFamily } from "./pretrain.ts";
 * console.assert(backendFamily("wasm") === backendFamily("cpu"));
 * ```
 */
export function backendFamily(backend: string): string {
  return backend === "wasm" || backend === "cpu" ? "cpu" : backend;
}

/** A pre-trained backbone and where it came from. */
export interface Pretrained {
  readonly backbone: tf.LayersModel;
  readonly key: string;
  readonly dir: string;
  /** True when it was read from the cache. */
  readonly cached: boolean;
  readonly losses: number[];
}

/**
 * Where the pre-trained backbone of a key is cached (its checkpoint, and `probe.json` beside it).
 *
 * @example
 * ```ts
 * import { pretrainDir } from "./pretrain.ts";
 * console.assert(pretrainDir(".cache", "abc") === ".cache/pretrain/abc");
 * ```
 */
export function pretrainDir(cacheDir: string, key: string): string {
  return `${cacheDir}/pretrain/${key}`;
}

/**
 * Load the backbone for `spec` from the cache, or pre-train it with BYOL and store it. `indices` are the archive
 * positions of `spec.archiveIds` in `images`.
 *
 * @example
 * ```ts ignore
 * import { pretrainedBackbone } from "./pretrain.ts";
 * const p = await pretrainedBackbone(spec, images, indices, ".cache");
 * ```
 */
export async function pretrainedBackbone(
  spec: PretrainSpec,
  images: ImageTable,
  indices: readonly number[],
  cacheDir: string,
  onEpoch?: (epoch: number, loss: number) => void | Promise<void>,
  onStep?: (step: number, totalSteps: number) => void | Promise<void>,
): Promise<Pretrained> {
  const key = pretrainKey(spec);
  const dir = pretrainDir(cacheDir, key);
  const rng = Rng.root(spec.seed).fork("pretrain");
  const backbone = buildBackbone(spec.backbone, spec.resolution, rng);
  const manifest = await readManifest(dir);
  if (manifest) {
    try {
      const meta = await loadCheckpoint(dir, [backbone]);
      return { backbone, key, dir, cached: true, losses: (meta.losses as number[] | undefined) ?? [] };
    } catch (e) {
      // A damaged entry is rebuilt below rather than trusted, and said so (also with --quiet).
      console.warn(
        `warning: ${dir}: the cached pre-trained backbone is damaged (${
          (e as Error).message.split("\n")[0]!.replace(`checkpoint ${dir}: `, "").replace(
            /; delete the folder$/,
            "",
          )
        }); it is pre-trained again and the cache rewritten`,
      );
    }
  }
  const target = () => buildBackbone(spec.backbone, spec.resolution, rng.fork("target"), "target_");
  const { losses } = await pretrainByol(
    backbone,
    target,
    images,
    indices,
    spec.byol,
    rng.fork("byol"),
    onEpoch,
    onStep &&
      ((step) => onStep(step, Math.ceil(indices.length / spec.byol.batchSize) * spec.byol.epochs)),
  );
  await Deno.mkdir(`${cacheDir}/pretrain`, { recursive: true });
  await saveCheckpoint(dir, [backbone], {
    key,
    losses,
    spec: { ...spec, archiveIds: spec.archiveIds.length },
  });
  return { backbone, key, dir, cached: false, losses };
}
