/**
 * A short measured probe of a scenario's model on the engine in use: seconds per image for a BYOL step, a
 * fine-tuning step and inference, through the same functions a run calls (`pretrainByol`, `finetune`, `infer`),
 * on random images of the scenario's resolution. `size.ts` turns these into an estimate of a run's wall time.
 *
 * The probe draws from its own seeded stream and builds its own models: a run's results do not depend on it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../rng.ts";
import type { ImageTable, LabelTable } from "../data/dataset.ts";
import type { ResolvedScenario } from "../scenario/load.ts";
import { buildBackbone } from "../model/backbones.ts";
import { withHead } from "../model/classifier.ts";
import { finetune, infer } from "../train/finetune.ts";
import { pretrainByol } from "../ssl/byol.ts";
import type { Rates } from "./size.ts";

/** About how long each of the three measurements aims to take, in seconds. */
const TARGET_SECONDS = 0.8;

/** Seconds of `fn` (awaited). */
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/**
 * Seconds per image of `run(batches)`: a warm-up of one batch, then `k` and `2k` batches, `k` chosen so a
 * measurement takes about {@linkcode TARGET_SECONDS}; the difference of the two removes what a call costs once
 * (building BYOL's heads and target, the optimiser). A slow model (one batch over 2 s) is measured once.
 */
async function perImage(batch: number, run: (batches: number) => Promise<unknown>): Promise<number> {
  const warm = await timed(() => run(1));
  if (warm > 2) return warm / batch;
  const k = Math.max(1, Math.min(16, Math.round(TARGET_SECONDS / Math.max(warm, 1e-3))));
  const one = await timed(() => run(k));
  const two = await timed(() => run(2 * k));
  const diff = (two - one) / (k * batch);
  return diff > 0 ? diff : two / (2 * k * batch);
}

/**
 * Measure `s`'s model on the current tfjs backend: seconds per image of BYOL (0 without pre-training),
 * fine-tuning and inference.
 *
 * @example
 * ```ts ignore
 * import { probeRates } from "./probe.ts";
 * const rates = await probeRates(scenario.scenario, 17);
 * ```
 */
export async function probeRates(s: ResolvedScenario["scenario"], numClasses: number): Promise<Rates> {
  const rng = Rng.root(0).fork("probe");
  const r = s.dataset.resolution;
  const ft = s.finetune.batchSize, inferBatch = 128;
  const byolBatch = s.pretrain.method === "none" ? 0 : s.pretrain.batchSize;
  // Enough distinct images for the largest measurement, within 64 MiB; larger measurements wrap around.
  const wanted = Math.max(32 * ft, 2 * inferBatch, 32 * byolBatch);
  const n = Math.max(2, Math.min(wanted, Math.floor(64 * 2 ** 20 / (r * r * 3))));
  const pixels = new Uint8Array(n * r * r * 3);
  // Content does not change the time of a step: a fixed hash pattern, no draws.
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.imul(i + 1, 2654435761) >>> 24;
  const images: ImageTable = { resolution: r, pixels };
  const labels = new Uint8Array(n * numClasses);
  for (let i = 0; i < labels.length; i++) labels[i] = (Math.imul(i + 7, 40503) >>> 13) % 5 === 0 ? 1 : 0;
  const table: LabelTable = {
    ids: Array.from({ length: n }, (_, i) => `p${i}`),
    classNames: Array.from({ length: numClasses }, (_, i) => `c${i}`),
    labels,
  };
  const indices = (count: number) => Array.from({ length: count }, (_, i) => i % n);
  const model = withHead(buildBackbone(s.model.backbone, r, rng.fork("model")), numClasses, rng.fork("head"));
  try {
    const options = { ...s.finetune, epochs: 1, decayEpochs: [], minSteps: undefined };
    const finetuneRate = await perImage(
      ft,
      (b) => finetune(model, images, table, indices(b * ft), options, rng.fork("finetune")),
    );
    const inferenceRate = await perImage(inferBatch, (b) => infer(model, images, indices(b * inferBatch)));
    let byolRate = 0;
    if (s.pretrain.method !== "none") {
      const p = s.pretrain;
      const byol = {
        epochs: 1,
        batchSize: p.batchSize,
        lr: p.lr,
        projector: p.projector,
        predictorHidden: p.predictorHidden,
        tau: p.tau,
        ...(p.aerialAugment !== undefined ? { aerialAugment: p.aerialAugment } : {}),
      };
      const encoder = buildBackbone(s.model.backbone, r, rng.fork("byol-online"));
      try {
        byolRate = await perImage(p.batchSize, async (b) => {
          await pretrainByol(
            encoder,
            () => buildBackbone(s.model.backbone, r, rng.fork("byol-target"), "target_"),
            images,
            indices(b * p.batchSize),
            byol,
            rng.fork("byol"),
          );
        });
      } finally {
        encoder.dispose();
      }
    }
    return { byol: byolRate, finetune: finetuneRate, inference: inferenceRate };
  } finally {
    model.backbone.dispose();
    model.head.dispose();
  }
}
