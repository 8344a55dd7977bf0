import assert from "node:assert/strict";
import { type NetInterface, onSubnet, selectInterfaces } from "../src/io/interfaces.ts";

const lo: NetInterface = {
  name: "lo",
  address: "127.0.0.1",
  netmask: "255.0.0.0",
  loopback: true,
  up: true,
  multicast: false,
  flagsKnown: true,
};
const eth0: NetInterface = {
  name: "eth0",
  address: "198.18.1.1",
  netmask: "255.255.255.0",
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
