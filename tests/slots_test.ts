import assert from "node:assert/strict";
import { shareSlots } from "../src/train/slots.ts";

Deno.test("slots: tensors share a buffer only when their lifetimes are disjoint and their lengths equal", () => {
  // Random lifetimes checked against the definition, independently of the allocation order.
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let round = 0; round < 50; round++) {
    const count = 1 + rand(30);
    const lengths = Array.from({ length: count }, () => 1 + rand(3));
    const lives = lengths.map(() => {
      if (rand(6) === 0) return undefined;
      const from = rand(20) - 1;
      return { from, to: from + rand(5) };
    });
    const { slot, lengths: slotLengths } = shareSlots(lengths, lives);
    for (let a = 0; a < count; a++) {
      assert.equal(slot[a] === undefined, lives[a] === undefined);
      if (slot[a] === undefined) continue;
      assert.equal(slotLengths[slot[a]!], lengths[a]);
      for (let b = a + 1; b < count; b++) {
        if (slot[b] !== slot[a]) continue;
        const la = lives[a]!, lb = lives[b]!;
        assert.ok(la.to < lb.from || lb.to < la.from, `tensors ${a} and ${b} overlap in slot ${slot[a]}`);
      }
    }
    // Never more slots than tensors with a lifetime; fewer whenever two same-length lifetimes are disjoint.
    assert.ok(slotLengths.length <= lives.filter((l) => l).length);
  }
});

Deno.test("slots: a chain of same-size tensors alternates between two buffers", () => {
  const lives = Array.from({ length: 10 }, (_, i) => ({ from: i, to: i + 1 }));
  const { slot, lengths } = shareSlots(lives.map(() => 8), lives);
  assert.deepEqual(slot, [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
  assert.deepEqual(lengths, [8, 8]);
});

Deno.test("slots: a lifetime that ends before it starts is refused, naming the tensor", () => {
  assert.throws(() => shareSlots([4], [{ from: 3, to: 2 }]), {
    message: "tensor 0: its lifetime ends (2) before it starts (3)",
  });
});
