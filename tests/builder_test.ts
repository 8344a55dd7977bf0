// No test here opens a socket: finish() is only called on builders that lack
// an id or data, which it rejects before opening anything.
import assert from "node:assert/strict";
import {
  type AddressFamily,
  type Chart,
  ChartBuilder,
  type ExpiryOptions,
  type InterfaceOptions,
  type Limits,
  MAX_SERVICE_PORTS,
  type MsgEntry,
  type PortEntry,
  type Rampdown,
  type TransportKind,
} from "../mod.ts";
import { MAX_PAYLOAD_SIZE } from "../src/core/wire.ts";

const MAX_U64 = (1n << 64n) - 1n;

/** Calls finish() on a builder the types would not allow it on. */
function finishUnchecked(builder: ChartBuilder<boolean, PortEntry | MsgEntry | undefined>) {
  return (builder as unknown as ChartBuilder<true, PortEntry>).finish();
}

Deno.test("withId accepts bigints across u64 and safe integer numbers", () => {
  for (const id of [0n, 1n, 7n, MAX_U64, 0, 1, Number.MAX_SAFE_INTEGER]) {
    assert.ok(new ChartBuilder().withId(id) instanceof ChartBuilder);
  }
});

Deno.test("withId rejects negative ids and ids beyond u64 with RangeError", () => {
  for (const id of [-1n, -1, 1n << 64n, -(1n << 64n)]) {
    assert.throws(() => new ChartBuilder().withId(id), RangeError, String(id));
  }
});

Deno.test("withId rejects numbers beyond Number.MAX_SAFE_INTEGER with RangeError", () => {
  for (const id of [Number.MAX_SAFE_INTEGER + 1, 2 ** 63, 2 ** 64]) {
    assert.throws(() => new ChartBuilder().withId(id), {
      name: "RangeError",
      message: /pass a bigint/,
    });
  }
});

Deno.test("withId rejects ids that are not integers with TypeError", () => {
  for (const id of [1.5, NaN, Infinity, "7", null, undefined]) {
    assert.throws(() => new ChartBuilder().withId(id as number), TypeError, String(id));
  }
});

Deno.test("withServicePort accepts ports 1 to 65535", () => {
  for (const port of [1, 80, 9042, 65535]) {
    assert.ok(new ChartBuilder().withServicePort(port) instanceof ChartBuilder);
  }
});

Deno.test("withServicePort rejects ports 0 and 65536 with RangeError", () => {
  for (const port of [0, 65536, -1]) {
    assert.throws(() => new ChartBuilder().withServicePort(port), {
      name: "RangeError",
      message: new RegExp(`service port ${port}`),
    });
  }
});

Deno.test("withServicePort rejects ports that are not integers with TypeError", () => {
  for (const port of [1.5, NaN, Infinity, "80", undefined]) {
    assert.throws(() => new ChartBuilder().withServicePort(port as number), TypeError);
  }
});

Deno.test("withServicePorts accepts from one to MAX_SERVICE_PORTS ports", () => {
  assert.equal(MAX_SERVICE_PORTS, MAX_PAYLOAD_SIZE / 2);
  const most = Array.from({ length: MAX_SERVICE_PORTS }, (_, i) => i + 1);
  assert.ok(new ChartBuilder().withServicePorts([8080]) instanceof ChartBuilder);
  assert.ok(new ChartBuilder().withServicePorts(most) instanceof ChartBuilder);
});

Deno.test("withServicePorts rejects an empty list and a list too long with RangeError", () => {
  assert.throws(() => new ChartBuilder().withServicePorts([]), RangeError);
  const tooMany = Array.from({ length: MAX_SERVICE_PORTS + 1 }, (_, i) => i + 1);
  assert.throws(() => new ChartBuilder().withServicePorts(tooMany), {
    name: "RangeError",
    message: new RegExp(`${MAX_SERVICE_PORTS + 1} service ports`),
  });
});

Deno.test("withServicePorts rejects any port out of range or not an integer", () => {
  assert.throws(() => new ChartBuilder().withServicePorts([80, 0]), RangeError);
  assert.throws(() => new ChartBuilder().withServicePorts([80, 65536]), RangeError);
  assert.throws(() => new ChartBuilder().withServicePorts([80, 1.5]), TypeError);
});

Deno.test("withServicePorts rejects values that are not arrays with TypeError", () => {
  for (const ports of [80, "80", { length: 1, 0: 80 }, new Set([80]), null, undefined]) {
    assert.throws(
      () => new ChartBuilder().withServicePorts(ports as unknown as number[]),
      TypeError,
    );
  }
});

Deno.test("withHeader accepts u64 bigints and safe integer numbers", () => {
  for (const header of [0n, 6687164552036412667n, MAX_U64, 0, Number.MAX_SAFE_INTEGER]) {
    assert.ok(new ChartBuilder().withHeader(header) instanceof ChartBuilder);
  }
});

Deno.test("withHeader rejects headers outside u64 with RangeError", () => {
  for (const header of [-1n, 1n << 64n, -1, 2 ** 64]) {
    assert.throws(() => new ChartBuilder().withHeader(header), RangeError, String(header));
  }
});

Deno.test("withHeader names the header when it rejects a number", () => {
  for (const header of [-1, 2 ** 64, 1.5]) {
    assert.throws(() => new ChartBuilder().withHeader(header), {
      message: new RegExp(`header ${header}`),
    });
  }
});

Deno.test("withDiscoveryPort accepts ports 1 to 65535 and rejects the rest", () => {
  for (const port of [1, 8080, 65535]) {
    assert.ok(new ChartBuilder().withDiscoveryPort(port) instanceof ChartBuilder);
  }
  for (const port of [0, 65536, -8080]) {
    assert.throws(() => new ChartBuilder().withDiscoveryPort(port), {
      name: "RangeError",
      message: new RegExp(`discovery port ${port}`),
    });
  }
  assert.throws(() => new ChartBuilder().withDiscoveryPort(80.5), TypeError);
});

Deno.test("withRampdown rejects min above max with RangeError", () => {
  assert.throws(
    () => new ChartBuilder().withRampdown({ min: 2_000, max: 1_000, rampdown: 10_000 }),
    RangeError,
  );
  assert.throws(
    () => new ChartBuilder().withRampdown({ min: NaN, max: 1, rampdown: 1 }),
    TypeError,
  );
  assert.ok(
    new ChartBuilder().withRampdown({ min: 10, max: 20, rampdown: 0 }) instanceof ChartBuilder,
  );
});

Deno.test("customMsg rejects values without a JSON form with TypeError", () => {
  const circular: Record<string, unknown> = { name: "loop" };
  circular.self = circular;
  for (const msg of [1n, { id: 1n }, undefined, () => "hi", Symbol("s"), circular]) {
    assert.throws(() => new ChartBuilder().customMsg(msg), TypeError);
  }
});

Deno.test("customMsg accepts a msg of exactly MAX_PAYLOAD_SIZE bytes of JSON", () => {
  // A string of n characters x is n + 2 bytes of JSON.
  assert.ok(new ChartBuilder().customMsg("x".repeat(MAX_PAYLOAD_SIZE - 2)) instanceof ChartBuilder);
  // "é" is 2 bytes of UTF-8: the limit counts bytes, not characters.
  const accented = "é".repeat((MAX_PAYLOAD_SIZE - 2) / 2);
  assert.ok(new ChartBuilder().customMsg(accented) instanceof ChartBuilder);
});

Deno.test("customMsg rejects a msg over MAX_PAYLOAD_SIZE bytes of JSON with RangeError", () => {
  assert.throws(() => new ChartBuilder().customMsg("x".repeat(MAX_PAYLOAD_SIZE - 1)), {
    name: "RangeError",
    message: new RegExp(`${MAX_PAYLOAD_SIZE + 1} bytes`),
  });
  const accented = "é".repeat((MAX_PAYLOAD_SIZE - 2) / 2 + 1);
  assert.throws(() => new ChartBuilder().customMsg(accented), RangeError);
  assert.throws(
    () => new ChartBuilder().customMsg({ list: Array.from({ length: 500 }, (_, i) => i) }),
    RangeError,
  );
});

Deno.test("withTransport accepts auto, deno and node and rejects other names with TypeError", () => {
  for (const transport of ["auto", "deno", "node"] as const) {
    assert.ok(new ChartBuilder().withTransport(transport) instanceof ChartBuilder);
  }
  for (const transport of ["udp", "", "Deno", "nodejs", undefined]) {
    assert.throws(
      () => new ChartBuilder().withTransport(transport as TransportKind),
      TypeError,
      String(transport),
    );
  }
});

Deno.test("withFamily accepts ipv4, ipv6 and both and rejects anything else with TypeError", () => {
  for (const family of ["ipv4", "ipv6", "both"] as const) {
    assert.ok(new ChartBuilder().withFamily(family) instanceof ChartBuilder);
  }
  for (const family of ["IPv6", "v6", "", "dual", 6, undefined, null]) {
    assert.throws(
      () => new ChartBuilder().withFamily(family as AddressFamily),
      {
        name: "TypeError",
        message: /^Cannot use address family .*: not "ipv4", "ipv6" or "both"$/,
      },
      String(family),
    );
  }
});

Deno.test("finish rejects a builder without an id or without data with TypeError", async () => {
  await assert.rejects(finishUnchecked(new ChartBuilder()), {
    name: "TypeError",
    message: /without an id/,
  });
  await assert.rejects(finishUnchecked(new ChartBuilder().withServicePort(80)), {
    name: "TypeError",
    message: /without an id/,
  });
  await assert.rejects(finishUnchecked(new ChartBuilder().customMsg({ a: 1 })), {
    name: "TypeError",
    message: /without an id/,
  });
  await assert.rejects(finishUnchecked(new ChartBuilder().withRandomId()), {
    name: "TypeError",
    message: /without data/,
  });
  await assert.rejects(finishUnchecked(new ChartBuilder().withId(1).withHeader(9n)), {
    name: "TypeError",
    message: /without data/,
  });
});

Deno.test("finish rejects a seed address of a family not in use with TypeError", async () => {
  const base = new ChartBuilder().withId(1).withServicePort(80);
  const cases = [["ipv6", "198.18.1.5:8080", "IPv4"], ["ipv4", "[fd00::5]:8080", "IPv6"]] as const;
  for (const [family, seed, kind] of cases) {
    await assert.rejects(finishUnchecked(base.withFamily(family).withSeeds([seed])), {
      name: "TypeError",
      message: new RegExp(`^Cannot use seed .* with family ${family}: it is an ${kind} address$`),
    });
  }
});

Deno.test("every builder method returns a new builder", () => {
  const builder = new ChartBuilder();
  const derived = [
    builder.withId(1),
    builder.withRandomId(),
    builder.withServicePort(80),
    builder.withServicePorts([80, 443]),
    builder.customMsg("hi"),
    builder.withHeader(1n),
    builder.withDiscoveryPort(9000),
    builder.withRampdown({ min: 1, max: 2, rampdown: 3 }),
    builder.localDiscovery(true),
    builder.withTransport("node"),
    builder.withErrorHandler(() => {}),
    builder.withSeeds(["198.18.1.5"]),
  ];
  for (const next of derived) {
    assert.ok(next instanceof ChartBuilder);
    assert.notEqual(next, builder);
  }
});

Deno.test("a builder is left unchanged by the builders made from it", async () => {
  const empty = new ChartBuilder();
  const withId = empty.withId(1);
  const withPort = empty.withServicePort(80);
  withId.withServicePort(80);
  withId.customMsg("hi");
  withPort.withId(2);
  withPort.withRandomId();
  // Neither the id nor the data reached the builders they were set on top of.
  await assert.rejects(finishUnchecked(empty), { name: "TypeError", message: /without an id/ });
  await assert.rejects(finishUnchecked(withId), { name: "TypeError", message: /without data/ });
  await assert.rejects(finishUnchecked(withPort), { name: "TypeError", message: /without an id/ });
});

// Never called: `deno check` fails if any expected type error below is absent.
function _typesRequireIdAndPorts(
  builder: ChartBuilder,
  msgChart: Chart<MsgEntry<string>>,
  portChart: Chart<PortEntry>,
): void {
  // @ts-expect-error finish() needs an id and data.
  builder.finish();
  // @ts-expect-error finish() needs an id.
  builder.withServicePort(80).finish();
  // @ts-expect-error finish() needs an id.
  builder.customMsg("hi").finish();
  // @ts-expect-error finish() needs data.
  builder.withId(1).finish();
  // @ts-expect-error finish() needs data.
  builder.withRandomId().withHeader(5n).finish();

  // With both set it type-checks, in either order, with the entry type of the data.
  const _ports: Promise<Chart<PortEntry>> = builder.withId(1).withServicePort(80).finish();
  const _msg: Promise<Chart<MsgEntry<{ role: string }>>> = builder
    .customMsg({ role: "db" })
    .withRandomId()
    .finish();

  // @ts-expect-error a custom-msg chart has no service ports.
  msgChart.addrVec();
  // @ts-expect-error a custom-msg chart has no service ports.
  msgChart.addrListsVec();
  // @ts-expect-error a custom-msg chart has no service ports.
  msgChart.getAddr(1);
  // @ts-expect-error a custom-msg chart has no service ports.
  msgChart.ourServicePort();
  const _addresses = portChart.addrVec();
}

/** Arrays with a hole, for the element checks: map() and some() skip holes. */
// deno-lint-ignore no-sparse-arrays
const HOLE_FIRST = [, 80] as unknown as number[];
// deno-lint-ignore no-sparse-arrays
const HOLE_INSIDE = [80, , 443] as unknown as number[];
const LONG_SPARSE = new Array<number>(3) as number[];
LONG_SPARSE[2] = 80;

Deno.test("withServicePorts rejects a sparse array with TypeError rather than skip its holes", () => {
  for (const ports of [HOLE_FIRST, HOLE_INSIDE, LONG_SPARSE]) {
    assert.throws(() => new ChartBuilder().withServicePorts(ports), {
      name: "TypeError",
      message: /sparse array/,
    });
  }
});

Deno.test("withServicePorts rejects every bad element, wherever it is, by its kind", () => {
  const table: Array<[unknown, typeof TypeError | typeof RangeError]> = [
    [undefined, TypeError],
    [null, TypeError],
    [NaN, TypeError],
    [Infinity, TypeError],
    [-Infinity, TypeError],
    [1.5, TypeError],
    ["80", TypeError],
    [80n, TypeError],
    [{ valueOf: () => 80 }, TypeError],
    [[80], TypeError],
    [0, RangeError],
    [-0, RangeError],
    [-1, RangeError],
    [65536, RangeError],
    [2 ** 53, RangeError],
  ];
  for (const [bad, kind] of table) {
    for (const ports of [[bad], [80, bad], [bad, 80, 443]]) {
      assert.throws(
        () => new ChartBuilder().withServicePorts(ports as number[]),
        kind,
        `${String(bad)} in [${ports.map(String)}]`,
      );
    }
  }
});

Deno.test("customMsg serialises once, so a toJSON that grows cannot slip past the size check", () => {
  let calls = 0;
  // Small the first time it is serialised, too large for a datagram the next.
  const shifty = { toJSON: () => (calls++ === 0 ? "small" : "x".repeat(MAX_PAYLOAD_SIZE * 2)) };
  assert.ok(new ChartBuilder().customMsg(shifty) instanceof ChartBuilder);
  assert.equal(calls, 1);
});

Deno.test("withRampdown rejects what is not an object, and a max longer than the ttl covers", () => {
  for (const rampdown of [null, undefined, 5, "fast"]) {
    assert.throws(
      () => new ChartBuilder().withRampdown(rampdown as unknown as Rampdown),
      { name: "TypeError", message: /rampdown/ },
      String(rampdown),
    );
  }
  // Three intervals of max, with 10% jitter, must fit in the one-hour time-to-live.
  assert.ok(
    new ChartBuilder().withRampdown({ min: 1, max: 1_090_909, rampdown: 0 }) instanceof
      ChartBuilder,
  );
  for (const max of [1_090_910, 3_600_000, 2 ** 31, 1e300]) {
    assert.throws(() => new ChartBuilder().withRampdown({ min: 1, max, rampdown: 0 }), {
      name: "RangeError",
      message: /at most 1090909/,
    });
  }
  for (const bad of [NaN, Infinity, "100", undefined]) {
    assert.throws(
      () => new ChartBuilder().withRampdown({ min: 1, max: bad as number, rampdown: 0 }),
      TypeError,
    );
  }
  assert.throws(
    () => new ChartBuilder().withRampdown({ min: -0.5, max: 1, rampdown: 0 }),
    RangeError,
  );
});

Deno.test("withLimits rejects bounds that are not positive integers, or too many entries", () => {
  const bad = [0, -0, -1, 1.5, NaN, Infinity, "10", null];
  for (const value of bad) {
    for (
      const limits of [
        { maxEntries: value },
        { replies: { total: value } },
        { replies: { perSource: value } },
      ]
    ) {
      assert.throws(
        () => new ChartBuilder().withLimits(limits as Limits),
        RangeError,
        JSON.stringify(limits) ?? String(value),
      );
    }
  }
  assert.ok(new ChartBuilder().withLimits({ maxEntries: 1 << 20 }) instanceof ChartBuilder);
  assert.throws(() => new ChartBuilder().withLimits({ maxEntries: (1 << 20) + 1 }), {
    name: "RangeError",
    message: /maxEntries 1048577: at most 1048576/,
  });
  for (const limits of [null, undefined, 5, { replies: null }, { replies: 5 }]) {
    assert.throws(() => new ChartBuilder().withLimits(limits as Limits), TypeError);
  }
});

Deno.test("withInterfaces rejects sparse or non-string name lists and bad options", () => {
  // deno-lint-ignore no-sparse-arrays
  const sparse = [, "eth0"] as unknown as string[];
  for (
    const interfaces of [
      { include: sparse },
      { exclude: sparse },
      { include: ["eth0", 1] },
      { include: "eth0" },
      { loopbackOnly: "yes" },
      { loopbackOnly: 1 },
      null,
    ]
  ) {
    assert.throws(
      () => new ChartBuilder().withInterfaces(interfaces as InterfaceOptions),
      TypeError,
      JSON.stringify(interfaces),
    );
  }
  // A delay past 2^31 - 1 ms makes a timer fire at once, so the rescan would spin.
  for (const rescanInterval of [0, -1, NaN, Infinity, 2 ** 31, 1e12]) {
    assert.throws(() => new ChartBuilder().withInterfaces({ rescanInterval }), RangeError);
  }
  assert.ok(
    new ChartBuilder().withInterfaces({
      rescanInterval: 2 ** 31 - 1,
      loopbackOnly: true,
    }) instanceof
      ChartBuilder,
  );
});

Deno.test("withExpiry rejects what is not an object, a non-boolean enabled and a bad bareTtl", () => {
  for (const expiry of [null, undefined, { enabled: "no" }, { enabled: 0 }, { bareTtl: "3300" }]) {
    assert.throws(
      () => new ChartBuilder().withExpiry(expiry as unknown as ExpiryOptions),
      TypeError,
      JSON.stringify(expiry),
    );
  }
  for (const bareTtl of [0, -0, -1, NaN, Infinity, 3_600_001]) {
    assert.throws(() => new ChartBuilder().withExpiry({ bareTtl }), RangeError, String(bareTtl));
  }
  assert.ok(
    new ChartBuilder().withExpiry({ enabled: false, bareTtl: 1.5 }) instanceof ChartBuilder,
  );
});

Deno.test("withKeys rejects sparse lists and keys of the wrong type with TypeError", () => {
  const key = "a key of sixteen bytes or more";
  // deno-lint-ignore no-sparse-arrays
  const holeFirst = [, key] as unknown as string[];
  // deno-lint-ignore no-sparse-arrays
  const holeInside = [key, , key] as unknown as string[];
  for (
    const keys of [holeFirst, holeInside, [key, undefined], [key, 42], [key, null], key, null]
  ) {
    assert.throws(
      () => new ChartBuilder().withKeys(keys as string[]),
      TypeError,
      String(keys),
    );
  }
  for (const keys of [[], [""], [key, "short"], [new Uint8Array(15)]]) {
    assert.throws(() => new ChartBuilder().withKeys(keys), RangeError);
  }
});

Deno.test("withErrorHandler rejects what is not a function with TypeError", () => {
  for (const onError of [undefined, null, "console.warn", {}, 5]) {
    assert.throws(
      () => new ChartBuilder().withErrorHandler(onError as unknown as () => void),
      { name: "TypeError", message: /not a function/ },
    );
  }
});

Deno.test("withId and withHeader reject non-integers and wrong types, and accept -0 as 0", () => {
  for (const bad of [NaN, Infinity, -Infinity, 1.5, "1", null, undefined, {}]) {
    assert.throws(() => new ChartBuilder().withId(bad as number), TypeError, String(bad));
    assert.throws(() => new ChartBuilder().withHeader(bad as number), TypeError, String(bad));
  }
  assert.ok(new ChartBuilder().withId(-0) instanceof ChartBuilder);
  assert.ok(new ChartBuilder().withHeader(-0) instanceof ChartBuilder);
});

Deno.test("withDiscoveryPort rejects the same bad values as a service port", () => {
  for (const port of [NaN, Infinity, 1.5, "8080", undefined, null]) {
    assert.throws(() => new ChartBuilder().withDiscoveryPort(port as number), TypeError);
  }
  for (const port of [0, -0, -1, 65536]) {
    assert.throws(() => new ChartBuilder().withDiscoveryPort(port), RangeError);
  }
});

Deno.test("errors quote a string given where a number belongs, so that it does not read as valid", () => {
  const builder = new ChartBuilder();
  const cases: Array<[() => unknown, string]> = [
    [
      () => builder.withServicePort("8042" as never),
      'Cannot use service port "8042": not an integer',
    ],
    [
      () => builder.withServicePorts(["80"] as never),
      'Cannot use service port "80": not an integer',
    ],
    [
      () => builder.withDiscoveryPort("8080" as never),
      'Cannot use discovery port "8080": not an integer',
    ],
    [() => builder.withId("7" as never), 'Cannot use id "7": not a bigint or number'],
    [() => builder.withHeader("1" as never), 'Cannot use header "1": not an integer'],
  ];
  for (const [call, message] of cases) assert.throws(call, { name: "TypeError", message });
});

Deno.test("withSeeds accepts addresses with or without a port, and DNS names", () => {
  const seeds = [
    "198.18.1.5",
    "198.18.1.5:8080",
    "fd00::5",
    "[fd00::5]:8080",
    "[fe80::1%eth0]:8080",
    "peers.example",
    "peers.example:8080",
    "_instance-chart._udp.example",
    "worker",
  ];
  assert.ok(new ChartBuilder().withSeeds(seeds) instanceof ChartBuilder);
  assert.ok(
    new ChartBuilder().withSeeds(["peers.example"], {
      nameServer: "198.18.0.53:5353",
      multicast: false,
    }) instanceof ChartBuilder,
  );
  assert.ok(new ChartBuilder().withSeeds(["x"], { nameServer: "[fd00::53]:53" }));
});

Deno.test("withSeeds rejects bad seeds and options by their kind, quoting the value", () => {
  // deno-lint-ignore no-sparse-arrays
  const sparse = [, "198.18.1.5"] as unknown as string[];
  type Case = [seeds: unknown, options: unknown, name: string, message: RegExp];
  const cases: Case[] = [
    ["198.18.1.5", {}, "TypeError", /Cannot use seeds "198\.18\.1\.5": not an array/],
    [[], {}, "RangeError", /empty list of seeds/],
    [Array(257).fill("198.18.1.5"), {}, "RangeError", /257 seeds: at most 256/],
    [sparse, {}, "TypeError", /none at index 0 \(a sparse array\)/],
    [[8080], {}, "TypeError", /Cannot use seed 8080: not a string/],
    [["198.18.1.5:0"], {}, "RangeError", /"198\.18\.1\.5:0": its port must be/],
    [["198.18.1.5:65536"], {}, "RangeError", /its port must be an integer from 1 to 65535/],
    [["peers.example:http"], {}, "RangeError", /"peers\.example:http"/],
    [["198.18.1"], {}, "TypeError", /"198\.18\.1": not an IP address or a host name/],
    [["has space"], {}, "TypeError", /"has space": not an IP address or a host name/],
    [["fd00::5:8080:x"], {}, "TypeError", /write an IPv6 address with a port as \[address\]:port/],
    [["[peers.example]:80"], {}, "TypeError", /brackets are for IPv6 addresses/],
    [["x"], null, "TypeError", /Cannot use seed options null: not an object/],
    [["x"], { nameServer: "dns.example" }, "TypeError", /"dns\.example": not an IP address/],
    [["x"], { nameServer: 53 }, "TypeError", /Cannot use name server 53: not a string/],
    [["x"], { nameServer: "198.18.0.53:0" }, "RangeError", /its port must be/],
    [["x"], { multicast: "no" }, "TypeError", /multicast "no": not a boolean/],
  ];
  for (const [seeds, options, name, message] of cases) {
    assert.throws(
      () => new ChartBuilder().withSeeds(seeds as string[], options as never),
      { name, message },
      `${JSON.stringify(seeds)?.slice(0, 40)} ${JSON.stringify(options)}`,
    );
  }
});
