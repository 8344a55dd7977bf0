/**
 * The codec's speed: `deno bench tests/codec_bench.ts`. Each bench handles a
 * batch of distinct datagrams, so that one iteration is long enough to time;
 * its name ends with `(per N)`, and tests/bench.ts divides by N to report
 * datagrams per second on one core. No sockets: this file runs anywhere.
 *
 * @module
 */

import { DEFAULT_HEADER } from "../mod.ts";
import { Keyring } from "../src/core/keyring.ts";
import {
  type Announcement,
  decodeAnnouncement,
  encodeAnnouncement,
  findSignature,
} from "../src/core/wire.ts";

const BATCH = 1000;
const PORTS = { kind: "ports", count: 1 } as const;
const MSG = { kind: "msg" } as const;

function batch(make: (i: number) => Announcement): Announcement[] {
  return Array.from({ length: BATCH }, (_, i) => make(i));
}

const portAnnouncements = batch((i) => ({
  header: DEFAULT_HEADER,
  id: BigInt(1_000_000 + i),
  ports: [9000 + i],
  reply: false,
}));
const portReplies = portAnnouncements.map((announcement) => ({ ...announcement, reply: true }));
// What a chart of this module sends: the extension's ttl, incarnation, sequence number and age.
const fullAnnouncements = batch((i) => ({
  header: DEFAULT_HEADER,
  id: BigInt(1_000_000 + i),
  ports: [9000 + i],
  reply: false,
  ttl: 3_000,
  incarnation: 1_795_000_000_000n + BigInt(i),
  seq: i,
  listening: 10 * i,
}));
const msgAnnouncements = batch((i) => ({
  header: DEFAULT_HEADER,
  id: BigInt(1_000_000 + i),
  msg: { role: "worker", shard: i, zone: "eu-1" },
  reply: false,
}));
const portDatagrams = portAnnouncements.map(encodeAnnouncement);
const replyDatagrams = portReplies.map(encodeAnnouncement);
const msgDatagrams = msgAnnouncements.map(encodeAnnouncement);

// Every result feeds this module-level value, so that no work can be optimised away.
let sink = 0;

Deno.bench({
  name: `encode: port announcement, 18 bytes (per ${BATCH})`,
  group: "encode",
  fn() {
    for (const announcement of portAnnouncements) sink ^= encodeAnnouncement(announcement).length;
  },
});

Deno.bench({
  name: `encode: port announcement as this module sends it, ${
    encodeAnnouncement(fullAnnouncements[0]).length
  } bytes (per ${BATCH})`,
  group: "encode",
  fn() {
    for (const announcement of fullAnnouncements) sink ^= encodeAnnouncement(announcement).length;
  },
});

Deno.bench({
  name: `encode: custom msg announcement (per ${BATCH})`,
  group: "encode",
  fn() {
    for (const announcement of msgAnnouncements) sink ^= encodeAnnouncement(announcement).length;
  },
});

Deno.bench({
  name: `decode: port announcement, 18 bytes (per ${BATCH})`,
  group: "decode",
  baseline: true,
  fn() {
    for (const datagram of portDatagrams) {
      sink ^= decodeAnnouncement(datagram, DEFAULT_HEADER, PORTS).ok ? 1 : 0;
    }
  },
});

Deno.bench({
  name: `decode: port reply, with extension (per ${BATCH})`,
  group: "decode",
  fn() {
    for (const datagram of replyDatagrams) {
      sink ^= decodeAnnouncement(datagram, DEFAULT_HEADER, PORTS).ok ? 1 : 0;
    }
  },
});

Deno.bench({
  name: `decode: custom msg announcement (per ${BATCH})`,
  group: "decode",
  fn() {
    for (const datagram of msgDatagrams) {
      sink ^= decodeAnnouncement(datagram, DEFAULT_HEADER, MSG).ok ? 1 : 0;
    }
  },
});

Deno.bench({
  name: `decode: other header, dropped (per ${BATCH})`,
  group: "decode",
  fn() {
    for (const datagram of portDatagrams) {
      sink ^= decodeAnnouncement(datagram, DEFAULT_HEADER + 1n, PORTS).ok ? 1 : 0;
    }
  },
});

// Verify: what a chart with a key does to every datagram before it decodes it.
const keyring = new Keyring(["a shared key of the codec bench"]);
const signedDatagrams = fullAnnouncements.map((announcement) => {
  const datagram = encodeAnnouncement({ ...announcement, signerId: keyring.signerId });
  keyring.sign(datagram);
  return datagram;
});

Deno.bench({
  name: `verify: signed announcement, ${signedDatagrams[0].length} bytes (per ${BATCH})`,
  group: "verify",
  fn() {
    for (const datagram of signedDatagrams) {
      sink ^= keyring.verify(datagram, findSignature(datagram)) === undefined ? 1 : 0;
    }
  },
});

Deno.bench({
  name: `sign: announcement with a key (per ${BATCH})`,
  group: "encode",
  fn() {
    for (const datagram of signedDatagrams) {
      keyring.sign(datagram);
      sink ^= datagram[datagram.length - 1];
    }
  },
});
