import assert from "node:assert/strict";
import { EventOverflowError } from "../src/errors.ts";
import { EventQueue, type OverflowPolicy } from "../src/events.ts";

/** A queue with a count of how often it called onEnd. */
function queue(
  capacity = 16,
  overflow?: OverflowPolicy,
): { events: EventQueue<number>; ends: () => number } {
  let ends = 0;
  const events = new EventQueue<number>(capacity, () => ends++, overflow);
  return { events, ends: () => ends };
}

const PENDING = Symbol("pending");

/** Whether a promise is still pending once every settled promise has run. */
async function pending(promise: Promise<unknown>): Promise<boolean> {
  return await Promise.race([promise, Promise.resolve(PENDING)]) === PENDING;
}

async function drain(events: AsyncIterable<number>): Promise<number[]> {
  const out: number[] = [];
  for await (const event of events) out.push(event);
  return out;
}

Deno.test("an event queue delivers events in the order they were pushed", async () => {
  const { events } = queue();
  for (const n of [3, 1, 2]) events.push(n);
  assert.deepEqual(await events.next(), { value: 3, done: false });
  assert.deepEqual(await events.next(), { value: 1, done: false });
  assert.deepEqual(await events.next(), { value: 2, done: false });
});

Deno.test("an event queue keeps the order across many interleaved pushes and reads", async () => {
  const { events } = queue(1_000);
  const read: number[] = [];
  let pushed = 0;
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 40; i++) events.push(pushed++);
    for (let i = 0; i < 30; i++) read.push((await events.next()).value);
  }
  events.end();
  read.push(...await drain(events));
  assert.deepEqual(read, Array.from({ length: pushed }, (_, i) => i));
});

Deno.test("an event queue reader waits for the next push", async () => {
  const { events } = queue();
  const next = events.next();
  assert.ok(await pending(next));
  events.push(42);
  assert.deepEqual(await next, { value: 42, done: false });
});

Deno.test("ending an event queue delivers the buffered events, then done", async () => {
  const { events, ends } = queue();
  events.push(1);
  events.push(2);
  events.end();
  assert.equal(events.ended, true);
  assert.equal(ends(), 1);
  assert.deepEqual(await drain(events), [1, 2]);
  assert.deepEqual(await events.next(), { value: undefined, done: true });
});

Deno.test("ending an event queue wakes a waiting reader with done", async () => {
  const { events, ends } = queue();
  const next = events.next();
  assert.ok(await pending(next));
  events.end();
  assert.deepEqual(await next, { value: undefined, done: true });
  assert.equal(ends(), 1);
});

Deno.test("an ended event queue ignores pushes", async () => {
  const { events } = queue();
  events.push(1);
  events.end();
  events.push(2);
  assert.deepEqual(await drain(events), [1]);
});

Deno.test("return ends an event queue, drops what is buffered and calls onEnd once", async () => {
  const { events, ends } = queue();
  events.push(1);
  events.push(2);
  assert.deepEqual(await events.return(), { value: undefined, done: true });
  assert.equal(events.ended, true);
  assert.equal(ends(), 1);
  assert.deepEqual(await events.next(), { value: undefined, done: true });
  events.push(3);
  assert.deepEqual(await events.next(), { value: undefined, done: true });
  assert.equal(ends(), 1);
});

Deno.test("breaking out of a for-await loop ends the event queue", async () => {
  const { events, ends } = queue();
  for (const n of [1, 2, 3]) events.push(n);
  for await (const event of events) {
    if (event === 2) break;
  }
  assert.equal(events.ended, true);
  assert.equal(ends(), 1);
  assert.deepEqual(await events.next(), { value: undefined, done: true });
});

Deno.test("an overflowing event queue delivers its capacity, then throws, then is done", async () => {
  const capacity = 5;
  const { events, ends } = queue(capacity);
  for (let i = 0; i <= capacity; i++) events.push(i);
  // Pushes after the overflow are not delivered either.
  events.push(99);
  const delivered: number[] = [];
  let error: unknown;
  try {
    for await (const event of events) delivered.push(event);
  } catch (caught) {
    error = caught;
  }
  assert.deepEqual(delivered, [0, 1, 2, 3, 4]);
  assert.ok(error instanceof EventOverflowError);
  assert.equal(error.name, "EventOverflowError");
  assert.match(error.message, /more than 5 events/);
  assert.equal(events.ended, true);
  assert.deepEqual(await events.next(), { value: undefined, done: true });
  assert.equal(ends(), 1);
});

Deno.test("an event queue at exactly its capacity does not overflow", async () => {
  const { events } = queue(3);
  for (const n of [1, 2, 3]) events.push(n);
  events.end();
  assert.deepEqual(await drain(events), [1, 2, 3]);
});

Deno.test("an event queue counts only unread events toward its capacity", async () => {
  const { events } = queue(3);
  for (const n of [1, 2, 3]) events.push(n);
  assert.equal((await events.next()).value, 1);
  events.push(4);
  assert.equal((await events.next()).value, 2);
  events.push(5);
  events.end();
  assert.deepEqual(await drain(events), [3, 4, 5]);
});

Deno.test("a reader waiting when its queue overflows gets the buffered event, then the error", async () => {
  const { events, ends } = queue(1);
  const first = events.next();
  assert.ok(await pending(first));
  events.push(1);
  events.push(2);
  assert.deepEqual(await first, { value: 1, done: false });
  await assert.rejects(events.next(), EventOverflowError);
  assert.equal(ends(), 1);
});

Deno.test("an event queue calls onEnd exactly once however it ends", async () => {
  const paths: Record<string, (events: EventQueue<number>) => Promise<unknown> | void> = {
    "end twice": (events) => {
      events.end();
      events.end();
    },
    "end, then return": async (events) => {
      events.end();
      await events.return();
    },
    "return, then end": async (events) => {
      await events.return();
      events.end();
    },
    "return twice": async (events) => {
      await events.return();
      await events.return();
    },
    "overflow, then read to the error, then end and return": async (events) => {
      events.push(1);
      events.push(2);
      await events.next();
      await assert.rejects(events.next(), EventOverflowError);
      events.end();
      await events.return();
    },
    "overflow, then end before reading": async (events) => {
      events.push(1);
      events.push(2);
      events.end();
      await events.next();
      await assert.rejects(events.next(), EventOverflowError);
      await events.return();
    },
    "overflow, then return before reading": async (events) => {
      events.push(1);
      events.push(2);
      await events.return();
      assert.deepEqual(await events.next(), { value: undefined, done: true });
    },
  };
  for (const [name, path] of Object.entries(paths)) {
    const { events, ends } = queue(1);
    await path(events);
    assert.equal(events.ended, true, name);
    assert.equal(ends(), 1, name);
  }
});

Deno.test("an event queue that drops the oldest keeps the newest events and counts the rest", async () => {
  const { events, ends } = queue(5, "drop-oldest");
  for (let i = 0; i < 2_000; i++) events.push(i);
  assert.equal(events.dropped, 1_995);
  assert.equal(events.ended, false);
  events.end();
  assert.deepEqual(await drain(events), [1_995, 1_996, 1_997, 1_998, 1_999]);
  assert.equal(ends(), 1);
});

Deno.test("an event queue that drops the oldest never throws and goes on delivering", async () => {
  const { events } = queue(3, "drop-oldest");
  const read: number[] = [];
  let pushed = 0;
  // A reader slower than the producer: ten events come for each one read.
  for (let round = 0; round < 200; round++) {
    for (let i = 0; i < 10; i++) events.push(pushed++);
    read.push((await events.next()).value);
  }
  events.end();
  read.push(...await drain(events));
  assert.equal(read.length + events.dropped, pushed);
  // What it delivers is in order, and ends with the newest events.
  assert.deepEqual(read, [...read].sort((a, b) => a - b));
  assert.deepEqual(read.slice(-3), [pushed - 3, pushed - 2, pushed - 1]);
});

Deno.test("an event queue that drops the oldest counts nothing while it keeps up", async () => {
  const { events } = queue(3, "drop-oldest");
  for (const n of [1, 2, 3]) events.push(n);
  assert.equal((await events.next()).value, 1);
  events.push(4);
  events.end();
  assert.deepEqual(await drain(events), [2, 3, 4]);
  assert.equal(events.dropped, 0);
});

Deno.test("an event queue that throws on overflow never counts a drop", async () => {
  const { events } = queue(2);
  for (const n of [1, 2, 3, 4]) events.push(n);
  assert.equal(events.dropped, 0);
  await events.next();
  await events.next();
  await assert.rejects(events.next(), EventOverflowError);
});
