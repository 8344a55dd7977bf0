import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { HmacSha256, sha256 } from "../../src/core/hmac.ts";

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
