import "./_lab.ts";
import assert from "node:assert/strict";

const BENCH = new URL("./bench.ts", import.meta.url).pathname;
// A quick run takes about half a minute; the deadline only catches a hang.
const DEADLINE = 300_000;

/** The Markdown tables of a document: rows of cells, header first, separator left out. */
function tables(markdown: string): string[][][] {
  const found: string[][][] = [];
  let current: string[][] | undefined;
  for (const line of markdown.split("\n")) {
    if (!line.startsWith("|")) {
      current = undefined;
      continue;
    }
    // Cells are split on pipes that are not escaped.
    const cells = line.slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim());
    if (!current) found.push(current = []);
    current.push(cells);
  }
  for (const table of found) {
    assert.ok(table.length >= 2, "a table has a header and a separator");
    assert.ok(table[1].every((cell) => /^-+$/.test(cell)), `separator of ${table[0]}`);
    table.splice(1, 1);
  }
  return found;
}

function table(all: string[][][], column: string): string[][] {
  const found = all.find((rows) => rows[0].includes(column));
  assert.ok(found, `a table with a column ${column}`);
  return found;
}

const NUMBER = /^\d{1,3}(,\d{3})*(\.\d+)?$/;

Deno.test("the benchmark's quick run prints its figures as well-formed tables, and a plot", async () => {
  const out = await Deno.makeTempDir({ prefix: "bench_test_" });
  try {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-net", "--v8-flags=--expose-gc", BENCH, "--quick"]
        .concat(["--out", out]),
      stdin: "null",
      signal: AbortSignal.timeout(DEADLINE),
    }).output();
    const printed = new TextDecoder().decode(stdout);
    assert.equal(code, 0, new TextDecoder().decode(stderr));

    const written = await Deno.readTextFile(`${out}/bench_results.md`);
    assert.equal(written.trim(), printed.trim());
    assert.match(written, /^- Machine: \d+ cores,[\s\S]+?, Deno\s\d+\.\d+\.\d+/m);
    assert.match(written, /^- Mode: quick/m);

    const all = tables(written);
    for (const rows of all) {
      for (const row of rows) assert.equal(row.length, rows[0].length, `row ${row}`);
    }

    const times = table(all, "Rust crate");
    const scenarios = times.slice(1).map((row) => `${row[0]} / ${row[1]}`);
    for (
      const expected of [
        "Convergence, one process / 2",
        "Convergence, one process / 10",
        "Join, one host (one process) / 10",
        "Convergence, separate processes, one host / 5",
        "Convergence, separate processes, one host, each chart built as it starts / 5",
        "Convergence, 2 lab hosts × 5 / 10",
        "Join across lab hosts (running on 3, newcomer on its own) / 10",
        "Join through seeds across a router (running in one process, a port each) / 10",
      ]
    ) {
      assert.ok(scenarios.includes(expected), `${expected} in ${scenarios}`);
    }
    for (const row of times.slice(1)) {
      assert.match(row[2], /^\d+/, `trials of ${row[0]}`);
      for (const cell of row.slice(3, 7)) {
        assert.ok(NUMBER.test(cell) || cell === "timeout", `${cell} in ${row[0]}`);
      }
    }

    const fresh = table(all, "First found (ms)").slice(1);
    for (
      const [placement, n] of [["one host, running in one process", "10"], [
        "one host, running in a process each",
        "5",
      ]]
    ) {
      for (const who of ["Deno, Deno.listenDatagram", "Deno, node:dgram", "Node.js"]) {
        const row = fresh.find((cells) =>
          cells[0] === placement && cells[1] === n && cells[2].startsWith(who)
        );
        assert.ok(row, `a fresh newcomer in ${who} joining ${n} running ${placement}`);
        assert.equal(row[3], "3", `every trial of ${row} found everyone`);
        for (const cell of row.slice(4, 9)) assert.match(cell, NUMBER, `${cell} in ${row}`);
        const [median, , build, first] = row.slice(4, 8).map((cell) =>
          Number(cell.replaceAll(",", ""))
        );
        assert.ok(build <= first && first <= median, `built, then one found, then all: ${row}`);
      }
    }
    assert.ok(
      fresh.some((cells) => cells[2].startsWith("bonjour-service")) ||
        /bonjour-service and node-discover failed\*\*: .*not installed/.test(written),
      "bonjour-service measured, or said to be missing",
    );

    const packets = table(all, "Answers from running");
    assert.equal(packets.length, 3, "one row per join scenario");
    for (const row of packets.slice(1)) {
      for (const cell of row.slice(2, 6)) assert.match(cell, NUMBER, `${cell} in ${row[0]}`);
    }

    const traffic = table(all, "Bytes sent");
    assert.equal(traffic.length, 3, "a row for the ramp and one for the steady state");
    for (const row of traffic.slice(1)) {
      for (const cell of row.slice(2, 6)) assert.match(cell, NUMBER, `${cell} in ${row[0]}`);
    }

    const cost = table(all, "Measure");
    assert.ok(
      cost.some((row) =>
        /^Heap per chart entry/.test(row[0]) && /\d+(\.\d+)? (B|KiB)$/.test(row[1])
      ),
    );
    assert.ok(
      cost.some((row) => /^CPU of one chart/.test(row[0]) && /% of one core$/.test(row[1])),
    );
    assert.ok(
      cost.some((row) =>
        /^Convergence of 10 in one process that has run no chart before/.test(row[0]) &&
        /^\d+(\.\d+)? ms median, \d+(\.\d+)? ms worst$/.test(row[1])
      ),
      "the convergence of a fresh process",
    );

    for (const leaving of [/^An instance that closes/, /^An instance killed without a goodbye/]) {
      assert.ok(
        cost.some((row) =>
          leaving.test(row[0]) && /^\d+(\.\d+)? m?s median, .*\((\d+) of \2 removed\)$/.test(row[1])
        ),
        `${leaving}: every instance removed`,
      );
    }

    const codec = table(all, "Datagrams per second");
    const decode = codec.find((row) => row[0].startsWith("decode: port announcement"));
    assert.ok(decode && NUMBER.test(decode[2]), "decode speed in datagrams per second");
    assert.ok(codec.some((row) => row[0].startsWith("verify")), "a row kept for verify");

    const svg = await Deno.readTextFile(`${out}/bench_plot.svg`);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>/);
    assert.match(svg, /<\/svg>\n$/);
    assert.match(svg, /<polyline [^>]*stroke-dasharray="6 4"/, "a floor line");
    assert.match(svg, /Convergence, one process/);
    assert.ok(!/NaN|Infinity/.test(svg), "every coordinate is a number");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
