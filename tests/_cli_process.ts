/**
 * The CLI in a process of its own, for lab tests: run to its end, or read
 * line by line while it runs.
 *
 * @module
 */

import "./_lab.ts";
import type { LabHost } from "./_lab.ts";
import { Lines } from "./_lines.ts";

/** The CLI's entry point. */
export const CLI: string = new URL("../src/cli.ts", import.meta.url).pathname;

/** How the CLI is started: as a user does, `deno run -A` without `--unstable-net`. */
function command(args: string[], host?: LabHost): [string, string[]] {
  const deno = ["deno", "run", "-A", CLI, ...args];
  const [name, ...rest] = host ? ["ip", "netns", "exec", host.name, ...deno] : deno;
  return [name, rest];
}

/** What a run of the CLI printed, and how it exited. */
export interface CliRun {
  /** The exit code. */
  code: number;
  /** Its standard output. */
  stdout: string;
  /** Its standard error. */
  stderr: string;
}

/**
 * Runs the CLI to its end.
 *
 * @param args The CLI's arguments.
 * @param options The deadline that kills it, the lab host to run it on, and
 *   environment variables to set.
 * @returns What it printed, and its exit code.
 */
export async function runCli(
  args: string[],
  options: { signal: AbortSignal; host?: LabHost; env?: Record<string, string> },
): Promise<CliRun> {
  const [name, rest] = command(args, options.host);
  const { code, stdout, stderr } = await new Deno.Command(name, {
    args: rest,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: options.signal,
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

/** The CLI running in a process of its own. */
export class CliProcess implements AsyncDisposable {
  /** Its standard output. */
  readonly stdout: Lines;
  /** Its standard error. */
  readonly stderr: Lines;
  readonly #child: Deno.ChildProcess;

  /**
   * Starts the CLI.
   *
   * @param args The CLI's arguments.
   * @param host The lab host to run it on; this namespace when absent.
   */
  constructor(args: string[], host?: LabHost) {
    const [name, rest] = command(args, host);
    this.#child = new Deno.Command(name, {
      args: rest,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.stdout = new Lines("the cli's stdout", this.#child.stdout);
    this.stderr = new Lines("the cli's stderr", this.#child.stderr);
  }

  /**
   * Sends it a signal.
   *
   * @param signal The signal, such as `"SIGINT"`.
   */
  kill(signal: Deno.Signal): void {
    this.#child.kill(signal);
  }

  /**
   * Waits for it to exit and finish its output.
   *
   * @param signal Fails the wait when aborted.
   * @returns Its exit code.
   */
  async exit(signal: AbortSignal): Promise<number> {
    const { promise: aborted, reject } = Promise.withResolvers<never>();
    aborted.catch(() => {});
    const onAbort = () => reject(new Error("the cli did not exit within the deadline"));
    if (signal.aborted) onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const status = await Promise.race([this.#child.status, aborted]);
      await Promise.all([this.stdout.done, this.stderr.done]);
      return status.code;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Stops it if it still runs, and waits until it is gone. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // It has exited already.
    }
    await this.#child.status;
    await Promise.all([this.stdout.done, this.stderr.done]);
  }
}
