/**
 * A process of many charts on a lab host, as a service that runs many
 * instances in one process does: they share the discovery socket and what
 * the process may unicast to each source.
 *
 * @module
 */

import type { LabHost } from "./_lab.ts";
import type { Counters } from "../mod.ts";
import assert from "node:assert/strict";
import { TextLineStream } from "./_lines.ts";

/** How the process's charts are made. */
export interface ChartsProcessOptions {
  /** The announcement interval's ramp of every chart. */
  rampdown?: { min: number; max: number; rampdown: number };
  /** The first chart's id; the others follow. @default {1} */
  firstId?: number;
  /** Ready only once every chart holds this many instances (itself included). @default {0} */
  expect?: number;
}

/** A running process of charts. */
export interface ChartsProcess {
  /** When all its charts had started to maintain: `performance.timeOrigin + performance.now()`. */
  readonly readyAt: number;
  /** Its charts' counters, summed, when it was ready. */
  readonly readyCounters: Partial<Record<keyof Counters, number>>;
  /** Ends it and returns its charts' counters, summed. */
  stop(): Promise<Partial<Record<keyof Counters, number>>>;
}

/**
 * Starts `n` charts in one process on a lab host, ids 1 to n (or from `firstId`), service port
 * 9000 + id, sharing the discovery port 8080. Closing its input ends it: it
 * waits until no chart holds a forged instance (ids from 1,000,000), then
 * closes them all and prints their counters, summed.
 *
 * @param host The lab host.
 * @param n How many charts.
 * @param options How they are made.
 * @returns The process, once its charts maintain.
 */
export async function processOfCharts(
  host: LabHost,
  n: number,
  options: ChartsProcessOptions = {},
): Promise<ChartsProcess> {
  const lab = new URL("./_lab.ts", import.meta.url).href;
  const mod = new URL("../mod.ts", import.meta.url).href;
  const rampdown = options.rampdown ? `.withRampdown(${JSON.stringify(options.rampdown)})` : "";
  const { firstId = 1, expect = 0 } = options;
  const child = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      host.name,
      "deno",
      "eval",
      "--unstable-net",
      `
      import ${JSON.stringify(lab)};
      import { ChartBuilder, foundEveryone, maintain } from ${JSON.stringify(mod)};
      const charts = [];
      for (let id = ${firstId}; id < ${firstId + n}; id++) {
        charts.push(await new ChartBuilder().withId(id).withServicePort(9000 + id)
          .withDiscoveryPort(8080).localDiscovery(true)${rampdown}.finish());
      }
      for (const chart of charts) maintain(chart);
      const maintainedAt = performance.timeOrigin + performance.now();
      if (${expect} > 0) await Promise.all(charts.map((chart) => foundEveryone(chart, ${expect})));
      const summed = () => {
        const sum = {};
        for (const chart of charts) {
          for (const [name, value] of Object.entries(chart.counters)) {
            if (typeof value === "number") sum[name] = (sum[name] ?? 0) + value;
          }
        }
        return sum;
      };
      console.log("ready " + maintainedAt + " " + JSON.stringify(summed()));
      for await (const _ of Deno.stdin.readable) {}
      const forged = () => charts.some((chart) => chart.entries().some((e) => e.id >= 1_000_000n));
      while (forged()) await new Promise((resolve) => setTimeout(resolve, 50));
      for (const chart of charts) await chart.close();
      console.log(JSON.stringify(summed()));
    `,
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
    new TextLineStream(),
  )[Symbol.asyncIterator]();
  const ready = (await lines.next()).value ?? "";
  assert.match(ready, /^ready \d/);
  const [, at, counters] = ready.trim().split(" ");
  return {
    readyAt: Number(at),
    readyCounters: JSON.parse(counters),
    async stop() {
      await child.stdin.close();
      let last = "";
      for (let next = await lines.next(); !next.done; next = await lines.next()) {
        if (next.value.trim() !== "") last = next.value;
      }
      await child.status;
      return JSON.parse(last);
    },
  };
}
