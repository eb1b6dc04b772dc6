/**
 * The `--log-json` stream: one JSON object a line, each a {@linkcode ProgressEvent} with `t`, the seconds since the
 * run began (one decimal). Written by `runner/progress.ts`; read (validated) by {@linkcode parseLogLines}.
 *
 * The stream has no format tag (a line is an event, and a consumer skips types it does not know); every event is
 * a loose object, so a field added to an event keeps older readers working. A changed or removed field is a
 * change of the stream: say so in the README's `--log-json` line.
 *
 * @module
 */
import { z } from "zod";
import { RecordError, schemaProblem } from "./records.ts";

/** An event worth reporting. */
export type ProgressEvent =
  | { type: "start"; cells: number; skipped: number; shard?: string; jobs?: number; cores?: number }
  | { type: "pretrain"; key: string; cached: boolean; epoch?: number; epochs?: number; loss?: number }
  /** A pre-training begins (not from the cache): `images` BYOL sees per epoch. */
  | { type: "pretrain-start"; key: string; images: number; epochs: number }
  /** BYOL steps done inside an epoch; `images` the images of the steps since the last such event. */
  | {
    type: "pretrain-step";
    key: string;
    epoch: number;
    epochs: number;
    step: number;
    steps: number;
    images: number;
  }
  /** The run's size and estimate, before it starts (`size.ts`, `sizing.ts`). */
  | { type: "size"; lines: string[]; estimateSeconds?: number }
  | { type: "phase"; cell: string; iteration: number; iterations: number; phase: string }
  | {
    type: "iteration";
    cell: string;
    iteration: number;
    iterations: number;
    labelled: number;
    microF1: number;
    macroF1: number;
    seconds: number;
  }
  | { type: "cell-done"; cell: string }
  | { type: "done"; seconds: number }
  | { type: "message"; text: string }
  /** Something set aside or recovered: always written (also with `--quiet`), prefixed `warning: `. */
  | { type: "warning"; text: string };

/** One line of the stream: an event and the seconds since the run began. */
export type LogLine = ProgressEvent & { readonly t: number };

const count = z.number().int().nonnegative();
/** A score the loop computed; JSON writes a NaN as null. */
const score = z.number().nullable();

/** Each event's schema, by type. */
const EVENTS = {
  start: z.looseObject({
    cells: count,
    skipped: count,
    shard: z.string().optional(),
    jobs: count.optional(),
    cores: count.optional(),
  }),
  pretrain: z.looseObject({
    key: z.string(),
    cached: z.boolean(),
    epoch: count.optional(),
    epochs: count.optional(),
    loss: score.optional(),
  }),
  "pretrain-start": z.looseObject({ key: z.string(), images: count, epochs: count }),
  "pretrain-step": z.looseObject({
    key: z.string(),
    epoch: count,
    epochs: count,
    step: count,
    steps: count,
    images: count,
  }),
  size: z.looseObject({ lines: z.array(z.string()), estimateSeconds: z.number().optional() }),
  phase: z.looseObject({ cell: z.string(), iteration: count, iterations: count, phase: z.string() }),
  iteration: z.looseObject({
    cell: z.string(),
    iteration: count,
    iterations: count,
    labelled: count,
    microF1: score,
    macroF1: score,
    seconds: z.number(),
  }),
  "cell-done": z.looseObject({ cell: z.string() }),
  done: z.looseObject({ seconds: z.number() }),
  message: z.looseObject({ text: z.string() }),
  warning: z.looseObject({ text: z.string() }),
} as const satisfies Record<ProgressEvent["type"], z.ZodType>; // one schema per event type, no more

/**
 * The events of a `--log-json` file's text, validated: throws a {@linkcode RecordError} naming the file, the line
 * and the first offending field. Lines of a type this version does not know are skipped (a newer writer's), and
 * an empty last line (the stream ends with a newline) is fine.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLogLines } from "./log_events.ts";
 * const lines = parseLogLines("log.jsonl", '{"t": 0, "type": "cell-done", "cell": "s/a/seed-0"}\n');
 * assert.equal(lines[0]!.type, "cell-done");
 * assert.throws(() => parseLogLines("log.jsonl", '{"t": 0, "type": "done"}'), /^RecordError: log\.jsonl: line 1: field seconds: /);
 * ```
 */
export function parseLogLines(path: string, text: string): LogLine[] {
  const out: LogLine[] = [];
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  lines.forEach((line, i) => {
    const at = `line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new RecordError(path, `${at}: not valid JSON: ${(e as Error).message}`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new RecordError(path, `${at}: not a JSON object`);
    }
    const { t, type } = value as { t?: unknown; type?: unknown };
    if (typeof t !== "number" || !(t >= 0)) {
      throw new RecordError(path, `${at}: field t: not a number of seconds`);
    }
    if (typeof type !== "string") throw new RecordError(path, `${at}: field type: not a string`);
    const schema = (EVENTS as Record<string, z.ZodType>)[type];
    if (!schema) return; // a newer writer's event
    const problem = schemaProblem(schema, value);
    if (problem !== null) throw new RecordError(path, `${at}: ${problem}`);
    out.push(value as LogLine);
  });
  return out;
}
