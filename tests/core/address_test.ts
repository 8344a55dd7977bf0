import assert from "node:assert/strict";
import {
  canonicalAddress,
  formatHostPort,
  isLinkLocal,
  isLoopback,
  parseAddress,
  parseSeed,
  prefixLength,
  sharesPrefix,
  sourceAddress,
  withoutZone,
} from "../../src/core/address.ts";
import { seededRandom } from "../_random.ts";

Deno.test("addresses of both families are read and written in one canonical form", () => {
  const cases: Array<[string, string | undefined]> = [
    ["198.18.0.1", "198.18.0.1"],
    ["0.0.0.0", "0.0.0.0"],
    ["255.255.255.255", "255.255.255.255"],
    ["::", "::"],
    ["::1", "::1"],
    ["FD00:0:0:0:0:0:0:5", "fd00::5"],
    ["fd00:0000:0000:0001:0000:0000:0000:0005", "fd00:0:0:1::5"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:db8::", "2001:db8::"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["1:0:3:4:5:6:7:8", "1:0:3:4:5:6:7:8"],
    ["::ffff:198.18.0.1", "::ffff:c612:1"],
    ["fe80::1%eth0", "fe80::1%eth0"],
    ["fe80::0001%3", "fe80::1%3"],
    // Not addresses.
    ["198.18.0", undefined],
    ["198.18.0.256", undefined],
    ["198.18.0.01", undefined],
    ["00.18.0.1", undefined],
    ["198.18.0.1.", undefined],
    [".198.18.0.1", undefined],
    ["198..0.1", undefined],
    ["198.18.0.1000", undefined],
    ["198.18.0.1.5", undefined],
    ["198.18.0.\uff11", undefined],
    ["::ffff:198.18.0.01", undefined],
    ["fd00::1:", undefined],
    [":fd00::1", undefined],
    ["fd00::1g", undefined],
    ["198.18.0.-1", undefined],
    [" 198.18.0.1", undefined],
    ["1:2:3:4:5:6:7:8:9", undefined],
    ["1::2::3", undefined],
    ["12345::", undefined],
    ["fe80::1%", undefined],
    ["::1.2.3.4:5", undefined],
    ["g::1", undefined],
    ["", undefined],
    ["example.com", undefined],
  ];
  for (const [text, canonical] of cases) {
    assert.equal(canonicalAddress(text), canonical, text);
  }
  assert.equal(parseAddress("198.18.0.1")?.family, 4);
  assert.equal(parseAddress("fd00::1")?.family, 6);
  assert.equal(parseAddress("fe80::1%eth0")?.zone, "eth0");
});

Deno.test("addresses are read as the regular expressions that define them read them", () => {
  // The definition, by regular expressions; the module reads character by character.
  const reference = (text: string): number[] | undefined => {
    const v4 = (part: string) => {
      const parts = part.split(".");
      if (parts.length !== 4 || !parts.every((p) => /^(?:0|[1-9]\d{0,2})$/.test(p))) return;
      const bytes = parts.map(Number);
      return bytes.every((byte) => byte <= 255) ? bytes : undefined;
    };
    if (!text.includes(":")) return v4(text);
    const cut = text.indexOf("%");
    const zone = cut === -1 ? undefined : text.slice(cut + 1);
    if (zone === "" || (zone !== undefined && /[%\s\[\]]/.test(zone))) return;
    const bare = cut === -1 ? text : text.slice(0, cut);
    if (!/^[0-9A-Fa-f:.]+$/.test(bare)) return;
    const halves = bare.split("::");
    if (halves.length > 2) return;
    const groupsOf = (half: string): number[] | undefined => {
      if (half === "") return [];
      const fields = half.split(":");
      const groups: number[] = [];
      for (const [i, field] of fields.entries()) {
        if (field.includes(".")) {
          const bytes = i === fields.length - 1 ? v4(field) : undefined;
          if (!bytes) return;
          groups.push(bytes[0] * 256 + bytes[1], bytes[2] * 256 + bytes[3]);
        } else if (/^[0-9A-Fa-f]{1,4}$/.test(field)) groups.push(Number.parseInt(field, 16));
        else return;
      }
      return groups;
    };
    const head = groupsOf(halves[0]);
    const tail = halves.length === 2 ? groupsOf(halves[1]) : [];
    if (!head || !tail) return;
    const count = head.length + tail.length;
    if (halves.length === 2 ? count > 7 : count !== 8) return;
    return [...head, ...new Array(8 - count).fill(0), ...tail].flatMap((g) => [g >> 8, g & 255]);
  };
  const random = seededRandom(20261202);
  const pick = (from: string) => from[Math.floor(random() * from.length)];
  const seeds = [
    "198.18.0.1",
    "0.0.0.0",
    "255.255.255.255",
    "fd00::5",
    "::ffff:198.18.0.1",
    "1:2:3:4:5:6:7:8",
  ];
  for (let i = 0; i < 20_000; i++) {
    let text: string;
    if (i % 2 === 0) {
      // Random text of the characters addresses are made of, and a few others.
      text = "";
      for (let n = Math.floor(random() * 20); n > 0; n--) {
        text += pick("0123456789abcdefAFg.:%:.0 ");
      }
    } else {
      // A valid address with one character changed, added or taken away.
      text = seeds[Math.floor(random() * seeds.length)];
      const at = Math.floor(random() * (text.length + 1));
      const edit = Math.floor(random() * 3);
      const c = pick("0123456789abcdefFg.:%");
      text = edit === 0
        ? text.slice(0, at) + c + text.slice(at + 1)
        : edit === 1
        ? text.slice(0, at) + c + text.slice(at)
        : text.slice(0, at) + text.slice(at + 1);
    }
    const read = parseAddress(text);
    assert.deepEqual(read && [...read.bytes], reference(text), JSON.stringify(text));
  }
});

Deno.test("link-local addresses of both families are recognised", () => {
  assert.equal(isLinkLocal("169.254.1.2"), true);
  assert.equal(isLinkLocal("198.18.0.1"), false);
  assert.equal(isLinkLocal("fe80::1"), true);
  assert.equal(isLinkLocal("fe80::1%eth0"), true);
  assert.equal(isLinkLocal("febf::1"), true);
  assert.equal(isLinkLocal("fec0::1"), false);
  assert.equal(isLinkLocal("fd00::1"), false);
  assert.equal(isLinkLocal("not an address"), false);
});

Deno.test("loopback addresses of both families are recognised, in any spelling", () => {
  for (const address of ["127.0.0.1", "127.3.4.5", "::1", "0:0:0:0:0:0:0:1", "::0001", "::1%lo"]) {
    assert.equal(isLoopback(address), true, address);
  }
  for (const address of ["198.18.0.1", "127.0.0.256", "::", "::11", "1::", "::2", "0:0:1", "x"]) {
    assert.equal(isLoopback(address), false, address);
  }
});

Deno.test("an address without its zone", () => {
  assert.equal(withoutZone("fe80::1%eth0"), "fe80::1");
  assert.equal(withoutZone("fd00::1"), "fd00::1");
  assert.equal(withoutZone("198.18.0.1"), "198.18.0.1");
});

Deno.test("netmasks of both families give their prefix length", () => {
  assert.equal(prefixLength("255.255.255.0", 4), 24);
  assert.equal(prefixLength("255.255.254.0", 4), 23);
  assert.equal(prefixLength("255.255.255.255", 4), 32);
  assert.equal(prefixLength("0.0.0.0", 4), 0);
  assert.equal(prefixLength("ffff:ffff:ffff:ffff::", 6), 64);
  assert.equal(prefixLength("ffff:ffff:ffff:ff80::", 6), 57);
  assert.equal(prefixLength("/64", 6), 64);
  assert.equal(prefixLength("24", 4), 24);
  assert.equal(prefixLength("33", 4), undefined);
  assert.equal(prefixLength("255.0.255.0", 4), undefined);
  assert.equal(prefixLength("ffff::", 4), undefined);
  assert.equal(prefixLength("255.255.255.0", 6), undefined);
});

Deno.test("an address is on a subnet when it shares the prefix of the interface's address", () => {
  assert.equal(sharesPrefix("198.18.0.77", "198.18.0.1", 24), true);
  assert.equal(sharesPrefix("198.18.1.77", "198.18.0.1", 24), false);
  assert.equal(sharesPrefix("198.18.1.77", "198.18.0.1", 23), true);
  assert.equal(sharesPrefix("198.18.1.77", "198.18.0.1", 0), true);
  assert.equal(sharesPrefix("fd00:0:0:1::9", "fd00:0:0:1::1", 64), true);
  assert.equal(sharesPrefix("fd00:0:0:2::9", "fd00:0:0:1::1", 64), false);
  assert.equal(sharesPrefix("fd00:0:0:1::9", "fd00:0:0:1::1", 128), false);
  assert.equal(sharesPrefix("fd00:0:0:1::1", "fd00:0:0:1::1", 128), true);
  assert.equal(sharesPrefix("fd00:0:0:1:8000::", "fd00:0:0:1::", 65), false);
  assert.equal(sharesPrefix("fd00:0:0:1:7fff::", "fd00:0:0:1::", 65), true);
  assert.equal(sharesPrefix("fe80::2%eth0", "fe80::1%eth1", 64), true);
  // Families never match.
  assert.equal(sharesPrefix("::ffff:198.18.0.7", "198.18.0.1", 0), false);
  assert.equal(sharesPrefix("198.18.0.7", "fd00::1", 0), false);
  assert.equal(sharesPrefix("nonsense", "198.18.0.1", 24), false);
});

Deno.test("seeds are read as users write them", () => {
  const cases: Array<[string, ReturnType<typeof parseSeed>]> = [
    ["198.18.1.5", { host: "198.18.1.5", isName: false }],
    ["198.18.1.5:8080", { host: "198.18.1.5", isName: false, port: 8080 }],
    ["fd00::5", { host: "fd00::5", isName: false }],
    ["FD00:0::5", { host: "fd00::5", isName: false }],
    ["[fd00::5]:8080", { host: "fd00::5", isName: false, port: 8080 }],
    ["[fd00::5]", { host: "fd00::5", isName: false }],
    ["[fe80::1%eth0]:7", { host: "fe80::1%eth0", isName: false, port: 7 }],
    ["peers.example", { host: "peers.example", isName: true }],
    ["Peers.Example.:65535", { host: "peers.example", isName: true, port: 65535 }],
    ["_instance-chart._udp.example", { host: "_instance-chart._udp.example", isName: true }],
    ["web", { host: "web", isName: true }],
    [" 198.18.1.5 ", { host: "198.18.1.5", isName: false }],
  ];
  for (const [text, target] of cases) assert.deepEqual(parseSeed(text), target, text);
});

Deno.test("a seed that is no address or name, or has a bad port, is refused with a clear error", () => {
  for (
    const text of [
      "",
      "198.18.1",
      "198.18.1.5.6",
      "-peers",
      "a..b",
      "peers example",
      "[198.18.1.5]:80",
      "fd00::5::6",
    ]
  ) {
    assert.throws(() => parseSeed(text), TypeError, text);
  }
  for (
    const text of [
      "198.18.1.5:0",
      "198.18.1.5:65536",
      "198.18.1.5:",
      "[fd00::5]:x",
      "peers:1.5",
      "peers:-1",
    ]
  ) {
    assert.throws(() => parseSeed(text), RangeError, text);
  }
  assert.throws(
    () => parseSeed("198.18.1.5:99999"),
    { message: 'Cannot use seed "198.18.1.5:99999": its port must be an integer from 1 to 65535' },
  );
});

Deno.test("socket addresses put IPv6 in brackets", () => {
  assert.equal(formatHostPort("198.18.0.1", 7777), "198.18.0.1:7777");
  assert.equal(formatHostPort("fd00::1", 7777), "[fd00::1]:7777");
  assert.equal(formatHostPort("fe80::1%eth0", 1), "[fe80::1%eth0]:1");
});

Deno.test("a socket's source reads as the chart keys it: mapped IPv4 as IPv4, IPv6 canonical", () => {
  const cases: Array<[string, string]> = [
    ["198.18.0.2", "198.18.0.2"],
    ["::ffff:198.18.0.2", "198.18.0.2"],
    ["::FFFF:C612:2", "198.18.0.2"],
    ["FD00:0:0:0:0:0:0:2", "fd00::2"],
    ["fe80::0001%2", "fe80::1"],
    ["::1", "::1"],
  ];
  for (const [reported, keyed] of cases) assert.equal(sourceAddress(reported), keyed, reported);
});
