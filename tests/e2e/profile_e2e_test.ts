/** `deno task profile` (bench/profile_step.ts) runs: training steps profile gradient kernels, inference batches none. */
import assert from "node:assert/strict";

const ROOT = new URL("../..", import.meta.url).pathname;

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
