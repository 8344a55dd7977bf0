/**
 * Splits a stream of text into lines (the standard library's
 * `TextLineStream`, which cannot be installed here).
 *
 * @module
 */

/** Splits text into lines, without their line endings. */
export class TextLineStream extends TransformStream<string, string> {
  /** Creates the stream. */
  constructor() {
    let rest = "";
    super({
      transform(chunk, controller) {
        const lines = (rest + chunk).split("\n");
        rest = lines.pop()!;
        for (const line of lines) controller.enqueue(line.replace(/\r$/, ""));
      },
      flush(controller) {
        if (rest) controller.enqueue(rest);
      },
    });
  }
}

/** One output stream of a running process, collected line by line, to wait on. */
export class Lines {
  /** The lines printed so far. */
  readonly lines: string[] = [];
  /** Settles when the stream ends. */
  readonly done: Promise<void>;
  readonly #name: string;
  #ended = false;
  #changed = Promise.withResolvers<void>();

  /**
   * Starts collecting a stream.
   *
   * @param name The stream, for failure messages.
   * @param stream The stream.
   */
  constructor(name: string, stream: ReadableStream<Uint8Array>) {
    this.#name = name;
    this.done = this.#read(stream);
  }

  async #read(stream: ReadableStream<Uint8Array>): Promise<void> {
    const lines = stream.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
    try {
      for await (const line of lines) {
        this.lines.push(line);
        this.#changed.resolve();
        this.#changed = Promise.withResolvers();
      }
    } finally {
      this.#ended = true;
      this.#changed.resolve();
    }
  }

  /**
   * Waits until a line printed so far or later satisfies the condition.
   *
   * @param what The line, described for the failure message.
   * @param matches The condition.
   * @param signal Fails the wait when aborted.
   * @returns The first line that satisfies the condition.
   */
  async line(
    what: string,
    matches: (line: string) => boolean,
    signal: AbortSignal,
  ): Promise<string> {
    const failure = (why: string) =>
      new Error(
        `${this.#name} ${why} without printing ${what}; it printed:\n${this.lines.join("\n")}`,
      );
    const { promise: aborted, reject } = Promise.withResolvers<never>();
    aborted.catch(() => {});
    const onAbort = () => reject(failure("reached the deadline"));
    if (signal.aborted) onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      for (let i = 0;; i++) {
        while (i === this.lines.length) {
          if (this.#ended) throw failure("ended");
          await Promise.race([this.#changed.promise, aborted]);
        }
        if (matches(this.lines[i])) return this.lines[i];
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }
}
