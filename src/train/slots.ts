/**
 * Buffer sharing by lifetime, for a planned step: tensors whose lifetimes do not overlap and whose sizes are
 * equal share one buffer (a slot). Used for inference activations and for gradients, each of which is needed
 * only between two known steps of the plan.
 *
 * @module
 */

/** When a tensor needs its buffer: from step `from` through step `to` (inclusive), in execution order. */
export interface Lifetime {
  readonly from: number;
  readonly to: number;
}

/**
 * Assign slots: per tensor, the slot it uses (`undefined` where it has no lifetime), and each slot's length.
 * A slot is reused only by a tensor of the same length whose lifetime starts after the previous one's ends, so
 * a step's outputs never share a buffer with the inputs it reads. Deterministic: the same lifetimes give the
 * same slots.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shareSlots } from "./slots.ts";
 * // a: steps 0-1, b: 1-2, c: 2-3 (all of length 4): c can take a's buffer, b cannot.
 * const { slot, lengths } = shareSlots([4, 4, 4], [{ from: 0, to: 1 }, { from: 1, to: 2 }, { from: 2, to: 3 }]);
 * assert.deepEqual(slot, [0, 1, 0]);
 * assert.deepEqual(lengths, [4, 4]);
 * ```
 */
export function shareSlots(
  lengths: readonly number[],
  lives: readonly (Lifetime | undefined)[],
): { slot: (number | undefined)[]; lengths: number[] } {
  const slot: (number | undefined)[] = lengths.map(() => undefined);
  const slotLengths: number[] = [];
  const order = lives.flatMap((l, t) => (l ? [t] : [])).sort((a, b) =>
    lives[a]!.from - lives[b]!.from || a - b
  );
  /** Slots in use: the step their tensor frees them after, and the slot. */
  const busy: { to: number; slot: number }[] = [];
  const free = new Map<number, number[]>();
  for (const t of order) {
    const { from, to } = lives[t]!;
    if (to < from) throw new RangeError(`tensor ${t}: its lifetime ends (${to}) before it starts (${from})`);
    // Free every slot whose tensor's last step is before this one's first.
    for (let i = busy.length - 1; i >= 0; i--) {
      const b = busy[i]!;
      if (b.to < from) {
        const len = slotLengths[b.slot]!;
        const list = free.get(len) ?? [];
        list.push(b.slot);
        list.sort((x, y) => y - x); // lowest slot last: popped first
        free.set(len, list);
        busy.splice(i, 1);
      }
    }
    const reuse = free.get(lengths[t]!)?.pop();
    const s = reuse ?? slotLengths.push(lengths[t]!) - 1;
    slot[t] = s;
    busy.push({ to, slot: s });
  }
  return { slot, lengths: slotLengths };
}
