import assert from "node:assert/strict";
import { type NetInterface, onSubnet, selectInterfaces, withZone } from "../src/io/interfaces.ts";

const lo: NetInterface = {
  name: "lo",
  family: 4,
  address: "127.0.0.1",
  netmask: "255.0.0.0",
  index: 1,
  loopback: true,
  up: true,
  multicast: false,
  flagsKnown: true,
};
const eth0: NetInterface = {
  name: "eth0",
  family: 4,
  address: "198.18.1.1",
  netmask: "255.255.255.0",
  index: 2,
  loopback: false,
  up: true,
  multicast: true,
  flagsKnown: true,
};
const docker0: NetInterface = {
  ...eth0,
  name: "docker0",
  address: "172.17.0.1",
  netmask: "255.255.0.0",
};
const down: NetInterface = { ...eth0, name: "eth1", address: "198.18.2.1", up: false };
const noMulticast: NetInterface = { ...eth0, name: "tun0", address: "10.8.0.2", multicast: false };
const all = [lo, eth0, docker0, down, noMulticast];
const names = (list: NetInterface[]) => list.map((iface) => iface.name);

Deno.test("discovery uses every interface that is up and can multicast", () => {
  assert.deepEqual(names(selectInterfaces(all, {}, false)), ["eth0", "docker0"]);
});

Deno.test("local discovery adds loopback, which multicasts without the flag", () => {
  assert.deepEqual(names(selectInterfaces(all, {}, true)), ["lo", "eth0", "docker0"]);
});

Deno.test("interfaces can be named to include or to exclude", () => {
  assert.deepEqual(names(selectInterfaces(all, { include: ["eth0", "eth1"] }, true)), ["eth0"]);
  assert.deepEqual(names(selectInterfaces(all, { exclude: ["docker0"] }, true)), ["lo", "eth0"]);
});

Deno.test("loopback-only keeps discovery on this machine", () => {
  assert.deepEqual(names(selectInterfaces(all, { loopbackOnly: true }, false)), ["lo"]);
});

Deno.test("an address is on an interface's subnet when their network parts match", () => {
  assert.equal(onSubnet("198.18.1.77", eth0), true);
  assert.equal(onSubnet("198.18.2.77", eth0), false);
  assert.equal(onSubnet("127.3.4.5", lo), true);
  assert.equal(onSubnet("255.255.255.255", { address: "0.0.0.0", netmask: "0.0.0.0" }), true);
  // A mask that splits an octet, and addresses with the top bit set.
  const half = { address: "203.0.113.129", netmask: "255.255.255.128" };
  assert.equal(onSubnet("203.0.113.255", half), true);
  assert.equal(onSubnet("203.0.113.127", half), false);
  assert.equal(onSubnet("203.0.112.200", half), false);
});

const lo6: NetInterface = {
  ...lo,
  family: 6,
  address: "::1",
  netmask: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
};
const eth0ll: NetInterface = {
  ...eth0,
  family: 6,
  address: "fe80::1%eth0",
  netmask: "ffff:ffff:ffff:ffff::",
};
const eth0ula: NetInterface = { ...eth0ll, address: "fd00:1::1" };
const docker0ll: NetInterface = {
  ...docker0,
  family: 6,
  address: "fe80::2%docker0",
  netmask: "ffff:ffff:ffff:ffff::",
  index: 3,
};
const dual = [lo, lo6, eth0, eth0ll, eth0ula, docker0, docker0ll];
const picked = (list: NetInterface[]) => list.map((iface) => `${iface.name} ${iface.address}`);

Deno.test("both families take one IPv6 address per interface, global before link-local, and IPv4 alone on loopback", () => {
  assert.deepEqual(picked(selectInterfaces(dual, {}, true)), [
    "lo 127.0.0.1",
    "eth0 198.18.1.1",
    "eth0 fd00:1::1",
    "docker0 172.17.0.1",
    "docker0 fe80::2%docker0",
  ]);
});

Deno.test("one family leaves out the other's addresses, and IPv6 never uses loopback", () => {
  assert.deepEqual(picked(selectInterfaces(dual, {}, true, "ipv4")), [
    "lo 127.0.0.1",
    "eth0 198.18.1.1",
    "docker0 172.17.0.1",
  ]);
  assert.deepEqual(picked(selectInterfaces(dual, {}, true, "ipv6")), [
    "eth0 fd00:1::1",
    "docker0 fe80::2%docker0",
  ]);
  assert.deepEqual(selectInterfaces(dual, { loopbackOnly: true }, false, "ipv6"), []);
  assert.deepEqual(picked(selectInterfaces(dual, { exclude: ["eth0"] }, false, "ipv6")), [
    "docker0 fe80::2%docker0",
  ]);
});

Deno.test("an IPv6 source is on-link when link-local on that link, or within a connected prefix", () => {
  assert.equal(onSubnet("fe80::9%eth0", eth0ula), true);
  assert.equal(onSubnet("fe80::9%docker0", eth0ula), false);
  assert.equal(onSubnet("fd00:1::9", eth0ula), true);
  assert.equal(onSubnet("fd00:2::9", eth0ula), false);
  // A global source needs a prefix: a link with only a link-local address has none for it.
  assert.equal(onSubnet("fd00:1::9", eth0ll), false);
  // No family crosses to the other.
  assert.equal(onSubnet("198.18.1.9", eth0ula), false);
  assert.equal(onSubnet("fd00:1::9", eth0), false);
});

Deno.test("a link-local source reported without a zone gets the interface's name", () => {
  assert.equal(withZone("fe80::9", dual), "fe80::9%eth0");
  assert.equal(withZone("fe80::9", [eth0, docker0ll]), "fe80::9%docker0");
  assert.equal(withZone("fe80::9%eth1", dual), "fe80::9%eth1");
  assert.equal(withZone("fd00:1::9", dual), "fd00:1::9");
  assert.equal(withZone("198.18.1.9", dual), "198.18.1.9");
});
