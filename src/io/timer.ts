/**
 * One-shot timers for the shell: the driver's deadline, the rescans, the
 * goodbye's grace.
 *
 * In Deno, the global `setTimeout` is the Node.js layer's, which Deno loads
 * at its first call: 10 ms of a fresh process (measured, Deno 2.9.6). A
 * process that needs nothing else of that layer (a chart over
 * `Deno.listenDatagram`, whose module imports no node: module in Deno) had
 * its first chart 12 ms sooner from its start with these timers. They wait
 * with `Atomics.waitAsync`, which is V8's own: its timeout fires a
 * millisecond or so later than `setTimeout`'s, which the protocol's
 * deadlines, spread over tens of milliseconds and more, do not feel. Unlike
 * `setTimeout`'s, they do not keep the process alive: the sockets of the
 * built-in transports (`Deno.listenDatagram`'s, and node:dgram's, whose
 * `setTimeout` would cost a chart without `--unstable-net` 5 ms more of its
 * build, measured) do, but a transport of the user's own may hold nothing,
 * so it gets `setTimeout`'s. Outside Deno, `setTimeout`.
 *
 * @module
 */

/** Stops a timer; nothing happens if it has fired. */
export type Cancel = () => void;

/**
 * Calls `fire` once, after `ms` milliseconds (at least 1: less waits 1, as
 * `setTimeout` does), as a task of its own.
 *
 * @returns A function that cancels the timer.
 */
export type Timer = (ms: number, fire: () => void) => Cancel;

/** `setTimeout`'s timer: while it waits, it keeps the process alive. */
export const processTimer: Timer = (ms, fire) => {
  const timer = setTimeout(fire, Math.max(1, ms));
  return () => clearTimeout(timer);
};

const inDeno = (globalThis as { Deno?: unknown }).Deno !== undefined &&
  typeof Atomics.waitAsync === "function";

/**
 * The timer for charts over the built-in transports, whose sockets keep the
 * process alive: in Deno, one of `Atomics.waitAsync`, which does not;
 * elsewhere {@linkcode processTimer}.
 */
export const socketTimer: Timer = inDeno ? waitTimer : processTimer;

function waitTimer(ms: number, fire: () => void): Cancel {
  // A cell of its own, so that cancelling wakes this wait and no other.
  const cell = new Int32Array(new SharedArrayBuffer(4));
  let cancelled = false;
  const wait = Atomics.waitAsync(cell, 0, 0, Math.max(1, ms));
  // The cell holds 0 and the timeout is positive: the wait is always asynchronous.
  (wait.value as Promise<string>).then(() => {
    if (!cancelled) fire();
  });
  return () => {
    if (cancelled) return;
    cancelled = true;
    // Ends the wait now, so that nothing of a cancelled timer lingers.
    Atomics.notify(cell, 0);
  };
}
