// No test here opens a socket: finish() is only called on builders that lack
// an id or data, which it rejects before opening anything.
import assert from "node:assert/strict";
import {
  type Chart,
  ChartBuilder,
  MAX_SERVICE_PORTS,
  type MsgEntry,
  type PortEntry,
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
