/**
 * The scenario type, written out from the scenario schema (`src/scenario/schema.ts`) by `deno task schema`;
 * do not edit: a test compares this file with the generated text and checks that it is the schema's output type.
 *
 * @module
 */

/** A validated scenario with every default filled in: what the loader returns and a run reads. */
export interface Scenario {
  /** The JSON Schema editors validate the file with (ignored by albench). */
  $schema?: string | undefined;
  /** The scenario's name: its results go to reports/<name>/ and its cells to cells/<name>/. */
  name: string;
  /** Free prose, at most 2000 characters; not part of the hash. */
  description: string;
  /** The archive: its kind and where its images and labels are. */
  dataset: {
    /** The embedded generated dataset (no files). */
    kind: "synthetic";
    /** Number of images (21 scene types). */
    size: number;
    /** Generator seed; independent of the run seeds. */
    seed: number;
    /** Square image size in pixels. */
    resolution: number;
  } | {
    /** UCMerced Land Use with the 17-class multi-labels. */
    kind: "ucmerced";
    /** Folder with Images/<class>/<name>.{tif,jpg,png} and LandUse_Multilabeled.txt (see `deno task data`); --data overrides it. */
    root: string;
    /** Square image size in pixels. */
    resolution: number;
  } | {
    /** Your own multi-label archive: images in any layout under root, labels in a CSV (see docs/datasets.md). */
    kind: "folder";
    /** Folder searched recursively for .tif/.tiff/.jpg/.jpeg/.png images; relative to the working directory (as ucmerced's root), or absolute; --data overrides it. A SHA256SUMS in it is verified on every run. */
    root: string;
    /** The label CSV, relative to root (or absolute): a header "name,<class1>,<class2>,..." with one 0/1 column per class, or "name,labels" with the labels of each image separated by ";". Class names come from it. */
    labels: string;
    /** Square image size in pixels. */
    resolution: number;
  };
  /** Validation, test and pool sizes (the pool is what active learning draws from). */
  split: {
    /** Validation set size (paper: 525). A count of samples (an integer >= 2) or a fraction of the archive (0 < f < 1); 1 is refused. */
    val: number;
    /** Test set size (paper: 525). A count of samples (an integer >= 2) or a fraction of the archive (0 < f < 1); 1 is refused. */
    test: number;
    /** Pool (unlabelled archive for AL) size, or "rest" (paper: 1050). A count of samples (an integer >= 2) or a fraction of the archive (0 < f < 1); 1 is refused. */
    pool: number | "rest";
  };
  /** Class-imbalance scenario: pool samples removed from drawn minority classes. */
  imbalance?: {
    /** Classes that may be drawn as minority classes. */
    candidates: string[];
    /** How many candidate classes to draw (paper: 3). */
    classes: number;
    /** Pool samples removed per drawn class (paper: 0 / 20 / 40). */
    removePerClass: number;
    /** Pairs never drawn together (paper: dock and ship co-occur 98% of the time). */
    forbiddenPairs: [string, string][];
  } | undefined;
  /** The classification model. */
  model: {
    /** Backbone f: DenseNet121 as published, a CPU-scale DenseNet (3x3 stem, growth 12), or a small CNN. */
    backbone: "densenet121" | "densenet-cpu" | "small-cnn";
  };
  /** Self-supervised pre-training of the backbone. */
  pretrain: {
    method: "byol" | "none";
    /** Paper: 1000. */
    epochs: number;
    /** Paper: 100. */
    batchSize: number;
    /** Adam learning rate (paper: 0.001). */
    lr: number;
    projector: {
      hidden: number;
      out: number;
    };
    predictorHidden: number;
    /** EMA rate of the target network, cosine from base to final. */
    tau: {
      base: number;
      final: number;
    };
    /** Images BYOL sees: the whole archive (labels unused), or only each seed's pool (then it runs once per seed). */
    archive: "all" | "pool";
    /** Seed of pre-training. With archive "all" one BYOL run is shared by every seed and arm. */
    seed: number;
    /** Add vertical flips and 90-degree rotations to BYOL's views (aerial images have no up). */
    aerialAugment: boolean;
  };
  /** Fine-tuning on the labelled set in every round. */
  finetune: {
    /** Paper: 100. */
    epochs: number;
    /** Paper: 10. */
    batchSize: number;
    /** SGD learning rate (paper: 0.025). */
    lr: number;
    /** Not stated in the paper; 0.9 is the usual choice. */
    momentum: number;
    /** Not stated in the paper. */
    weightDecay: number;
    /** Epochs after which lr is multiplied by decayFactor. */
    decayEpochs: number[];
    decayFactor: number;
    augment: {
      flip: boolean;
      rot90: boolean;
    };
    /** At least this many SGD steps per round (not in the paper; for scaled-down runs whose early rounds would otherwise take a handful of steps): a round with fewer runs ceil(minSteps / batches per epoch) epochs, its decayEpochs stretched by the same factor. Absent: every round runs epochs. */
    minSteps?: number | undefined;
    /** Fine-tuning to convergence (not in the paper): after the scheduled epochs, go on at the last learning rate until an epoch's mean training loss is at most bce, or maxEpochs have run. Absent: the schedule alone. */
    untilLoss?: {
      /** The mean training loss (BCE) an epoch must reach. */
      bce: number;
      /** The most epochs a round runs in all, the schedule's included. */
      maxEpochs: number;
    } | undefined;
  };
  /** The active-learning loop: initial set, batch size b, rounds. */
  al: {
    /** Initial labelled set drawn at random from the pool (paper: 40). */
    initial: number;
    /** b: samples added per iteration (paper: 20). initial + iterations x batch (or budget) must fit in the pool. */
    batch: number;
    /** Number of query rounds (paper Fig. 2: 20); or give budget. */
    iterations?: number | undefined;
    /** B: total labelled samples at the end; or give iterations. */
    budget?: number | undefined;
    /** Each round starts from the previous round's weights (paper) or from the pre-trained backbone. */
    reinit: "warm" | "pretrained";
    /** Also score the validation set after every round (val_* columns of curves.csv). Off unless true: nothing in the benchmark reads those scores, and each round would pay an inference pass over the validation set. */
    validation?: boolean | undefined;
    /** Seconds a query function may take in one round before the cell fails (default 600). It stops functions that await forever; a synchronous endless loop is stopped only in worker threads (--jobs > 1). */
    queryTimeoutSeconds?: number | undefined;
  };
  /** The query functions compared, each a named arm. */
  arms: ({
    name: string;
    query: string | {
      /** Path to a module exporting a QueryFunction, or to a Python module (.py) defining select (docs/query-functions.md). */
      module: string;
    };
    options: Record<string, unknown>;
  })[];
  /** The arm others are compared with; default the arm named random. */
  baseline?: string | undefined;
  /** A count (seeds 0..n-1) or an explicit list (paper: five runs); at most 1000. */
  seeds: number | number[];
  /** The engine (the --backend flag overrides it). */
  backend: "auto" | "tensorflow-gpu" | "tensorflow" | "webgpu" | "native" | "wasm" | "cpu";
  /** Run seeds in batches until each arm is decided against the baseline (docs/reports.md, "Sequential comparisons"); the seeds field is the most it runs. Not part of the hash: it decides when to stop, not what a cell computes. */
  sequential?: {
    /** Seeds added per look (the first look has at least 3). */
    batch: number;
    /** Equivalence margin in F1 points: with it a run can end "equivalent within ±margin". */
    margin?: number | undefined;
  } | undefined;
}
