/**
 * Checkpoints: a model's weights saved as `manifest.json` + `weights.bin` in a folder, content-checked on load.
 *
 * The manifest lists each weight's name (the layer-relative `originalName`), shape and byte offset, the SHA-256
 * of `weights.bin`, and free metadata (what produced it). Loading checks the digest, then the names and shapes
 * against the freshly built model, so a corrupt or mismatched checkpoint is refused with a reason instead of being
 * used. The folder is written beside its final name and renamed into place, so a crash never leaves a partial
 * checkpoint behind. The manifest's format (`CheckpointManifest`) is defined with the other persisted formats in
 * `records/records.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { createHash } from "node:crypto";
import { CHECKPOINT_FORMAT, type CheckpointManifest, parseRecord } from "../records/records.ts";

function weightName(w: tf.LayerVariable, modelIndex: number): string {
  return `${modelIndex}/${w.originalName}`;
}

/**
 * Save the weights of `models` (in order) into `dir`, replacing an earlier checkpoint there only once complete.
 *
 * @example
 * ```ts ignore
 * import { saveCheckpoint } from "./checkpoint.ts";
 * await saveCheckpoint(".cache/pretrain/abc", [backbone], { losses });
 * ```
 */
export async function saveCheckpoint(
  dir: string,
  models: readonly tf.LayersModel[],
  meta: Record<string, unknown> = {},
): Promise<CheckpointManifest> {
  const entries: CheckpointManifest["weights"] = [];
  const chunks: Float32Array[] = [];
  let offset = 0;
  for (const [m, model] of models.entries()) {
    for (const w of model.weights) {
      const data = (await w.read().data()) as Float32Array;
      entries.push({ name: weightName(w, m), shape: w.shape as number[], offset });
      chunks.push(data);
      offset += data.byteLength;
    }
  }
  const bin = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    bin.set(new Uint8Array(c.buffer, c.byteOffset, c.byteLength), at);
    at += c.byteLength;
  }
  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    sha256: createHash("sha256").update(bin).digest("hex"),
    bytes: bin.length,
    weights: entries,
    meta,
  };
  const staging = `${dir.replace(/\/+$/, "")}.staging-${crypto.randomUUID().slice(0, 8)}`;
  await Deno.mkdir(staging, { recursive: true });
  try {
    await Deno.writeFile(`${staging}/weights.bin`, bin);
    await Deno.writeTextFile(`${staging}/manifest.json`, JSON.stringify(manifest, null, 1));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.rename(staging, dir);
  } catch (e) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    throw e;
  }
  return manifest;
}

/**
 * Read a checkpoint's manifest, or `null` when the folder holds none.
 *
 * @example
 * ```ts ignore
 * import { readManifest } from "./checkpoint.ts";
 * const m = await readManifest(".cache/pretrain/abc");
 * ```
 */
export async function readManifest(dir: string): Promise<CheckpointManifest | null> {
  return await checkedManifest(dir).catch(() => null);
}

/** The manifest, validated (`records.ts`); throws naming the file and the field when it is absent or not one. */
async function checkedManifest(dir: string): Promise<CheckpointManifest> {
  const path = `${dir}/manifest.json`;
  return parseRecord("checkpoint", path, await Deno.readTextFile(path));
}

/**
 * A checkpoint that cannot be loaded. `problem` says what is wrong with it; the message adds what to do where
 * there is something to do (callers that decide for the user, such as a resume, quote `problem` alone).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CheckpointError } from "./checkpoint.ts";
 * const e = new CheckpointError("checkpoint c: weights.bin is short", "delete the folder");
 * assert.equal(e.message, "checkpoint c: weights.bin is short; delete the folder");
 * assert.equal(e.problem, "checkpoint c: weights.bin is short");
 * ```
 */
export class CheckpointError extends Error {
  /** What is wrong, without advice. */
  readonly problem: string;
  /** `advice`, when given, follows the problem in the message. */
  constructor(problem: string, advice?: string, options?: ErrorOptions) {
    super(advice === undefined ? problem : `${problem}; ${advice}`, options);
    this.problem = problem;
  }
}

/**
 * Load weights saved by {@linkcode saveCheckpoint} into `models` of the same architecture. Throws naming the
 * problem (digest, missing weight, shape) when the checkpoint does not fit.
 *
 * @example
 * ```ts ignore
 * import { loadCheckpoint } from "./checkpoint.ts";
 * const meta = await loadCheckpoint(".cache/pretrain/abc", [backbone]);
 * ```
 */
export async function loadCheckpoint(
  dir: string,
  models: readonly tf.LayersModel[],
): Promise<Record<string, unknown>> {
  const manifest = await checkedManifest(dir).catch((e) => {
    if (e instanceof Deno.errors.NotFound) {
      throw new CheckpointError(`checkpoint ${dir}: no ${CHECKPOINT_FORMAT} manifest.json`);
    }
    throw new CheckpointError(
      `checkpoint ${dir}: not an ${CHECKPOINT_FORMAT} manifest (${(e as Error).message})`,
      undefined,
      { cause: e },
    );
  });
  const bin = await Deno.readFile(`${dir}/weights.bin`);
  const digest = createHash("sha256").update(bin).digest("hex");
  if (bin.length !== manifest.bytes || digest !== manifest.sha256) {
    throw new CheckpointError(
      `checkpoint ${dir}: weights.bin does not match its manifest (corrupt or partial)`,
      "delete the folder",
    );
  }
  const byName = new Map(manifest.weights.map((w) => [w.name, w]));
  const assignments: [tf.LayerVariable, Float32Array, number[]][] = [];
  for (const [m, model] of models.entries()) {
    for (const w of model.weights) {
      const entry = byName.get(weightName(w, m));
      if (!entry) {
        throw new CheckpointError(
          `checkpoint ${dir}: no weight ${weightName(w, m)} (a different architecture?)`,
        );
      }
      if (entry.shape.join() !== (w.shape as number[]).join()) {
        throw new CheckpointError(
          `checkpoint ${dir}: ${entry.name} has shape [${entry.shape}], the model expects [${w.shape}]`,
        );
      }
      const n = entry.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(
        bin.buffer.slice(bin.byteOffset + entry.offset, bin.byteOffset + entry.offset + 4 * n),
      );
      assignments.push([w, data, entry.shape]);
    }
  }
  for (const [w, data, shape] of assignments) {
    tf.tidy(() => {
      w.write(tf.tensor(data, shape));
    });
  }
  return manifest.meta;
}
