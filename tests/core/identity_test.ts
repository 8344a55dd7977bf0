import assert from "node:assert/strict";
import { seqAfter } from "../../src/core/identity.ts";

Deno.test("sequence numbers compare across the wrap-around", () => {
  assert.equal(seqAfter(2, 1), true);
  assert.equal(seqAfter(1, 2), false);
  assert.equal(seqAfter(1, 1), false);
  assert.equal(seqAfter(0, 0xffff_ffff), true);
  assert.equal(seqAfter(0xffff_ffff, 0), false);
});
