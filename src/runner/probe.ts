/**
 * A short measured probe of a scenario's model on the engine in use: seconds per image for a BYOL step, a
 * fine-tuning step and inference, through the same functions a run calls (`pretrainByol`, `finetune`, `infer`),
 * on random images of the scenario's resolution. `size.ts` turns these into an estimate of a run's wall time.
 *
 * The probe draws from its own seeded stream and builds its own models: a run's results do not depend on it.
 *
 * @module
 */
import { Rng } from "../rng.ts";
import type { ImageTable, LabelTable } from "../data/dataset.ts";
import type { ResolvedScenario } from "../scenario/load.ts";
import { buildBackbone } from "../model/backbones.ts";
import { withHead } from "../model/classifier.ts";
import { finetune, infer } from "../train/finetune.ts";
import { pretrainByol } from "../ssl/byol.ts";
import type { Rates } from "./size.ts";

/** About how long one measurement aims to take, in seconds. */
const TARGET_SECONDS = 0.5;

/** Seconds of `fn` (awaited). */
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/**
 * Seconds per image of `run(batches, batchSize)` in the steady state, in bounded time: one call on a batch of at
 * most 8 images (it pays one-time costs: compiling kernels, creating primitives), one batch, then the fastest of three runs of `k` batches, `k` chosen so
 * one takes about {@linkcode TARGET_SECONDS} (a machine's noise only ever slows a run down). With `fixedCost` (a
 * call that builds models first, as BYOL's), the fastest of two runs of `2k` batches too, and the difference per
 * image. A slow model is measured by its first call (over 5 s, or a full batch at its pace over 20 s) or its first
 * full batch (over 1 s), so the probe of even the largest model on the slowest engine takes seconds, not minutes.
 */
async function perImage(
  batch: number,
  run: (batches: number, batchSize: number) => Promise<unknown>,
  fixedCost = false,
): Promise<number> {
  // The first call on a batch of at most 8 images: on a slow engine a full batch of a large model takes minutes.
  const small = Math.min(batch, 8);
  const first = await timed(() => run(1, small));
  // Over 5 s, or a full batch at that pace over 20 s: that call is the measurement (one-time costs included).
  if (first > 5 || (first / small) * batch > 20) return first / small;
  const second = await timed(() => run(1, batch));
  if (second > 1) return second / batch;
  const k = Math.max(1, Math.min(32, Math.round(TARGET_SECONDS / Math.max(second, 1e-3))));
  const fastest = async (batches: number, reps: number) => {
    let best = Infinity;
    for (let i = 0; i < reps; i++) best = Math.min(best, await timed(() => run(batches, batch)));
    return best;
  };
  const one = await fastest(k, fixedCost ? 2 : 3);
  if (!fixedCost) return one / (k * batch);
  const two = await fastest(2 * k, 2);
  const diff = (two - one) / (k * batch);
  return diff > 0 && diff < one / (k * batch) ? diff : two / (2 * k * batch);
}

/** How the probe sets the engine's threads: as a cell's job has them, and back (native with several jobs). */
export interface ProbeThreads {
  /** Give this thread the threads one job of the run gets. */
  readonly asJob: () => Promise<void>;
  /** Back to the whole machine (pre-training runs so, before the cells). */
  readonly asMain: () => Promise<void>;
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
export async function probeRates(
  s: ResolvedScenario["scenario"],
  numClasses: number,
  threads?: ProbeThreads,
): Promise<Rates> {
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
    const options = { ...s.finetune, epochs: 1, decayEpochs: [], minSteps: undefined, untilLoss: undefined };
    // Cells run as jobs: fine-tuning and inference are measured with a job's threads.
    await threads?.asJob();
    let finetuneRate: number, inferenceRate: number;
    try {
      finetuneRate = await perImage(
        ft,
        (b, size) =>
          finetune(
            model,
            images,
            table,
            indices(b * size),
            { ...options, batchSize: size },
            rng.fork("finetune"),
          ),
      );
      inferenceRate = await perImage(
        inferBatch,
        (b, size) => infer(model, images, indices(b * size), size),
      );
    } finally {
      await threads?.asMain();
    }
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
        byolRate = await perImage(p.batchSize, async (b, size) => {
          await pretrainByol(
            encoder,
            () => buildBackbone(s.model.backbone, r, rng.fork("byol-target"), "target_"),
            images,
            indices(b * size),
            { ...byol, batchSize: size },
            rng.fork("byol"),
          );
        }, true);
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
