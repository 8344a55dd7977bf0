import "./_lab.ts";
import assert from "node:assert/strict";
import { freshPort } from "./_charts.ts";
import { Lines } from "./_lines.ts";

// Generous: every example is a Deno process of its own that has to start
// before discovery's first announcement round.
const DEADLINE = 20_000;

function examplePath(file: string): string {
  return new URL(`../examples/${file}`, import.meta.url).pathname;
}

/** An example running in a process of its own, typed into and read from as it runs. */
class Example implements AsyncDisposable {
  /** Its standard output. */
  readonly stdout: Lines;
  /** Its standard error. */
  readonly stderr: Lines;
  readonly #name: string;
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;

  constructor(name: string, file: string, args: string[]) {
    this.#name = name;
    this.#child = new Deno.Command("deno", {
      args: ["run", "-A", examplePath(file), ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.stdout = new Lines(`${name}'s stdout`, this.#child.stdout);
    this.stderr = new Lines(`${name}'s stderr`, this.#child.stderr);
  }

  /** Types a line on its standard input. */
  async type(line: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(`${line}\n`));
  }

  /**
   * Ends its standard input (or sends it a signal) and waits for it to exit
   * and finish its output.
   *
   * @returns Its exit status.
   */
  async end(
    signal: AbortSignal,
    how: "stdin" | Deno.Signal = "stdin",
  ): Promise<Deno.CommandStatus> {
    if (how === "stdin") await this.#stdin.close();
    else this.#child.kill(how);
    const { promise: aborted, reject } = Promise.withResolvers<never>();
    aborted.catch(() => {});
    const onAbort = () => reject(new Error(`${this.#name} did not exit within the deadline`));
    if (signal.aborted) onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const status = await Promise.race([this.#child.status, aborted]);
      await Promise.all([this.stdout.done, this.stderr.done]);
      return status;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Stops it if it still runs, and waits until it is gone. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#stdin.close().catch(() => {});
    try {
      this.#child.kill();
    } catch {
      // It has exited already.
    }
    await this.#child.status;
    await Promise.all([this.stdout.done, this.stderr.done]);
  }
}

/** What an example printed, and how it exited. */
interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs an example to its end; the signal kills it. */
async function runExample(file: string, args: string[], signal: AbortSignal): Promise<Run> {
  const { code, stdout, stderr } = await new Deno.Command("deno", {
    args: ["run", "-A", examplePath(file), ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal,
  }).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** Starts a chat on the given discovery port. */
function startChat(name: string, discoveryPort: number): Example {
  return new Example(name, "chat.ts", ["--discovery-port", `${discoveryPort}`]);
}

/**
 * Waits until every chat has found every other.
 *
 * @returns The chats' ids, in order.
 */
async function meet(chats: Example[], signal: AbortSignal): Promise<string[]> {
  const ids = await Promise.all(chats.map(async (chat) => {
    const line = await chat.stderr.line(
      "its id",
      (line) => line.startsWith("chat: you are peer "),
      signal,
    );
    return line.match(/peer (\d+)/)![1];
  }));
  await Promise.all(
    chats.flatMap((chat, i) =>
      ids.filter((_, j) => j !== i).map((id) =>
        chat.stderr.line(
          `that it found peer ${id}`,
          (line) => line.startsWith(`chat: found peer ${id} at `),
          signal,
        )
      )
    ),
  );
  return ids;
}

Deno.test("the chat example delivers a typed line to every peer", async () => {
  const signal = AbortSignal.timeout(DEADLINE);
  const discoveryPort = freshPort();
  await using first = startChat("chat 1", discoveryPort);
  await using second = startChat("chat 2", discoveryPort);
  await using third = startChat("chat 3", discoveryPort);
  const chats = [first, second, third];
  const ids = await meet(chats, signal);

  await first.type("hello from the first peer");
  const delivered = `${ids[0]}: hello from the first peer`;
  for (const other of [second, third]) {
    await other.stdout.line(`"${delivered}"`, (line) => line === delivered, signal);
  }

  const statuses = await Promise.all(chats.map((chat) => chat.end(signal)));
  assert.deepEqual(statuses.map((status) => status.code), [0, 0, 0]);
  assert.deepEqual(chats.map((chat) => chat.stdout.lines), [[], [delivered], [delivered]]);
  for (const chat of chats) {
    // Peers that stop at the same time may see each other leave.
    const notes = chat.stderr.lines.filter((line) =>
      !/^chat: (you are|found) peer |^chat: peer \d+ left \(goodbye\)$/.test(line)
    );
    assert.deepEqual(notes, []);
  }
});

Deno.test("the chat example says goodbye on SIGTERM, and the others note it and go on", async () => {
  const signal = AbortSignal.timeout(DEADLINE);
  const discoveryPort = freshPort();
  await using first = startChat("chat 1", discoveryPort);
  await using second = startChat("chat 2", discoveryPort);
  await using third = startChat("chat 3", discoveryPort);
  const ids = await meet([first, second, third], signal);
  assert.equal((await third.end(signal, "SIGTERM")).code, 0);
  const left = `chat: peer ${ids[2]} left (goodbye)`;
  await first.stderr.line(`"${left}"`, (line) => line === left, signal);

  await first.type("is anyone still here?");
  const delivered = `${ids[0]}: is anyone still here?`;
  await second.stdout.line(`"${delivered}"`, (line) => line === delivered, signal);
  assert.ok(!first.stderr.lines.some((line) => line.startsWith("chat: cannot reach")));

  const statuses = await Promise.all([first, second].map((chat) => chat.end(signal)));
  assert.deepEqual(statuses.map((status) => status.code), [0, 0]);
});

Deno.test("the exchange_id example prints every id of a cluster of three once all have met", async () => {
  const signal = AbortSignal.timeout(DEADLINE);
  const discoveryPort = `${freshPort()}`;
  const runs = await Promise.all(["1", "2", "3"].map((id) =>
    runExample("exchange_id.ts", [
      "--id",
      id,
      "--cluster-size",
      "3",
      "--discovery-port",
      discoveryPort,
      "--timeout",
      "15",
    ], signal)
  ));
  for (const run of runs) {
    assert.deepEqual(run, { code: 0, stdout: "found 1 2 3\n", stderr: "" });
  }
});

Deno.test("the exchange_id example exits with 1 when the cluster is not complete in time", async () => {
  const signal = AbortSignal.timeout(DEADLINE);
  const args = [
    "--id",
    "7",
    "--cluster-size",
    "2",
    "--discovery-port",
    `${freshPort()}`,
    "--timeout",
    "1",
  ];
  const run = await runExample("exchange_id.ts", args, signal);
  assert.deepEqual(run, {
    code: 1,
    stdout: "",
    stderr: "exchange_id: found only 7 of a cluster of 2 within 1 s\n",
  });
});

Deno.test("the check_ports example reports multicast working on every port it is given", async () => {
  const signal = AbortSignal.timeout(DEADLINE);
  const ports = [freshPort(), freshPort()];
  const run = await runExample(
    "check_ports.ts",
    ["--ports", ports.join(","), "--timeout", "10"],
    signal,
  );
  assert.deepEqual(run, { code: 0, stdout: `${ports[0]} ok\n${ports[1]} ok\n`, stderr: "" });
});
