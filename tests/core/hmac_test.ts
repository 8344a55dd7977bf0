import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { HmacSha256, sha256 } from "../../src/core/hmac.ts";
import { Keyring } from "../../src/core/keyring.ts";
import { ReplyLimiter } from "../../src/core/limiter.ts";
import { DEFAULT_HEADER, encodeAnnouncement, findSignature } from "../../src/core/wire.ts";

Deno.test("HMAC-SHA-256 gives the RFC 4231 test vectors", () => {
  const vectors: Array<[string, string, string]> = [
    [
      "0b".repeat(20),
      "4869205468657265",
      "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    ],
    [
      "4a656665",
      "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ],
    [
      "aa".repeat(20),
      "dd".repeat(50),
      "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    ],
    [
      "aa".repeat(131),
      "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d2048617368204b6579204669727374",
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ],
  ];
  for (const [key, data, tag] of vectors) {
    assert.equal(
      new HmacSha256(Uint8Array.fromHex(key)).mac(Uint8Array.fromHex(data)).toHex(),
      tag,
    );
  }
});

Deno.test("HMAC-SHA-256 and SHA-256 agree with node:crypto on 2,000 random inputs", () => {
  for (let i = 0; i < 2_000; i++) {
    const key = crypto.getRandomValues(new Uint8Array(i % 150));
    const data = crypto.getRandomValues(new Uint8Array((i * 7) % 300));
    assert.equal(
      new HmacSha256(key).mac(data).toHex(),
      createHmac("sha256", key).update(data).digest("hex"),
    );
    assert.equal(sha256(data).toHex(), createHash("sha256").update(data).digest("hex"));
  }
});

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

Deno.test("answers are limited per source and in total, and refill with time", () => {
  const limiter = new ReplyLimiter({ total: 100, perSource: 10 }, 0);
  let allowed = 0;
  for (let i = 0; i < 50; i++) if (limiter.allow("198.18.0.9", 0)) allowed++;
  assert.equal(allowed, 20, "a burst of twice the per-source rate");
  assert.equal(limiter.allow("198.18.0.9", 50), false);
  assert.equal(limiter.allow("198.18.0.9", 100), true, "one more after 100 ms at 10 per second");
  // Loopback (this machine's instances) is bound only by the total.
  let local = 0;
  for (let i = 0; i < 200; i++) if (limiter.allow("127.0.0.1", 100)) local++;
  // 100 - 20, plus 10 refilled over 100 ms, less the one answer just sent.
  assert.equal(local, 89);
  assert.equal(limiter.allow("198.18.0.10", 100), false, "the total is spent");
  assert.equal(limiter.allow("198.18.0.10", 1_100), true);
});
