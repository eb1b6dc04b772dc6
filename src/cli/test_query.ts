/**
 * `deno task test-query ./my_query.ts`: run the query-function conformance suite on a user's module.
 *
 * @module
 */
import { runMain, UsageError } from "./errors.ts";
import { loadQueryModule } from "../al/query/registry.ts";
import { conformanceChecks } from "../al/conformance.ts";

async function main(args: string[]): Promise<void> {
  const path = args.find((a) => !a.startsWith("-"));
  if (!path) throw new UsageError("give the module to check: deno task test-query ./my_query.ts");
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
    throw new UsageError((e as Error).message);
  }
  // The suite runs here, in this process (no subprocess, so the task needs no --allow-run); the plug-in itself runs
  // in the plug-in sandbox (src/plugin/sandbox.ts) like in every run.
  console.log(`query conformance: ${fn.name} (${path})`);
  let failed = 0;
  const checks = conformanceChecks(fn);
  for (const check of checks) {
    const t0 = performance.now();
    try {
      await check.run();
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
