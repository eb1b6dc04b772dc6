/**
 * `deno task report DIR`: merge whatever cells a results folder holds (from any number of shards), say which are
 * missing, and render the report, with thumbnails of what each arm picked first read from the datasets (`--data`,
 * `--cache`).
 *
 * @module
 */
import { parseFlags, positiveInt, writableFolder } from "./args.ts";
import { REPORT_FLAGS } from "./flags.ts";
import { MAX_SEEDS } from "../scenario/schema.ts";
import { runMain, UsageError } from "./errors.ts";
import { loadScenarioFile, type ResolvedScenario, ScenarioError } from "../scenario/load.ts";
import { gridCells } from "../runner/grid.ts";
import { readCompareFile, readRunFile } from "../runner/store.ts";
import { parseRecord, type RunFile } from "../records/records.ts";
import { writeReport } from "../report/report.ts";
import { preregistrationSentence, type PreregistrationStatus } from "../report/preregistration.ts";
import { designOf, preregister, scenarioArms } from "./preregister.ts";
import { benchDesign } from "./bench.ts";
import { wallTimesLine } from "../report/tables.ts";

/**
 * The environment `bench` recorded in an earlier manifest of `out` (the machine the run ended on), so re-rendering
 * keeps it; without one the report takes the first cell's.
 */
async function previousEnvironment(out: string): Promise<{ environment?: Record<string, unknown> }> {
  const path = `${out}/manifest.json`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return {}; // no earlier report
  }
  try {
    const env = parseRecord("manifest", path, text).environment;
    return env ? { environment: env } : {};
  } catch (e) {
    // The report rewrites the manifest; a damaged one only loses the machine it named.
    console.error(`(${(e as Error).message}: its environment is not kept; the first cell's is reported)`);
    return {};
  }
}

const REPORT_HELP = `Usage: deno task report DIR [--data DIR] [--cache DIR] [--seeds N] [--preregister FILE]

Merges the cells in DIR (e.g. written by several shards) and renders DIR/index.html.

Options:
  --data DIR    dataset root for file-based datasets, as the run's --data (read for the thumbnails of
                what each arm picked first; default: each scenario's dataset.root)
  --cache DIR   the cache of decoded images the run used (default .cache); read, so give the run's
                --cache to find its images decoded
  --seeds N     expect only the first N seeds of each scenario
  --preregister FILE  the design bench --preregister wrote (e.g. before shards ran): the report says
                whether the folder's run followed it
  -h, --help    this text

Without a readable dataset the report says so in a sentence instead of the thumbnails.`;

async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, REPORT_FLAGS, "report", true);
  if (values.help || positionals.length !== 1) {
    console.log(REPORT_HELP);
    if (!values.help) throw new UsageError("give exactly one results folder");
    return;
  }
  const out = writableFolder(positionals[0]!, "the results folder");
  // The thumbnails read the datasets as the run did: its --data, and its cache of decoded images.
  const images = {
    ...(values.data !== undefined ? { dataRoot: values.data } : {}),
    cacheDir: writableFolder(values.cache ?? ".cache", "--cache"),
  };
  const seedLimit = values.seeds === undefined
    ? undefined
    : positiveInt(values.seeds, "--seeds", MAX_SEEDS, "the scenario schema's limit on seeds");
  // run.json merged with versions/: which version of each scenario the folder holds (a cell of another version
  // makes the folder unreportable: writeReport refuses it, naming the file).
  let run: RunFile | null;
  try {
    run = await readRunFile(out);
  } catch (e) {
    throw new UsageError((e as Error).message, 1, { cause: e });
  }
  if (!run) throw new UsageError(`${out} is not a results folder (no run.json); run deno task bench first`);
  const scenarios: ResolvedScenario[] = [];
  // Each scenario file with the --set overrides its run applied (recorded in versions/).
  const sources = new Map<string, { file: string; overrides: string[] }>();
  for (const h of run.scenarios) {
    if (h.file) {
      sources.set(JSON.stringify([h.file, h.overrides ?? []]), {
        file: h.file,
        overrides: h.overrides ?? [],
      });
    }
  }
  for (const { file: f, overrides } of sources.values()) {
    let loaded: ResolvedScenario[];
    try {
      loaded = await loadScenarioFile(f, overrides);
    } catch (e) {
      const why = e instanceof ScenarioError ? e.problems.join("; ") : (e as Error).message.split("\n")[0];
      console.error(
        `note: ${f}, the scenario file of this run, cannot be read (${why}); its scenarios are reported ` +
          "without their scenario text and their missing cells are not listed",
      );
      continue;
    }
    for (const s of loaded) {
      const recorded = run.scenarios.find((r) => r.id === s.id);
      if (recorded && recorded.hash === s.hash && !scenarios.some((x) => x.id === s.id)) scenarios.push(s);
      else if (recorded) {
        console.error(`note: ${f} changed since the run; ${s.id} is reported without its scenario text`);
      }
    }
  }
  // A folder `compare` made holds the baseline and the compared arms only, not the scenario's other arms.
  let compared: Record<string, string>;
  try {
    compared = (await readCompareFile(out)).arms;
  } catch (e) {
    throw new UsageError((e as Error).message, 1, { cause: e });
  }
  const reported = Object.keys(compared).length
    ? scenarios.map((s) => ({
      ...s,
      scenario: {
        ...s.scenario,
        arms: s.scenario.arms.filter((a) => a.name === s.baseline || `${s.id}/${a.name}` in compared),
      },
    }))
    : scenarios;
  const expected = gridCells(reported, seedLimit).map((c) => c.key);
  let preregistration: PreregistrationStatus | undefined;
  if (values.preregister !== undefined) {
    if (Object.keys(compared).length) {
      throw new UsageError(
        `--preregister: ${out} holds a comparison, whose design compare checks itself; run the same compare ` +
          `again with --preregister ${values.preregister} (it reuses every cell)`,
      );
    }
    if (!scenarios.length || scenarios.length !== run.scenarios.length) {
      throw new UsageError(
        `--preregister: the scenario files of ${out}'s run cannot all be read as they were (see the notes ` +
          "above), so its design cannot be checked",
      );
    }
    const arms = await scenarioArms(scenarios[0]!);
    preregistration = await preregister(
      values.preregister,
      designOf(scenarios, arms, benchDesign(scenarios, undefined), seedLimit),
      "check",
    );
    console.log(preregistrationSentence(preregistration));
  }
  const r = await writeReport(out, scenarios, expected, {
    ...(await previousEnvironment(out)),
    images,
    ...(preregistration ? { preregistration } : {}),
  });
  console.log(
    `merged ${r.cells} cells (${r.complete} complete) into ${out}/index.html (digest ${
      r.digest.slice(0, 16)
    })`,
  );
  console.log(wallTimesLine(r.wallTimes));
  if (r.missing.length) {
    console.log(
      `missing ${r.missing.length} cells: ${r.missing.slice(0, 10).join(", ")}${
        r.missing.length > 10 ? ", ..." : ""
      }`,
    );
  }
  for (const line of r.headline) console.log(line);
}

if (import.meta.main) await runMain(main, Deno.args);
