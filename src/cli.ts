/**
 * The chart on the command line: who announces themselves on this network,
 * live or at a glance, as a table or as JSON lines; joining as an instance;
 * waiting for a cluster; and a doctor for when discovery finds no one.
 *
 * ```sh
 * deno run -A jsr:@x/instance-chart/cli                  # list for 3 s
 * deno run -A jsr:@x/instance-chart/cli --watch          # follow it live
 * deno run -A jsr:@x/instance-chart/cli --json | jq .id  # for scripts
 * deno run -A jsr:@x/instance-chart/cli announce --port 8042
 * deno run -A jsr:@x/instance-chart/cli wait 3 --timeout 20
 * deno run -A jsr:@x/instance-chart/cli doctor
 * ```
 *
 * `--help` shows every command and option, `COMMAND --help` one command's.
 *
 * @module
 */

import meta from "../deno.json" with { type: "json" };
import { type Chart, DiscoveryError, type Entry, maintain, sniff } from "../mod.ts";
import {
  type Announcement,
  type Command,
  parseCommand,
  SEEDS_VARIABLE,
  UsageError,
} from "./cli/args.ts";
import { openCliChart, selectionProblem } from "./cli/chart.ts";
import { checkJson, diagnose, formatChecks } from "./cli/doctor.ts";
import {
  changeJson,
  clockTime,
  collisionJson,
  describeCollision,
  describeData,
  entryJson,
  formatChange,
  formatCollision,
  formatTable,
  wallClock,
} from "./cli/format.ts";
import { type Sighting, Sightings } from "./cli/sightings.ts";
import { paintFor } from "./cli/style.ts";
import { GONE_MS, LiveView } from "./cli/watch.ts";

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
/** The exit code of a second Ctrl-C, which does not wait for the chart to close. */
const EXIT_FORCED = 130;

/** Chart events the CLI may fall behind by; it reads them as they come. */
const EVENT_BUFFER = 65_536;

type ChartCommand = Extract<Command, { kind: "list" | "announce" | "wait" }>;

/** Where a charting command shows each change as it happens. */
interface ChangeOutput {
  change(sighting: Sighting): void;
  collision(entry: Entry, withUs: boolean, at: number): void;
  close(): void;
}

const encoder = new TextEncoder();

function writeOut(text: string): void {
  const bytes = encoder.encode(text);
  for (let done = 0; done < bytes.length;) done += Deno.stdout.writeSync(bytes.subarray(done));
}

/** Prints a line of a stream of lines; throws `BrokenPipe` once the reader has gone. */
function printLine(line: string): void {
  writeOut(`${line}\n`);
}

/** Aborts on SIGINT or SIGTERM; a second one exits at once. */
function interruption(): AbortSignal & Disposable {
  const controller = new AbortController();
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const onSignal = () => {
    if (controller.signal.aborted) Deno.exit(EXIT_FORCED);
    controller.abort();
  };
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  return Object.assign(controller.signal, {
    [Symbol.dispose]() {
      for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
    },
  });
}

function describeAnnouncement(announcement: Announcement): string {
  return "ports" in announcement
    ? `port(s) ${announcement.ports.join(", ")}`
    : `msg ${JSON.stringify(announcement.msg)}`;
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

/** The live view, on a terminal. */
function liveOutput(command: ChartCommand, sightings: Sightings): ChangeOutput {
  const { discoveryPort } = command.chart;
  const title = command.kind === "announce"
    ? `announcing id ${command.announcement.id} on discovery port ${discoveryPort}`
    : `discovery port ${discoveryPort}`;
  const view = new LiveView(
    { write: writeOut, size: () => Deno.consoleSize() },
    paintFor(true),
    title,
  );
  const draw = () => {
    const now = performance.now();
    view.draw(sightings.recent(now - GONE_MS), now);
  };
  const onResize = () => {
    view.resized();
    draw();
  };
  // A second Ctrl-C exits at once: the cursor comes back all the same.
  const onExit = () => view.close();
  globalThis.addEventListener("unload", onExit);
  // Redrawn every second, so that "last seen" counts up and marks fade.
  const ticker = setInterval(draw, 1000);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGWINCH", onResize);
  draw();
  return {
    change: draw,
    collision(entry, withUs, at) {
      view.notice(`${clockTime(wallClock(at))}  ${describeCollision(entry, withUs)}`);
      draw();
    },
    close() {
      clearInterval(ticker);
      if (Deno.build.os !== "windows") Deno.removeSignalListener("SIGWINCH", onResize);
      globalThis.removeEventListener("unload", onExit);
      draw();
      view.close();
    },
  };
}

/** How a command shows changes: live, as lines, as JSON lines, or not at all. */
function changeOutput(command: ChartCommand, sightings: Sightings): ChangeOutput {
  const { watch, json } = command.output;
  const none = () => {};
  if (watch && json) {
    return {
      change: (sighting) => printLine(changeJson(sighting)),
      collision: (entry, withUs, at) => printLine(collisionJson(entry, withUs, at)),
      close: none,
    };
  }
  if (watch && Deno.stdout.isTerminal()) return liveOutput(command, sightings);
  if (watch) {
    return {
      change: (sighting) => printLine(formatChange(sighting)),
      collision: (entry, withUs, at) => printLine(formatCollision(entry, withUs, at)),
      close: none,
    };
  }
  const collision = (entry: Entry, withUs: boolean) =>
    console.error(`Collision: ${describeCollision(entry, withUs)}.`);
  if (command.kind !== "announce") return { change: none, collision, close: none };
  // Someone announcing until Ctrl-C wants to see who turns up meanwhile.
  return {
    change({ entry, change, previous, reason }) {
      const where = `${entry.id} at ${entry.address}: ${describeData(entry)}`;
      console.error(
        change === "added"
          ? `Found ${where}`
          : change === "updated"
          ? `Updated ${where} (was ${previous!.address}: ${describeData(previous!)})`
          : `Lost ${where} (${reason})`,
      );
    },
    collision,
    close: none,
  };
}

/** Lists, announces or waits: the commands that chart and show what they chart. */
async function runChart(command: ChartCommand): Promise<number> {
  const announcement = command.kind === "list" ? undefined : command.announcement;
  let chart: Chart<Entry>;
  try {
    chart = await openCliChart(command.chart, announcement);
  } catch (error) {
    if (!(error instanceof DiscoveryError)) throw error;
    console.error(`instance-chart: ${error.message}`);
    return EXIT_FAILURE;
  }

  using interrupted = interruption();
  const limit = command.kind === "wait" ? command.timeout : command.duration;
  const deadline = limit === undefined ? undefined : AbortSignal.timeout(limit * 1000);
  const reached = new AbortController();
  const stop = AbortSignal.any([interrupted, reached.signal, ...(deadline ? [deadline] : [])]);
  const sightings = new Sightings((id) => chart.lastHeard(id));
  const self = announcement ? 1 : 0;
  const enough = () =>
    command.kind === "wait" && sightings.charted().length + self >= command.count;
  const output = changeOutput(command, sightings);
  const started = performance.now();
  if (announcement) {
    console.error(`Announcing id ${announcement.id} with ${describeAnnouncement(announcement)}.`);
  }
  // Subscribed before discovery starts, so that no change is missed.
  const events = chart.events({ bufferSize: EVENT_BUFFER });
  let failure: Error | undefined;
  const following = (async () => {
    try {
      for await (const event of events) {
        if (event.type === "collision") {
          output.collision(event.entry, event.withUs, performance.now());
          continue;
        }
        output.change(sightings.record(event, performance.now()));
        if (enough()) reached.abort();
      }
    } catch (error) {
      failure = error as Error;
      reached.abort();
    }
  })();
  if (enough()) reached.abort();
  try {
    await (announcement ? maintain : sniff)(chart, { signal: stop });
  } finally {
    // Closing the chart ends the event loop once it has read every event.
    await chart.close();
    await following;
    output.close();
  }
  // The reader of a stream of changes has gone, as `--watch --json | head -1` does.
  if (failure instanceof Deno.errors.BrokenPipe) return EXIT_OK;
  if (failure) {
    console.error(`instance-chart: ${failure.message}`);
    return EXIT_FAILURE;
  }

  const elapsed = performance.now() - started;
  const charted = sightings.charted();
  const where = `discovery port ${command.chart.discoveryPort}`;
  if (command.kind === "wait" && !reached.signal.aborted) {
    const ids = charted.map((s) => `${s.entry.id}`).join(", ");
    const why = interrupted.aborted ? "interrupted" : `timed out after ${command.timeout} s`;
    console.error(
      `instance-chart wait: ${why} with ${charted.length + self} of ${command.count} ` +
        `instance(s) charted${self ? " (counting this one)" : ""} on ${where}` +
        (ids ? `: ${ids}` : ""),
    );
    return EXIT_FAILURE;
  }
  if (!command.output.watch) {
    if (command.output.json) {
      for (const sighting of charted) console.log(entryJson(sighting));
    } else if (charted.length > 0) {
      console.log(formatTable(charted));
    }
  }
  const within = deadline?.aborted && limit !== undefined ? `${limit} s` : seconds(elapsed);
  console.error(
    command.kind === "wait"
      ? `${charted.length + self} instance(s) charted on ${where} after ${seconds(elapsed)}.`
      : command.kind === "announce"
      ? `Stopped announcing id ${command.announcement.id} after ${within}; ` +
        `${charted.length} instance(s) charted.`
      : charted.length === 0
      ? `No instances heard on ${where} within ${within}.`
      : `${charted.length} instance(s) heard on ${where} within ${within}.`,
  );
  return EXIT_OK;
}

async function runDoctor(command: Extract<Command, { kind: "doctor" }>): Promise<number> {
  const checks = await diagnose(command.chart, command.duration);
  if (command.json) {
    for (const check of checks) console.log(checkJson(check));
  } else {
    const paint = paintFor(Deno.stdout.isTerminal());
    console.log(formatChecks(checks, command.chart, paint).join("\n"));
  }
  return checks.some((check) => check.status === "fail") ? EXIT_FAILURE : EXIT_OK;
}

/**
 * Runs the command line.
 *
 * @param args The arguments, without the program's name.
 * @returns The exit code: 0 done, 1 failed (the discovery port cannot be
 *   bound, `wait` timed out, `doctor` found a problem), 2 bad arguments.
 *
 * @example Print the chart of the default discovery port
 * ```ts ignore
 * import { main } from "@x/instance-chart/cli";
 *
 * Deno.exitCode = await main(["--duration", "2"]);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  try {
    return await run(args);
  } catch (error) {
    // Deno without a permission the CLI needs: its message names the flag to add.
    if (
      error instanceof Error && (error.name === "NotCapable" || error.name === "PermissionDenied")
    ) {
      console.error(`instance-chart: ${error.message.split("\n")[0]} (or run it with -A)`);
      return EXIT_FAILURE;
    }
    throw error;
  }
}

async function run(args: string[]): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(args, { [SEEDS_VARIABLE]: Deno.env.get(SEEDS_VARIABLE) });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const who = error.command ? `instance-chart ${error.command}` : "instance-chart";
    const help = error.command ? `${error.command} --help` : "--help";
    console.error(`${who}: ${error.message} (see ${help})`);
    return EXIT_USAGE;
  }
  if (command.kind === "list" || command.kind === "announce" || command.kind === "wait") {
    const problem = selectionProblem(command.chart.interfaces, undefined, command.chart.family);
    if (problem) {
      console.error(`instance-chart: ${problem} (see --help)`);
      return EXIT_USAGE;
    }
  }
  switch (command.kind) {
    case "help":
      console.log(command.text);
      return EXIT_OK;
    case "version":
      console.log(`instance-chart ${meta.version}`);
      return EXIT_OK;
    case "doctor":
      return await runDoctor(command);
    default:
      return await runChart(command);
  }
}

if (import.meta.main) Deno.exitCode = await main(Deno.args);
