import assert from "node:assert/strict";
import {
  addressesOf,
  chartedPath,
  MAX_PATHS,
  notePath,
  type Path,
  rankOf,
} from "../../src/core/paths.ts";

const TTL = 3300;

Deno.test("an address ranks IPv4 first, then global IPv6, then link-local", () => {
  assert.deepEqual(
    ["198.18.0.2", "fd00::2", "2001:db8::2", "fe80::2%eth0"].map(rankOf),
    [0, 1, 1, 2],
  );
});

Deno.test("a path heard again is refreshed, and those silent past the ttl are dropped", () => {
  const paths: Path[] = [];
  notePath(paths, "198.18.0.2", 40_000, 0, TTL);
  notePath(paths, "fd00::2", 40_001, 100, TTL);
  notePath(paths, "198.18.0.2", 40_002, 200, TTL);
  assert.deepEqual(paths, [
    { address: "198.18.0.2", port: 40_002, heardAt: 200 },
    { address: "fd00::2", port: 40_001, heardAt: 100 },
  ]);
  // A datagram that arrives late does not make its path older.
  notePath(paths, "198.18.0.2", 40_002, 150, TTL);
  assert.equal(paths[0].heardAt, 200);
  notePath(paths, "198.18.0.2", 40_002, 100 + TTL + 1, TTL);
  assert.deepEqual(paths.map((path) => path.address), ["198.18.0.2"]);
});

Deno.test("an instance keeps at most four paths, the latest heard", () => {
  const paths: Path[] = [];
  for (let i = 1; i <= 6; i++) notePath(paths, `198.18.${i}.2`, 40_000, i, TTL);
  assert.equal(paths.length, MAX_PATHS);
  assert.deepEqual(paths.map((path) => path.address), [3, 4, 5, 6].map((i) => `198.18.${i}.2`));
});

Deno.test("the charted address is IPv4 where there is one, and stays while it is alive", () => {
  const at = 1000;
  const cases: Array<[paths: Path[], charted: string | undefined, heard: string, want: string]> = [
    // Heard over IPv6 first, then IPv4: IPv4 takes over.
    [
      [{ address: "fd00::2", port: 1, heardAt: 900 }, {
        address: "198.18.0.2",
        port: 2,
        heardAt: at,
      }],
      "fd00::2",
      "198.18.0.2",
      "198.18.0.2",
    ],
    // IPv4 alive, IPv6 heard: IPv4 stays.
    [
      [{ address: "198.18.0.2", port: 2, heardAt: 900 }, {
        address: "fd00::2",
        port: 1,
        heardAt: at,
      }],
      "198.18.0.2",
      "fd00::2",
      "198.18.0.2",
    ],
    // IPv4 silent for half the ttl: IPv6 is charted.
    [
      [{ address: "198.18.0.2", port: 2, heardAt: at - TTL / 2 }, {
        address: "fd00::2",
        port: 1,
        heardAt: at,
      }],
      "198.18.0.2",
      "fd00::2",
      "fd00::2",
    ],
    // Two IPv4 links: the charted one stays while alive.
    [
      [{ address: "198.18.0.2", port: 2, heardAt: 900 }, {
        address: "198.18.1.2",
        port: 1,
        heardAt: at,
      }],
      "198.18.0.2",
      "198.18.1.2",
      "198.18.0.2",
    ],
    // A global IPv6 address before a link-local one.
    [
      [{ address: "fe80::2%eth0", port: 2, heardAt: 900 }, {
        address: "fd00::2",
        port: 1,
        heardAt: at,
      }],
      "fe80::2%eth0",
      "fd00::2",
      "fd00::2",
    ],
  ];
  for (const [paths, charted, heard, want] of cases) {
    assert.equal(chartedPath(paths, charted, heard, at, TTL).address, want, `${charted} ${heard}`);
  }
});

Deno.test("addresses list the charted one and one of the other family, never two of one", () => {
  const v4 = { address: "198.18.0.2", port: 1, heardAt: 0 };
  const v4b = { address: "198.18.1.2", port: 1, heardAt: 0 };
  const v6 = { address: "fd00::2", port: 1, heardAt: 0 };
  const ll = { address: "fe80::2%eth0", port: 1, heardAt: 10 };
  assert.equal(addressesOf([v4], "198.18.0.2", undefined), undefined);
  assert.equal(addressesOf([v4, v4b], "198.18.0.2", undefined), undefined);
  assert.deepEqual(addressesOf([v4, v6], "198.18.0.2", undefined), ["198.18.0.2", "fd00::2"]);
  assert.deepEqual(addressesOf([v6, v4], "fd00::2", undefined), ["fd00::2", "198.18.0.2"]);
  assert.deepEqual(addressesOf([v4, ll, v6], "198.18.0.2", undefined), ["198.18.0.2", "fd00::2"]);
  // Of two alike, the one listed stays.
  const v6b = { address: "fd00:1::2", port: 1, heardAt: 20 };
  assert.deepEqual(addressesOf([v4, v6, v6b], "198.18.0.2", ["198.18.0.2", "fd00::2"]), [
    "198.18.0.2",
    "fd00::2",
  ]);
  assert.deepEqual(addressesOf([v4, v6, v6b], "198.18.0.2", undefined), [
    "198.18.0.2",
    "fd00:1::2",
  ]);
});
