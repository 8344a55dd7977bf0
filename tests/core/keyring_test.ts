import assert from "node:assert/strict";
import { Keyring } from "../../src/core/keyring.ts";
import { DEFAULT_HEADER, encodeAnnouncement, findSignature } from "../../src/core/wire.ts";

Deno.test("a keyring verifies what any of its keys signed and nothing else", () => {
  const sign = (keys: string[]) => {
    const keyring = new Keyring(keys);
    const datagram = encodeAnnouncement({
      header: DEFAULT_HEADER,
      id: 7n,
      ports: [9042],
      reply: false,
      seq: 1,
      signerId: keyring.signerId,
    });
    keyring.sign(datagram);
    return datagram;
  };
  const old = "the old key, sixteen or more";
  const fresh = "the new key, sixteen or more";
  const both = new Keyring([fresh, old]);
  for (const datagram of [sign([old]), sign([fresh]), sign([old, fresh])]) {
    assert.equal(both.verify(datagram, findSignature(datagram)), undefined);
  }
  const onlyFresh = new Keyring([fresh]);
  const byOld = sign([old]);
  assert.equal(onlyFresh.verify(byOld, findSignature(byOld)), "unknown-key");
  const tampered = sign([fresh]);
  tampered[17] ^= 1;
  assert.equal(onlyFresh.verify(tampered, findSignature(tampered)), "bad-signature");
  const unsigned = encodeAnnouncement({ header: DEFAULT_HEADER, id: 7n, ports: [1], reply: false });
  assert.equal(onlyFresh.verify(unsigned, findSignature(unsigned)), "unsigned");
});

Deno.test("keys must be at least 16 bytes, and a keyring needs one", () => {
  assert.throws(() => new Keyring([]), RangeError);
  assert.throws(() => new Keyring(["too short"]), RangeError);
  assert.throws(() => new Keyring([new Uint8Array(15)]), RangeError);
  assert.ok(new Keyring([new Uint8Array(16)]));
});
