/**
 * A bounded queue of events for one subscriber, read as an async iterator.
 *
 * @module
 */

import { EventOverflowError } from "./errors.ts";

/** The unread events an iterator buffers before it fails, unless told otherwise. */
export const DEFAULT_EVENT_BUFFER = 256;

/**
 * What an event iterator does when more events are unread than it buffers:
 * fail with {@linkcode EventOverflowError} once it delivered the buffered ones
 * (`"throw"`), or drop the oldest unread event to make room and count it
 * (`"drop-oldest"`).
 */
export type OverflowPolicy = "throw" | "drop-oldest";

/**
 * One subscriber's events: the producer pushes, the consumer iterates. Once
 * more than `capacity` events are unread, either the events already buffered
 * are still delivered and then the iterator throws {@linkcode EventOverflowError}
 * (`"throw"`), or the oldest unread event is dropped and counted in
 * `dropped` (`"drop-oldest"`).
 */
export class EventQueue<T> implements AsyncIterableIterator<T> {
  #items: T[] = [];
  #head = 0;
  #capacity: number;
  #overflow: OverflowPolicy;
  #overflowed = false;
  #dropped = 0;
  #ended = false;
  #wake: (() => void) | undefined;
  #onEnd: () => void;

  /**
   * Creates a queue.
   *
   * @param capacity The most unread events to buffer.
   * @param onEnd Called once when the queue ends, however it ends.
   * @param overflow What to do when more than `capacity` are unread.
   */
  constructor(capacity: number, onEnd: () => void, overflow: OverflowPolicy = "throw") {
    this.#capacity = capacity;
    this.#onEnd = onEnd;
    this.#overflow = overflow;
  }

  /** Whether the queue has ended and will take no more events. */
  get ended(): boolean {
    return this.#ended;
  }

  /** How many unread events were dropped to make room; always 0 with `"throw"`. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Adds an event; ignored once the queue has ended or overflowed.
   *
   * @param item The event.
   */
  push(item: T): void {
    if (this.#ended || this.#overflowed) return;
    if (this.#items.length - this.#head < this.#capacity) {
      this.#items.push(item);
    } else if (this.#overflow === "drop-oldest") {
      this.#shift();
      this.#dropped++;
      this.#items.push(item);
    } else {
      this.#overflowed = true;
    }
    this.#wakeReader();
  }

  /** Ends the queue: the reader gets what is buffered, then `done`. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#onEnd();
    this.#wakeReader();
  }

  /**
   * Returns the next event, waiting for one if none is buffered.
   *
   * @returns The next event, or `done` once the queue has ended.
   * @throws {EventOverflowError} After the buffered events, once it overflowed.
   */
  async next(): Promise<IteratorResult<T>> {
    while (true) {
      if (this.#head < this.#items.length) return { value: this.#shift(), done: false };
      if (this.#overflowed) {
        this.#overflowed = false;
        this.end();
        throw new EventOverflowError(this.#capacity);
      }
      if (this.#ended) return { value: undefined, done: true };
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  /**
   * Stops reading: the queue ends and drops what is buffered.
   *
   * @returns `done`.
   */
  return(): Promise<IteratorResult<T>> {
    this.#items = [];
    this.#head = 0;
    this.#overflowed = false;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  /**
   * The queue is its own iterator.
   *
   * @returns This queue.
   */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Takes the oldest unread event out, compacting the array now and then. */
  #shift(): T {
    const value = this.#items[this.#head++];
    if (this.#head > 64 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return value;
  }

  #wakeReader(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
