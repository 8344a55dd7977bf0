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

Deno.test("a key given as text is the key of its UTF-8 bytes", () => {
  const text = "a key of sixteen bytes or more, é";
  const signer = new Keyring([text]);
  const datagram = encodeAnnouncement({
    header: DEFAULT_HEADER,
    id: 7n,
    ports: [9042],
    reply: false,
    seq: 1,
    signerId: signer.signerId,
  });
  signer.sign(datagram);
  const verifier = new Keyring([new TextEncoder().encode(text)]);
  assert.equal(verifier.verify(datagram, findSignature(datagram)), undefined);
  assert.deepEqual(verifier.signerId, signer.signerId);
});

Deno.test("a signed datagram with any one bit flipped fails verification", () => {
  const keyring = new Keyring(["the only key, sixteen or more"]);
  const datagram = encodeAnnouncement({
    header: DEFAULT_HEADER,
    id: 7n,
    ports: [9042],
    reply: false,
    ttl: 3300,
    incarnation: 5n,
    seq: 1,
    signerId: keyring.signerId,
  });
  keyring.sign(datagram);
  assert.equal(keyring.verify(datagram, findSignature(datagram)), undefined);
  for (let bit = 0; bit < datagram.length * 8; bit++) {
    const flipped = datagram.slice();
    flipped[bit >> 3] ^= 1 << (bit & 7);
    assert.notEqual(keyring.verify(flipped, findSignature(flipped)), undefined, `bit ${bit}`);
  }
});

Deno.test("a key that is neither text nor bytes is a TypeError", () => {
  assert.throws(() => new Keyring([42 as unknown as string]), TypeError);
});
