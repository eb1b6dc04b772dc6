/**
 * The scenario file schema (zod): what a benchmark runs, declared in JSON.
 *
 * A file holds one scenario, optionally with `variants`: named partial overrides (e.g. the paper's three
 * class-imbalance scenarios) that each expand into a full scenario with its own name and hash. Unknown keys are
 * errors everywhere. Defaults are stated here, in one place, and show up in the exported JSON Schema.
 *
 * @module
 */
import { z } from "zod";
import { BACKEND_NAMES } from "../backend/names.ts";
import { BACKBONE_NAMES } from "../model/names.ts";
import { BUILTIN_QUERY_NAMES } from "../al/query/names.ts";

const positiveInt = z.number().int().min(1);
const nonNegativeInt = z.number().int().min(0);

/** The most samples any size may name (initial, batch, budget): far above any archive this runs on. */
export const MAX_SAMPLES = 1_000_000;
/** The most AL rounds a scenario may ask for. */
export const MAX_ITERATIONS = 10_000;
/** The most seeds a scenario may run. */
export const MAX_SEEDS = 1000;
/** The longest name (scenario, variant, arm): names become folder names, which file systems cap at 255 bytes. */
export const MAX_NAME_LENGTH = 100;
/** The longest `description` (it is copied into reports). */
export const MAX_DESCRIPTION_LENGTH = 2000;

/** How a bounded count says what is allowed. */
const atMost = (max: number, why: string) => ({ message: `must be at most ${max} (${why})` });
const sampleCount = positiveInt.max(MAX_SAMPLES, atMost(MAX_SAMPLES, "samples"));

/**
 * A split size: a count of samples (an integer ≥ 2) or a fraction of the archive in (0, 1). Exactly 1 is refused:
 * `1` (or `1.0`) would read as one sample to the program and as "all of it" to many people.
 */
const countOrFraction = z.number().superRefine((v, ctx) => {
  if ((Number.isInteger(v) && v >= 2) || (v > 0 && v < 1)) return;
  ctx.addIssue({
    code: "custom",
    input: v,
    message: v === 1
      ? "1 is ambiguous (one sample, or the whole archive?): give a count of samples (an integer >= 2) or a " +
        "fraction in (0, 1)"
      : "must be a count (an integer >= 2) or a fraction in (0, 1)",
  });
});

const SPLIT_SIZE =
  "A count of samples (an integer >= 2) or a fraction of the archive (0 < f < 1); 1 is refused.";

const nameString = z.string().max(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters`).regex(
  /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
  "must be letters, digits, '.', '_' or '-'",
);

// Class names are the dataset's own (its label table): checked against it when a run is planned, not here, so the
// schema does not tie scenarios to one dataset's classes.
const className = z.string().min(1).describe(
  "A class name of the dataset (checked against its label table).",
);

/** The datasets. */
export const DatasetSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("synthetic").describe("The embedded generated dataset (no files)."),
    size: z.number().int().min(21).max(MAX_SAMPLES, atMost(MAX_SAMPLES, "images")).default(2100).describe(
      "Number of images (21 scene types).",
    ),
    seed: nonNegativeInt.default(0).describe("Generator seed; independent of the run seeds."),
    resolution: z.number().int().min(8).max(512).default(32).describe("Square image size in pixels."),
  }),
  z.strictObject({
    kind: z.literal("ucmerced").describe("UCMerced Land Use with the 17-class multi-labels."),
    root: z.string().min(1).default(".cache/data/ucmerced").describe(
      "Folder with Images/<class>/<name>.{tif,jpg,png} and LandUse_Multilabeled.txt (see `deno task data`); " +
        "--data overrides it.",
    ),
    resolution: z.number().int().min(8).max(512).default(64).describe("Square image size in pixels."),
  }),
  z.strictObject({
    kind: z.literal("folder").describe(
      "Your own multi-label archive: images in any layout under root, labels in a CSV (see docs/datasets.md).",
    ),
    root: z.string().min(1).describe(
      "Folder searched recursively for .tif/.tiff/.jpg/.jpeg/.png images; relative to the working directory " +
        "(as ucmerced's root), or absolute; --data overrides it. A SHA256SUMS in it is verified on every run.",
    ),
    labels: z.string().min(1).default("labels.csv").describe(
      'The label CSV, relative to root (or absolute): a header "name,<class1>,<class2>,..." with one 0/1 column ' +
        'per class, or "name,labels" with the labels of each image separated by ";". Class names come from it.',
    ),
    resolution: z.number().int().min(8).max(512).default(32).describe("Square image size in pixels."),
  }),
]);

/** Validation / test / pool partition of the archive. */
export const SplitSchema = z.strictObject({
  val: countOrFraction.describe(`Validation set size (paper: 525). ${SPLIT_SIZE}`),
  test: countOrFraction.describe(`Test set size (paper: 525). ${SPLIT_SIZE}`),
  pool: z.union([countOrFraction, z.literal("rest")]).default("rest").describe(
    `Pool (unlabelled archive for AL) size, or "rest" (paper: 1050). ${SPLIT_SIZE}`,
  ),
});

/** Minority-class removal from the pool. */
export const ImbalanceSchema = z.strictObject({
  candidates: z.array(className).min(1).describe("Classes that may be drawn as minority classes."),
  classes: positiveInt.default(3).describe("How many candidate classes to draw (paper: 3)."),
  removePerClass: nonNegativeInt.describe("Pool samples removed per drawn class (paper: 0 / 20 / 40)."),
  forbiddenPairs: z.array(z.tuple([className, className])).default([]).describe(
    "Pairs never drawn together (paper: dock and ship co-occur 98% of the time).",
  ),
});

/** The classification model. */
export const ModelSchema = z.strictObject({
  backbone: z.enum(BACKBONE_NAMES).describe(
    "Backbone f: DenseNet121 as published, a CPU-scale DenseNet (3x3 stem, growth 12), or a small CNN.",
  ),
});

/** BYOL self-supervised pre-training, or none. */
export const PretrainSchema = z.strictObject({
  method: z.enum(["byol", "none"]).default("byol"),
  epochs: positiveInt.default(1000).describe("Paper: 1000."),
  batchSize: positiveInt.default(100).describe("Paper: 100."),
  lr: z.number().positive().default(0.001).describe("Adam learning rate (paper: 0.001)."),
  projector: z.strictObject({ hidden: positiveInt, out: positiveInt }).default({ hidden: 4096, out: 256 }),
  predictorHidden: positiveInt.default(4096),
  tau: z.strictObject({ base: z.number().min(0).max(1), final: z.number().min(0).max(1) })
    .default({ base: 0.996, final: 1 }).describe(
      "EMA rate of the target network, cosine from base to final.",
    ),
  archive: z.enum(["all", "pool"]).default("all").describe(
    "Images BYOL sees: the whole archive (labels unused), or only each seed's pool (then it runs once per seed).",
  ),
  seed: nonNegativeInt.default(0).describe(
    'Seed of pre-training. With archive "all" one BYOL run is shared by every seed and arm.',
  ),
  aerialAugment: z.boolean().default(true).describe(
    "Add vertical flips and 90-degree rotations to BYOL's views (aerial images have no up).",
  ),
});

/** Supervised fine-tuning recipe. */
export const FinetuneSchema = z.strictObject({
  epochs: positiveInt.default(100).describe("Paper: 100."),
  batchSize: positiveInt.default(10).describe("Paper: 10."),
  lr: z.number().positive().default(0.025).describe("SGD learning rate (paper: 0.025)."),
  momentum: z.number().min(0).max(1).default(0.9).describe(
    "Not stated in the paper; 0.9 is the usual choice.",
  ),
  weightDecay: z.number().min(0).default(0).describe("Not stated in the paper."),
  decayEpochs: z.array(positiveInt).default([80]).describe(
    "Epochs after which lr is multiplied by decayFactor.",
  ),
  decayFactor: z.number().positive().max(1).default(0.1),
  augment: z.strictObject({ flip: z.boolean(), rot90: z.boolean() }).default({ flip: true, rot90: true }),
  // Optional without a default, so that scenarios that leave it out keep their hash.
  minSteps: positiveInt.max(10_000_000, atMost(10_000_000, "steps")).optional().describe(
    "At least this many SGD steps per round (not in the paper; for scaled-down runs whose early rounds would " +
      "otherwise take a handful of steps): a round with fewer runs ceil(minSteps / batches per epoch) epochs, " +
      "its decayEpochs stretched by the same factor. Absent: every round runs epochs.",
  ),
  // Optional without a default, so that scenarios that leave it out keep their hash.
  untilLoss: z.strictObject({
    bce: z.number().positive().lt(1).describe("The mean training loss (BCE) an epoch must reach."),
    maxEpochs: positiveInt.max(100_000, atMost(100_000, "epochs")).describe(
      "The most epochs a round runs in all, the schedule's included.",
    ),
  }).optional().describe(
    "Fine-tuning to convergence (not in the paper): after the scheduled epochs, go on at the last learning rate " +
      "until an epoch's mean training loss is at most bce, or maxEpochs have run. Absent: the schedule alone.",
  ),
});

/** The active-learning loop. */
export const AlSchema = z.strictObject({
  initial: sampleCount.describe("Initial labelled set drawn at random from the pool (paper: 40)."),
  batch: sampleCount.describe(
    "b: samples added per iteration (paper: 20). initial + iterations x batch (or budget) must fit in the pool.",
  ),
  iterations: positiveInt.max(MAX_ITERATIONS, atMost(MAX_ITERATIONS, "AL rounds")).optional().describe(
    "Number of query rounds (paper Fig. 2: 20); or give budget.",
  ),
  budget: sampleCount.optional().describe("B: total labelled samples at the end; or give iterations."),
  reinit: z.enum(["warm", "pretrained"]).default("warm").describe(
    "Each round starts from the previous round's weights (paper) or from the pre-trained backbone.",
  ),
  // Optional without a default, so that scenarios that leave it out keep their hash.
  validation: z.boolean().optional().describe(
    "Also score the validation set after every round (val_* columns of curves.csv). Off unless true: nothing " +
      "in the benchmark reads those scores, and each round would pay an inference pass over the validation set.",
  ),
  // Optional without a default, so that scenarios that leave it out keep their hash.
  queryTimeoutSeconds: z.number().positive().max(604_800).optional().describe(
    "Seconds a query function may take in one round before the cell fails (default 600). It stops functions " +
      "that await forever; a synchronous endless loop is stopped only in worker threads (--jobs > 1).",
  ),
});

/** An arm: a query function by name or module, with options. */
export const ArmSchema = z.strictObject({
  name: nameString,
  query: z.union([
    z.string().min(1).describe(
      `A built-in query function: ${BUILTIN_QUERY_NAMES.join(", ")}.`,
    ),
    z.strictObject({
      module: z.string().min(1).describe(
        "Path to a module exporting a QueryFunction, or to a Python module (.py) defining select (docs/query-functions.md).",
      ),
    }),
  ]),
  options: z.record(z.string(), z.unknown()).default({}),
});

/** A scenario's sequential design: seeds per look and, optionally, an equivalence margin. */
const SequentialSchema = z.strictObject({
  batch: positiveInt.max(MAX_SEEDS, atMost(MAX_SEEDS, "seeds")).default(5).describe(
    "Seeds added per look (the first look has at least 3).",
  ),
  margin: z.number().gt(0, "must be above 0 F1 points").lt(100, "must be below 100 F1 points").optional()
    .describe('Equivalence margin in F1 points: with it a run can end "equivalent within ±margin".'),
});

const scenarioShape = {
  $schema: z.string().optional().describe(
    "The JSON Schema editors validate the file with (ignored by albench).",
  ),
  name: nameString.describe(
    "The scenario's name: its results go to reports/<name>/ and its cells to cells/<name>/.",
  ),
  description: z.string().max(
    MAX_DESCRIPTION_LENGTH,
    `must be at most ${MAX_DESCRIPTION_LENGTH} characters (it is copied into the report; keep longer notes in a ` +
      "file beside the scenario)",
  ).default("").describe(`Free prose, at most ${MAX_DESCRIPTION_LENGTH} characters; not part of the hash.`),
  dataset: DatasetSchema.describe("The archive: its kind and where its images and labels are."),
  split: SplitSchema.describe(
    "Validation, test and pool sizes (the pool is what active learning draws from).",
  ),
  imbalance: ImbalanceSchema.optional().describe(
    "Class-imbalance scenario: pool samples removed from drawn minority classes.",
  ),
  model: ModelSchema.describe("The classification model."),
  pretrain: PretrainSchema.default(PretrainSchema.parse({})).describe(
    "Self-supervised pre-training of the backbone.",
  ),
  finetune: FinetuneSchema.default(FinetuneSchema.parse({})).describe(
    "Fine-tuning on the labelled set in every round.",
  ),
  al: AlSchema.describe("The active-learning loop: initial set, batch size b, rounds."),
  arms: z.array(ArmSchema).min(1).describe("The query functions compared, each a named arm."),
  baseline: z.string().optional().describe("The arm others are compared with; default the arm named random."),
  seeds: z.union([
    positiveInt.max(MAX_SEEDS, atMost(MAX_SEEDS, "seeds")),
    z.array(nonNegativeInt).min(1).max(MAX_SEEDS, atMost(MAX_SEEDS, "seeds")),
  ]).default(5).describe(
    `A count (seeds 0..n-1) or an explicit list (paper: five runs); at most ${MAX_SEEDS}.`,
  ),
  backend: z.enum(BACKEND_NAMES).default("auto").describe("The engine (the --backend flag overrides it)."),
  sequential: SequentialSchema.optional().describe(
    'Run seeds in batches until each arm is decided against the baseline (docs/reports.md, "Sequential ' +
      'comparisons"); the seeds field is the most it runs. Not part of the hash: it decides when to stop, not what ' +
      "a cell computes.",
  ),
};

/** A variant: a name plus overrides of any top-level section (merged key by key, one level deep). */
export const VariantSchema = z.strictObject({
  name: nameString,
  description: z.string().max(MAX_DESCRIPTION_LENGTH, `must be at most ${MAX_DESCRIPTION_LENGTH} characters`)
    .optional(),
  dataset: z.record(z.string(), z.unknown()).optional(),
  split: z.record(z.string(), z.unknown()).optional(),
  imbalance: z.union([z.record(z.string(), z.unknown()), z.null()]).optional(),
  model: z.record(z.string(), z.unknown()).optional(),
  pretrain: z.record(z.string(), z.unknown()).optional(),
  finetune: z.record(z.string(), z.unknown()).optional(),
  al: z.record(z.string(), z.unknown()).optional(),
});

/** One scenario as validated (no variants). */
export const ScenarioSchema = z.strictObject(scenarioShape);

/** A scenario file: a scenario, optionally with variants. */
export const ScenarioFileSchema = z.strictObject({
  ...scenarioShape,
  variants: z.array(VariantSchema).min(1).optional().describe(
    "Named overrides; each expands into its own scenario named <name>/<variant>.",
  ),
});

/** A validated scenario with every default filled in. */
// Written out by `deno task schema` (src/scenario/types.ts) so the public type is explicit; a test checks that it
// is exactly the output type of ScenarioSchema.
export type { Scenario } from "./types.ts";
/** What a user writes (defaults optional). */
export type ScenarioInput = z.input<typeof ScenarioFileSchema>;
