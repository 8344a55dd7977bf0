import { type LabHost, LabNet, Peer, type PeerLine } from "./_lab.ts";
import assert from "node:assert/strict";
import dgram from "node:dgram";
import {
  type Chart,
  ChartBuilder,
  type Counters,
  DEFAULT_HEADER,
  foundEveryone,
  maintain,
  MULTICAST_GROUP,
  type PortEntry,
} from "../mod.ts";
import { incarnationOf } from "../src/core/identity.ts";
import { Keyring } from "../src/core/keyring.ts";
import { MAX_CHART_UNICASTS } from "../src/io/links.ts";
import { type Announcement, decodeAnnouncement, encodeAnnouncement } from "../src/core/wire.ts";
import { freshPort, record, until } from "./_charts.ts";
import { processOfCharts } from "./_charts_process.ts";
import { TextLineStream } from "./_lines.ts";
import { seededRandom } from "./_random.ts";

const DEADLINE = 30_000;
const deadline = () => AbortSignal.timeout(DEADLINE);
const KEY = "correct horse battery staple 1";
const OTHER_KEY = "an entirely different key 2";
const FAST = { min: 50, max: 200, rampdown: 500 };
/** Fast to find, then the default 1 s interval: a ttl of 3.3 s, tombstones of 33 s. */
const SETTLED = { min: 50, max: 1_000, rampdown: 500 };
/** Well within the 33 s a tombstone without keys lasts, and ample for one 1.1 s interval. */
const WITHIN_TOMBSTONE = 20_000;

function keyedChart(id: number, discoveryPort: number, keys: string[] = [KEY]) {
  return new ChartBuilder().withId(id).withServicePort(9000 + id).withDiscoveryPort(discoveryPort)
    .localDiscovery(true).withRampdown(FAST).withKeys(keys).finish();
}

/** A raw socket in the group on the discovery port: it hears, keeps and sends datagrams. */
async function wiretap(discoveryPort: number, keep = true) {
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
  await new Promise<void>((resolve) => socket.bind(discoveryPort, "0.0.0.0", resolve));
  socket.addMembership(MULTICAST_GROUP, "127.0.0.1");
  socket.setMulticastInterface("127.0.0.1");
  const heard: Uint8Array[] = [];
  if (keep) socket.on("message", (data) => heard.push(new Uint8Array(data)));
  return {
    heard,
    send: (data: Uint8Array) =>
      new Promise<void>((resolve, reject) =>
        socket.send(
          data,
          discoveryPort,
          MULTICAST_GROUP,
          (error) => error ? reject(error) : resolve(),
        )
      ),
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/**
 * Sends datagrams to a chart in batches, waiting for it to take each batch
 * in, so that no socket buffer overflows and every one is judged.
 */
async function feed(
  chart: Chart<PortEntry>,
  send: (data: Uint8Array) => Promise<void>,
  datagrams: Iterable<Uint8Array>,
): Promise<number> {
  let sent = 0;
  const start = chart.counters.received;
  for (const datagram of datagrams) {
    await send(datagram);
    sent++;
    if (sent % 200 === 0) {
      await until(() => chart.counters.received - start >= sent * 0.99, deadline());
    }
  }
  await until(() => chart.counters.received - start >= sent * 0.99, deadline());
  return sent;
}

/** The heap in use after a full collection (the test task exposes `gc`). */
function liveHeap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Deno.memoryUsage().heapUsed;
}

/** What reached the victim's port: datagrams, their bytes, and the largest. */
interface Reached {
  count: number;
  bytes: number;
  largest: number;
}

/**
 * A process on a lab host that listens with a `node:dgram` socket: `setup`
 * makes `socket` and prints "listening" once it is bound; when the process's
 * input closes, it prints `report` as JSON and ends.
 */
function listenerOn<T>(host: LabHost, setup: string, report: string) {
  const child = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      host.name,
      "deno",
      "eval",
      `import dgram from "node:dgram";
      ${setup}
      for await (const _ of Deno.stdin.readable) {}
      console.log(JSON.stringify(${report}));
      socket.close();`,
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
    new TextLineStream(),
  )[Symbol.asyncIterator]();
  return {
    listening: lines.next().then(({ value }) => assert.equal(value, "listening")),
    async stop(): Promise<T> {
      await child.stdin.close();
      const { value } = await lines.next();
      await child.status;
      return JSON.parse(value!);
    },
  };
}

/** A process on a lab host that counts what reaches its port 5555, until it is stopped. */
async function victimOn(host: LabHost): Promise<{ stop(): Promise<Reached> }> {
  const victim = listenerOn<Reached>(
    host,
    `const socket = dgram.createSocket("udp4");
    let count = 0, bytes = 0, largest = 0;
    socket.on("message", (data) => {
      count++;
      bytes += data.length;
      largest = Math.max(largest, data.length);
    });
    socket.bind(5555, () => console.log("listening"));`,
    "{ count, bytes, largest }",
  );
  await victim.listening;
  return victim;
}

/**
 * Sends datagrams to a lab host's discovery port (8080), or to the group's
 * (every process in it on the link receives them), with the victim's
 * address and port 5555 as their forged source, from the attacker's host:
 * bare announcements of new ids by default, or the given datagrams in turn.
 */
async function forge(
  attacker: LabHost,
  victim: LabHost,
  target: LabHost | "group",
  count: number,
  rate: number,
  datagrams?: Uint8Array[],
): Promise<void> {
  const to = target === "group" ? MULTICAST_GROUP : target.address;
  const args = [victim.address, "5555", to, "8080", `${DEFAULT_HEADER}`];
  args.push(`${count}`, `${rate}`);
  const file = datagrams ? await Deno.makeTempFile() : undefined;
  if (file) {
    const hex = (data: Uint8Array) => Array.from(data, (b) => b.toString(16).padStart(2, "0"));
    await Deno.writeTextFile(file, datagrams!.map((data) => hex(data).join("")).join("\n"));
    args.push(file);
  }
  const spoof = await new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      attacker.name,
      "python3",
      new URL("./_spoof.py", import.meta.url).pathname,
    ]
      .concat(args),
    stdout: "piped",
  }).output();
  if (file) await Deno.remove(file);
  assert.equal(spoof.code, 0);
}

/**
 * Announcements of new ids (from 1,000,000) in this module's layout, as one
 * that just started sends them but without the listening field: 47 bytes,
 * smaller than a chart's answer (so none is due), and each charted instance
 * has an incarnation, so that it is probed before it expires.
 */
function quietNewcomers(count: number, fields: Partial<Announcement> = {}): Uint8Array[] {
  return newcomers(count, (i) => ({ ttl: 3300, incarnation: BigInt(i + 1), seq: 1, ...fields }));
}

/** Announcements of `count` new ids, from 1,000,000, each with the fields of its index. */
function newcomers(count: number, fieldsOf: (i: number) => Partial<Announcement>): Uint8Array[] {
  return Array.from({ length: count }, (_, i) =>
    encodeAnnouncement({
      header: DEFAULT_HEADER,
      id: BigInt(1_000_000 + i),
      ports: [4242],
      reply: false,
      ...fieldsOf(i),
    }));
}

Deno.test("charts with a key find each other and never chart an instance without it", async () => {
  const discoveryPort = freshPort();
  await using a = await keyedChart(1, discoveryPort);
  await using b = await keyedChart(2, discoveryPort);
  await using stranger = await new ChartBuilder().withId(3).withServicePort(9003)
    .withDiscoveryPort(discoveryPort).localDiscovery(true).withRampdown(FAST).finish();
  await using wrongKey = await keyedChart(4, discoveryPort, [OTHER_KEY]);
  for (const chart of [a, b, stranger, wrongKey]) maintain(chart);
  await foundEveryone(a, 2, { signal: deadline() });
  await foundEveryone(b, 2, { signal: deadline() });
  await until(
    () => a.counters.dropped.unsigned > 3 && a.counters.dropped["unknown-key"] > 3,
    deadline(),
  );
  assert.deepEqual(a.entries().map((entry) => entry.id), [2n]);
  assert.deepEqual(b.entries().map((entry) => entry.id), [1n]);
});

Deno.test("10,000 forged, bit-flipped, wrong-key and replayed datagrams are all rejected", async () => {
  const discoveryPort = freshPort();
  await using tap = await wiretap(discoveryPort);
  await using a = await keyedChart(1, discoveryPort);
  const b = await keyedChart(2, discoveryPort);
  const seen = record(a.events());
  maintain(a);
  maintain(b);
  await foundEveryone(a, 2, { signal: deadline() });
  // Real, signed datagrams of b, captured on the wire.
  await until(() => tap.heard.filter((data) => data[8] === 2).length >= 5, deadline());
  const captured = tap.heard.filter((data) => data[8] === 2);
  await b.close();
  await until(() => seen.some((event) => event.type === "removed"), deadline());
  await until(() => tap.heard.some((data) => data[0] !== captured[0][0]), deadline());
  const goodbye = tap.heard.find((data) => data[0] !== captured[0][0] && data[8] === 2)!;

  const next = seededRandom(42);
  const wrongKeyring = new Keyring([OTHER_KEY]);
  function* attack(): Generator<Uint8Array> {
    for (let i = 0; i < 10_000; i++) {
      const kind = i % 4;
      const original = captured[i % captured.length];
      if (kind === 0) {
        // Forged: a new id with a random tag under b's key id.
        const forged = original.slice();
        forged[8] = 100 + (i % 100);
        for (let j = forged.length - 16; j < forged.length; j++) forged[j] = next() * 256;
        yield forged;
      } else if (kind === 1) {
        const flipped = original.slice();
        const bit = Math.floor(next() * flipped.length * 8);
        flipped[bit >> 3] ^= 1 << (bit & 7);
        yield flipped;
      } else if (kind === 2) {
        // Signed, but with a key the chart does not have.
        const datagram = encodeAnnouncement({
          header: DEFAULT_HEADER,
          id: BigInt(200 + (i % 100)),
          ports: [1],
          reply: false,
          ttl: 3300,
          incarnation: BigInt(i),
          seq: i,
          signerId: wrongKeyring.signerId,
        });
        wrongKeyring.sign(datagram);
        yield datagram;
      } else {
        // Replayed: b's own datagrams and goodbye, after b left.
        yield i % 8 === 3 ? goodbye : original;
      }
    }
  }
  const before = a.counters;
  const sent = await feed(a, tap.send, attack());
  assert.equal(sent, 10_000);
  const after = a.counters;
  const rejected = (["bad-signature", "unknown-key", "unsigned", "stale"] as const)
    .map((reason) => after.dropped[reason] - before.dropped[reason]);
  // Every one rejected: none charted, nothing changed, b stays gone.
  assert.deepEqual(
    seen.map((event) => [event.type, event.entry.id]),
    [["added", 2n], ["removed", 2n]],
  );
  assert.equal(a.size, 1);
  assert.ok(rejected[3] >= 2_400, `replays rejected as stale: ${rejected[3]}`);
  assert.ok(rejected.reduce((sum, n) => sum + n) >= 0.99 * 10_000, `rejected ${rejected}`);

  // And the keyed charts go on discovering each other.
  await using c = await keyedChart(3, discoveryPort);
  maintain(c);
  await foundEveryone(a, 2, { signal: deadline() });
  assert.deepEqual(a.entries().map((entry) => entry.id), [3n]);
});

Deno.test("rotating the key in three steps loses no peer", async () => {
  const discoveryPort = freshPort();
  const NEW_KEY = "the new key, rotated in 3";
  await using a = await keyedChart(1, discoveryPort);
  await using b = await keyedChart(2, discoveryPort);
  maintain(a);
  maintain(b);
  await foundEveryone(a, 2, { signal: deadline() });
  await foundEveryone(b, 2, { signal: deadline() });
  const seen = [record(a.events()), record(b.events())];
  const steps = [[KEY, NEW_KEY], [NEW_KEY, KEY], [NEW_KEY]];
  for (const keys of steps) {
    // One chart first, the other a moment later, as a rolling change would.
    a.setKeys(keys);
    const heard = a.counters.received;
    await until(() => a.counters.received > heard + 5, deadline());
    b.setKeys(keys);
    // Two time-to-lives on the new keys.
    const now = b.counters.received;
    await until(() => b.counters.received > now + 15, deadline());
  }
  assert.deepEqual(seen, [[], []]);
  assert.equal(a.size, 2);
  assert.equal(b.size, 2);
  assert.equal(a.counters.dropped["bad-signature"] + a.counters.dropped["unknown-key"], 0);
});

Deno.test("100,000 flooded ids leave the chart at its cap with the real peers charted", async () => {
  const discoveryPort = freshPort();
  await using a = await new ChartBuilder().withId(1).withServicePort(9001)
    .withDiscoveryPort(discoveryPort).localDiscovery(true).withRampdown(FAST).finish();
  await using b = await new ChartBuilder().withId(2).withServicePort(9002)
    .withDiscoveryPort(discoveryPort).localDiscovery(true).withRampdown(FAST).finish();
  maintain(a);
  maintain(b);
  await foundEveryone(a, 2, { signal: deadline() });
  // Heard several times: confirmed, so the flood cannot evict it.
  const heard = a.counters.received;
  await until(() => a.counters.received > heard + 5, deadline());
  await using tap = await wiretap(discoveryPort, false);
  const heapBefore = liveHeap();
  let largest = 0;
  function* flood(): Generator<Uint8Array> {
    for (let i = 0; i < 100_000; i++) {
      if (i % 100 === 0) largest = Math.max(largest, a.size);
      yield encodeAnnouncement({
        header: DEFAULT_HEADER,
        id: BigInt(1_000 + i),
        ports: [1],
        reply: false,
      });
    }
  }
  await feed(a, tap.send, flood());
  const counters = a.counters;
  // Full, never over: most of the flood was turned away (the rest expired on its own).
  assert.equal(largest, 2_048 + 1);
  assert.ok(a.size <= 2_048 + 1);
  assert.deepEqual(a.get(2), { id: 2n, address: "127.0.0.1", ports: [9002] });
  assert.ok(counters.evicted > 50_000, `evicted ${counters.evicted}`);
  // Answers stayed within the total rate limit (a burst of 1000, then 1000 per second).
  assert.ok(counters.repliesSuppressed > 0);
  // 2048 entries of well under 1 KiB each; 100,000 kept would be tens of MiB.
  const grown = liveHeap() - heapBefore;
  assert.ok(grown < 8 * 2 ** 20, `the live heap grew by ${Math.round(grown / 2 ** 20)} MiB`);
});

Deno.test("a forged incarnation of a live id is ignored from the future, and undone while the instance speaks", async () => {
  const discoveryPort = freshPort();
  const open = (id: number) =>
    new ChartBuilder().withId(id).withServicePort(9000 + id).withDiscoveryPort(discoveryPort)
      .localDiscovery(true).withRampdown(FAST).finish();
  await using a = await open(1);
  await using b = await open(2);
  maintain(a);
  maintain(b);
  await foundEveryone(a, 2, { signal: deadline() });
  const seen = record(a.events());
  await using tap = await wiretap(discoveryPort, false);
  const hijack = (incarnation: bigint) =>
    encodeAnnouncement({
      header: DEFAULT_HEADER,
      id: 2n,
      ports: [1],
      reply: false,
      ttl: 3_600_000,
      incarnation,
      seq: 1,
    });
  // The forged maximum, then one 30 s ahead: only the second is taken, until b speaks again.
  await tap.send(hijack(2n ** 64n - 1n));
  await tap.send(hijack(incarnationOf(Date.now() + 30_000, 0)));
  const hijacked = () =>
    seen.filter((event) => event.type === "updated" && event.entry.ports[0] === 1).length;
  await until(() => hijacked() > 0, deadline());
  await until(() => a.get(2)?.ports[0] === 9002, deadline());
  assert.equal(hijacked(), 1);
  assert.deepEqual(a.get(2), { id: 2n, address: "127.0.0.1", ports: [9002] });
  assert.ok(seen.every((event) => event.type !== "removed"));
});

Deno.test("after a flood of confirmed fakes that claim an hour, a real newcomer is charted", async () => {
  const discoveryPort = freshPort();
  await using a = await new ChartBuilder().withId(1).withServicePort(9001)
    .withDiscoveryPort(discoveryPort).localDiscovery(true).withRampdown(FAST).finish();
  maintain(a);
  await using tap = await wiretap(discoveryPort, false);
  // 2,048 fake ids, each heard twice: the chart is full of confirmed entries.
  function* flood(): Generator<Uint8Array> {
    for (let i = 0; i < 2_048; i++) {
      for (const seq of [1, 2]) {
        yield encodeAnnouncement({
          header: DEFAULT_HEADER,
          id: BigInt(1_000 + i),
          ports: [1],
          reply: false,
          ttl: 3_600_000,
          incarnation: incarnationOf(Date.now(), i),
          seq,
        });
      }
    }
  }
  await feed(a, tap.send, flood());
  assert.equal(a.size, 2_048 + 1);
  await using b = await new ChartBuilder().withId(2).withServicePort(9002)
    .withDiscoveryPort(discoveryPort).localDiscovery(true).withRampdown(FAST).finish();
  maintain(b);
  // Turned away at first; the fakes' places are protected 10 s after they were last heard, not an hour.
  await until(() => a.counters.dropped.full > 0, deadline());
  await until(() => a.get(2) !== undefined, deadline());
  assert.deepEqual(a.get(2), { id: 2n, address: "127.0.0.1", ports: [9002] });
  assert.equal(a.size, 2_048 + 1);
});

Deno.test("with keys, replayed captures of an instance's old incarnation raise no collision", async () => {
  const discoveryPort = freshPort();
  await using tap = await wiretap(discoveryPort);
  const b = await keyedChart(2, discoveryPort);
  maintain(b);
  await until(() => tap.heard.filter((data) => data[8] === 2).length >= 5, deadline());
  const captured = tap.heard.filter((data) => data[8] === 2);
  await b.close();
  // b restarted, with a newer incarnation; c started after b left, so it has no tombstone of it.
  await using restarted = await keyedChart(2, discoveryPort);
  await using c = await keyedChart(3, discoveryPort);
  const seen = record(c.events());
  maintain(restarted);
  maintain(c);
  await foundEveryone(c, 2, { signal: deadline() });
  const stale = c.counters.dropped.stale;
  for (const datagram of captured) await tap.send(datagram);
  await until(() => c.counters.dropped.stale - stale >= captured.length, deadline());
  assert.deepEqual(seen.map((event) => [event.type, event.entry.id]), [["added", 2n]]);
  assert.deepEqual(c.get(2), { id: 2n, address: "127.0.0.1", ports: [9002] });
});

Deno.test("forged sources get at most the rate-limited answers, none larger than what asked", async () => {
  await using lab = await LabNet.create(3);
  const [chartHost, attackerHost, victimHost] = lab.hosts;
  await using chart = new Peer({ id: "1", ports: [9001], localDiscovery: false }, chartHost);
  await chart.until((line) => line.type === "ready", deadline());
  // The victim counts what reaches its port, and the largest datagram.
  const victim = await victimOn(victimHost);

  const count = 2_000;
  const rate = 2_000;
  // Read the chart's lines as they come: a full pipe would stall it. A
  // quarter of the attack is five times what the limit lets through: enough,
  // where a loaded machine may drop some of it before the chart reads it.
  const added = () => chart.lines.filter((line) => line.type === "added");
  const charting = chart.until(() => added().length >= count / 4, deadline());
  await forge(attackerHost, victimHost, chartHost, count, rate);
  await charting;
  const counters = await chart.close(deadline());
  const { count: received, largest } = await victim.stop();

  // The per-source bucket: a burst of twice 50, then 50 per second, over the
  // time the chart took in the attack (from its first to its last newcomer).
  const newcomers = added();
  const seconds = (newcomers.at(-1)!.at! - newcomers[0].at!) / 1000;
  const allowed = 2 * 50 + 50 * (seconds + 0.1);
  assert.ok(counters.replies <= allowed, `${counters.replies} answers in ${seconds} s`);
  assert.ok(received <= counters.replies, `the victim got ${received}`);
  assert.ok(received > 0, "answers within the limit still go out");
  assert.ok(largest <= 18, `an answer of ${largest} bytes to an 18-byte trigger`);
  // Every newcomer asked for an answer: each was sent or suppressed.
  assert.equal(counters.repliesSuppressed + counters.replies, added().length);
});

/**
 * Listens on a lab host for the multicasts of one address, and returns when
 * each arrived (on the clock the peers stamp their lines with) once its
 * standard input closes.
 */
function announcementTap(host: LabHost, from: string) {
  const tap = listenerOn<number[]>(
    host,
    `const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
    const heard = [];
    socket.on("message", (_, source) => {
      if (source.address === "${from}") heard.push(performance.timeOrigin + performance.now());
    });
    socket.bind(8080, () => {
      socket.addMembership("${MULTICAST_GROUP}", "${host.address}");
      console.log("listening");
    });`,
    "heard",
  );
  return { listening: tap.listening, heard: () => tap.stop() };
}

for (const transport of ["deno", "node"] as const) {
  Deno.test(`forged sources that do not resolve neither silence a chart nor hold up its close over ${transport}`, async () => {
    await using lab = await LabNet.create(4);
    const [victimHost, peerHost, attackerHost, tapHost] = lab.hosts;
    // Intervals of at most 550 ms with jitter, a time-to-live of 1,650 ms.
    const rampdown = { min: 100, max: 500, rampdown: 1_000 };
    const interval = rampdown.max * 1.1;
    const tap = announcementTap(tapHost, victimHost.address);
    await tap.listening;
    await using victim = new Peer(
      { id: "1", ports: [9001], localDiscovery: false, transport, rampdown, stats: 250 },
      victimHost,
    );
    await using peer = new Peer(
      { id: "2", ports: [9002], localDiscovery: false, rampdown },
      peerHost,
    );
    await victim.charts(["2"], deadline());
    await peer.charts(["1"], deadline());
    // Past the ramp, and the heap measured before the flood.
    let measured = 0;
    await victim.until((line) => line.type === "stats" && ++measured === 4, deadline());

    // Nothing on the bridge answers ARP for .200 to .250: each answer waits in
    // the kernel for its address to resolve, seconds, until that fails.
    const sources = `${victimHost.address.replace(/\.\d+$/, "")}.200-250`;
    const count = 40_000;
    const rate = 4_000;
    const floodStart = performance.timeOrigin + performance.now();
    let flooding = true;
    const spoof = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        attackerHost.name,
        "python3",
        new URL("./_spoof.py", import.meta.url).pathname,
      ]
        .concat([sources, "5555", victimHost.address, "8080", `${DEFAULT_HEADER}`])
        .concat([`${count}`, `${rate}`]),
      stdout: "piped",
    }).output().finally(() => flooding = false);
    // Read the victim's lines as they come (a full pipe would stall it) until the flood ends.
    await victim.until((line) => !flooding && line.type === "stats", AbortSignal.timeout(60_000));
    assert.equal((await spoof).code, 0);
    const floodEnd = performance.timeOrigin + performance.now();
    const counters = await victim.close(deadline());
    const { closeTook } = victim.lines.at(-1)!;
    const removed = await peer.removes("1", deadline());
    const heard = (await tap.heard()).filter((at) => at >= floodStart && at <= floodEnd);

    const times = [floodStart, ...heard, floodEnd];
    const longest = Math.max(...times.slice(1).map((at, i) => at - times[i]));
    const stats = victim.lines.filter((line) => line.type === "stats");
    const inFlight = Math.max(...stats.map((line) => line.unicasts!));
    const before = stats.findLast((line) => line.at! < floodStart)!.heap!;
    const grown = Math.max(...stats.map((line) => line.heap!)) - before;
    // Its announcements kept going out on time, so its peer kept it until its goodbye.
    assert.ok(longest < interval + 1_000, `${heard.length} announcements, ${longest} ms apart`);
    assert.equal(removed.reason, "goodbye");
    assert.equal(peer.lines.filter((line) => line.type === "removed").length, 1);
    // It answered until too many answers were held up, then dropped them.
    assert.ok(inFlight <= MAX_CHART_UNICASTS, `${inFlight} unicasts in flight`);
    assert.ok(counters.sendsDropped > 0, `${counters.replies} answers, none dropped`);
    // Its close did not wait for them, and its heap did not keep them.
    assert.ok(closeTook! < 1_000, `close took ${closeTook} ms`);
    assert.ok(grown < 8 * 2 ** 20, `the heap grew by ${(grown / 2 ** 20).toFixed(1)} MiB`);
  });
}

/** A chart without keys, on loopback, with ramp `rampdown`. */
function plainChart(id: number, discoveryPort: number, rampdown = SETTLED) {
  return new ChartBuilder().withId(id).withServicePort(9000 + id).withDiscoveryPort(discoveryPort)
    .localDiscovery(true).withRampdown(rampdown).finish();
}

/** The incarnation of an instance, read off a datagram it sent. */
function incarnationIn(heard: Uint8Array[], id: bigint): bigint | undefined {
  for (const data of heard) {
    const result = decodeAnnouncement(data, DEFAULT_HEADER, { kind: "any" });
    if (result.ok && result.announcement.id === id) return result.announcement.incarnation;
  }
  return undefined;
}

Deno.test("forged goodbyes for a live instance remove it only until its next announcement", async () => {
  const discoveryPort = freshPort();
  await using tap = await wiretap(discoveryPort);
  await using a = await plainChart(1, discoveryPort);
  await using b = await plainChart(2, discoveryPort);
  const seen = record(a.events());
  maintain(a);
  maintain(b);
  await foundEveryone(a, 2, { signal: deadline() });
  // Its incarnation is in every announcement: anyone on the link learns it.
  await until(() => incarnationIn(tap.heard, 2n) !== undefined, deadline());
  const incarnation = incarnationIn(tap.heard, 2n)!;
  const forged = encodeAnnouncement({
    header: DEFAULT_HEADER,
    id: 2n,
    reply: false,
    goodbye: true,
    ttl: 3_600_000,
    incarnation,
    seq: 0xffff_ffff,
  });
  const about2 = () => seen.filter((event) => event.entry.id === 2n).map((event) => event.type);
  // Repeated, as an attacker would every so often: each time b is back while
  // a tombstone that kept it out would still stand.
  for (let round = 1; round <= 3; round++) {
    await tap.send(forged);
    await until(() => about2().filter((type) => type === "removed").length === round, deadline());
    await until(
      () => about2().filter((type) => type === "added").length === round + 1,
      AbortSignal.timeout(WITHIN_TOMBSTONE),
    );
  }
  assert.deepEqual(a.get(2), { id: 2n, address: "127.0.0.1", ports: [9002] });
});

Deno.test("a forged goodbye for an id not yet charted does not keep out the instance that takes it", async () => {
  const discoveryPort = freshPort();
  await using tap = await wiretap(discoveryPort, false);
  await using a = await plainChart(1, discoveryPort);
  maintain(a);
  await tap.send(encodeAnnouncement({
    header: DEFAULT_HEADER,
    id: 2n,
    reply: false,
    goodbye: true,
    ttl: 3_600_000,
    incarnation: 0xffff_ffff_ffff_ffffn,
    seq: 1,
  }));
  await until(() => a.counters.dropped.stale > 0, deadline());
  await using b = await plainChart(2, discoveryPort);
  maintain(b);
  await foundEveryone(a, 2, { signal: AbortSignal.timeout(WITHIN_TOMBSTONE) });
  assert.deepEqual(a.get(2), { id: 2n, address: "127.0.0.1", ports: [9002] });
});

Deno.test("5,000 forged rivals of a chart's id do not hide a real instance with that id", async () => {
  const discoveryPort = freshPort();
  await using tap = await wiretap(discoveryPort, false);
  await using a = await plainChart(1, discoveryPort, FAST);
  const seen = record(a.events());
  maintain(a);
  function* rivals(): Generator<Uint8Array> {
    for (let i = 0; i < 5_000; i++) {
      // Each a new incarnation heard once, and said to live an hour.
      yield encodeAnnouncement({
        header: DEFAULT_HEADER,
        id: 1n,
        ports: [1],
        reply: false,
        ttl: 3_600_000,
        incarnation: BigInt(i + 1),
        seq: 1,
      });
    }
  }
  assert.equal(await feed(a, tap.send, rivals()), 5_000);
  assert.equal(seen.length, 0, "a rival heard once is no collision");
  await using twin = await new ChartBuilder().withId(1).withServicePort(9999)
    .withDiscoveryPort(discoveryPort).localDiscovery(true).withRampdown(FAST).finish();
  maintain(twin);
  await until(() => seen.some((event) => event.type === "collision"), deadline());
  assert.deepEqual(seen.filter((event) => event.type === "collision"), [{
    type: "collision",
    entry: { id: 1n, address: "127.0.0.1", ports: [9999] },
    withUs: true,
  }]);
});

/** The counters of a chart, or the sum of a process's, that say what went to a forged source. */
type Sent =
  & Pick<
    Counters,
    "received" | "replies" | "probes" | "repliesSuppressed" | "probesSuppressed"
  >
  & Partial<Pick<Counters, "multicastAnswers" | "probesAsked">>;

/** One line of figures for the report: what the attacker sent, and what came back. */
function figures(what: string, sent: Uint8Array[], reached: Reached, counters: Sent): string {
  const bytes = sent.reduce((sum, data) => sum + data.length, 0);
  return `${what}: forged ${sent.length} datagrams, ${bytes} B; the victim got ${reached.count}, ` +
    `${reached.bytes} B (${(reached.bytes / bytes).toFixed(2)}x); answers ${counters.replies} ` +
    `(${counters.repliesSuppressed} suppressed), probes ${counters.probes} ` +
    `(${counters.probesSuppressed} held back)` +
    (counters.multicastAnswers === undefined
      ? ""
      : `, rounds brought forward ${counters.multicastAnswers}`) +
    (counters.probesAsked === undefined ? "" : `, named in rounds ${counters.probesAsked}`);
}

Deno.test("forged quiet instances draw no more bytes in probes and answers than they sent", async () => {
  await using lab = await LabNet.create(3);
  const [chartHost, attackerHost, victimHost] = lab.hosts;
  await using chart = new Peer({ id: "1", ports: [9001], localDiscovery: false }, chartHost);
  await chart.until((line) => line.type === "ready", deadline());
  const victim = await victimOn(victimHost);

  const forged = quietNewcomers(300);
  const isForged = (line: PeerLine) => BigInt(line.id ?? 0) >= 1_000_000n;
  const count = (type: PeerLine["type"]) =>
    chart.lines.filter((line) => line.type === type && isForged(line)).length;
  let attacked = false;
  // Probing ends when the last forged instance expires, 3.3 s after it was heard.
  const over = chart.until(
    () => attacked && count("added") > 0 && count("removed") === count("added"),
    deadline(),
  );
  await forge(attackerHost, victimHost, chartHost, forged.length, 300, forged);
  attacked = true;
  await over;
  const counters = await chart.close(deadline());
  const reached = await victim.stop();

  console.log(figures("one chart, quiet newcomers", forged, reached, counters));
  const bytes = forged.reduce((sum, data) => sum + data.length, 0);
  assert.ok(reached.bytes <= bytes, `${reached.bytes} bytes back for ${bytes}`);
  assert.ok(counters.probes > 0, "the credit the forged datagrams brought still pays for probes");
  assert.equal(counters.replies, 0, "an answer would be larger than the 47-byte trigger");
});

/** Bare announcements (the Rust layout) of new ids, from 1,000,000: 18 bytes each. */
function bareNewcomers(count: number): Uint8Array[] {
  return newcomers(count, () => ({}));
}

Deno.test("20 charts on one host, in one process or in 10, send a forged source no more bytes in all than it sent", async () => {
  const forgeries: Array<[what: string, forged: Uint8Array[]]> = [
    // Rust newcomers: each chart would answer each one, 18 bytes for 18.
    ["bare newcomers", bareNewcomers(200)],
    // Newcomers with an incarnation: each chart would probe each one.
    ["quiet newcomers", quietNewcomers(200)],
  ];
  // Every process receives every forged multicast: in one, the charts share a credit; across
  // processes, only what they know of each other bounds them.
  const layouts: Array<[what: string, processes: number]> = [
    ["20 charts in one process", 1],
    ["10 processes of 2 charts", 10],
  ];
  for (const [layout, n] of layouts) {
    for (const [forgery, forged] of forgeries) {
      const what = `${layout}, ${forgery}`;
      await using lab = await LabNet.create(3);
      const [chartHost, attackerHost, victimHost] = lab.hosts;
      const size = 20 / n;
      const processes = await Promise.all(
        Array.from(
          { length: n },
          (_, p) => processOfCharts(chartHost, size, { firstId: size * p + 1, expect: 20 }),
        ),
      );
      const victim = await victimOn(victimHost);
      const started = performance.now();
      await forge(attackerHost, victimHost, "group", forged.length, 200, forged);
      const attack = performance.now() - started;
      const counters: Record<string, number> = {};
      for (const process of processes) {
        const [after, before] = [await process.stop(), process.readyCounters];
        // Over the attack only: finding each other, they brought rounds forward too.
        for (const [name, value] of Object.entries(after)) {
          counters[name] = (counters[name] ?? 0) + value! - (before[name as keyof Counters] ?? 0);
        }
      }
      const reached = await victim.stop();

      console.log(figures(what, forged, reached, counters as unknown as Sent));
      const bytes = forged.reduce((sum, data) => sum + data.length, 0);
      assert.ok(reached.bytes <= bytes, `${what}: ${reached.bytes} bytes back for ${bytes}`);
      assert.ok(reached.bytes > 0, `${what}: what the credit covers still goes`);
      // What the credit holds back comes as rounds to the group, not to the victim: one a
      // second per chart at most, over the attack and the second after it (a newcomer heard
      // within a second of a round brought forward hears one when the second is over).
      const mostRounds = 20 * (Math.floor(attack / 1_000) + 2);
      assert.ok(counters.multicastAnswers > 0, `${what}: the other charts answer by multicast`);
      assert.ok(
        counters.multicastAnswers <= mostRounds,
        `${what}: ${counters.multicastAnswers} rounds brought forward in ${attack.toFixed(0)} ms`,
      );
    }
  }
});
