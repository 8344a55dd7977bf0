import "./_lab.ts";
import assert from "node:assert/strict";
import { LabNet, Peer, type PeerLine, type PeerOptions } from "./_lab.ts";
import { freshPort, until } from "./_charts.ts";

/** Generous: the peers find each other within a round or two. */
const DEADLINE = 20_000;

/** What a peer has charted: id, address, all addresses and ports, by id. */
function chartOf(peer: Peer): Array<[string, string, string[] | undefined, number[]]> {
  return [...peer.charted.values()]
    .map((line: PeerLine): [string, string, string[] | undefined, number[]] => [
      line.id!,
      line.address!,
      line.addresses,
      line.ports!,
    ])
    .sort(([a], [b]) => Number(a) - Number(b));
}

function peerOptions(id: number, discoveryPort: number, more: Partial<PeerOptions> = {}) {
  return { id: `${id}`, ports: [9000 + id], discoveryPort, localDiscovery: false, ...more };
}

for (const transport of ["deno", "node"] as const) {
  Deno.test(`an IPv6-only link charts every peer at its IPv6 address (${transport})`, async () => {
    const signal = AbortSignal.timeout(DEADLINE);
    await using lab = await LabNet.create(3, [{ ipv4: false, ipv6: "ula" }, {
      ipv4: false,
      ipv6: "ula",
    }, { ipv4: false, ipv6: "ula" }]);
    const port = freshPort();
    const peers = lab.hosts.map((host, i) =>
      new Peer(peerOptions(i + 1, port, { transport, family: "ipv6" }), host)
    );
    try {
      for (const [i, peer] of peers.entries()) {
        const others = [1, 2, 3].filter((id) => id !== i + 1);
        await peer.charts(others.map(String), signal);
        assert.deepEqual(
          chartOf(peer),
          others.map((id) => [`${id}`, lab.hosts[id - 1].ula, undefined, [9000 + id]]),
        );
      }
    } finally {
      for (const peer of peers) await peer[Symbol.asyncDispose]();
    }
  });

  Deno.test(`a dual-stack link charts each peer once, at its IPv4 address with both listed (${transport})`, async () => {
    const signal = AbortSignal.timeout(DEADLINE);
    await using lab = await LabNet.create(2, [{ ipv6: "ula" }, { ipv6: "ula" }]);
    const port = freshPort();
    const peers = lab.hosts.map((host, i) =>
      new Peer(peerOptions(i + 1, port, { transport }), host)
    );
    try {
      for (const [i, peer] of peers.entries()) {
        const other = lab.hosts[1 - i];
        await peer.until(() => peer.charted.get(`${2 - i}`)?.addresses !== undefined, signal);
        assert.deepEqual(chartOf(peer), [[`${2 - i}`, other.ipv4, [other.ipv4, other.ula], [
          9002 - i,
        ]]]);
      }
      // One entry per id: added once, never removed.
      for (const peer of peers) {
        assert.equal(peer.lines.filter((line) => line.type === "added").length, 1);
        assert.equal(peer.lines.filter((line) => line.type === "removed").length, 0);
      }
    } finally {
      for (const peer of peers) await peer[Symbol.asyncDispose]();
    }
  });
}

Deno.test("a v4-only and a v6-only host do not see each other, and a dual-stack host sees both", async () => {
  const signal = AbortSignal.timeout(DEADLINE);
  await using lab = await LabNet.create(3, [
    { ipv4: true, ipv6: "none" },
    { ipv4: false, ipv6: "ula" },
    { ipv4: true, ipv6: "ula" },
  ]);
  const [v4, v6, dual] = lab.hosts;
  const port = freshPort();
  const peers = lab.hosts.map((host, i) =>
    new Peer(peerOptions(i + 1, port, { stats: 300 }), host)
  );
  try {
    await peers[2].charts(["1", "2"], signal);
    await peers[0].charts(["3"], signal);
    await peers[1].charts(["3"], signal);
    // Some rounds more, at 100 ms to 1 s apart: what could reach them has.
    for (const peer of peers) {
      const seen = peer.lines.filter((line) => line.type === "stats").length;
      await peer.until(
        () => peer.lines.filter((line) => line.type === "stats").length >= seen + 5,
        signal,
      );
    }
    assert.deepEqual(chartOf(peers[0]), [["3", dual.ipv4, undefined, [9003]]]);
    assert.deepEqual(chartOf(peers[1]), [["3", dual.ula, undefined, [9003]]]);
    assert.deepEqual(chartOf(peers[2]), [
      ["1", v4.ipv4, undefined, [9001]],
      ["2", v6.ula, undefined, [9002]],
    ]);
  } finally {
    for (const peer of peers) await peer[Symbol.asyncDispose]();
  }
});

/** Runs a command on a lab host and returns what it printed. */
async function runOn(
  host: string,
  ...args: [...string[], string | { stdin: string }]
): Promise<string> {
  const last = args.at(-1);
  const input = typeof last === "object" ? last.stdin : undefined;
  const command = (input === undefined ? args : args.slice(0, -1)) as string[];
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", host, ...command],
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(input));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const text = new TextDecoder().decode(stdout);
  assert.equal(code, 0, `${command.join(" ")} failed: ${new TextDecoder().decode(stderr)}`);
  return text.trim();
}

for (const transport of ["deno", "node"] as const) {
  Deno.test(`with link-local addresses only, a charted address with its zone reaches the peer's service (${transport})`, async () => {
    const signal = AbortSignal.timeout(DEADLINE);
    await using lab = await LabNet.create(2, [{ ipv4: false, ipv6: "link-local" }, {
      ipv4: false,
      ipv6: "link-local",
    }]);
    const [server, client] = lab.hosts;
    // The service of instance 1: a TCP server on its service port that greets each connection.
    const service = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        server.name,
        "deno",
        "eval",
        `const l = Deno.listen({ hostname: "::", port: 9001 }); console.log("listening");
         for await (const c of l) { await c.write(new TextEncoder().encode("service 1")); c.close(); }`,
      ],
      stdout: "piped",
    }).spawn();
    const port = freshPort();
    const peers = [
      new Peer(peerOptions(1, port, { transport }), server),
      new Peer(peerOptions(2, port, { transport }), client),
    ];
    try {
      await peers[1].charts(["1"], signal);
      const [[id, address, addresses, ports]] = chartOf(peers[1]);
      assert.deepEqual([id, address, addresses, ports], ["1", server.linkLocal, undefined, [9001]]);
      assert.match(address, /^fe80::[0-9a-f:]+%eth0$/);
      const reader = service.stdout.pipeThrough(new TextDecoderStream()).getReader();
      assert.equal((await reader.read()).value?.trim(), "listening");
      reader.releaseLock();
      const viaDeno = await runOn(
        client.name,
        "deno",
        "eval",
        `const c = await Deno.connect({ hostname: ${JSON.stringify(address)}, port: ${ports[0]} });
         const b = new Uint8Array(64); const n = await c.read(b); c.close();
         console.log(new TextDecoder().decode(b.subarray(0, n)));`,
      );
      assert.equal(viaDeno, "service 1");
      const viaNode = await runOn(
        client.name,
        "node",
        "-e",
        `const s = require("node:net").connect({ host: ${JSON.stringify(address)}, port: ${
          ports[0]
        } });
         s.on("data", (d) => { console.log(d.toString()); s.end(); });`,
      );
      assert.equal(viaNode, "service 1");
    } finally {
      for (const peer of peers) await peer[Symbol.asyncDispose]();
      service.kill();
      await service.status;
      await service.stdout.cancel().catch(() => {});
    }
  });
}

for (const transport of ["deno", "node"] as const) {
  Deno.test(`over IPv6 alone, instances on one host find each other on its interface (${transport})`, async () => {
    const signal = AbortSignal.timeout(DEADLINE);
    await using lab = await LabNet.create(1, [{ ipv4: false, ipv6: "ula" }]);
    const [host] = lab.hosts;
    const port = freshPort();
    // Loopback carries no IPv6 multicast: the interface's multicast loops back instead.
    const peers = [1, 2].map((id) =>
      new Peer(peerOptions(id, port, { transport, family: "ipv6", localDiscovery: true }), host)
    );
    try {
      await peers[0].charts(["2"], signal);
      await peers[1].charts(["1"], signal);
      assert.deepEqual(chartOf(peers[0]), [["2", host.ula, undefined, [9002]]]);
      assert.deepEqual(chartOf(peers[1]), [["1", host.ula, undefined, [9001]]]);
    } finally {
      for (const peer of peers) await peer[Symbol.asyncDispose]();
    }
  });
}

Deno.test("withFamily ipv4 on dual-stack hosts charts IPv4 addresses only", async () => {
  const signal = AbortSignal.timeout(DEADLINE);
  await using lab = await LabNet.create(2, [{ ipv6: "ula" }, { ipv6: "ula" }]);
  const port = freshPort();
  const peers = lab.hosts.map((host, i) =>
    new Peer(peerOptions(i + 1, port, { family: "ipv4", stats: 300 }), host)
  );
  try {
    await peers[0].charts(["2"], signal);
    await peers[1].charts(["1"], signal);
    // Some rounds more: an IPv6 announcement, were there one, would have come.
    const seen = peers[0].lines.filter((line) => line.type === "stats").length;
    await peers[0].until(
      () => peers[0].lines.filter((line) => line.type === "stats").length >= seen + 5,
      signal,
    );
    assert.deepEqual(chartOf(peers[0]), [["2", lab.hosts[1].ipv4, undefined, [9002]]]);
    assert.deepEqual(chartOf(peers[1]), [["1", lab.hosts[0].ipv4, undefined, [9001]]]);
  } finally {
    for (const peer of peers) await peer[Symbol.asyncDispose]();
  }
});

Deno.test("over IPv6 a link-local newcomer is answered, and one from an unconnected prefix is not", async () => {
  const signal = AbortSignal.timeout(DEADLINE);
  await using lab = await LabNet.create(2, [{ ipv4: false, ipv6: "ula" }, {
    ipv4: false,
    ipv6: "ula",
  }]);
  const [chartHost, senderHost] = lab.hosts;
  // A second prefix on the sender, which the chart's host is not on.
  const offPrefix = "fd00:99::2";
  await runOn(senderHost.name, "ip", "addr", "add", `${offPrefix}/64`, "dev", "eth0", "nodad");
  const port = freshPort();
  await using chart = new Peer(peerOptions(1, port, { family: "ipv6" }), chartHost);
  await chart.until((line) => line.type === "ready", signal);
  const wire = new URL("../src/core/wire.ts", import.meta.url).href;
  // Ten newcomers from the unconnected prefix, then one from the link-local
  // address: the first answer that comes back is waited for, and counted.
  const heard = await runOn(
    senderHost.name,
    "deno",
    "run",
    "-A",
    "--unstable-net",
    "-",
    JSON.stringify({ wire, port, offPrefix, linkLocal: senderHost.linkLocal }),
    {
      stdin: `
      const { wire, port, offPrefix, linkLocal } = JSON.parse(Deno.args[0]);
      const { DEFAULT_HEADER, encodeAnnouncement, decodeAnnouncement } = await import(wire);
      const newcomer = (id) => encodeAnnouncement({
        header: DEFAULT_HEADER, id: BigInt(id), ports: [9100], reply: false,
        ttl: 3300, incarnation: 1n << 40n, seq: 1, listening: 0,
      });
      const answers = { off: 0, link: 0 };
      const open = (hostname, key) => {
        const conn = Deno.listenDatagram({ transport: "udp", hostname, port: 0 });
        const done = (async () => {
          for (;;) {
            const [data] = await conn.receive();
            const result = decodeAnnouncement(data, DEFAULT_HEADER, { kind: "ports", count: 1 });
            if (result.ok && result.announcement.reply) answers[key]++;
            if (key === "link") return;
          }
        })();
        return { conn, done };
      };
      const off = open(offPrefix, "off");
      const link = open(linkLocal, "link");
      for (let i = 0; i < 10; i++) {
        await off.conn.send(newcomer(100 + i), { transport: "udp", hostname: "ff02::fb", port });
      }
      await link.conn.send(newcomer(200), { transport: "udp", hostname: "ff02::fb", port });
      await link.done;
      console.log(JSON.stringify(answers));
      Deno.exit(0);`,
    },
  );
  assert.deepEqual(JSON.parse(heard), { off: 0, link: 1 });
  const counters = await chart.close(signal);
  assert.equal(counters.replies, 1);
  assert.ok(counters.repliesSuppressed >= 10, `${counters.repliesSuppressed} suppressed`);
  assert.equal(counters.sendErrors, 0);
});

for (const transport of ["deno", "node"] as const) {
  Deno.test(`a host with IPv6 on two links announces on each, from its address there (${transport})`, async () => {
    const signal = AbortSignal.timeout(DEADLINE);
    const v6 = { ipv4: false, ipv6: "ula" } as const;
    await using left = await LabNet.create(2, [v6, v6]);
    await using right = await LabNet.create(1, [v6]);
    const [both, leftOnly] = left.hosts;
    const second = await left.addInterface(both, right);
    const port = freshPort();
    const chart = new Peer(peerOptions(1, port, { transport }), both);
    // Sniffers send nothing, so only the announcements themselves can chart it.
    const sniffers = [leftOnly, right.hosts[0]].map((host, i) =>
      new Peer(peerOptions(2 + i, port, { transport, mode: "sniff" }), host)
    );
    try {
      for (const sniffer of sniffers) await sniffer.charts(["1"], signal);
      assert.deepEqual(chartOf(sniffers[0]), [["1", both.ula, undefined, [9001]]]);
      assert.deepEqual(chartOf(sniffers[1]), [["1", second.ula, undefined, [9001]]]);
    } finally {
      for (const peer of [chart, ...sniffers]) await peer[Symbol.asyncDispose]();
    }
  });
}

Deno.test("an IPv6-only chart drops and counts an IPv4 unicast to its discovery port", async () => {
  const { ChartBuilder, maintain } = await import("../mod.ts");
  const { encodeAnnouncement } = await import("../src/core/wire.ts");
  const dgram = (await import("node:dgram")).default;
  const discoveryPort = freshPort();
  const errors: Error[] = [];
  await using chart = await new ChartBuilder().withId(1).withServicePort(9001)
    .withDiscoveryPort(discoveryPort).localDiscovery(true).withFamily("ipv6")
    .withErrorHandler((error) => errors.push(error)).finish();
  maintain(chart);
  const socket = dgram.createSocket("udp4");
  try {
    const datagram = encodeAnnouncement({
      header: chart.header,
      id: 2n,
      ports: [9002],
      reply: false,
    });
    await new Promise<void>((resolve, reject) =>
      socket.send(
        datagram,
        discoveryPort,
        "127.0.0.1",
        (error) => error ? reject(error) : resolve(),
      )
    );
    await until(() => chart.counters.received > 0, AbortSignal.timeout(10_000));
  } finally {
    socket.close();
  }
  assert.equal(chart.counters.received, 1);
  assert.equal(chart.counters.dropped.family, 1);
  assert.equal(chart.size, 1);
});
