import { LabDns, LabNet, Peer, type PeerOptions } from "./_lab.ts";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { freshPort } from "./_charts.ts";
import { CliProcess, runCli } from "./_cli_process.ts";
import { TmuxPane } from "./_cli_tmux.ts";
import { CLI } from "./_cli_process.ts";
import meta from "../deno.json" with { type: "json" };
import { DEFAULT_DISCOVERY_PORT as DEFAULT_PORT } from "../mod.ts";
import { renderFrame } from "../src/cli/watch.ts";
import { Sightings } from "../src/cli/sightings.ts";
import { paintFor } from "../src/cli/style.ts";
import { parseCommand, UsageError } from "../src/cli/args.ts";

// Generous: every run of the CLI is a Deno process of its own.
const DEADLINE = 30_000;

/** Wall-clock times as the table shows them. */
const CLOCK = /^\d\d:\d\d:\d\d\.\d\d\d$/;
/** Wall-clock times as JSON lines carry them. */
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/**
 * A peer that announces every 5 s, so that it stays charted for 16.5 s
 * (three intervals and jitter) after it is killed without a goodbye: long
 * enough for a successor with its id to be taken as an update.
 */
function slowPeer(options: PeerOptions): Peer {
  return new Peer({ ...options, rampdown: { min: 5_000, max: 5_000, rampdown: 0 } });
}

/** Splits a table into its cells: columns are two or more spaces apart. */
function cells(table: string): string[][] {
  return table.trimEnd().split("\n").map((row) => row.trim().split(/\s{2,}/));
}

Deno.test("the cli lists every announcing instance with address, data, first and last seen", async () => {
  const discoveryPort = freshPort();
  await using ports = new Peer({ id: "7", ports: [9042, 9043], discoveryPort });
  await using msg = new Peer({ id: "18446744073709551615", msg: { role: "db" }, discoveryPort });
  const signal = AbortSignal.timeout(DEADLINE);
  await ports.until((line) => line.type === "ready", signal);
  await msg.until((line) => line.type === "ready", signal);
  // Listening longer than the longest announcement interval (1.1 s) hears everyone.
  const { code, stdout, stderr } = await runCli(
    ["--discovery-port", `${discoveryPort}`, "--duration", "2.5"],
    { signal },
  );
  assert.equal(code, 0, stderr);
  const [heading, ...rows] = cells(stdout);
  assert.deepEqual(heading, ["ID", "ADDRESS", "DATA", "FIRST SEEN", "LAST SEEN"]);
  assert.deepEqual(rows.map((row) => row.slice(0, 3)), [
    ["7", "127.0.0.1", "9042, 9043"],
    ["18446744073709551615", "127.0.0.1", '{"role":"db"}'],
  ]);
  for (const row of rows) {
    assert.match(row[3], CLOCK);
    assert.match(row[4], CLOCK);
    assert.ok(row[3] <= row[4], `first seen ${row[3]} after last seen ${row[4]}`);
  }
  assert.match(stderr, /^2 instance\(s\) heard on discovery port \d+ within 2\.5 s\.$/m);
});

Deno.test("the cli, given a discovery port another program holds, says to choose another with --discovery-port", async () => {
  const discoveryPort = freshPort();
  // Bound without sharing, as a Rust instance binds it.
  const holder = dgram.createSocket({ type: "udp4", reuseAddr: false });
  await new Promise<void>((resolve) => holder.bind(discoveryPort, "0.0.0.0", resolve));
  try {
    const { code, stdout, stderr } = await runCli(
      ["--discovery-port", `${discoveryPort}`, "--duration", "0.3"],
      { signal: AbortSignal.timeout(DEADLINE) },
    );
    assert.equal(code, 1);
    assert.equal(stdout, "");
    assert.equal(
      stderr.trim(),
      `instance-chart: Cannot bind discovery port ${discoveryPort}: address in use by a program ` +
        "that does not share it (a Rust instance, say); choose another port with --discovery-port",
    );
  } finally {
    await new Promise<void>((resolve) => holder.close(() => resolve()));
  }
});

Deno.test("the cli refuses an interface there is not, and durations past what a timer can wait", async () => {
  const signal = AbortSignal.timeout(DEADLINE);
  const noSuch = await runCli(["--interface", "nosuchif", "--duration", "0.3"], { signal });
  assert.equal(noSuch.code, 2);
  assert.equal(
    noSuch.stderr.trim(),
    "instance-chart: --interface nosuchif: no such interface; the interfaces here are lo " +
      "(see --help)",
  );
  const tooLong = await runCli(["wait", "2", "--timeout", "2147484"], { signal });
  assert.equal(tooLong.code, 2);
  assert.match(tooLong.stderr, /--timeout must be at most 2147483 seconds \(24\.8 days\)/);
});

Deno.test("the cli without a permission it needs says which flag to add, in one line", async () => {
  const { code, stdout, stderr } = await new Deno.Command("deno", {
    args: ["run", "--allow-net", "--allow-read", CLI, "--duration", "0.3"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(DEADLINE),
  }).output();
  const text = new TextDecoder().decode(stderr);
  assert.equal(code, 1);
  assert.equal(new TextDecoder().decode(stdout), "");
  assert.match(
    text,
    /^instance-chart: Requires \w+ access to .*--allow-\w+ flag \(or run it with -A\)\n$/,
  );
});

Deno.test("the cli says so when it hears nobody", async () => {
  const { code, stdout, stderr } = await runCli(
    ["--discovery-port", `${freshPort()}`, "--duration", "0.3"],
    { signal: AbortSignal.timeout(DEADLINE) },
  );
  assert.equal(code, 0);
  assert.equal(stdout, "");
  assert.match(stderr, /^No instances heard on discovery port \d+ within 0\.3 s\.$/m);
});

Deno.test("the cli's --json prints one object per instance with stable fields", async () => {
  const discoveryPort = freshPort();
  await using ports = new Peer({ id: "7", ports: [9042, 9043], discoveryPort });
  await using msg = new Peer({ id: "18446744073709551615", msg: { role: "db" }, discoveryPort });
  const signal = AbortSignal.timeout(DEADLINE);
  await ports.until((line) => line.type === "ready", signal);
  await msg.until((line) => line.type === "ready", signal);
  const { code, stdout, stderr } = await runCli(
    ["--discovery-port", `${discoveryPort}`, "--duration", "2.5", "--json"],
    { signal },
  );
  assert.equal(code, 0, stderr);
  const lines = stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
  for (const line of lines) {
    assert.match(line.firstSeen, ISO);
    assert.match(line.lastSeen, ISO);
    delete line.firstSeen;
    delete line.lastSeen;
  }
  assert.deepEqual(lines, [
    { type: "entry", id: "7", address: "127.0.0.1", ports: [9042, 9043] },
    { type: "entry", id: "18446744073709551615", address: "127.0.0.1", msg: { role: "db" } },
  ]);
});

Deno.test("the cli's --watch prints a line per change when stdout is not a terminal", async () => {
  const discoveryPort = freshPort();
  const signal = AbortSignal.timeout(DEADLINE);
  await using cli = new CliProcess(["--watch", "--discovery-port", `${discoveryPort}`]);
  const first = slowPeer({ id: "77", ports: [9042], discoveryPort });
  try {
    await cli.stdout.line("the added instance", (line) => /\sadded\s/.test(line), signal);
  } finally {
    // Killed, it says no goodbye: its successor with the same id is an update.
    first.kill("SIGKILL");
    await first[Symbol.asyncDispose]();
  }
  const second = slowPeer({ id: "77", ports: [9043], discoveryPort });
  try {
    await cli.stdout.line("the update", (line) => /\supdated\s/.test(line), signal);
  } finally {
    await second[Symbol.asyncDispose](); // says goodbye
  }
  await cli.stdout.line("the removal", (line) => /\sremoved\s/.test(line), signal);
  cli.kill("SIGINT");
  assert.equal(await cli.exit(signal), 0);
  assert.deepEqual(cli.stdout.lines.map((line) => line.split(/\s{2,}/)), [
    [cli.stdout.lines[0].slice(0, 12), "added", "77", "127.0.0.1", "9042"],
    [
      cli.stdout.lines[1].slice(0, 12),
      "updated",
      "77",
      "127.0.0.1",
      "9043",
      "(was 127.0.0.1",
      "9042)",
    ],
    [cli.stdout.lines[2].slice(0, 12), "removed", "77", "127.0.0.1", "9043", "(goodbye)"],
  ]);
  for (const line of cli.stdout.lines) assert.match(line.slice(0, 12), CLOCK);
});

Deno.test("the cli's --watch --json prints one object per change", async () => {
  const discoveryPort = freshPort();
  const signal = AbortSignal.timeout(DEADLINE);
  await using cli = new CliProcess(["--watch", "--json", "--discovery-port", `${discoveryPort}`]);
  const peer = new Peer({ id: "5", msg: ["a", 1], discoveryPort });
  try {
    await cli.stdout.line("the added instance", (line) => line.includes('"added"'), signal);
  } finally {
    await peer[Symbol.asyncDispose]();
  }
  await cli.stdout.line("the removal", (line) => line.includes('"removed"'), signal);
  cli.kill("SIGTERM");
  assert.equal(await cli.exit(signal), 0);
  const [added, removed] = cli.stdout.lines.map((line) => JSON.parse(line));
  for (const field of ["firstSeen", "lastSeen", "time"]) {
    assert.match(added[field], ISO);
    assert.match(removed[field], ISO);
  }
  assert.equal(removed.firstSeen, added.firstSeen);
  assert.deepEqual(
    { ...added, firstSeen: 0, lastSeen: 0, time: 0 },
    {
      type: "added",
      id: "5",
      address: "127.0.0.1",
      msg: ["a", 1],
      firstSeen: 0,
      lastSeen: 0,
      time: 0,
    },
  );
  assert.deepEqual(
    { ...removed, firstSeen: 0, lastSeen: 0, time: 0 },
    {
      type: "removed",
      id: "5",
      address: "127.0.0.1",
      msg: ["a", 1],
      firstSeen: 0,
      lastSeen: 0,
      time: 0,
      reason: "goodbye",
    },
  );
});

/** The rows of the live view that show an instance, by their id. */
function rowOf(screen: string, id: string): string | undefined {
  return screen.split("\n").find((line) => new RegExp(`^[ +~-]\\s+${id}\\s`).test(line));
}

Deno.test("the cli's --watch redraws the chart in place on a terminal", async () => {
  const discoveryPort = freshPort();
  const signal = AbortSignal.timeout(DEADLINE * 2);
  await using pane = await TmuxPane.start(
    [
      "env",
      "-u",
      "NO_COLOR",
      "deno",
      "run",
      "-A",
      CLI,
      "--watch",
      "--discovery-port",
      `${discoveryPort}`,
    ],
    { columns: 120, rows: 20 },
  );
  const title = `discovery port ${discoveryPort} ·`;
  await pane.until("the empty chart", (s) => s.includes("(no instance heard yet)"), signal);

  const first = slowPeer({ id: "77", ports: [9042], discoveryPort });
  try {
    const screen = await pane.until(
      "the new instance",
      (s) => /^\+\s+77\s+127\.0\.0\.1\s+9042\s/m.test(rowOf(s, "77") ?? ""),
      signal,
    );
    assert.match(screen, /· 1 instance\(s\) ·/);
    // New rows are green.
    assert.match(
      await pane.capture({ escapes: true }),
      // deno-lint-ignore no-control-regex -- ANSI escape sequences are what is checked
      /\x1b\[[\d;]*32[\d;]*m(?:\x1b\[[\d;]*m)*\+\s+77\s/,
    );
  } finally {
    first.kill("SIGKILL");
    await first[Symbol.asyncDispose]();
  }
  const second = slowPeer({ id: "77", ports: [9043], discoveryPort });
  try {
    await pane.until(
      "the update",
      (s) => /^~\s+77\s+127\.0\.0\.1\s+9043\s/.test(rowOf(s, "77") ?? ""),
      signal,
    );
  } finally {
    await second[Symbol.asyncDispose](); // says goodbye
  }
  await pane.until(
    "the instance marked gone",
    (s) => /^-\s+77\s+127\.0\.0\.1\s+9043\s.*gone \(goodbye\)/.test(rowOf(s, "77") ?? ""),
    signal,
  );
  const screen = await pane.until(
    "the gone instance leave",
    (s) => rowOf(s, "77") === undefined,
    signal,
  );
  assert.match(screen, /\(no instance heard yet\)/);
  // Redrawn in place: one frame on the screen, never a scrolling list of them.
  assert.equal(screen.split("\n").filter((line) => line.includes(title)).length, 1);

  await pane.sendKeys("C-c");
  const exit = await pane.exit(signal);
  assert.equal(exit.code, 0);
  assert.equal(exit.screen.split("\n").filter((line) => line.includes(title)).length, 1);
});

Deno.test("the cli's live view has no colour with NO_COLOR set", async () => {
  const discoveryPort = freshPort();
  const signal = AbortSignal.timeout(DEADLINE);
  await using pane = await TmuxPane.start(
    [
      "env",
      "NO_COLOR=1",
      "deno",
      "run",
      "-A",
      CLI,
      "--watch",
      "--discovery-port",
      `${discoveryPort}`,
    ],
    { columns: 120, rows: 20 },
  );
  await using _peer = new Peer({ id: "8", ports: [1], discoveryPort });
  await pane.until("the new instance", (s) => /^\+\s+8\s/.test(rowOf(s, "8") ?? ""), signal);
  // deno-lint-ignore no-control-regex -- ANSI escape sequences are what is checked
  const colours = (await pane.capture({ escapes: true })).match(/\x1b\[[\d;]*m/g) ?? [];
  assert.deepEqual(
    colours.filter((sgr) => sgr !== "\x1b[0m" && sgr !== "\x1b[39m" && sgr !== "\x1b[49m"),
    [],
  );
});

Deno.test("a row that leaves keeps the time it was last heard, not when it last changed", () => {
  let heard: number | undefined = 100;
  const sightings = new Sightings(() => heard);
  const entry = { id: 7n, address: "198.18.0.7", msg: "x" };
  sightings.record({ type: "added", entry }, 100);
  // Announcements that change nothing raise no event; the chart knows when they came.
  heard = 2_500;
  assert.equal(sightings.charted()[0].lastSeen, 2_500);
  // Expired: the chart no longer has it, and the event says when it was last heard.
  heard = undefined;
  const gone = sightings.record(
    { type: "removed", entry, reason: "expired", lastHeard: 3_000 },
    6_300,
  );
  assert.equal(gone.firstSeen, 100);
  assert.equal(gone.lastSeen, 3_000);
  assert.equal(gone.changedAt, 6_300);
  assert.equal(sightings.recent(0)[0].lastSeen, 3_000);
});

Deno.test("the live view cuts lines to the terminal's width and rows to its height", () => {
  const sightings = new Sightings();
  for (let id = 1n; id <= 30n; id++) {
    sightings.record(
      { type: "added", entry: { id, address: "198.18.0.1", msg: "x".repeat(200) } },
      0,
    );
  }
  const frame = renderFrame(sightings.recent(0), {
    now: 1000,
    columns: 60,
    rows: 12,
    paint: paintFor(false),
    title: "test",
  });
  assert.equal(frame.length, 11);
  assert.ok(frame.every((line) => line.length <= 59), frame.join("\n"));
  assert.match(frame[0], /^test · 30 instance\(s\) ·/);
  assert.match(frame[2], /^\+\s+1\s+198\.18\.0\.1\s+"x+…$/);
  assert.equal(frame[10], "… and 22 more");
});

Deno.test("the cli announces until SIGINT, reports who it finds, and says goodbye", async () => {
  const discoveryPort = freshPort();
  const signal = AbortSignal.timeout(DEADLINE);
  await using peer = new Peer({ id: "1", ports: [1, 2], discoveryPort });
  await using cli = new CliProcess(
    [
      "announce",
      "--discovery-port",
      `${discoveryPort}`,
      "--id",
      "99",
      "--port",
      "4242",
      "--port",
      "4243",
    ],
  );
  await peer.charts(["99"], signal);
  assert.deepEqual(
    { ...peer.charted.get("99"), at: undefined },
    { type: "added", id: "99", address: "127.0.0.1", ports: [4242, 4243], at: undefined },
  );
  await cli.stderr.line(
    "the peer it found",
    (line) => line === "Found 1 at 127.0.0.1: 1, 2",
    signal,
  );
  assert.equal(cli.stderr.lines[0], "Announcing id 99 with port(s) 4242, 4243.");
  cli.kill("SIGINT");
  assert.equal(await cli.exit(signal), 0);
  assert.equal((await peer.removes("99", signal)).reason, "goodbye");
  assert.match(cli.stdout.lines.join("\n"), /^1\s+127\.0\.0\.1\s+1, 2\s/m);
  assert.match(
    cli.stderr.lines.at(-1)!,
    /^Stopped announcing id 99 after [\d.]+ s; 1 instance\(s\) charted\.$/,
  );
});

Deno.test("the cli announces a custom message and says goodbye on SIGTERM", async () => {
  const discoveryPort = freshPort();
  const signal = AbortSignal.timeout(DEADLINE);
  await using peer = new Peer({ id: "1", msg: null, discoveryPort });
  await using cli = new CliProcess(
    ["announce", "--discovery-port", `${discoveryPort}`, "--id", "5", "--msg", '{"role":"db"}'],
  );
  await peer.charts(["5"], signal);
  assert.deepEqual(peer.charted.get("5")?.msg, { role: "db" });
  cli.kill("SIGTERM");
  assert.equal(await cli.exit(signal), 0);
  assert.equal((await peer.removes("5", signal)).reason, "goodbye");
});

Deno.test("the cli keeps --announce as an alias of the announce command", async () => {
  const discoveryPort = freshPort();
  const signal = AbortSignal.timeout(DEADLINE);
  await using peer = new Peer({ id: "1", ports: [1], discoveryPort });
  const run = runCli(
    [
      "--announce",
      "--id",
      "98",
      "--port",
      "7",
      "--discovery-port",
      `${discoveryPort}`,
      "--duration",
      "1.5",
    ],
    { signal },
  );
  await peer.charts(["98"], signal);
  const { code, stderr } = await run;
  assert.equal(code, 0, stderr);
  assert.match(stderr, /^Announcing id 98 with port\(s\) 7\.$/m);
});

Deno.test("the cli's wait exits 0 as soon as N instances are charted", async () => {
  const discoveryPort = freshPort();
  const signal = AbortSignal.timeout(DEADLINE);
  await using _a = new Peer({ id: "1", ports: [1], discoveryPort });
  await using _b = new Peer({ id: "2", ports: [2], discoveryPort });
  // The timeout is longer than the deadline: passing means it did not wait it out.
  const { code, stdout, stderr } = await runCli(
    ["wait", "2", "--timeout", "600", "--discovery-port", `${discoveryPort}`],
    { signal },
  );
  assert.equal(code, 0, stderr);
  assert.deepEqual(cells(stdout).map((row) => row.slice(0, 3)), [
    ["ID", "ADDRESS", "PORTS"],
    ["1", "127.0.0.1", "1"],
    ["2", "127.0.0.1", "2"],
  ]);
  assert.match(stderr, /^2 instance\(s\) charted on discovery port \d+ after [\d.]+ s\.$/m);
});

Deno.test("the cli's wait counts itself when it announces", async () => {
  const discoveryPort = freshPort();
  const signal = AbortSignal.timeout(DEADLINE);
  await using peer = new Peer({ id: "1", ports: [1], discoveryPort });
  const { code, stderr } = await runCli(
    [
      "wait",
      "2",
      "--port",
      "5",
      "--id",
      "6",
      "--timeout",
      "600",
      "--discovery-port",
      `${discoveryPort}`,
    ],
    { signal },
  );
  assert.equal(code, 0, stderr);
  assert.match(stderr, /^2 instance\(s\) charted/m);
  await peer.charts(["6"], signal);
});

Deno.test("the cli's wait fails with a clear message when the timeout passes first", async () => {
  const discoveryPort = freshPort();
  const signal = AbortSignal.timeout(DEADLINE);
  await using peer = new Peer({ id: "7", ports: [1], discoveryPort });
  await peer.until((line) => line.type === "ready", signal);
  const { code, stdout, stderr } = await runCli(
    ["wait", "3", "--timeout", "2", "--discovery-port", `${discoveryPort}`],
    { signal },
  );
  assert.equal(code, 1);
  assert.equal(stdout, "");
  assert.equal(
    stderr,
    `instance-chart wait: timed out after 2 s with 1 of 3 instance(s) charted on discovery port ${discoveryPort}: 7\n`,
  );
});

/** The lines of the doctor's report, by check: status and summary. */
function checksOf(stdout: string): Map<string, { status: string; summary: string }> {
  const checks = new Map();
  for (const line of stdout.split("\n")) {
    const match = line.match(/^(ok|warn|fail)\s+(\w+)\s+(.*)$/);
    if (match) checks.set(match[2], { status: match[1], summary: match[3] });
  }
  return checks;
}

Deno.test("the cli's doctor checks the lab's loopback and reports what it hears", async () => {
  const discoveryPort = freshPort();
  const signal = AbortSignal.timeout(DEADLINE);
  await using peer = new Peer({ id: "7", ports: [9042], discoveryPort });
  await peer.until((line) => line.type === "ready", signal);
  const { code, stdout, stderr } = await runCli(
    ["doctor", "--discovery-port", `${discoveryPort}`, "--duration", "1.5"],
    { signal },
  );
  assert.equal(code, 0, stdout + stderr);
  const checks = checksOf(stdout);
  assert.deepEqual([...checks.keys()], ["interfaces", "ipv6", "port", "loopback", "traffic"]);
  // The lab's namespace has ::1 alone, and loopback is IPv4 with both families.
  assert.deepEqual(checks.get("ipv6"), {
    status: "ok",
    summary: "no network interface has IPv6: discovery runs over IPv4",
  });
  assert.deepEqual(checks.get("interfaces"), {
    status: "warn",
    summary: "only loopback (lo) is up for discovery",
  });
  assert.match(
    stdout,
    /^\s+hint: Instances on this machine can find each other; instances on other/m,
  );
  assert.deepEqual(checks.get("port"), {
    status: "ok",
    summary: `discovery port ${discoveryPort} is shared by instances on this machine`,
  });
  assert.equal(checks.get("loopback")?.status, "ok");
  assert.match(
    checks.get("loopback")!.summary,
    /^a test announcement to 224\.0\.0\.251:\d+ came back within \d+ ms$/,
  );
  assert.match(stdout, /^\s+sent on lo \(127\.0\.0\.1\)$/m);
  assert.equal(checks.get("traffic")?.status, "ok");
  assert.match(
    checks.get("traffic")!.summary,
    /^heard \d+ datagram\(s\) within 1\.5 s, charted 1 instance\(s\)$/,
  );
  assert.match(stdout, /^\s+7 at 127\.0\.0\.1: 9042$/m);
  assert.match(stdout, /^No check failed; 1 warning\(s\)\.$/m);
});

Deno.test("the cli's doctor --json prints one object per check", async () => {
  const { code, stdout } = await runCli(
    ["doctor", "--discovery-port", `${freshPort()}`, "--duration", "0.5", "--json"],
    { signal: AbortSignal.timeout(DEADLINE) },
  );
  assert.equal(code, 0);
  const checks = stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(checks.map((check) => [check.check, check.status]), [
    ["interfaces", "warn"],
    ["ipv6", "ok"],
    ["port", "ok"],
    ["loopback", "ok"],
    ["traffic", "warn"],
  ]);
  assert.deepEqual(checks[0].interfaces, [
    { name: "lo", addresses: ["127.0.0.1"], up: true, loopback: true, multicast: true },
  ]);
  assert.deepEqual(checks[1].interfaces, [
    { name: "lo", addresses: ["::1"], up: true, loopback: true, multicast: true, uses: null },
  ]);
  assert.equal(checks[2].state, "free");
  assert.deepEqual(checks[3].interfaces, [{ name: "lo", address: "127.0.0.1" }]);
  assert.equal(checks[4].counters.received, 0);
  assert.match(checks[4].hint, /^Nothing was heard within 0\.5 s/);
  // Where multicast does not reach, seeds do.
  assert.match(checks[4].hint, /name the other instances with --seed HOST/);
});

Deno.test("the cli's doctor fails with a hint when the discovery port is held exclusively", async () => {
  const discoveryPort = freshPort();
  const holder = dgram.createSocket({ type: "udp4", reuseAddr: false });
  await new Promise<void>((resolve) => holder.bind(discoveryPort, "0.0.0.0", resolve));
  try {
    const { code, stdout } = await runCli(
      ["doctor", "--discovery-port", `${discoveryPort}`, "--duration", "0.5"],
      { signal: AbortSignal.timeout(DEADLINE) },
    );
    assert.equal(code, 1, stdout);
    const checks = checksOf(stdout);
    assert.deepEqual(checks.get("port"), {
      status: "fail",
      summary: `discovery port ${discoveryPort} is held exclusively by another program`,
    });
    assert.match(stdout, new RegExp(`ss -ulpn 'sport = :${discoveryPort}'`));
    assert.equal(checks.get("loopback")?.summary, "skipped: the discovery port cannot be bound");
    assert.match(stdout, /^1 check\(s\) failed\.$/m);
  } finally {
    await new Promise<void>((resolve) => holder.close(() => resolve()));
  }
});

Deno.test("the cli's doctor on a lab host hears a peer on another host", async () => {
  await using lab = await LabNet.create(2);
  const signal = AbortSignal.timeout(DEADLINE);
  await using peer = new Peer({ id: "3", ports: [9003], localDiscovery: false }, lab.hosts[0]);
  await peer.until((line) => line.type === "ready", signal);
  const { code, stdout } = await runCli(["doctor", "--duration", "1.5"], {
    signal,
    host: lab.hosts[1],
  });
  assert.equal(code, 0, stdout);
  const checks = checksOf(stdout);
  assert.deepEqual(checks.get("interfaces"), { status: "ok", summary: "eth0 can multicast" });
  assert.equal(checks.get("loopback")?.status, "ok");
  assert.match(stdout, new RegExp(`^\\s+sent on .*eth0 \\(${lab.hosts[1].address}\\)`, "m"));
  assert.equal(checks.get("traffic")?.status, "ok");
  assert.match(stdout, new RegExp(`^\\s+3 at ${lab.hosts[0].address}: 9003$`, "m"));
  assert.match(stdout, /^No check failed\.$/m);
});

Deno.test("the cli's doctor checks IPv6 on each interface of a dual-stack lab host", async () => {
  await using lab = await LabNet.create(2, [{ ipv6: "ula" }, { ipv6: "ula" }]);
  const [peerHost, host] = lab.hosts;
  const signal = AbortSignal.timeout(DEADLINE);
  await using peer = new Peer({ id: "3", ports: [9003], localDiscovery: false }, peerHost);
  await peer.until((line) => line.type === "ready", signal);
  for (const family of ["both", "ipv6"]) {
    const { code, stdout } = await runCli(["doctor", "--duration", "1.5", "--family", family], {
      signal,
      host,
    });
    assert.equal(code, 0, stdout);
    const checks = checksOf(stdout);
    assert.deepEqual(checks.get("ipv6"), { status: "ok", summary: "IPv6 on eth0" });
    assert.match(
      stdout,
      new RegExp(
        `^\\s+eth0  ${host.ula} fe80::\\S+%eth0  joins ff02::fb, sends from ${host.ula}$`,
        "m",
      ),
    );
    // Over IPv6 alone, the peer is charted at its IPv6 address.
    const at = family === "ipv6" ? peerHost.ula : `${peerHost.ipv4}`;
    assert.match(stdout, new RegExp(`^\\s+3 at ${at}: 9003$`, "m"), stdout);
  }
});

Deno.test("the cli's table and JSON show a dual-stack peer's IPv4 and IPv6 addresses", async () => {
  await using lab = await LabNet.create(2, [{ ipv6: "ula" }, { ipv6: "ula" }]);
  const [peerHost, host] = lab.hosts;
  const signal = AbortSignal.timeout(DEADLINE);
  await using peer = new Peer({ id: "3", ports: [9003], localDiscovery: false }, peerHost);
  await peer.until((line) => line.type === "ready", signal);
  const table = await runCli(["--duration", "2.5"], { signal, host });
  assert.equal(table.code, 0, table.stderr);
  const [, ...rows] = cells(table.stdout);
  assert.deepEqual(rows.map((row) => row.slice(0, 3)), [
    ["3", `${peerHost.ipv4} ${peerHost.ula}`, "9003"],
  ]);
  const json = await runCli(["--duration", "2.5", "--json"], { signal, host });
  const [entry] = json.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual([entry.id, entry.address, entry.addresses, entry.ports], [
    "3",
    peerHost.ipv4,
    [peerHost.ipv4, peerHost.ula],
    [9003],
  ]);
  const v6 = await runCli(["--duration", "2.5", "--json", "--family", "ipv6"], { signal, host });
  const [only] = v6.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual([only.id, only.address, only.addresses, only.ports], [
    "3",
    peerHost.ula,
    undefined,
    [9003],
  ]);
});

Deno.test("the cli's doctor fails with hints on a lab host that cannot multicast", async () => {
  await using lab = await LabNet.create(1);
  const [host] = lab.hosts;
  for (const link of ["lo down", "eth0 multicast off"]) {
    const args = ["-n", host.name, "link", "set", ...link.split(" ")];
    assert.equal((await new Deno.Command("ip", { args }).output()).code, 0);
  }
  const { code, stdout } = await runCli(["doctor", "--duration", "0.5"], {
    signal: AbortSignal.timeout(DEADLINE),
    host,
  });
  assert.equal(code, 1, stdout);
  const checks = checksOf(stdout);
  assert.deepEqual(checks.get("interfaces"), {
    status: "fail",
    summary: "no interface is up for discovery",
  });
  assert.match(stdout, /^\s+eth0 {2}198\.18\.\d+\.1 {2}up$/m);
  assert.match(stdout, /hint: Loopback is down and no network interface is up with multicast/);
  assert.deepEqual(checks.get("loopback"), { status: "fail", summary: "no interface to send on" });
  assert.match(stdout, /^2 check\(s\) failed\.$/m);
});

Deno.test("the cli rejects bad flags with one line and exit code 2", async () => {
  const signal = AbortSignal.timeout(DEADLINE * 2);
  for (
    const args of [
      ["--bogus"],
      ["--discovery-port", "0"],
      ["--discovery-port", "http"],
      ["--header", "-1"],
      ["--header", "18446744073709551616"],
      ["--duration", "0"],
      ["--announce"],
      ["--port", "80"],
      ["extra"],
      ["list"],
      ["announce"],
      ["announce", "--port", "1", "--msg", "2"],
      ["announce", "--msg", "{"],
      ["announce", "--port", "65536"],
      ["wait"],
      ["wait", "0"],
      ["wait", "2", "3"],
      ["wait", "2", "--duration", "1"],
      ["wait", "2", "--id", "5"],
      ["doctor", "--watch"],
      ["--family", "ipv5"],
      ["help", "nope"],
    ]
  ) {
    const { code, stdout, stderr } = await runCli(args, { signal });
    assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
    assert.equal(stdout, "");
    assert.match(stderr, /^instance-chart( \w+)?: [^\n]+ \(see (\w+ )?--help\)\n$/, args.join(" "));
  }
});

Deno.test("the cli's --help shows usage with examples, for each command too", async () => {
  const signal = AbortSignal.timeout(DEADLINE);
  const help = await runCli(["--help"], { signal });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: instance-chart \[command\] \[options\]/);
  assert.match(help.stdout, /--discovery-port N/);
  assert.match(help.stdout, /Examples:\n {2}deno run -A jsr:@x\/instance-chart\/cli\n/);
  for (
    const [command, args] of [["announce", ["announce", "--help"]], ["wait", ["help", "wait"]], [
      "doctor",
      ["doctor", "-h"],
    ]] as const
  ) {
    const { code, stdout } = await runCli([...args], { signal });
    assert.equal(code, 0);
    assert.match(stdout, new RegExp(`^Usage: instance-chart ${command} `));
    assert.match(
      stdout,
      new RegExp(`Examples:\\n {2}deno run -A jsr:@x/instance-chart/cli ${command}`),
    );
  }
});

Deno.test("the cli's --version prints the version in deno.json", async () => {
  const { code, stdout } = await runCli(["--version"], { signal: AbortSignal.timeout(DEADLINE) });
  assert.equal(code, 0);
  assert.equal(stdout, `instance-chart ${meta.version}\n`);
});

Deno.test("the cli with a key charts only instances that share it, from a file or the environment", async () => {
  const discoveryPort = freshPort();
  const key = "a shared key for the cli test";
  await using keyed = new Peer({ id: "1", ports: [9001], discoveryPort, keys: [key] });
  await using open = new Peer({ id: "2", ports: [9002], discoveryPort });
  const signal = AbortSignal.timeout(DEADLINE);
  await keyed.until((line) => line.type === "ready", signal);
  await open.until((line) => line.type === "ready", signal);
  const keyFile = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(keyFile, `${key}\n`);
    const fromFile = await runCli(
      ["--discovery-port", `${discoveryPort}`, "--duration", "2.5", "--key-file", keyFile],
      { signal },
    );
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.deepEqual(cells(fromFile.stdout).slice(1).map((row) => row.slice(0, 3)), [
      ["1", "127.0.0.1", "9001"],
    ]);
    Deno.env.set("INSTANCE_CHART_KEY", key);
    const fromEnvironment = await runCli(
      ["--discovery-port", `${discoveryPort}`, "--duration", "2.5"],
      { signal },
    );
    assert.deepEqual(cells(fromEnvironment.stdout).slice(1).map((row) => row[0]), ["1"]);
  } finally {
    Deno.env.delete("INSTANCE_CHART_KEY");
    await Deno.remove(keyFile);
  }
});

Deno.test("the cli says which key file it cannot read and exits with 1", async () => {
  const signal = AbortSignal.timeout(DEADLINE);
  const missing = await runCli(["--key-file", "/nonexistent/key", "--duration", "0.2"], { signal });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Cannot read key file \/nonexistent\/key: /);
  const short = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(short, "too short");
    const run = await runCli(["--key-file", short, "--duration", "0.2"], { signal });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /fewer than 16 bytes/);
  } finally {
    await Deno.remove(short);
  }
});

Deno.test("the cli refuses a key file too large for a key, and one that never ends", async () => {
  const signal = AbortSignal.timeout(DEADLINE);
  // /dev/zero never ends: read whole, it would fill the memory.
  const endless = await runCli(["--key-file", "/dev/zero", "--duration", "0.2"], { signal });
  assert.equal(endless.code, 1);
  assert.match(endless.stderr, /Cannot use key file \/dev\/zero: it is larger than 4096 bytes/);
  const large = await Deno.makeTempFile();
  try {
    await Deno.writeFile(large, new Uint8Array(4_097).fill(7), { mode: 0o600 });
    const run = await runCli(["--key-file", large, "--duration", "0.2"], { signal });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /it is larger than 4096 bytes/);
    await Deno.writeFile(large, new Uint8Array(4_096).fill(7), { mode: 0o600 });
    const largest = await runCli(["--key-file", large, "--duration", "0.2"], { signal });
    assert.equal(largest.code, 0, largest.stderr);
  } finally {
    await Deno.remove(large);
  }
});

Deno.test("the cli and its doctor warn once when the key file is open to others, and still use it", async () => {
  const discoveryPort = freshPort();
  const key = "a shared key for the key mode test";
  await using keyed = new Peer({ id: "1", ports: [9001], discoveryPort, keys: [key] });
  const signal = AbortSignal.timeout(DEADLINE);
  await keyed.until((line) => line.type === "ready", signal);
  const keyFile = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(keyFile, `${key}\r\n`);
    await Deno.chmod(keyFile, 0o644);
    const list = await runCli(
      ["--discovery-port", `${discoveryPort}`, "--duration", "2.5", "--key-file", keyFile],
      { signal },
    );
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(cells(list.stdout).slice(1).map((row) => row[0]), ["1"]);
    const warning = new RegExp(
      `key file ${keyFile} is accessible by group or others \\(mode 0644\\)`,
    );
    assert.match(list.stderr, warning);
    // The doctor opens two charts with the key: one warning.
    const doctor = await runCli(
      ["doctor", "--discovery-port", `${discoveryPort}`, "--key-file", keyFile],
      { signal },
    );
    assert.equal(doctor.stderr.split("\n").filter((line) => warning.test(line)).length, 1);
    await Deno.chmod(keyFile, 0o600);
    const quiet = await runCli(
      ["--discovery-port", `${discoveryPort}`, "--duration", "0.2", "--key-file", keyFile],
      { signal },
    );
    assert.doesNotMatch(quiet.stderr, /accessible by group or others/);
  } finally {
    await Deno.remove(keyFile);
  }
});

Deno.test("the doctor tells a keyed chart's traffic from unsigned traffic", async () => {
  const discoveryPort = freshPort();
  await using open = new Peer({ id: "2", ports: [9002], discoveryPort });
  const signal = AbortSignal.timeout(DEADLINE);
  await open.until((line) => line.type === "ready", signal);
  Deno.env.set("INSTANCE_CHART_KEY", "a shared key for the doctor test");
  try {
    const { stdout } = await runCli(["doctor", "--discovery-port", `${discoveryPort}`], { signal });
    assert.match(stdout, /dropped: unsigned \d+/);
    assert.match(stdout, /datagram\(s\) carried no signature: an instance runs with another key/);
  } finally {
    Deno.env.delete("INSTANCE_CHART_KEY");
  }
});

Deno.test("the cli takes seeds from --seed, else from INSTANCE_CHART_SEEDS, for charts that announce", () => {
  const env = { INSTANCE_CHART_SEEDS: " 198.18.2.7, peers.lab:9000 ,," };
  const seedsOf = (args: string[], environment = env) => {
    const command = parseCommand(args, environment);
    assert.ok(command.kind !== "help" && command.kind !== "version");
    const { seeds, nameServer, multicast } = command.chart;
    return {
      seeds: seeds?.map((seed) => [seed.host, seed.isName, seed.port]),
      nameServer,
      multicast,
    };
  };
  assert.deepEqual(seedsOf(["announce", "--port", "1"]), {
    seeds: [["198.18.2.7", false, undefined], ["peers.lab", true, 9000]],
    nameServer: undefined,
    multicast: true,
  });
  assert.deepEqual(
    seedsOf([
      "announce",
      "--port",
      "1",
      "--seed",
      "[fd00::5]:8080",
      "--seed",
      "x.lab",
      "--name-server",
      "198.18.0.53:5353",
      "--no-multicast",
    ]),
    {
      seeds: [["fd00::5", false, 8080], ["x.lab", true, undefined]],
      nameServer: { address: "198.18.0.53", port: 5353 },
      multicast: false,
    },
  );
  assert.deepEqual(seedsOf(["wait", "2", "--msg", "1"]).seeds?.length, 2);
  // A chart that only listens sends its seeds nothing: the variable does not apply.
  assert.equal(seedsOf([]).seeds, undefined);
  assert.equal(seedsOf(["wait", "2"]).seeds, undefined);
  // The doctor resolves them.
  assert.equal(seedsOf(["doctor"]).seeds?.length, 2);
});

Deno.test("the cli rejects bad seeds, and seed flags where they do nothing, naming the flag", () => {
  const cases: Array<[args: string[], env: Record<string, string>, message: RegExp]> = [
    [
      ["announce", "--port", "1", "--seed", "198.18.1"],
      {},
      /^--seed: Cannot use seed "198\.18\.1"/,
    ],
    [["announce", "--port", "1", "--seed", "a:0"], {}, /^--seed: .*port must be/],
    [
      ["announce", "--port", "1"],
      { INSTANCE_CHART_SEEDS: "a b" },
      /^INSTANCE_CHART_SEEDS: .*"a b"/,
    ],
    [["announce", "--port", "1", "--no-multicast"], {}, /--no-multicast needs --seed/],
    [["announce", "--port", "1", "--name-server", "198.18.0.53"], {}, /--name-server needs --seed/],
    [
      ["announce", "--port", "1", "--seed", "x", "--name-server", "dns.lab"],
      {},
      /^--name-server: .*not an IP address/,
    ],
    [["wait", "2", "--seed", "x"], {}, /--seed needs --port or --msg/],
    [["--seed", "x"], {}, /--seed is not an option of the default command, but of announce, wait/],
    [["doctor", "--no-multicast"], {}, /--no-multicast is not an option of doctor/],
    [
      ["announce", "--port", "1", "--family", "ipv6", "--seed", "198.18.1.5"],
      {},
      /^--seed: Cannot use seed 198\.18\.1\.5 with family ipv6: it is an IPv4 address$/,
    ],
  ];
  for (const [args, env, message] of cases) {
    assert.throws(() => parseCommand(args, env), (error: Error) => {
      assert.ok(error instanceof UsageError, args.join(" "));
      assert.match(error.message, message, args.join(" "));
      return true;
    });
  }
});

Deno.test("the cli announces across a router to its seeds, from --seed or INSTANCE_CHART_SEEDS", async () => {
  await using a = await LabNet.create(1);
  await using b = await LabNet.create(1);
  await a.routeTo(b);
  const [a1] = a.hosts;
  const [b1] = b.hosts;
  const signal = AbortSignal.timeout(DEADLINE);
  const discoveryPort = freshPort();
  await using peer = new Peer(
    { id: "3", ports: [9003], discoveryPort, localDiscovery: false, seeds: [a1.address] },
    b1,
  );
  await peer.until((line) => line.type === "ready", signal);
  const common = ["--discovery-port", `${discoveryPort}`, "--timeout", "20"];
  const runs = [
    { args: ["wait", "2", "--id", "7", "--port", "4242", "--seed", b1.address, ...common] },
    {
      args: ["wait", "2", "--id", "8", "--port", "4243", ...common],
      env: { INSTANCE_CHART_SEEDS: `${b1.address}:${discoveryPort}` },
    },
  ];
  for (const [i, { args, env }] of runs.entries()) {
    const { code, stdout, stderr } = await runCli(args, { signal, host: a1, env });
    assert.equal(code, 0, stderr);
    assert.match(stdout, new RegExp(`^3\\s+${b1.address.replaceAll(".", "\\.")}\\s+9003\\s`, "m"));
    const id = `${7 + i}`;
    await peer.charts([id], signal);
    assert.deepEqual(peer.charted.get(id)?.address, a1.address);
    assert.deepEqual(peer.charted.get(id)?.ports, [4242 + i]);
  }
});

Deno.test("the cli's doctor shows what each seed resolves to, and fails on one that does not", async () => {
  await using lab = await LabNet.create(2);
  const [host, server] = lab.hosts;
  await using dns = await LabDns.start(
    server,
    { "peers.lab": ["198.18.9.1", "198.18.9.2", "fd00::9:1"], "m1.lab": ["198.18.9.5"] },
    { "_instance-chart._udp.lab": [{ target: "m1.lab", port: 7001 }] },
  );
  const args = ["doctor", "--duration", "0.5", "--name-server", dns.address, "--seed", "peers.lab"];
  const signal = AbortSignal.timeout(DEADLINE);
  const good = await runCli(
    [...args, "--seed", "_instance-chart._udp.lab", "--seed", "198.18.9.3:7000", "--json"],
    { signal, host },
  );
  const port = DEFAULT_PORT;
  const seeds = good.stdout.trim().split("\n").map((line) => JSON.parse(line))
    .find((check) => check.check === "seeds");
  // A and AAAA records with the discovery port, SRV records with theirs, an address as it is.
  assert.deepEqual(seeds, {
    check: "seeds",
    status: "ok",
    summary: "3 seed(s) resolve to 5 address(es)",
    seeds: [
      {
        seed: "peers.lab",
        addresses: [`198.18.9.1:${port}`, `198.18.9.2:${port}`, `[fd00::9:1]:${port}`],
      },
      { seed: "_instance-chart._udp.lab", addresses: ["198.18.9.5:7001"] },
      { seed: "198.18.9.3:7000", addresses: ["198.18.9.3:7000"] },
    ],
  });
  const bad = await runCli([...args, "--seed", "nowhere.lab"], { signal, host });
  assert.equal(bad.code, 1, bad.stdout);
  assert.deepEqual(checksOf(bad.stdout).get("seeds"), {
    status: "fail",
    summary: "1 of 2 seed(s) do not resolve",
  });
  assert.match(bad.stdout, /^\s+nowhere\.lab: no A, AAAA or SRV records$/m);
  assert.match(
    bad.stdout,
    /^\s+peers\.lab: 198\.18\.9\.1:\d+, 198\.18\.9\.2:\d+, \[fd00::9:1\]:\d+$/m,
  );
});
