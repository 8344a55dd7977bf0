// No test here opens a socket: they read keys from real files in a temp dir.
import assert from "node:assert/strict";
import { KEY_VARIABLE, readKey, selectionProblem } from "../src/cli/chart.ts";
import type { NetInterface } from "../src/io/interfaces.ts";
import { keyBytes } from "../src/core/keyring.ts";
import { DiscoveryError } from "../src/errors.ts";

const TEXT_KEY = "a shared key for the key file test";
const encode = (text: string) => new TextEncoder().encode(text);

/** A temp dir with a key file of each given content, removed at the end of the test. */
async function keyFiles(contents: Array<string | Uint8Array>, mode = 0o600) {
  const dir = await Deno.makeTempDir();
  const paths = await Promise.all(contents.map(async (content, i) => {
    const path = `${dir}/key${i}`;
    await Deno.writeFile(path, typeof content === "string" ? encode(content) : content);
    await Deno.chmod(path, mode);
    return path;
  }));
  return { paths, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

/** Reads a key, collecting its warnings. */
function read(keyFile: string | undefined) {
  const warnings: string[] = [];
  const key = readKey(keyFile, (message) => warnings.push(message));
  return { key, warnings };
}

/** Runs a function with the key variable set to a value, or unset, and restores it. */
function withVariable<T>(value: string | undefined, run: () => T): T {
  const before = Deno.env.get(KEY_VARIABLE);
  if (value === undefined) Deno.env.delete(KEY_VARIABLE);
  else Deno.env.set(KEY_VARIABLE, value);
  try {
    return run();
  } finally {
    if (before === undefined) Deno.env.delete(KEY_VARIABLE);
    else Deno.env.set(KEY_VARIABLE, before);
  }
}

Deno.test("a text key file gives the bytes withKeys takes for the text, without one final line break", async () => {
  await using files = await keyFiles([
    TEXT_KEY,
    `${TEXT_KEY}\n`,
    `${TEXT_KEY}\r\n`,
  ]);
  for (const path of files.paths) {
    assert.deepEqual(read(path).key, keyBytes(TEXT_KEY), path);
  }
});

Deno.test("a text key file loses only one final line break, and nothing else", async () => {
  await using files = await keyFiles([
    `${TEXT_KEY}\n\n`,
    `${TEXT_KEY}\r`,
    ` ${TEXT_KEY} `,
    `${TEXT_KEY}\nsecond line`,
  ]);
  const keys = files.paths.map((path) => read(path).key);
  assert.deepEqual(keys, [
    encode(`${TEXT_KEY}\n`),
    encode(`${TEXT_KEY}\r`),
    encode(` ${TEXT_KEY} `),
    encode(`${TEXT_KEY}\nsecond line`),
  ]);
});

Deno.test("the key variable is read like a text key file: one final line break is dropped", async () => {
  await using files = await keyFiles([`${TEXT_KEY}\n`]);
  const fromFile = read(files.paths[0]).key;
  for (const value of [TEXT_KEY, `${TEXT_KEY}\n`, `${TEXT_KEY}\r\n`]) {
    assert.deepEqual(
      withVariable(value, () => read(undefined).key),
      fromFile,
      JSON.stringify(value),
    );
  }
  assert.deepEqual(
    withVariable(`${TEXT_KEY}\n\n`, () => read(undefined).key),
    encode(`${TEXT_KEY}\n`),
  );
});

Deno.test("a binary key file is its bytes as they are, so two different files never give one key", async () => {
  // Not UTF-8: each would decode to the same replacement characters.
  const first = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
  const second = Uint8Array.from({ length: 32 }, (_, i) => 0xc0 ^ i);
  const endsInLineFeed = Uint8Array.of(...first.subarray(0, 31), 0x0a);
  await using files = await keyFiles([first, second, endsInLineFeed]);
  const keys = files.paths.map((path) => read(path).key);
  assert.deepEqual(keys, [first, second, endsInLineFeed]);
  assert.notDeepEqual(keys[0], keys[1]);
});

Deno.test("an empty key, from a file or the variable, is an error rather than no key", async () => {
  await using files = await keyFiles(["", "\n", "\r\n"]);
  for (const path of files.paths) {
    assert.throws(() => read(path), { name: "DiscoveryError", message: /it is empty/ }, path);
  }
  for (const value of ["", "\n", "\r\n"]) {
    assert.throws(
      () => withVariable(value, () => read(undefined)),
      { name: "DiscoveryError", message: new RegExp(`${KEY_VARIABLE}: it is empty`) },
    );
  }
  assert.equal(withVariable(undefined, () => read(undefined).key), undefined);
});

Deno.test("a key file that cannot be read gives a DiscoveryError naming it", () => {
  assert.throws(() => read("/nonexistent/key"), (error: unknown) => {
    assert.ok(error instanceof DiscoveryError);
    assert.match(error.message, /^Cannot read key file \/nonexistent\/key: /);
    return true;
  });
});

Deno.test("a key file its group or others can access gets one warning naming it and its mode", async () => {
  await using open = await keyFiles([TEXT_KEY], 0o644);
  const first = read(open.paths[0]);
  assert.deepEqual(first.key, encode(TEXT_KEY));
  assert.equal(first.warnings.length, 1);
  assert.match(first.warnings[0], new RegExp(`${open.paths[0]} .*group or others.*0644`));
  assert.match(first.warnings[0], /chmod 600/);
  // Once per file: the doctor opens two charts with one key file.
  assert.deepEqual(read(open.paths[0]).warnings, []);
  for (const mode of [0o640, 0o604, 0o620]) {
    await using other = await keyFiles([TEXT_KEY], mode);
    assert.equal(read(other.paths[0]).warnings.length, 1, mode.toString(8));
  }
});

Deno.test("a key file only its owner can access gets no warning", async () => {
  for (const mode of [0o600, 0o400, 0o700]) {
    await using files = await keyFiles([TEXT_KEY], mode);
    assert.deepEqual(read(files.paths[0]).warnings, [], mode.toString(8));
  }
});

Deno.test("interface flags that select nothing are refused, naming the interfaces there are", () => {
  const iface = (name: string, loopback = false, up = true): NetInterface => ({
    name,
    family: 4,
    address: loopback ? "127.0.0.1" : "198.18.0.1",
    netmask: "255.0.0.0",
    index: 0,
    loopback,
    up,
    multicast: !loopback,
    flagsKnown: true,
  });
  const here = [iface("lo", true), iface("eth0"), iface("eth1", false, false)];
  assert.equal(selectionProblem({}, here), undefined);
  assert.equal(selectionProblem({ include: ["eth0"] }, here), undefined);
  assert.equal(
    selectionProblem({ include: ["eth0", "nosuchif"] }, here),
    "--interface nosuchif: no such interface; the interfaces here are lo, eth0, eth1",
  );
  assert.equal(
    selectionProblem({ include: ["eth1"] }, here),
    "the interface flags leave no interface that is up to discover on; the interfaces here are " +
      "lo, eth0, eth1",
  );
  assert.match(selectionProblem({ exclude: ["lo", "eth0"] }, here)!, /leave no interface/);
  assert.match(selectionProblem({ include: ["eth0"], loopbackOnly: true }, here)!, /leave no/);
  assert.equal(selectionProblem({ loopbackOnly: true }, here), undefined);
});
