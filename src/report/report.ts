/**
 * Writing a report from whatever cells a results folder holds: `curves.csv`, `per_class.csv`,
 * `queried_classes.csv`, `summary.csv`, `stats.csv`, `gain_change.csv`, `field_metrics.csv`, Vega-Lite specs (`*.vl.json`) rendered to SVG and PNG, a self-contained
 * `index.html` and `manifest.json` with the result digest. What they contain is built by `build.ts`; the page is
 * laid out by `html.ts`; the thumbnails of what each arm picked first are read by `thumbnails.ts`; this module
 * only renders and writes (each file atomically).
 *
 * @module
 */
import { preregistrationSentence, type PreregistrationStatus } from "./preregistration.ts";
import { designLine, type SequentialOutcome, sequentialText } from "./sequential_compare.ts";
import { stringify } from "csv-stringify/sync";
import { writeFileAtomic } from "../atomic_write.ts";
import type { ResolvedScenario } from "../scenario/load.ts";
import { readAllCells } from "../runner/store.ts";
import { disagreeingRecords } from "../runner/identity.ts";
import type { CellRecord, RunFile } from "../records/records.ts";
import type { WallTimes } from "./tables.ts";
import { buildReport } from "./build.ts";
import { reportHtml } from "./html.ts";
import { renderSvg, svgToPng } from "./render.ts";
import { readThumbnails, type Thumbnails } from "./thumbnails.ts";

/** What the report found and wrote. */
export interface ReportResult {
  /** The result digest (SHA-256 hex of metrics and selected ids). */
  readonly digest: string;
  /** Cell records found. */
  readonly cells: number;
  /** Of them, complete. */
  readonly complete: number;
  /** Expected cells without a complete record. */
  readonly missing: string[];
  /** Files written, relative to the folder. */
  readonly files: string[];
  /** The report's conclusions: one sentence per scenario, arm and metric, and per change between scenarios. */
  readonly headline: string[];
  /** Summed AL phase wall times and the inference share (as in the manifest, unrounded). */
  readonly wallTimes: WallTimes;
}

/**
 * Rows as CSV with a header; non-finite numbers and nulls as empty fields.
 *
 * @example
 * ```ts
 * import { csv } from "./report.ts";
 * console.assert(csv([{ a: 1, b: NaN, c: null }]) === "a,b,c\n1,,\n");
 * ```
 */
export function csv(rows: readonly object[]): string {
  if (!rows.length) return "";
  return stringify(rows as Record<string, unknown>[], {
    header: true,
    cast: { number: (v) => (Number.isFinite(v) ? String(v) : "") },
  });
}

/**
 * Write the report of `out`. `scenarios` (when known) give baselines, labels, expected cells and the scenario
 * text. `extra.images` says where the datasets are read for the thumbnails of what each arm picked first (the
 * run's `--data` and `--cache`); without it, or where a dataset cannot be read, the page says so in a sentence
 * and is otherwise the same: thumbnails never fail a report, and never enter its digest.
 *
 * @example
 * ```ts ignore
 * import { writeReport } from "./report.ts";
 * const r = await writeReport("reports/default", scenarios, expectedKeys);
 * ```
 */
export async function writeReport(
  out: string,
  scenarios: readonly ResolvedScenario[],
  expected: readonly string[],
  extra: {
    environment?: Record<string, unknown>;
    runFile?: RunFile | null;
    images?: { readonly dataRoot?: string; readonly cacheDir: string };
    /** The run's pre-registration and whether it followed it (`compare --preregister`). */
    preregistration?: PreregistrationStatus;
    /** The sequential run's design and verdicts (`compare --until-decided`, a scenario's `sequential`). */
    sequential?: SequentialOutcome;
  } = {},
): Promise<ReportResult> {
  // A folder whose records disagree — with the versions it holds, or with each other on the data, an arm's code or
  // the engine — is refused, never rendered: its numbers would not compare. Nothing is written then.
  const records: CellRecord[] = await readAllCells(out, undefined, { refuseOthers: true });
  const mixed = disagreeingRecords(records);
  if (mixed) {
    throw new Error(
      `${out} is not reported: ${mixed}. Numbers computed on other data, by other code or another engine do not ` +
        "compare: move one side's cells into a folder of their own (or rerun them there)",
    );
  }
  const model = buildReport(records, scenarios, expected, extra.environment);
  const files: string[] = [];
  const put = async (name: string, data: string | Uint8Array) => {
    await writeFileAtomic(`${out}/${name}`, data);
    files.push(name);
  };
  await put("curves.csv", csv(model.curves));
  await put("per_class.csv", csv(model.perClass));
  await put("queried_classes.csv", csv(model.queried));
  await put("summary.csv", csv(model.summary));
  await put("stats.csv", csv(model.stats));
  await put("gain_change.csv", csv(model.gainChange));
  await put("field_metrics.csv", csv(model.fieldMetrics));
  const svgs: string[] = [];
  for (const f of model.figures) {
    await put(`${f.name}.vl.json`, JSON.stringify(f.spec, null, 1));
    const svg = await renderSvg(f.spec);
    svgs.push(svg);
    await put(`${f.name}.svg`, svg);
    await put(`${f.name}.png`, await svgToPng(svg));
  }
  await put(
    "manifest.json",
    JSON.stringify(
      {
        ...model.manifest,
        ...(extra.preregistration ? { preregistration: extra.preregistration } : {}),
        ...(extra.sequential ? { sequential: extra.sequential } : {}),
      },
      null,
      1,
    ),
  );
  let thumbnails: Thumbnails | undefined;
  if (extra.images) {
    // readThumbnails turns every unreadable dataset into a sentence; this catch is for the unforeseen.
    thumbnails = await readThumbnails(model.picked, scenarios, extra.images).catch((e) => ({
      rows: [],
      notes: [`No thumbnails: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}.`],
    }));
  }
  await put(
    "index.html",
    reportHtml(model, {
      scenarios,
      svgs,
      ...(thumbnails ? { thumbnails } : {}),
      ...(extra.preregistration ? { preregistration: preregistrationSentence(extra.preregistration) } : {}),
      ...(extra.sequential
        ? {
          sequential: [
            designLine(extra.sequential.design, extra.sequential.powered),
            ...sequentialText(extra.sequential).split("\n"),
          ],
        }
        : {}),
    }),
  );
  return {
    digest: model.digest,
    cells: records.length,
    complete: model.complete,
    missing: model.missing,
    files,
    headline: [...model.conclusions, ...model.notes],
    wallTimes: model.wallTimes,
  };
}
