/**
 * Headless Chromium for the report tests: where Debian installs it (`.ci/run` does), and one call that loads a
 * page offline and returns its DOM after scripts ran.
 */
import assert from "node:assert/strict";

/** The Chromium binary, or `undefined` when it is not installed (the tests then skip with a note). */
export const CHROMIUM: string | undefined = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

/** Load `file` (an absolute path) in headless Chromium, offline, in a fresh profile; its DOM as text. */
export async function dumpDom(file: string, extraArgs: readonly string[] = []): Promise<string> {
  assert.ok(CHROMIUM, "dumpDom needs Chromium");
  const profile = await Deno.makeTempDir({ prefix: "albench-chromium-" });
  try {
    const r = await new Deno.Command(CHROMIUM, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        `--user-data-dir=${profile}`,
        ...extraArgs,
        "--dump-dom",
        `file://${file}`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    assert.equal(r.code, 0, decode(r.stderr).slice(0, 500));
    return decode(r.stdout);
  } finally {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}
