/**
 * Which Python the Python-plug-in tests use: `ALBENCH_PYTHON`, else `python3`, else `/usr/bin/python3`, the
 * first that imports NumPy (and, for `PYTHON_SKLEARN`, scikit-learn). Tests that need one are ignored, saying
 * why, where there is none; `.ci/run` installs Debian's python3-numpy and python3-sklearn.
 *
 * @module
 */

function imports(python: string, modules: string): boolean {
  try {
    return new Deno.Command(python, {
      args: ["-c", `import ${modules}`],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

function find(modules: string): string | null {
  const candidates = [Deno.env.get("ALBENCH_PYTHON"), "python3", "/usr/bin/python3"].filter((
    p,
  ): p is string => !!p);
  return candidates.find((p) => imports(p, modules)) ?? null;
}

/** A Python with NumPy, or null. */
export const PYTHON: string | null = find("numpy");
/** A Python with NumPy and scikit-learn, or null. */
export const PYTHON_SKLEARN: string | null = find("numpy, sklearn");
/** Why Python-plug-in tests are ignored here (for the test names), or "". */
export const NO_PYTHON = PYTHON
  ? ""
  : " [ignored: no Python with NumPy (set ALBENCH_PYTHON, or apt-get install python3-numpy)]";

// The bridge starts ALBENCH_PYTHON, else python3: point it at the one found (for this whole test process and the
// commands it spawns) where that is another.
const chosen = PYTHON_SKLEARN ?? PYTHON;
if (chosen && chosen !== (Deno.env.get("ALBENCH_PYTHON") || "python3")) {
  Deno.env.set("ALBENCH_PYTHON", chosen);
}
