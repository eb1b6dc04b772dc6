/**
 * The backbone names, in a module without tfjs so that scenario validation can list them (one definition for
 * the schema, the builder and the CLI).
 *
 * @module
 */

/** Backbone names accepted by scenarios (`model.backbone`). */
export const BACKBONE_NAMES = ["densenet121", "densenet-cpu", "small-cnn"] as const;
/** A backbone name. */
export type BackboneName = typeof BACKBONE_NAMES[number];

/**
 * Whether `s` names a backbone.
 *
 * @example
 * ```ts
 * import { isBackboneName } from "./names.ts";
 * console.assert(isBackboneName("densenet121") && !isBackboneName("resnet50"));
 * ```
 */
export function isBackboneName(s: string): s is BackboneName {
  return (BACKBONE_NAMES as readonly string[]).includes(s);
}
