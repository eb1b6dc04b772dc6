/**
 * `deno task profile` (bench/profile_step.ts) refuses bad flags by name, exits 2 and writes nothing; it profiles
 * training steps or inference batches.
 */
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
  return { code: o.code, out: new TextDecoder().decode(o.stdout), err: new TextDecoder().decode(o.stderr) };
}

Deno.test("profile: hostile flags end with a message naming the value and exit 2, before any engine starts", async () => {
  const cases: [string[], string][] = [
    [["--backend", "gpu9000"], 'profile: --backend "gpu9000" is not a backend name'],
    [["--model", "resnet"], 'profile: --model "resnet" is not a backbone name'],
    [
      ["--px", "0"],
      'profile: --px must be an integer from 8 to 512 (the scenario schema\'s dataset.resolution range); got "0"',
    ],
    [
      ["--px", "99999"],
      'profile: --px must be an integer from 8 to 512 (the scenario schema\'s dataset.resolution range); got "99999"',
    ],
    [
      ["--steps", "1.5"],
      'profile: --steps must be an integer from 1 to 10000 (a profile\'s steps); got "1.5"',
    ],
    [
      ["--steps", "1e9"],
      'profile: --steps must be an integer from 1 to 10000 (a profile\'s steps); got "1e9"',
    ],
    [["--batch=-3"], 'profile: --batch must be an integer from 1 to 1024 (a profile\'s batch); got "-3"'],
    [["--batch", "-3"], 'profile: --batch is followed by "-3", which looks like a flag: write --batch=-3'],
    [["--fast"], "profile: Unknown option '--fast'"],
    [["--kernels", "fast"], 'profile: --kernels "fast": albench or stock'],
    [["--mode", "fit"], 'profile: --mode "fit": train (fine-tuning steps) or infer (inference batches)'],
  ];
  for (const [args, message] of cases) {
    const r = await profile(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
    assert.ok(r.err.includes(message), `${args.join(" ")}: ${r.err}`);
  }
});

Deno.test("profile --mode train and --mode infer: gradient kernels in training steps only", async () => {
  const common = ["--backend", "cpu", "--model", "small-cnn", "--px", "8", "--batch", "2", "--steps", "1"];
  const train = await profile(...common);
  assert.equal(train.code, 0, train.err);
  assert.match(train.out, /^cpu \(albench kernels\) small-cnn@8, training, batch 2, 1 steps: [\d.]+ img\/s/);
  assert.match(train.out, /\| Conv2DBackpropFilter \| 4 \|/);
  const infer = await profile(...common, "--mode", "infer");
  assert.equal(infer.code, 0, infer.err);
  assert.match(
    infer.out,
    /^cpu \(albench kernels\) small-cnn@8, inference, batch 2, 1 batches: [\d.]+ img\/s/,
  );
  assert.doesNotMatch(infer.out, /Backprop|Grad/);
  assert.match(infer.out, /\| (Fused)?Conv2D \| 4 \|/);
});
