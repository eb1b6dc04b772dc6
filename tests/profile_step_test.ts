/** `deno task profile` (bench/profile_step.ts) refuses bad flags by name, exits 2 and writes nothing. */
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

async function profile(...args: string[]) {
  const o = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--frozen",
      "--cached-only",
      "--allow-read=.",
      "--allow-env",
      "bench/profile_step.ts",
      ...args,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: o.code, err: new TextDecoder().decode(o.stderr) };
}

Deno.test("profile: hostile flags end with a message naming the value and exit 2, before any engine starts", async () => {
  const cases: [string[], string][] = [
    [["--backend", "gpu9000"], 'profile: --backend "gpu9000" is not a backend name'],
    [["--model", "resnet"], 'profile: --model "resnet" is not a backbone name'],
    [["--px", "0"], 'profile: --px "0" is not an integer ≥ 8'],
    [["--steps", "1.5"], 'profile: --steps "1.5" is not an integer ≥ 1'],
    [["--batch=-3"], 'profile: --batch "-3" is not an integer ≥ 1'],
    [["--batch", "-3"], "profile: Option '--batch' argument is ambiguous."],
    [["--fast"], "profile: Unknown option '--fast'"],
    [["--kernels", "fast"], 'profile: --kernels "fast": albench or stock'],
  ];
  for (const [args, message] of cases) {
    const r = await profile(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
    assert.ok(r.err.includes(message), `${args.join(" ")}: ${r.err}`);
  }
});
