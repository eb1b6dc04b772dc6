/**
 * `deno task test-query ./my_query.ts`: run the query-function conformance suite on a user's module.
 *
 * @module
 */
import { runMain, UsageError } from "./errors.ts";
import { parseFlags, timeoutSeconds } from "./args.ts";
import { loadQueryModule } from "../plugin/loader.ts";
import { conformanceChecks } from "../al/conformance.ts";

/** Seconds one conformance check may take before the suite stops (`--timeout`). */
const DEFAULT_CHECK_TIMEOUT_SECONDS = 120;

async function main(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(
    args,
    {
      timeout: { type: "string" },
      debug: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    "test-query",
    true,
  );
  if (values.help) {
    console.log(
      "Usage: deno task test-query ./my_query.ts|./my_query.py [--timeout S]\n\nRuns the query-function " +
        "conformance suite on the module (TypeScript, or Python defining select); each check may take S seconds " +
        `(default ${DEFAULT_CHECK_TIMEOUT_SECONDS}).`,
    );
    return;
  }
  const timeout = timeoutSeconds(values.timeout, "--timeout", DEFAULT_CHECK_TIMEOUT_SECONDS);
  const path = positionals[0];
  if (!path || positionals.length > 1) {
    throw new UsageError("give the one module to check: deno task test-query ./my_query.ts");
  }
  const abs = path.startsWith("/") ? path : `${Deno.cwd()}/${path.replace(/^\.\//, "")}`;
  // A module that is missing or does not load is one line here, not a test runner's trace.
  try {
    if (!(await Deno.stat(abs)).isFile) {
      throw new UsageError(`${path} is not a file; give a module such as ./my_query.ts`);
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(
      `${path}: no such module (${abs}); give the path to your query module, e.g. ./my_query.ts`,
    );
  }
  let fn;
  try {
    fn = await loadQueryModule(abs, "/");
  } catch (e) {
    throw new UsageError((e as Error).message, 2, { cause: e });
  }
  // The suite runs here, in this process (no subprocess, so the task needs no --allow-run); the plug-in itself runs
  // in the plug-in sandbox (src/plugin/sandbox.ts) like in every run.
  console.log(`query conformance: ${fn.name} (${path})`);
  let failed = 0;
  const checks = conformanceChecks(fn);
  for (const check of checks) {
    const t0 = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<"timeout">((
      resolve,
    ) => (timer = setTimeout(() => resolve("timeout"), timeout * 1000)));
    try {
      // A select that never returns (even one spinning in its sandbox worker) would stall the suite for ever.
      if ((await Promise.race([check.run(), limit]).finally(() => clearTimeout(timer))) === "timeout") {
        console.log(
          `  FAILED  ${check.name}: did not finish within ${timeout} s (--timeout); a query function that never ` +
            "returns stalls every run (al.queryTimeoutSeconds fails its cell), so the remaining checks were not run",
        );
        console.log(`FAILED | ${checks.indexOf(check) - failed} passed | ${failed + 1} failed`);
        Deno.exit(1);
      }
      console.log(`  ok      ${check.name} (${(performance.now() - t0).toFixed(0)} ms)`);
    } catch (e) {
      failed++;
      console.log(`  FAILED  ${check.name}: ${(e as Error).message}`);
    }
  }
  console.log(`${failed === 0 ? "ok" : "FAILED"} | ${checks.length - failed} passed | ${failed} failed`);
  if (failed > 0) Deno.exit(1);
}

if (import.meta.main) await runMain(main, Deno.args);
