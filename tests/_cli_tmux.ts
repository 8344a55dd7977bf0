/**
 * A real terminal for tests of the CLI's live view: a tmux server of the
 * test's own (on a socket in a fresh directory, so that it starts in the
 * lab's network namespace and no other tmux server is touched), one pane
 * that runs a command, and what the pane shows.
 *
 * @module
 */

import "./_lab.ts";
import { requireTool } from "./_tools.ts";

async function tmux(socket: string, ...args: string[]): Promise<string> {
  await requireTool("tmux");
  const { code, stdout, stderr } = await new Deno.Command("tmux", {
    args: ["-S", socket, "-f", "/dev/null", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  if (code !== 0) throw new Error(`tmux ${args.join(" ")} failed: ${text.decode(stderr).trim()}`);
  return text.decode(stdout);
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The marker the pane prints when its command exits, followed by the exit code. */
const EXITED = "[exited with code ";

/** One tmux pane running a command. */
export class TmuxPane implements AsyncDisposable {
  readonly #dir: string;
  readonly #socket: string;

  private constructor(dir: string) {
    this.#dir = dir;
    this.#socket = `${dir}/tmux.sock`;
  }

  /**
   * Starts a tmux server with a pane of the given size that runs the command.
   * When the command exits, the pane prints its exit code below what the
   * command left on the screen, and stays.
   *
   * @param command The command and its arguments.
   * @param size The pane's size, in characters.
   * @returns The pane.
   */
  static async start(
    command: string[],
    size: { columns: number; rows: number },
  ): Promise<TmuxPane> {
    const pane = new TmuxPane(await Deno.makeTempDir({ prefix: "instance-chart-tmux-" }));
    const script = `${command.map(shellQuote).join(" ")}; echo "${EXITED}$?]"; exec sleep 600`;
    await tmux(
      pane.#socket,
      "new-session",
      "-d",
      "-x",
      `${size.columns}`,
      "-y",
      `${size.rows}`,
      "-s",
      "cli",
      `bash -c ${shellQuote(script)}`,
    );
    return pane;
  }

  /**
   * Returns what the pane shows.
   *
   * @param options `escapes: true` keeps the colours as ANSI escape sequences.
   * @returns The screen, a line per row.
   */
  capture(options: { escapes?: boolean } = {}): Promise<string> {
    return tmux(
      this.#socket,
      "capture-pane",
      "-p",
      ...(options.escapes ? ["-e"] : []),
      "-t",
      "cli",
    );
  }

  /**
   * Waits until the screen satisfies the condition, looking every 100 ms.
   *
   * @param what What is awaited, for the failure message.
   * @param done The condition.
   * @param signal Fails the wait when aborted.
   * @returns The screen that satisfied it.
   */
  async until(
    what: string,
    done: (screen: string) => boolean,
    signal: AbortSignal,
  ): Promise<string> {
    let screen = "";
    while (!signal.aborted) {
      screen = await this.capture();
      if (done(screen)) return screen;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the pane did not show ${what} within the deadline; it showed:\n${screen}`);
  }

  /**
   * Types keys into the pane, in tmux's names (`C-c` for Ctrl-C).
   *
   * @param keys The keys.
   */
  async sendKeys(...keys: string[]): Promise<void> {
    await tmux(this.#socket, "send-keys", "-t", "cli", ...keys);
  }

  /**
   * Waits until the command exits.
   *
   * @param signal Fails the wait when aborted.
   * @returns Its exit code, and the screen it left.
   */
  async exit(signal: AbortSignal): Promise<{ code: number; screen: string }> {
    const screen = await this.until("the command's exit", (s) => s.includes(EXITED), signal);
    const code = Number(screen.slice(screen.indexOf(EXITED) + EXITED.length).match(/^\d+/)![0]);
    return { code, screen: screen.slice(0, screen.indexOf(EXITED)) };
  }

  /** Stops the tmux server, and with it the command. */
  async [Symbol.asyncDispose](): Promise<void> {
    await tmux(this.#socket, "kill-server").catch(() => {});
    await Deno.remove(this.#dir, { recursive: true });
  }
}
