import assert from "node:assert/strict";
import { seededRandom } from "../_random.ts";
import { EventQueue } from "./_events.ts";

Deno.test("the event queue gives events in time order, and equal times in insertion order", () => {
  const queue = new EventQueue<string>();
  const random = seededRandom(7);
  const pushed: { at: number; name: string }[] = [];
  for (let i = 0; i < 2_000; i++) {
    // Few distinct times, so that most events tie with others.
    const at = Math.floor(random() * 50);
    const name = `e${i}`;
    pushed.push({ at, name });
    queue.push(at, name);
  }
  const expected = pushed.toSorted((a, b) => a.at - b.at).map((e) => e.name);
  const popped: string[] = [];
  while (queue.size > 0) popped.push(queue.pop()!);
  assert.deepEqual(popped, expected);
  assert.equal(queue.pop(), undefined);
  assert.equal(queue.nextAt, Infinity);
});

Deno.test("the event queue keeps its order when events are added while it drains", () => {
  const queue = new EventQueue<number>();
  queue.push(5, 1);
  queue.push(1, 2);
  const order: number[] = [];
  while (queue.size > 0) {
    const at = queue.nextAt;
    const item = queue.pop()!;
    order.push(item);
    // Each event schedules one at its own time and one later, up to a bound.
    if (item < 6) {
      queue.push(at, item + 10);
      queue.push(at + 1, item + 2);
    }
  }
  assert.deepEqual(order, [2, 12, 4, 14, 6, 1, 11, 3, 13, 5, 15, 7]);
});
