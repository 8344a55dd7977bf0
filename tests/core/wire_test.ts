import assert from "node:assert/strict";
import {
  type Announcement,
  asksThatFit,
  decodeAnnouncement,
  type DecodeResult,
  DEFAULT_HEADER,
  DROP_REASONS,
  type DropReason,
  encodeAnnouncement,
  encodeMsg,
  type Layout,
  MAX_ASKS,
  MAX_DATAGRAM_SIZE,
  MAX_PAYLOAD_SIZE,
} from "../../src/core/wire.ts";
import { seededRandom } from "../_random.ts";

const ONE_PORT: Layout = { kind: "ports", count: 1 };
const THREE_PORTS: Layout = { kind: "ports", count: 3 };
const MSG: Layout = { kind: "msg" };
const ANY: Layout = { kind: "any" };
const MAX_U64 = (1n << 64n) - 1n;

// The Rust crate's announcement of id 7 with port 9042 under the default header.
const RUST_ANNOUNCEMENT = "fbecb6deba94cd5c07000000000000005223";
const RUST_PREFIX = "fbecb6deba94cd5c0700000000000000";

function bytes(...parts: Array<string | number[] | Uint8Array>): Uint8Array {
  const arrays = parts.map((part) =>
    typeof part === "string" ? Uint8Array.fromHex(part) : Uint8Array.from(part)
  );
  const out = new Uint8Array(arrays.reduce((size, array) => size + array.length, 0));
  let offset = 0;
  for (const array of arrays) {
    out.set(array, offset);
    offset += array.length;
  }
  return out;
}

/** An extension field: type, length (u16 LE), value. */
function field(type: number, value: Uint8Array | number[]): Uint8Array {
  return bytes([type, value.length & 0xff, value.length >> 8], value);
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function decode(datagram: Uint8Array, layout: Layout): DecodeResult {
  return decodeAnnouncement(datagram, DEFAULT_HEADER, layout);
}

function dropReason(datagram: Uint8Array, layout: Layout): string {
  const result = decode(datagram, layout);
  assert.equal(result.ok, false, `expected a drop, got ${JSON.stringify(result, replacer)}`);
  return (result as { reason: string }).reason;
}

function decoded(datagram: Uint8Array, layout: Layout): Announcement {
  const result = decode(datagram, layout);
  if (!result.ok) assert.fail(`expected an announcement, got a drop as ${result.reason}`);
  return result.announcement;
}

function replacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? `${value}n` : value;
}

function announce(ports: number[], options: { id?: bigint; reply?: boolean } = {}): Uint8Array {
  return encodeAnnouncement({
    header: DEFAULT_HEADER,
    id: options.id ?? 7n,
    ports,
    reply: options.reply ?? false,
  });
}

function announceMsg(msg: unknown, reply = false): Uint8Array {
  return encodeAnnouncement({ header: DEFAULT_HEADER, id: 7n, msg, reply });
}

// --- The Rust crate's layout ---

Deno.test("encode gives exactly the Rust crate's bytes for id 7 with port 9042", () => {
  assert.equal(announce([9042]).toHex(), RUST_ANNOUNCEMENT);
});

Deno.test("decode charts the Rust crate's announcement of id 7 with port 9042", () => {
  assert.deepEqual(decode(Uint8Array.fromHex(RUST_ANNOUNCEMENT), ONE_PORT), {
    ok: true,
    announcement: { header: DEFAULT_HEADER, id: 7n, ports: [9042], reply: false },
  });
});

Deno.test("an announcement of several ports is 16 + 2N bytes, each port little-endian", () => {
  const datagram = announce([1, 258, 9042]);
  assert.equal(datagram.length, 16 + 2 * 3);
  assert.equal(datagram.toHex(), RUST_PREFIX + "0100" + "0201" + "5223");
  assert.deepEqual(decoded(datagram, THREE_PORTS).ports, [1, 258, 9042]);
});

Deno.test("the largest u64 id and header go on the wire as eight 0xff bytes each", () => {
  const datagram = encodeAnnouncement({ header: MAX_U64, id: MAX_U64, ports: [1], reply: false });
  assert.equal(datagram.toHex(), "ff".repeat(16) + "0100");
  assert.deepEqual(decodeAnnouncement(datagram, MAX_U64, ONE_PORT), {
    ok: true,
    announcement: { header: MAX_U64, id: MAX_U64, ports: [1], reply: false },
  });
});

Deno.test("id 0 and header 0 go on the wire as zero bytes", () => {
  const datagram = encodeAnnouncement({ header: 0n, id: 0n, ports: [1], reply: false });
  assert.equal(datagram.toHex(), "00".repeat(16) + "0100");
  assert.equal(decodeAnnouncement(datagram, 0n, ONE_PORT).ok, true);
});

Deno.test("ports 0 and 65535 go on the wire and come back", () => {
  const datagram = announce([0, 65535]);
  assert.equal(datagram.toHex(), RUST_PREFIX + "0000ffff");
  assert.deepEqual(decoded(datagram, { kind: "ports", count: 2 }).ports, [0, 65535]);
});

Deno.test("decode reads a datagram that is a view into a larger buffer", () => {
  const buffer = new Uint8Array(64).fill(0xaa);
  buffer.set(Uint8Array.fromHex(RUST_ANNOUNCEMENT), 10);
  const view = buffer.subarray(10, 10 + 18);
  assert.deepEqual(decoded(view, ONE_PORT), {
    header: DEFAULT_HEADER,
    id: 7n,
    ports: [9042],
    reply: false,
  });
});

// --- The extension ---

Deno.test("a reply carries the extension 'ic', version 1, flags 1 after the ports", () => {
  const datagram = announce([9042], { reply: true });
  assert.equal(datagram.toHex(), RUST_ANNOUNCEMENT + "69630101");
  assert.deepEqual(decoded(datagram, ONE_PORT), {
    header: DEFAULT_HEADER,
    id: 7n,
    ports: [9042],
    reply: true,
  });
});

Deno.test("the Rust-compatible prefix of a reply is the bare announcement", () => {
  for (const ports of [[9042], [1, 2, 3], [0, 65535, 80, 443]]) {
    const bare = announce(ports);
    const reply = announce(ports, { reply: true });
    assert.deepEqual(reply.subarray(0, bare.length), bare);
    // A Rust peer reads only those bytes.
    assert.deepEqual(
      decoded(reply.subarray(0, bare.length), { kind: "ports", count: ports.length }),
      {
        header: DEFAULT_HEADER,
        id: 7n,
        ports,
        reply: false,
      },
    );
  }
});

Deno.test("a custom-msg announcement puts the JSON in field 1 right after the id", () => {
  const datagram = announceMsg("hi");
  // "ic", version 1, flags 0, field type 1, length 4, '"hi"'
  assert.equal(datagram.toHex(), RUST_PREFIX + "69630100" + "010400" + "22686922");
  assert.deepEqual(decoded(datagram, MSG), {
    header: DEFAULT_HEADER,
    id: 7n,
    msg: "hi",
    reply: false,
  });
});

Deno.test("a custom-msg reply sets the reply flag", () => {
  const datagram = announceMsg({ a: 1 }, true);
  assert.equal(datagram.subarray(16, 20).toHex(), "69630101");
  assert.deepEqual(decoded(datagram, MSG).msg, { a: 1 });
  assert.equal(decoded(datagram, MSG).reply, true);
});

Deno.test("custom msgs of every JSON kind round-trip", () => {
  const values: unknown[] = [
    { name: "db", shard: 3, tags: ["a", "b"], nested: { deep: [null, true, false] } },
    "a string",
    "",
    0,
    -12.5,
    1e300,
    [1, "two", { three: 3 }],
    [],
    {},
    null,
    true,
    "héllo wörld ✓ 日本語 🦀",
    { "ключ": "значение", "emoji 🦕": "🦀" },
    // Beyond the short ASCII path, on both sides of it.
    "x".repeat(126),
    "x".repeat(400),
    "x".repeat(200) + "é",
  ];
  for (const msg of values) {
    assert.deepEqual(decoded(announceMsg(msg), MSG).msg, msg);
  }
});

Deno.test("a custom msg is counted in UTF-8 bytes on the wire", () => {
  const datagram = announceMsg("🦀");
  // 16 prefix + 4 extension head + 3 field head + '"' + 4 bytes + '"'
  assert.equal(datagram.length, 16 + 4 + 3 + 6);
  assert.equal(datagram.subarray(21, 23).toHex(), "0600");
});

Deno.test("decode skips fields of unknown types after the ports", () => {
  const datagram = bytes(RUST_ANNOUNCEMENT, "69630100", field(9, [1, 2, 3]), field(200, []));
  assert.deepEqual(decoded(datagram, ONE_PORT), {
    header: DEFAULT_HEADER,
    id: 7n,
    ports: [9042],
    reply: false,
  });
});

Deno.test("decode skips fields of unknown types around the msg field", () => {
  const datagram = bytes(
    RUST_PREFIX,
    "69630101",
    field(9, utf8("from a newer version")),
    field(1, utf8('{"a":[1,2]}')),
    field(255, [0xff, 0xfe]),
  );
  assert.deepEqual(decoded(datagram, MSG), {
    header: DEFAULT_HEADER,
    id: 7n,
    msg: { a: [1, 2] },
    reply: true,
  });
});

Deno.test("decode ignores flag bits it does not know", () => {
  const datagram = bytes(RUST_ANNOUNCEMENT, "696301f8");
  assert.deepEqual(decoded(datagram, ONE_PORT), {
    header: DEFAULT_HEADER,
    id: 7n,
    ports: [9042],
    reply: false,
  });
  assert.equal(decoded(bytes(RUST_ANNOUNCEMENT, "696301f9"), ONE_PORT).reply, true);
});

// --- Drop reasons ---

Deno.test("decode drops a datagram shorter than 16 bytes as too-short", () => {
  for (const layout of [ONE_PORT, MSG, ANY]) {
    assert.equal(dropReason(new Uint8Array(0), layout), "too-short");
    assert.equal(dropReason(Uint8Array.fromHex(RUST_PREFIX).subarray(0, 15), layout), "too-short");
  }
});

Deno.test("decode drops an announcement with fewer ports than the chart's as too-short", () => {
  assert.equal(dropReason(Uint8Array.fromHex(RUST_PREFIX), ONE_PORT), "too-short");
  assert.equal(dropReason(announce([1, 2]), THREE_PORTS), "too-short");
  assert.equal(dropReason(announce([1, 2, 3]).subarray(0, 21), THREE_PORTS), "too-short");
});

Deno.test("decode drops a datagram over 1024 bytes as too-long", () => {
  const datagram = new Uint8Array(MAX_DATAGRAM_SIZE + 1);
  datagram.set(Uint8Array.fromHex(RUST_ANNOUNCEMENT));
  for (const layout of [ONE_PORT, MSG, ANY]) {
    assert.equal(dropReason(datagram, layout), "too-long");
  }
});

Deno.test("decode takes a datagram of exactly 1024 bytes", () => {
  const ports = Array.from({ length: (MAX_DATAGRAM_SIZE - 16) / 2 }, (_, i) => i + 1);
  const datagram = announce(ports);
  assert.equal(datagram.length, MAX_DATAGRAM_SIZE);
  assert.deepEqual(decoded(datagram, { kind: "ports", count: ports.length }).ports, ports);
  assert.deepEqual(decoded(datagram, ANY).ports, ports);
});

Deno.test("decode drops an announcement of another header as other-header", () => {
  const datagram = encodeAnnouncement({
    header: DEFAULT_HEADER + 1n,
    id: 7n,
    ports: [9042],
    reply: false,
  });
  for (const layout of [ONE_PORT, MSG, ANY]) {
    assert.equal(dropReason(datagram, layout), "other-header");
  }
  assert.equal(decodeAnnouncement(datagram, DEFAULT_HEADER + 1n, ONE_PORT).ok, true);
});

Deno.test("decode drops a port announcement sent to a custom-msg chart as wrong-layout", () => {
  assert.equal(dropReason(announce([9042]), MSG), "wrong-layout");
  assert.equal(dropReason(announce([9042], { reply: true }), MSG), "wrong-layout");
  assert.equal(dropReason(announce([1, 2, 3]), MSG), "wrong-layout");
  assert.equal(dropReason(Uint8Array.fromHex(RUST_PREFIX), MSG), "wrong-layout");
});

Deno.test("decode drops a port announcement carrying a msg field as wrong-layout", () => {
  const datagram = bytes(RUST_ANNOUNCEMENT, "69630100", field(1, utf8("1")));
  assert.equal(dropReason(datagram, ONE_PORT), "wrong-layout");
});

Deno.test("decode drops a custom-msg announcement sent to a port chart as wrong-layout", () => {
  const datagram = announceMsg({ service: "db", shard: 3 });
  assert.equal(dropReason(datagram, { kind: "ports", count: 0 }), "wrong-layout");
  assert.equal(dropReason(datagram, ONE_PORT), "wrong-layout");
  assert.equal(dropReason(datagram, THREE_PORTS), "wrong-layout");
});

Deno.test("decode drops garbage after the ports as bad-extension", () => {
  assert.equal(dropReason(bytes(RUST_ANNOUNCEMENT, utf8("abcd")), ONE_PORT), "bad-extension");
  assert.equal(dropReason(bytes(RUST_ANNOUNCEMENT, [0]), ONE_PORT), "bad-extension");
  assert.equal(dropReason(announce([1, 2, 3]), { kind: "ports", count: 2 }), "bad-extension");
});

Deno.test("decode drops an extension with bad magic or version as bad-extension", () => {
  for (const head of ["69640100", "68630100", "00000000", "69630000", "69630200"]) {
    assert.equal(dropReason(bytes(RUST_ANNOUNCEMENT, head), ONE_PORT), "bad-extension", head);
  }
});

Deno.test("decode drops a truncated extension head or field as bad-extension", () => {
  for (
    const tail of [
      "69",
      "6963",
      "696301",
      "69630100" + "01",
      "69630100" + "0103",
    ]
  ) {
    assert.equal(dropReason(bytes(RUST_ANNOUNCEMENT, tail), ONE_PORT), "bad-extension", tail);
  }
});

Deno.test("decode drops a field whose length runs past the end as bad-extension", () => {
  const datagram = bytes(RUST_ANNOUNCEMENT, "69630100", "090500", "01020304");
  assert.equal(dropReason(datagram, ONE_PORT), "bad-extension");
  const huge = bytes(RUST_ANNOUNCEMENT, "69630100", "09ffff", "01");
  assert.equal(dropReason(huge, ONE_PORT), "bad-extension");
});

Deno.test("decode drops an extension with two msg fields as bad-extension", () => {
  const datagram = bytes(
    RUST_ANNOUNCEMENT,
    "69630100",
    field(1, utf8("1")),
    field(1, utf8("2")),
  );
  assert.equal(dropReason(datagram, ONE_PORT), "bad-extension");
});

Deno.test("decode drops a custom-msg announcement with a malformed extension as bad-extension", () => {
  const twoMsgs = bytes(RUST_PREFIX, "69630100", field(1, utf8("1")), field(1, utf8("2")));
  assert.equal(dropReason(twoMsgs, MSG), "bad-extension");
  const pastTheEnd = bytes(RUST_PREFIX, "69630100", "010900", utf8("[1]"));
  assert.equal(dropReason(pastTheEnd, MSG), "bad-extension");
});

Deno.test("decode drops a msg field of invalid UTF-8 as bad-msg", () => {
  const long = (length: number) => [0x22, ...new Array(length).fill(0x61), 0xff, 0x22];
  for (
    const value of [[0xff], [0x22, 0xc3, 0x22], [0x22, 0xed, 0xa0, 0x80, 0x22], long(60), long(200)]
  ) {
    const datagram = bytes(RUST_PREFIX, "69630100", field(1, value));
    assert.equal(dropReason(datagram, MSG), "bad-msg");
    assert.equal(dropReason(datagram, ANY), "bad-msg");
  }
});

Deno.test("decode drops a msg field of invalid JSON as bad-msg", () => {
  for (const json of ["{", "", "undefined", "'x'", '{"a":1,}', "1 2", "NaN"]) {
    const datagram = bytes(RUST_PREFIX, "69630100", field(1, utf8(json)));
    assert.equal(dropReason(datagram, MSG), "bad-msg", json);
  }
});

Deno.test("decode drops a custom-msg announcement without a msg field as wrong-layout", () => {
  assert.equal(dropReason(bytes(RUST_PREFIX, "69630100"), MSG), "wrong-layout");
  assert.equal(dropReason(bytes(RUST_PREFIX, "69630101", field(9, [1])), MSG), "wrong-layout");
});

// --- The "any" layout ---

Deno.test("the any layout takes the number of ports from a bare datagram", () => {
  for (const ports of [[], [9042], [1, 2, 3], [80, 443, 8080, 9090, 65535]]) {
    assert.deepEqual(decoded(announce(ports), ANY), {
      header: DEFAULT_HEADER,
      id: 7n,
      ports,
      reply: false,
    });
  }
});

Deno.test("the any layout finds the extension after any number of ports", () => {
  for (let count = 0; count <= 6; count++) {
    const ports = Array.from({ length: count }, (_, i) => 1000 + i);
    assert.deepEqual(decoded(announce(ports, { reply: true }), ANY), {
      header: DEFAULT_HEADER,
      id: 7n,
      ports,
      reply: true,
    });
    const withUnknownField = bytes(announce(ports), "69630100", field(9, [1, 2, 3]));
    assert.deepEqual(decoded(withUnknownField, ANY).ports, ports);
  }
});

Deno.test("the any layout reads custom-msg announcements", () => {
  assert.deepEqual(decoded(announceMsg({ role: "leader", term: 4 }, true), ANY), {
    header: DEFAULT_HEADER,
    id: 7n,
    msg: { role: "leader", term: 4 },
    reply: true,
  });
  assert.equal(decoded(announceMsg(null), ANY).msg, null);
});

Deno.test("the any layout drops an odd-length bare datagram", () => {
  assert.equal(dropReason(bytes(RUST_ANNOUNCEMENT, [0x01]), ANY), "bad-extension");
  assert.equal(dropReason(Uint8Array.fromHex(RUST_PREFIX + "01"), ANY), "bad-extension");
});

Deno.test("the any layout drops a msg field after ports as wrong-layout", () => {
  const datagram = bytes(RUST_ANNOUNCEMENT, "69630100", field(1, utf8("1")));
  assert.equal(dropReason(datagram, ANY), "wrong-layout");
});

// --- Encoding errors ---

Deno.test("encode rejects ids and headers outside u64 with RangeError", () => {
  for (const value of [-1n, 1n << 64n, -(1n << 64n)]) {
    assert.throws(
      () => encodeAnnouncement({ header: DEFAULT_HEADER, id: value, ports: [1], reply: false }),
      RangeError,
    );
    assert.throws(
      () => encodeAnnouncement({ header: value, id: 7n, ports: [1], reply: false }),
      RangeError,
    );
  }
});

Deno.test("encode rejects ports outside 0..65535 or not integers with RangeError", () => {
  for (const port of [-1, 65536, 1.5, NaN, Infinity]) {
    assert.throws(() => announce([80, port]), RangeError, String(port));
  }
});

Deno.test("encode rejects a datagram over 1024 bytes with RangeError", () => {
  const fitting = Array.from({ length: (MAX_DATAGRAM_SIZE - 16) / 2 }, () => 1);
  assert.equal(announce(fitting).length, MAX_DATAGRAM_SIZE);
  assert.throws(() => announce([...fitting, 1]), RangeError);
  // The extension head of a reply pushes it over.
  assert.throws(() => announce(fitting, { reply: true }), RangeError);
  // A msg of n characters x is 16 + 4 + 3 + (n + 2) bytes.
  assert.throws(() => announceMsg("x".repeat(1000)), RangeError);
  assert.equal(announceMsg("x".repeat(999)).length, MAX_DATAGRAM_SIZE);
});

Deno.test("encodeMsg rejects values without a JSON form with TypeError", () => {
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  const values: unknown[] = [10n, { big: 1n }, undefined, () => 1, Symbol("s"), circular];
  for (const value of values) {
    assert.throws(() => encodeMsg(value), TypeError);
    assert.throws(() => announceMsg(value), TypeError);
  }
});

Deno.test("encodeMsg gives the UTF-8 bytes of the JSON", () => {
  assert.equal(new TextDecoder().decode(encodeMsg({ a: [1, "é"] })), '{"a":[1,"é"]}');
});

Deno.test("the list of drop reasons is frozen, so no caller can change what every chart counts", () => {
  assert.ok(Object.isFrozen(DROP_REASONS));
  assert.throws(() => (DROP_REASONS as DropReason[]).push("too-short"), TypeError);
});

// --- Fuzzing ---

/**
 * `deno task fuzz` runs the full campaign: 1,000,000 datagrams instead of
 * 200,000. Without leave to read the environment (a plain `deno test`), the
 * short one.
 */
const FUZZ_DATAGRAMS =
  Deno.permissions.querySync({ name: "env", variable: "INSTANCE_CHART_FUZZ" }).state ===
      "granted" && Deno.env.get("INSTANCE_CHART_FUZZ") === "full"
    ? 1_000_000
    : 200_000;

Deno.test(`decode never throws and gives a known drop reason on ${FUZZ_DATAGRAMS} random datagrams`, () => {
  const random = seededRandom(0x1c_2024);
  const int = (n: number) => Math.floor(random() * n);
  const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  const msgs: unknown[] = [1, "x", [1, 2], { a: "é" }, null, { nested: { list: [true, 1e21] } }];

  function valid(): Uint8Array {
    const reply = random() < 0.5;
    if (random() < 0.5) {
      const ports = Array.from({ length: int(5) }, () => int(65536));
      const datagram = announce(ports, { id: BigInt(int(1000)), reply });
      if (random() < 0.3) return bytes(datagram, reply ? [] : "69630100", field(int(256), [1]));
      return datagram;
    }
    const msg = random() < 0.7 ? msgs[int(msgs.length)] : "s".repeat(int(900));
    return announceMsg(msg, reply);
  }

  function mutate(datagram: Uint8Array): Uint8Array {
    const out = Uint8Array.from(datagram);
    switch (int(7)) {
      case 0: // bit flips
        for (let i = int(4); i >= 0 && out.length > 0; i--) out[int(out.length)] ^= 1 << int(8);
        return out;
      case 1: // truncation
        return out.subarray(0, int(out.length + 1));
      case 2: // extension with random bytes
        return bytes(out, "696301", randomBytes(1 + int(12)));
      case 3: // a valid prefix with garbage after
        return bytes(out, randomBytes(1 + int(40)));
      case 4: // a field length that lies
        if (out.length > 22) out[21 + int(2)] = int(256);
        return out;
      case 5: // a wrong length overall
        return bytes(out, new Uint8Array(int(2) === 0 ? 1 : MAX_DATAGRAM_SIZE));
      default: // a random byte somewhere
        if (out.length > 0) out[int(out.length)] = int(256);
        return out;
    }
  }

  function datagram(): Uint8Array {
    switch (int(4)) {
      case 0:
        return randomBytes(int(1100));
      case 1: // random after our header, so that it is not dropped at once
        return bytes(RUST_PREFIX.slice(0, 16), randomBytes(8 + int(60)));
      case 2:
        return valid();
      default: {
        let out = valid();
        for (let i = 1 + int(3); i > 0; i--) out = mutate(out);
        return out;
      }
    }
  }

  const layouts: Layout[] = [ONE_PORT, THREE_PORTS, { kind: "ports", count: 0 }, MSG, ANY];
  const seen = new Map<string, number>();
  for (let i = 0; i < FUZZ_DATAGRAMS; i++) {
    const input = datagram();
    for (const layout of layouts) {
      const result = decode(input, layout);
      const key = result.ok ? "ok" : result.reason;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      if (!result.ok) {
        assert.ok(DROP_REASONS.includes(result.reason), `unknown reason ${result.reason}`);
        continue;
      }
      // An ok result of mutated data is legitimate; it must be a real announcement.
      assertReencodes(result.announcement, layout);
    }
  }
  // The generator reached every outcome, so the checks above were exercised.
  for (const key of ["ok", ...DROP_REASONS]) assert.ok(seen.get(key), `never saw ${key}`);
});

/**
 * An announcement decoded with a layout encodes to a datagram that decodes,
 * with the layout of its own data, to the same announcement (the message
 * compared as JSON, which is what travels).
 */
function assertReencodes(announcement: Announcement, layout: Layout): void {
  assert.equal(announcement.header, DEFAULT_HEADER);
  assert.equal(typeof announcement.reply, "boolean");
  if (layout.kind === "ports") assert.equal(announcement.ports?.length, layout.count);
  if (layout.kind === "msg") assert.equal(announcement.ports, undefined);
  let datagram: Uint8Array;
  try {
    datagram = encodeAnnouncement(announcement);
  } catch (error) {
    // JSON that the sender wrote shorter than JSON.stringify (such as 1E5)
    // may no longer fit once re-serialised.
    assert.ok(error instanceof RangeError);
    assert.ok(announcement.ports === undefined);
    assert.ok(16 + 4 + 3 + encodeMsg(announcement.msg).length > MAX_DATAGRAM_SIZE);
    return;
  }
  const own: Layout = announcement.ports === undefined
    ? MSG
    : { kind: "ports", count: announcement.ports.length };
  const again = decoded(datagram, own);
  assert.equal(again.id, announcement.id);
  assert.equal(again.reply, announcement.reply);
  assert.deepEqual(again.ports, announcement.ports);
  assert.equal(JSON.stringify(again.msg), JSON.stringify(announcement.msg));
}

// --- Liveness fields and goodbye ---

Deno.test("the time-to-live, incarnation and sequence number round-trip after the Rust prefix", () => {
  const announcement: Announcement = {
    header: DEFAULT_HEADER,
    id: 7n,
    ports: [9042],
    reply: false,
    ttl: 3300,
    incarnation: MAX_U64,
    seq: 0xffff_ffff,
  };
  const datagram = encodeAnnouncement(announcement);
  assert.equal(datagram.subarray(0, 18).toHex(), RUST_ANNOUNCEMENT);
  assert.equal(
    datagram.subarray(18).toHex(),
    "69630100" + "020400e40c0000" + "030800ffffffffffffffff" + "040400ffffffff",
  );
  assert.deepEqual(decoded(datagram, ONE_PORT), announcement);
});

Deno.test("a probe is an announcement with the probe flag", () => {
  const datagram = encodeAnnouncement({
    header: DEFAULT_HEADER,
    id: 7n,
    ports: [9042],
    reply: false,
    probe: true,
  });
  assert.equal(datagram.toHex(), RUST_ANNOUNCEMENT + "69630102");
  assert.deepEqual(decoded(datagram, ONE_PORT), {
    header: DEFAULT_HEADER,
    id: 7n,
    ports: [9042],
    reply: false,
    probe: true,
  });
});

Deno.test("a goodbye carries the complement of the header, so Rust peers drop it", () => {
  const datagram = encodeAnnouncement({
    header: DEFAULT_HEADER,
    id: 7n,
    ports: [9042],
    reply: false,
    goodbye: true,
    incarnation: 5n,
    seq: 9,
  });
  // No ports: a goodbye is the complemented header, the id and the extension.
  assert.equal(
    datagram.toHex(),
    "04134921456b32a3" + "0700000000000000" + "69630104" + "0308000500000000000000" +
      "04040009000000",
  );
  // The Rust receiver compares the first 8 bytes with its header.
  assert.notEqual(datagram.subarray(0, 8).toHex(), RUST_PREFIX.slice(0, 16));
  for (const layout of [ONE_PORT, THREE_PORTS, MSG, ANY]) {
    assert.deepEqual(decoded(datagram, layout), {
      header: DEFAULT_HEADER,
      id: 7n,
      reply: false,
      goodbye: true,
      incarnation: 5n,
      seq: 9,
    });
  }
});

Deno.test("a goodbye flag under the application's own header is a bad extension", () => {
  assert.equal(dropReason(bytes(RUST_ANNOUNCEMENT, "69630104"), ONE_PORT), "bad-extension");
});

Deno.test("the complemented header without a goodbye flag is another application's", () => {
  const notGoodbye = bytes("04134921456b32a3", "0700000000000000", "69630100");
  assert.equal(dropReason(notGoodbye, ONE_PORT), "other-header");
  assert.equal(dropReason(bytes("04134921456b32a3", "0700000000000000"), ONE_PORT), "other-header");
});

Deno.test("liveness fields of the wrong length are bad extensions", () => {
  for (const wrong of [field(2, [1, 2, 3]), field(3, [1, 2, 3, 4]), field(4, [1, 2, 3, 4, 5])]) {
    assert.equal(
      dropReason(bytes(RUST_ANNOUNCEMENT, "69630100", wrong), ONE_PORT),
      "bad-extension",
    );
  }
  const twice = bytes(
    RUST_ANNOUNCEMENT,
    "69630100",
    field(4, [1, 0, 0, 0]),
    field(4, [2, 0, 0, 0]),
  );
  assert.equal(dropReason(twice, ONE_PORT), "bad-extension");
});

Deno.test("encode rejects a ttl or seq beyond u32 and an incarnation beyond u64", () => {
  const base: Announcement = { header: DEFAULT_HEADER, id: 1n, ports: [1], reply: false };
  assert.throws(() => encodeAnnouncement({ ...base, ttl: 2 ** 32 }), RangeError);
  assert.throws(() => encodeAnnouncement({ ...base, seq: -1 }), RangeError);
  assert.throws(() => encodeAnnouncement({ ...base, incarnation: 1n << 64n }), RangeError);
});

Deno.test("how long the sender has listened round-trips in field 6", () => {
  const datagram = encodeAnnouncement({
    header: DEFAULT_HEADER,
    id: 7n,
    ports: [9042],
    reply: false,
    listening: 70_000,
  });
  assert.equal(datagram.toHex(), RUST_ANNOUNCEMENT + "69630100" + "060400701101" + "00");
  assert.equal(decoded(datagram, ONE_PORT).listening, 70_000);
});

Deno.test("the ids an announcement asks to answer round-trip in field 7, after the others", () => {
  const datagram = encodeAnnouncement({
    header: DEFAULT_HEADER,
    id: 7n,
    ports: [9042],
    reply: false,
    listening: 70_000,
    asks: [2n, MAX_U64],
  });
  assert.equal(
    datagram.toHex(),
    RUST_ANNOUNCEMENT + "69630100" + "060400701101" + "00" + "071000" + "0200000000000000" +
      "ffffffffffffffff",
  );
  assert.deepEqual(decoded(datagram, ONE_PORT).asks, [2n, MAX_U64]);
  // An empty list is no field at all.
  const none = encodeAnnouncement({ header: DEFAULT_HEADER, id: 7n, ports: [9042], reply: false });
  assert.deepEqual(encodeAnnouncement({ ...decoded(none, ONE_PORT), asks: [] }), none);
});

Deno.test("field 7 of no id, a partial id or twice is a bad extension", () => {
  const id = [1, 0, 0, 0, 0, 0, 0, 0];
  const cases: Array<[what: string, fields: Uint8Array[]]> = [
    ["no id", [field(7, [])]],
    ["a partial id", [field(7, id.slice(0, 5))]],
    ["9 bytes", [field(7, [...id, 1])]],
    ["twice", [field(7, id), field(7, id)]],
  ];
  for (const [what, fields] of cases) {
    assert.equal(
      dropReason(bytes(RUST_ANNOUNCEMENT, "69630100", ...fields), ONE_PORT),
      "bad-extension",
      what,
    );
  }
  // As many as fit in 1,024 bytes after one port: 124.
  const most = bytes(RUST_ANNOUNCEMENT, "69630100", field(7, Array(124).fill(id).flat()));
  assert.equal(most.length, 1017);
  assert.equal(decoded(most, ONE_PORT).asks?.length, 124);
});

Deno.test("as many asks as fit beside an announcement's fields are encoded, and no more", () => {
  const base: Announcement = {
    header: DEFAULT_HEADER,
    id: MAX_U64,
    ports: [9042],
    reply: false,
    ttl: 1,
    incarnation: MAX_U64,
    seq: 1,
    listening: 1,
    signerId: new Uint8Array(4),
  };
  const largest: Announcement = {
    ...base,
    ports: undefined,
    msg: "x".repeat(MAX_PAYLOAD_SIZE - 2),
    reply: true,
    probe: true,
  };
  const cases: Array<[what: string, announcement: Announcement, fit: number]> = [
    // 18 + 4 + 7 + 11 + 7 + 7 + 23 bytes, then 3 and 8 per id: 118 ids in 1,024.
    ["one port, signed", base, 118],
    ["the Rust prefix alone", { header: 1n, id: 1n, ports: [], reply: false }, MAX_ASKS],
    // The extension reserve leaves room for 7 beside the largest message and a signature.
    ["the largest message, signed", largest, 7],
  ];
  for (const [what, announcement, fit] of cases) {
    assert.equal(asksThatFit(announcement), fit, what);
    const asks = Array(fit).fill(MAX_U64);
    assert.ok(encodeAnnouncement({ ...announcement, asks }).length <= MAX_DATAGRAM_SIZE, what);
    assert.throws(() => encodeAnnouncement({ ...announcement, asks: [...asks, 1n] }), RangeError);
  }
  assert.equal(MAX_ASKS, 125);
  assert.throws(() => encodeAnnouncement({ ...base, asks: [1n << 64n] }), RangeError);
});
