import assert from "node:assert/strict";
import { faultTour } from "./_scenarios.ts";

async function digest(lines: readonly string[]): Promise<{ hash: string; length: number }> {
  const bytes = new TextEncoder().encode(lines.join("\n"));
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return {
    hash: Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join(""),
    length: bytes.length,
  };
}

Deno.test("one seed gives the same trace, byte for byte, and another seed another", async () => {
  const first = faultTour(42);
  const again = faultTour(42);
  const other = faultTour(43);
  const trace = await digest(first.trace!);
  assert.deepEqual(await digest(again.trace!), trace);
  assert.notEqual((await digest(other.trace!)).hash, trace.hash);
  // The tour went through what it is meant to: every fault left its mark.
  const text = first.trace!.join("\n");
  for (
    const mark of [
      " drop loss ",
      " drop partition ",
      " drop host-down ",
      " crash ",
      " clock ",
      " close ",
    ]
  ) {
    assert.ok(text.includes(mark), `no "${mark.trim()}" in the trace`);
  }
  assert.ok(first.stats.delivered > 1_000);
});
