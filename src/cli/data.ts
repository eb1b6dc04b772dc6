/**
 * `deno task data ucmerced [--from DIR|ZIP] [--labels FILE|ZIP] [--out DIR]`: prepare a dataset for file-based
 * scenarios.
 *
 * @module
 */
import { parseFlags } from "./args.ts";
import { DATA_FLAGS } from "./flags.ts";
import { runMain, UsageError } from "./errors.ts";
import { OFFICIAL_URLS, prepareUcmerced } from "../data/prepare.ts";

/** The help text of `deno task data`. */
export const DATA_HELP = `Usage: deno task data ucmerced [--from DIR|ZIP] [--labels FILE|ZIP] [--out DIR]

Prepares UCMerced Land Use with the 17-class multi-labels into one folder (default .cache/data/ucmerced) that
scenarios read (dataset.root, or --data DIR on bench and plan).

  --from DIR|ZIP      a folder holding Images/<class>/<name>.{tif,jpg,png} (or UCMerced_LandUse/Images/), e.g.
                      ../shared/data/ucmerced, or the official UCMerced_LandUse.zip; downloaded when absent:
                      ${OFFICIAL_URLS.images}
  --labels FILE|ZIP   LandUse_Multilabeled.txt or the multilabels.zip; taken from --from when it holds one,
                      else downloaded: ${OFFICIAL_URLS.labels}
  --out DIR           destination, anywhere (default .cache/data/ucmerced)
  --images-url URL    download the images from a mirror instead
  --labels-url URL    download the labels from a mirror instead

Every image is decoded first, with progress: an empty, truncated (e.g. a TIFF strip past the end of the file)
or unreadable one is an error, and all of them are named before anything is written. The result is verified
(label rows and images match one to one) before it replaces an earlier copy, and it holds a SHA256SUMS that
every later run (bench, plan) checks it against: a changed, missing or added file is refused, named, until the
copy is prepared again.
`;

async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, DATA_FLAGS, "data", true);
  if (values.help) {
    console.log(DATA_HELP);
    return;
  }
  if (positionals.length !== 1 || positionals[0] !== "ucmerced") {
    throw new UsageError(
      `name the dataset to prepare: \`deno task data ucmerced\` (the only file-based dataset); got ${
        positionals.length ? positionals.map((p) => JSON.stringify(p)).join(" ") : "none"
      }`,
    );
  }
  const out = values.out ?? ".cache/data/ucmerced";
  const log = (line: string) => console.error(line);
  try {
    const r = await prepareUcmerced({
      ...(values.from !== undefined ? { from: values.from } : {}),
      ...(values.labels !== undefined ? { labels: values.labels } : {}),
      out,
      urls: {
        images: values["images-url"] ?? OFFICIAL_URLS.images,
        labels: values["labels-url"] ?? OFFICIAL_URLS.labels,
      },
      log,
    });
    console.log(`prepared ${r.images} images with ${r.classes.length} classes in ${r.out}`);
    console.log(`positives per class: ${r.classes.map((c, i) => `${c} ${r.positives[i]}`).join(", ")}`);
    // A scenario of the UCMerced archive: the default scenario is synthetic, and --data applies to archives only.
    console.log(
      `use it with: deno task bench --scenario scenarios/cpu/fig1.json --data ${r.out} (any scenario whose ` +
        "dataset.kind is ucmerced; or set dataset.root in the scenario)",
    );
  } catch (e) {
    throw new UsageError((e as Error).message, 1, { cause: e });
  }
}

if (import.meta.main) await runMain(main, Deno.args);
