/**
 * `deno task models [--resolution N]...`: each backbone's parameters and forward FLOPs per image.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseFlags, positiveInt } from "./args.ts";
import { runMain } from "./errors.ts";
import { Rng } from "../rng.ts";
import { BACKBONE_NAMES, buildBackbone, countParams, forwardFlops } from "../model/backbones.ts";

/** The help text of `deno task models`. */
export const MODELS_HELP = `Usage: deno task models [--resolution N]...

Prints each backbone's trainable parameters, all weights (with batch-norm moving statistics, as Keras counts),
feature size and forward GFLOPs per image (2 per multiply-accumulate, convolutions and dense layers) at each
resolution (default 32, 64 and 224).
`;

async function main(args: string[]): Promise<void> {
  const { values } = parseFlags(args, {
    resolution: { type: "string", multiple: true },
    debug: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  }, "models");
  if (values.help) {
    console.log(MODELS_HELP);
    return;
  }
  const resolutions = (values.resolution ?? ["32", "64", "224"]).map((r) =>
    positiveInt(r, "--resolution", 512, "the scenario schema's dataset.resolution range", 8)
  );
  tf.env().set("PROD", true);
  await tf.setBackend("cpu");
  console.log(["backbone", "px", "trainable", "all weights", "features", "GFLOPs/img"].join("\t"));
  for (const name of BACKBONE_NAMES) {
    for (const r of resolutions) {
      const m = buildBackbone(name, r, Rng.root(0));
      const p = countParams(m);
      console.log(
        [name, r, p.trainable, p.total, m.outputs[0]!.shape[1], (forwardFlops(m) / 1e9).toFixed(4)].join(
          "\t",
        ),
      );
      m.dispose();
    }
  }
}

if (import.meta.main) await runMain(main, Deno.args);
