/**
 * The harness's side of a benchmark peer (tests/_bench_peer.ts): a process,
 * on this host or a lab host, that holds groups of instances and answers
 * commands about them.
 *
 * @module
 */

import type { LabHost } from "./_lab.ts";
import type { GroupOptions, Totals, Usage } from "./_bench_groups.ts";
import { TextLineStream } from "./_lines.ts";

const PEER = new URL("./_bench_peer.ts", import.meta.url).pathname;
/**
 * How long a command may take. Commands answer at once or within a group's
 * own timeout; a peer that takes longer is overloaded beyond measuring.
 */
const REQUEST_TIMEOUT = 60_000;

interface Answer {
  id?: number;
  ready?: boolean;
  error?: string;
  at?: number;
  totals?: Totals;
  usage?: Usage;
}

/** A benchmark peer process. */
export class BenchPeer implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #pending = new Map<number, PromiseWithResolvers<Answer>>();
  readonly #ready = Promise.withResolvers<void>();
  #nextId = 1;
  #exited = false;

  /**
   * Starts a peer process.
   *
   * @param host The lab host to run on; this network namespace when absent.
   */
  constructor(host?: LabHost) {
    const deno = [Deno.execPath(), "run", "-A", "--unstable-net", "--v8-flags=--expose-gc", PEER];
    const [command, ...args] = host ? ["ip", "netns", "exec", host.name, ...deno] : deno;
    this.#child = new Deno.Command(command, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#ready.promise.catch(() => {});
    this.#read();
  }

  async #read(): Promise<void> {
    const lines = this.#child.stdout
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new TextLineStream());
    try {
      for await (const line of lines) {
        const answer: Answer = JSON.parse(line);
        if (answer.ready) this.#ready.resolve();
        else this.#pending.get(answer.id!)?.resolve(answer);
        if (answer.id !== undefined) this.#pending.delete(answer.id);
      }
    } finally {
      this.#exited = true;
      const gone = new Error("benchmark peer exited");
      this.#ready.reject(gone);
      for (const pending of this.#pending.values()) pending.reject(gone);
      this.#pending.clear();
    }
  }

  /** Resolves once the peer has loaded and reads commands. */
  ready(): Promise<void> {
    return this.#ready.promise;
  }

  async #request(command: Record<string, unknown>): Promise<Answer> {
    if (this.#exited) throw new Error("benchmark peer exited");
    const id = this.#nextId++;
    const pending = Promise.withResolvers<Answer>();
    this.#pending.set(id, pending);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(
          new Error(`benchmark peer did not answer ${command.cmd} within ${REQUEST_TIMEOUT} ms`),
        );
      }, REQUEST_TIMEOUT);
    });
    try {
      await this.#writer.write(
        new TextEncoder().encode(JSON.stringify({ id, ...command }) + "\n"),
      );
      const answer = await Promise.race([pending.promise, late]);
      if (answer.error) throw new Error(answer.error);
      return answer;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Opens a group of instances in the peer, not yet started. */
  async open(name: string, options: GroupOptions): Promise<void> {
    await this.#request({ cmd: "open", name, options });
  }

  /** Starts a group; resolves with when its last instance started. */
  async start(name: string): Promise<number> {
    return (await this.#request({ cmd: "start", name })).at!;
  }

  /** Resolves with when every instance of the group was complete; rejects on its timeout. */
  async complete(name: string): Promise<number> {
    return (await this.#request({ cmd: "complete", name })).at!;
  }

  /** What the group sent and received. */
  async totals(name: string): Promise<Totals> {
    return (await this.#request({ cmd: "totals", name })).totals!;
  }

  /** Resolves with when every instance of the group knew instance `who`. */
  async knows(name: string, who: number, timeout: number): Promise<number> {
    return (await this.#request({ cmd: "knows", name, who, timeout })).at!;
  }

  /** Makes the group forget instance `who`. */
  async forget(name: string, who: number): Promise<void> {
    await this.#request({ cmd: "forget", name, who });
  }

  /** The peer process's CPU time and memory, after a full GC if `gc`. */
  async usage(gc: boolean): Promise<Usage> {
    return (await this.#request({ cmd: "usage", name: "", gc })).usage!;
  }

  /** Closes a group. */
  async close(name: string): Promise<void> {
    await this.#request({ cmd: "close", name });
  }

  /** Kills the peer at once (SIGKILL), as a crash: its charts say no goodbye. */
  kill(): void {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }

  /** Ends the peer: closing its input closes its groups; killed if it lingers. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#writer.close().catch(() => {});
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }, 5_000);
    await this.#child.status;
    clearTimeout(timer);
  }
}

/**
 * Disposes of several peers at once.
 *
 * @param peers The peers.
 */
export async function closePeers(peers: BenchPeer[]): Promise<void> {
  await Promise.all(peers.map((peer) => peer[Symbol.asyncDispose]()));
}
