import { BUILTIN_QUERY_FUNCTIONS, loadQueryModule } from "../src/al/query/registry.ts";
import { queryConformance } from "../src/al/conformance.ts";

// `deno task test-query ./my_query.ts` sets ALBENCH_QUERY_MODULE to run the suite on a user's module only.
const userModule = Deno.env.get("ALBENCH_QUERY_MODULE");

if (userModule) {
  const fn = await loadQueryModule(userModule, Deno.cwd());
  Deno.test(`query conformance: ${fn.name} (${userModule})`, (t) => queryConformance(fn, t));
} else {
  for (const fn of Object.values(BUILTIN_QUERY_FUNCTIONS)) {
    Deno.test(`query conformance: ${fn.name}`, (t) => queryConformance(fn, t));
  }
  const example = await loadQueryModule(
    "scenarios/examples/my_query.ts",
    new URL("..", import.meta.url).pathname,
  );
  Deno.test(`query conformance: the example plug-in (${example.name})`, (t) => queryConformance(example, t));
}
