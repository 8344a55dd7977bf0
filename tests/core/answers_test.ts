import assert from "node:assert/strict";
import { answersBare, asksUs, mayAnswer, wantsAnswer } from "../../src/core/answers.ts";
import { type Announcement, DEFAULT_HEADER } from "../../src/core/wire.ts";

function heard(
  flags: { reply?: boolean; probe?: boolean; incarnation?: bigint; asks?: bigint[] },
): Announcement {
  return { header: DEFAULT_HEADER, id: 7n, ports: [9007], reply: false, ...flags };
}

Deno.test("a newcomer just heard that has not heard us is answered, and so is a probe", () => {
  type Case = [
    what: string,
    flags: { reply?: boolean; probe?: boolean; asks?: bigint[] },
    maintaining: boolean,
    isNew: boolean,
    live: boolean,
    heardUs: boolean,
    wanted: boolean,
  ];
  const cases: Case[] = [
    ["a newcomer", {}, true, true, true, false, true],
    ["a newcomer that heard us", {}, true, true, true, true, false],
    ["a newcomer kept while idle or handed over", {}, true, true, false, false, false],
    ["a known instance", {}, true, false, true, false, false],
    ["a probe", { probe: true }, true, false, true, true, true],
    ["a probe kept while idle", { probe: true }, true, false, false, false, true],
    ["an answer", { reply: true }, true, true, true, false, false],
    ["a probe that answers", { reply: true, probe: true }, true, false, true, false, false],
    ["a newcomer, to a sniffer", {}, false, true, true, false, false],
    ["a probe, to a sniffer", { probe: true }, false, false, true, false, false],
    // Our id is 1: an announcement that names it asks as a probe does.
    ["a known instance's round that asks us", { asks: [5n, 1n] }, true, false, true, true, true],
    ["one handed over in the process", { asks: [1n] }, true, false, false, true, true],
    ["a round that asks others", { asks: [5n, 6n] }, true, false, true, true, false],
    ["an answer that asks us", { reply: true, asks: [1n] }, true, false, true, false, false],
    ["a round that asks us, to a sniffer", { asks: [1n] }, false, false, true, false, false],
  ];
  for (const [what, flags, maintaining, isNew, live, heardUs, wanted] of cases) {
    const announcement = heard(flags);
    const asked = asksUs(announcement, 1n);
    assert.equal(wantsAnswer(announcement, asked, maintaining, isNew, live, heardUs), wanted, what);
  }
});

Deno.test("only a chart with ports and no keys answers a bare announcement bare", () => {
  const cases: Array<
    [incarnation: bigint | undefined, hasPorts: boolean, signed: boolean, bare: boolean]
  > = [
    [undefined, true, false, true],
    [undefined, true, true, false],
    [undefined, false, false, false],
    [5n, true, false, false],
    [5n, false, true, false],
  ];
  for (const [incarnation, hasPorts, signed, bare] of cases) {
    assert.equal(
      answersBare(heard({ incarnation }), hasPorts, signed),
      bare,
      `incarnation ${incarnation}, ports ${hasPorts}, signed ${signed}`,
    );
  }
});

Deno.test("an answer may go only to a connected subnet, and never larger than what asked", () => {
  const cases: Array<[answer: number, asked: number, onSubnet: boolean, may: boolean]> = [
    [18, 18, true, true],
    [18, 19, true, true],
    [19, 18, true, false],
    [18, 18, false, false],
    [60, 77, true, true],
    [77, 60, true, false],
  ];
  for (const [answer, asked, onSubnet, may] of cases) {
    assert.equal(mayAnswer(answer, asked, onSubnet), may, `${answer} to ${asked}, ${onSubnet}`);
  }
});
