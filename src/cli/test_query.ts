/**
 * `deno task test-query ./my_query.ts`: run the query-function conformance suite on a user's module.
 *
 * @module
 */
import { runMain, UsageError } from "./errors.ts";

async function main(args: string[]): Promise<void> {
  const path = args.find((a) => !a.startsWith("-"));
  if (!path) throw new UsageError("give the module to check: deno task test-query ./my_query.ts");
  const root = new URL("../..", import.meta.url).pathname;
  const abs = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-read", "--allow-env", `${root}tests/query_conformance_test.ts`],
    env: { ALBENCH_QUERY_MODULE: abs },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (out.code !== 0) Deno.exit(out.code);
}

if (import.meta.main) await runMain(main, Deno.args);
