/**
 * Preloaded by `deno task test`: `console.assert` throws instead of printing, so a failing check in a JSDoc
 * `@example` (which the test task runs) fails its test rather than scrolling past as "Assertion failed".
 *
 * @module
 */
const original = console.assert.bind(console);
console.assert = (condition?: boolean, ...data: unknown[]): void => {
  if (!condition) {
    original(condition, ...data);
    throw new Error(`console.assert failed${data.length ? `: ${data.map(String).join(" ")}` : ""}`);
  }
};
