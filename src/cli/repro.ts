/**
 * `deno task repro [--update-golden]`: run `scenarios/ci/repro.json` twice, each in fresh results and cache
 * folders, and fail with the first differing value unless both result digests are equal to each other and to the
 * committed golden one (`tests/golden/repro.json`, recorded for the wasm backend).
 *
 * @module
 */
import { parseFlags } from "./args.ts";
import { runMain, UsageError } from "./errors.ts";
import { loadScenarioFile } from "../scenario/load.ts";
import { runGrid } from "../runner/run.ts";
import { readAllCells } from "../runner/store.ts";
import { digestContent, firstDifference, resultDigest } from "../report/digest.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const SCENARIO = `${ROOT}scenarios/ci/repro.json`;
const GOLDEN = `${ROOT}tests/golden/repro.json`;

/** Where the two runs write, removed after each: inside .cache/, the only folder the task may write besides GOLDEN. */
const TMP = `${ROOT}.cache/tmp`;

async function once(label: string) {
  await Deno.mkdir(TMP, { recursive: true });
  const out = await Deno.makeTempDir({ dir: TMP, prefix: `albench-repro-${label}-` });
  const cache = await Deno.makeTempDir({ dir: TMP, prefix: `albench-repro-cache-${label}-` });
  try {
    const scenarios = await loadScenarioFile(SCENARIO);
    const t0 = performance.now();
    await runGrid({
      scenarios,
      out,
      cacheDir: cache,
      backend: scenarios[0]!.scenario.backend,
      jobs: navigator.hardwareConcurrency,
      progress: { quiet: true },
    });
    const records = await readAllCells(out);
    console.log(
      `run ${label}: digest ${resultDigest(records)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
    return { digest: resultDigest(records), content: digestContent(records) };
  } finally {
    await Deno.remove(out, { recursive: true }).catch(() => {});
    await Deno.remove(cache, { recursive: true }).catch(() => {});
  }
}

async function main(args: string[]): Promise<void> {
  const { values } = parseFlags(args, {
    "update-golden": { type: "boolean" },
    debug: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  }, "repro");
  if (values.help) {
    console.log(
      "Usage: deno task repro [--update-golden]\n\nRuns scenarios/ci/repro.json twice and compares result digests with each other and tests/golden/repro.json.",
    );
    return;
  }
  const a = await once("1"), b = await once("2");
  if (a.digest !== b.digest) {
    throw new UsageError(`two runs differ: ${firstDifference(a.content, b.content)}`, 1);
  }
  if (values["update-golden"]) {
    await Deno.writeTextFile(
      GOLDEN,
      JSON.stringify({ backend: "wasm", digest: a.digest, content: a.content }, null, 1) + "\n",
    );
    console.log(`wrote ${GOLDEN}`);
    return;
  }
  const golden = JSON.parse(await Deno.readTextFile(GOLDEN)) as { digest: string; content: unknown };
  if (golden.digest !== a.digest) {
    throw new UsageError(
      `the digest ${a.digest} differs from the golden ${golden.digest}: ${
        firstDifference(golden.content, a.content)
      } ` +
        "(golden vs now). If the change is intended, run deno task repro --update-golden and commit tests/golden/repro.json.",
      1,
    );
  }
  console.log(`repro: OK, both runs and the golden digest agree (${a.digest})`);
}

if (import.meta.main) await runMain(main, Deno.args);
