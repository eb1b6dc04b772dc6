/**
 * Whether the native engine's oneDNN loads here: undefined when it does, else why not (tests that need it are
 * skipped with that reason; `.ci/run` installs libdnnl2 so CI runs them).
 *
 * @module
 */
import { loadDnnl } from "../src/backend/native/dnnl.ts";

/** Undefined when oneDNN 2.x loads, else the reason it does not. */
export function nativeUnavailable(): string | undefined {
  try {
    loadDnnl();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
