import { Peer } from "./_lab.ts";
import assert from "node:assert/strict";
import { freshPort } from "./_charts.ts";
import { TextLineStream } from "./_lines.ts";

const CLI = new URL("../src/cli.ts", import.meta.url).pathname;
const DEADLINE = 30_000;

/** Runs the CLI as a user does (no --unstable-net) and returns its output. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command("deno", {
    args: ["run", "-A", CLI, ...args],
    stdin: "null",
    signal: AbortSignal.timeout(DEADLINE),
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

Deno.test("the cli lists every announcing instance as a table of id, address and data", async () => {
  const discoveryPort = freshPort();
  await using ports = new Peer({ id: "7", ports: [9042, 9043], discoveryPort });
  await using msg = new Peer({ id: "18446744073709551615", msg: { role: "db" }, discoveryPort });
  const signal = AbortSignal.timeout(DEADLINE);
  await ports.until((line) => line.type === "ready", signal);
  await msg.until((line) => line.type === "ready", signal);
  // Listening longer than the longest announcement interval (1.1 s) hears everyone.
  const { code, stdout, stderr } = await cli(
    "--discovery-port",
    `${discoveryPort}`,
    "--duration",
    "2.5",
  );
  assert.equal(code, 0, stderr);
  assert.deepEqual(stdout.trimEnd().split("\n").map((row) => row.split(/\s{2,}/)), [
    ["ID", "ADDRESS", "DATA"],
    ["7", "127.0.0.1", "9042, 9043"],
    ["18446744073709551615", "127.0.0.1", '{"role":"db"}'],
  ]);
  assert.match(stderr, /^2 instance\(s\) heard on discovery port \d+ within 2\.5 s\.$/m);
});

Deno.test("the cli says so when it hears nobody", async () => {
  const { code, stdout, stderr } = await cli(
    "--discovery-port",
    `${freshPort()}`,
    "--duration",
    "0.3",
  );
  assert.equal(code, 0);
  assert.equal(stdout, "");
  assert.match(stderr, /^No instances heard on discovery port \d+ within 0\.3 s\.$/m);
});

Deno.test("the cli announces as an instance until interrupted, then prints the chart", async () => {
  const discoveryPort = freshPort();
  await using peer = new Peer({ id: "1", ports: [1, 2], discoveryPort });
  const child = new Deno.Command("deno", {
    args: ["run", "-A", CLI, "--discovery-port", `${discoveryPort}`, "--duration", "600"]
      .concat(["--announce", "--id", "99", "--port", "4242", "--port", "4243"]),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  await peer.charts(["99"], AbortSignal.timeout(DEADLINE));
  assert.deepEqual(peer.charted.get("99"), {
    type: "added",
    id: "99",
    address: "127.0.0.1",
    ports: [4242, 4243],
  });
  // It reports the peer as soon as it charts it, then prints the chart on Ctrl-C.
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).pipeThrough(
    new TextLineStream(),
  );
  const seen: string[] = [];
  for await (const line of stderr) {
    seen.push(line);
    if (line === "Found 1 at 127.0.0.1: 1, 2") break;
  }
  assert.deepEqual(seen, [
    "Announcing id 99 with port(s) 4242, 4243.",
    "Found 1 at 127.0.0.1: 1, 2",
  ]);
  child.kill("SIGINT");
  const stdout = await new Response(child.stdout).text();
  assert.equal((await child.status).code, 0);
  assert.match(stdout, /^1\s+127\.0\.0\.1\s+1, 2$/m);
});

Deno.test("the cli rejects bad flags with one line and exit code 2", async () => {
  for (
    const args of [
      ["--bogus"],
      ["--discovery-port", "0"],
      ["--discovery-port", "http"],
      ["--header", "-1"],
      ["--duration", "0"],
      ["--announce"],
      ["--port", "80"],
      ["extra"],
    ]
  ) {
    const { code, stdout, stderr } = await cli(...args);
    assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
    assert.equal(stdout, "");
    assert.match(stderr, /^instance-chart: .+ \(see --help\)\n$/, args.join(" "));
  }
});

Deno.test("the cli's --help shows usage with examples", async () => {
  const { code, stdout } = await cli("--help");
  assert.equal(code, 0);
  assert.match(stdout, /^Usage: instance-chart \[options\]/);
  assert.match(stdout, /--discovery-port N/);
  assert.match(stdout, /Examples:\n {2}deno run -A jsr:@x\/instance-chart\/cli/);
});
