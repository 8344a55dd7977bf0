/**
 * A benchmark peer: a process that holds groups of instances (see
 * tests/_bench_groups.ts) on behalf of the harness. It prints `{"ready":true}`
 * once loaded, then reads one JSON command a line on standard input and
 * answers each with one JSON line carrying the command's `id`, in the order
 * the commands finish. Closing standard input closes every group and ends it.
 *
 * Commands: `open` (name, options), `start` (name; answers `at`), `complete`
 * (name; answers `at`), `totals` (name; answers `totals`), `knows` (name, who,
 * timeout; answers `at`), `forget` (name, who), `close` (name), `usage`
 * (gc; answers this process's `usage`). A failure answers `error` instead.
 *
 * @module
 */

import "./_lab.ts";
import { type Group, type GroupOptions, openGroup, usage } from "./_bench_groups.ts";
import { TextLineStream } from "./_lines.ts";

/** A command from the harness. */
interface Command {
  id: number;
  cmd: "open" | "start" | "complete" | "totals" | "knows" | "forget" | "close" | "usage";
  name: string;
  options?: GroupOptions;
  who?: number;
  timeout?: number;
  gc?: boolean;
}

const groups = new Map<string, Group>();

function group(name: string): Group {
  const found = groups.get(name);
  if (!found) throw new Error(`no group ${name}`);
  return found;
}

async function run(command: Command): Promise<object> {
  switch (command.cmd) {
    case "open":
      groups.set(command.name, await openGroup(command.options!));
      return {};
    case "start":
      return { at: group(command.name).start() };
    case "complete":
      return { at: await group(command.name).complete };
    case "totals":
      return { totals: group(command.name).totals() };
    case "knows":
      return { at: await group(command.name).knows(command.who!, command.timeout!) };
    case "forget":
      group(command.name).forget(command.who!);
      return {};
    case "close":
      await groups.get(command.name)?.close();
      groups.delete(command.name);
      return {};
    case "usage":
      return { usage: usage(command.gc ?? false) };
  }
}

const answer = (line: object) => console.log(JSON.stringify(line));
answer({ ready: true });
const lines = Deno.stdin.readable
  .pipeThrough(new TextDecoderStream())
  .pipeThrough(new TextLineStream());
for await (const line of lines) {
  if (!line.trim()) continue;
  const command: Command = JSON.parse(line);
  run(command).then(
    (result) => answer({ id: command.id, ...result }),
    (error: Error) => answer({ id: command.id, error: error.message }),
  );
}
await Promise.all([...groups.values()].map((group) => group.close()));
// Commands still waiting (for a completion that cannot come now) end with the process.
Deno.exit(0);
