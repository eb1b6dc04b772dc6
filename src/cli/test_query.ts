/**
 * `deno task test-query ./my_query.ts`: run the query-function conformance suite on a user's module.
 *
 * @module
 */
import { runMain, UsageError } from "./errors.ts";
import { loadQueryModule } from "../al/query/registry.ts";

async function main(args: string[]): Promise<void> {
  const path = args.find((a) => !a.startsWith("-"));
  if (!path) throw new UsageError("give the module to check: deno task test-query ./my_query.ts");
  const root = new URL("../..", import.meta.url).pathname;
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
  try {
    await loadQueryModule(abs, "/");
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-read", "--allow-env", `${root}tests/query_conformance_test.ts`],
    env: { ALBENCH_QUERY_MODULE: abs },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (out.code !== 0) Deno.exit(out.code);
}

if (import.meta.main) await runMain(main, Deno.args);
