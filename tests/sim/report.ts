/**
 * `deno task sim`: runs the simulator's large scenarios (issue 13, point 6)
 * for N = 100, 1,000 and 10,000 instances on one link and prints a Markdown
 * report: convergence, join, traffic, answers, false removals under loss,
 * and what each run cost in wall-clock time. Progress goes to stderr.
 *
 * The scenarios run in workers, as many at once as there are cores. Every
 * figure is measured in the run; N = 10,000 runs for a wall-clock budget
 * only, and the report says how far it got and why it goes no further.
 *
 * @module
 */

import { formatBytes, formatMs, formatNumber, machine, table } from "../_bench_report.ts";
import type { Job, JobResult } from "./_job.ts";
import { INTERVAL, RAMP } from "./_scenarios.ts";

/** The most charted peers of a chart with the default limits. */
const MAX_ENTRIES = 2_048;
const SIZES = [100, 1_000, 10_000] as const;
/** How long the 10,000 may run, in ms of wall-clock time. */
const BUDGET = 120_000;
/** A crowd over its charts' bound small enough to run through: the churn N = 10,000 meets. */
const CHURN = { n: 300, maxEntries: 100 };
const LOSSES = [0.1, 0.3];
/** 0: timers fire at the core's deadline exactly; 1: 1 ms late, as the driver's setTimeout does. */
const LATENESS = [0, 1];

/** Per N: time-to-lives watched under loss, and the warm-up before (the ramp for small N). */
const LOSS_RUNS: Record<number, { ttls: number; warmup: number }> = {
  100: { ttls: 100, warmup: RAMP + 2 * INTERVAL },
  // From 200 instances on, crowd spacing keeps every interval at 1 s: no ramp to wait out.
  1_000: { ttls: 2, warmup: 3 * INTERVAL },
};

function jobs(): Job[] {
  const list: Job[] = [{ kind: "first-round", n: 10_000, budget: BUDGET }];
  list.push({ kind: "start", ...CHURN });
  for (const n of [1_000, 100]) {
    list.push({ kind: "start", n });
    for (const rate of LOSSES) {
      for (const timerLateness of LATENESS) {
        list.push({ kind: "loss", n, rate, timerLateness, ...LOSS_RUNS[n] });
      }
    }
  }
  return list;
}

function describe(job: Job): string {
  switch (job.kind) {
    case "start":
      return `N = ${formatNumber(job.n)}: simultaneous start, ramp, steady state, newcomer` +
        (job.maxEntries ? `, at most ${job.maxEntries} charted` : "");
    case "loss":
      return `N = ${formatNumber(job.n)}: ${
        job.rate * 100
      }% loss, timers ${job.timerLateness} ms late, ` +
        `${job.ttls} ttls`;
    case "first-round":
      return `N = ${formatNumber(job.n)}: simultaneous start, for ${BUDGET / 1_000} s of wall time`;
  }
}

/** Runs the jobs on a pool of workers, longest first, and returns their results in order. */
async function runAll(list: Job[]): Promise<JobResult[]> {
  const results: JobResult[] = new Array(list.length);
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    const w = new Worker(new URL("./_job.ts", import.meta.url), { type: "module" });
    try {
      while (next < list.length) {
        const index = next++;
        const job = list[index];
        console.error(`started  ${describe(job)}`);
        results[index] = await new Promise<JobResult>((resolve, reject) => {
          w.onmessage = (message: MessageEvent<JobResult>) => resolve(message.data);
          w.onerror = (event) => {
            event.preventDefault();
            reject(new Error(`Cannot run ${describe(job)}: ${event.message}`));
          };
          w.postMessage(job);
        });
        const at = ((performance.now() - started) / 1_000).toFixed(0);
        console.error(
          `finished ${describe(job)} in ${formatMs(results[index].wall)} ms (at ${at} s)`,
        );
      }
    } finally {
      w.terminate();
    }
  };
  const cores = Math.max(1, Math.min(2, navigator.hardwareConcurrency));
  await Promise.all(Array.from({ length: cores }, worker));
  return results;
}

type Of<K extends JobResult["kind"]> = Extract<JobResult, { kind: K }>;

function render(results: JobResult[], wall: number): string {
  const starts = new Map<number, Of<"start">>();
  const losses = new Map<string, Of<"loss">>();
  let big: Of<"first-round"> | undefined;
  for (const result of results) {
    if (result.kind === "start" && result.job.kind === "start" && !result.job.maxEntries) {
      starts.set(result.job.n, result);
    }
    if (result.kind === "loss" && result.job.kind === "loss") {
      losses.set(`${result.job.n}/${result.job.rate}/${result.job.timerLateness}`, result);
    }
    if (result.kind === "first-round") big = result;
  }
  const m = machine();
  const out: string[] = [];
  out.push("# Simulator results", "");
  out.push(
    // The CPU model is in /proc/cpuinfo, which Deno lets read only with every permission.
    `- Machine: ${m.cores} cores${m.cpu === "unknown" ? "" : `, ${m.cpu}`}, Linux ${m.kernel}, ` +
      `Deno ${m.deno} (V8 ${m.v8})`,
    `- \`deno task sim\`: ${formatNumber(wall / 1_000)} s of wall time, ${results.length} runs ` +
      "in workers, two at a time; seed 1.",
    "- One link, one instance per host, default configuration (ramp 100 ms to 1 s over 10 s, " +
      "ttl 3.3 s, at most 2,048 charted); one-way delay 0.5 ms plus a uniform jitter of up " +
      "to 0.5 ms; timers fire at the core's deadline exactly unless a row says otherwise.",
    "",
  );

  const cell = (n: number, f: (start: Of<"start">) => string) => {
    const start = starts.get(n);
    return start ? f(start) : "not run (below)";
  };
  const ms = (value: number | undefined) => value === undefined ? "never" : formatMs(value);
  const rows: string[][] = [];
  const row = (name: string, f: (n: number) => string) => rows.push([name, ...SIZES.map(f)]);
  row(
    "Converged after a simultaneous start (virtual ms)",
    (n) =>
      n !== big?.job.n
        ? cell(n, (s) => ms(s.measured.convergedAt))
        : big.measured.fullAt === undefined
        ? `charts not yet full (${formatNumber(MAX_ENTRIES)}) when stopped at ` +
          `${formatMs(big.measured.reached)}`
        : `charts full (${formatNumber(MAX_ENTRIES)} each) at ${formatMs(big.measured.fullAt)}`,
  );
  row(
    "Newcomer: its chart complete (ms after its start)",
    (n) => cell(n, (s) => ms(s.measured.joinChartedAt)),
  );
  row(
    "Newcomer: in every chart (ms after its start)",
    (n) => cell(n, (s) => ms(s.measured.joinKnownAt)),
  );
  row(
    `Sent per instance per s, ramp (first ${RAMP / 1_000} s): datagrams, bytes`,
    (n) =>
      cell(
        n,
        (s) => `${formatNumber(s.measured.ramp.packets)}, ${formatNumber(s.measured.ramp.bytes)}`,
      ),
  );
  row(
    "Sent per instance per s, steady (next 5 s): datagrams, bytes",
    (n) =>
      cell(
        n,
        (s) =>
          `${formatNumber(s.measured.steady.packets)}, ${formatNumber(s.measured.steady.bytes)}`,
      ),
  );
  row(
    "Received per instance per s: ramp, steady",
    (n) =>
      cell(
        n,
        (s) =>
          `${formatNumber(s.measured.ramp.received)}, ${formatNumber(s.measured.steady.received)}`,
      ),
  );
  row(
    "Answers per instance over the ramp (most in the first round)",
    (n) => cell(n, (s) => formatNumber(s.measured.rampAnswers)),
  );
  row("Answers per join", (n) => cell(n, (s) => formatNumber(s.measured.answersPerJoin)));
  for (const timerLateness of LATENESS) {
    for (const rate of LOSSES) {
      const timers = timerLateness === 0 ? "exact timers" : `timers ${timerLateness} ms late`;
      row(`False removals at ${rate * 100}% loss, ${timers}: count in pair-ttls (rate)`, (n) => {
        const loss = losses.get(`${n}/${rate}/${timerLateness}`);
        if (!loss) return "not run (below)";
        const { falseRemovals, pairTtls, rate: r } = loss.measured;
        return `${formatNumber(falseRemovals)} in ${formatNumber(pairTtls)} (${
          r.toExponential(1)
        })`;
      });
    }
  }
  row(
    "Sent per instance per s at 10% / 30% loss, exact timers (probes, answers, announcements)",
    (n) => {
      const runs = LOSSES.map((rate) => losses.get(`${n}/${rate}/0`));
      if (runs.some((loss) => !loss)) return "not run (below)";
      return runs.map((loss) => formatNumber(loss!.measured.traffic.packets)).join(" / ");
    },
  );
  row(
    "Heap per charted peer (all of the world's heap over charted pairs)",
    (n) =>
      n === big?.job.n
        ? formatBytes(big.heapPerPair!)
        : cell(n, (s) => formatBytes(s.heapPerPair!)),
  );
  row("Wall-clock cost: datagrams delivered per wall s, over all its runs", (n) => {
    const mine = results.filter((r) => r.job.n === n);
    const delivered = mine.reduce((sum, r) => sum + r.delivered, 0);
    const seconds = mine.reduce((sum, r) => sum + r.wall, 0) / 1_000;
    return `${formatNumber(delivered / seconds)} (${formatNumber(seconds)} s)`;
  });
  out.push(table(["", ...SIZES.map((n) => `N = ${formatNumber(n)}`)], rows), "");

  const churn = results.find((r): r is Of<"start"> =>
    r.kind === "start" && r.job.kind === "start" && r.job.maxEntries !== undefined
  );
  if (big) out.push(...whyNotTenThousand(big, starts.get(1_000), churn), "");

  out.push("## What each run cost", "");
  out.push(
    table(
      ["Run", "Virtual time", "Datagrams delivered", "Wall s", "Delivered per wall s", "Heap"],
      results.map((r) => {
        const virtual = r.kind === "first-round"
          ? r.measured.reached
          : r.kind === "start"
          ? RAMP + 5_000 + 2 * INTERVAL
          : r.job.kind === "loss"
          ? r.job.warmup + r.job.ttls * 3_300
          : NaN;
        return [
          describe(r.job),
          virtual < 1_000 ? `${formatMs(virtual)} ms` : `${formatNumber(virtual / 1_000)} s`,
          formatNumber(r.delivered),
          formatNumber(r.wall / 1_000),
          formatNumber(r.delivered / (r.wall / 1_000)),
          r.heap === undefined ? "—" : formatBytes(r.heap),
        ];
      }),
    ),
    "",
  );
  return out.join("\n");
}

/** How far N = 10,000 got in its budget, and what running it through would take. */
function whyNotTenThousand(
  big: Of<"first-round">,
  thousand: Of<"start"> | undefined,
  churn: Of<"start"> | undefined,
): string[] {
  const { n, reached, delivered, answers, firstRoundShare, chartEvents } = big.measured;
  const rate = delivered / (big.wall / 1_000);
  // The first round, as every virtual second after it: each instance hears every other once.
  const everyPair = n * (n - 1);
  const lines = [
    `## N = ${formatNumber(n)}: how far it got, and why no further`,
    "",
    `In its ${formatNumber(big.wall / 1_000)} s of wall time, the world of ${formatNumber(n)} ` +
    `instances reached virtual time ${formatMs(reached)} ms: ${formatNumber(delivered)} ` +
    `datagrams delivered (${formatNumber(answers)} of them answers), ` +
    `${(firstRoundShare * 100).toFixed(1)}% of the ${formatNumber(everyPair)} deliveries of the ` +
    `first round alone, at ${formatNumber(rate)} deliveries per wall second, with ` +
    `${formatNumber(chartEvents)} chart events and a heap of ${formatBytes(big.heap!)}. ` +
    `Charts full: ${
      big.measured.fullAt === undefined ? "not yet" : `at ${formatMs(big.measured.fullAt)} ms`
    }.`,
    "",
    `Running it through is out of reach on this machine: every virtual second of steady state ` +
    `is another ${formatNumber(everyPair)} deliveries (each instance hears every other ` +
    `once a second): ${formatNumber(everyPair / rate / 60)} minutes at the rate of its ` +
    `first round, whose rest alone would take ` +
    `${formatNumber((1 - firstRoundShare) * everyPair / rate / 60)} minutes more.`,
  ];
  if (thousand?.heapPerPair) {
    const full = n * MAX_ENTRIES * thousand.heapPerPair;
    lines.push(
      `At the ${formatBytes(thousand.heapPerPair)} per charted peer measured at N = 1,000, ` +
        `${formatNumber(n)} full charts of ${formatNumber(MAX_ENTRIES)} hold ` +
        `${formatBytes(full)}; charts that could hold everyone would hold ` +
        `${formatBytes(n * (n - 1) * thousand.heapPerPair)}.`,
    );
  }
  lines.push(
    "",
    `And no chart can hold them all: at most ${formatNumber(MAX_ENTRIES)} of the ` +
      `${formatNumber(n - 1)} others (\`limits.maxEntries\`). A full chart evicts its newest ` +
      `unconfirmed entry for every newcomer it hears. In the ${formatMs(reached)} ms it ran, ` +
      `each chart had ${formatNumber(chartEvents / n)} chart events ("added", and "removed" ` +
      `to make room).`,
  );
  if (churn) {
    const { n: small, maxEntries } = churn.job as { n: number; maxEntries: number };
    const perUncharted = churn.measured.steadyChartEvents / (small - 1 - maxEntries);
    lines.push(
      `The same bound at a size that runs through, ${formatNumber(small)} instances whose ` +
        `charts hold at most ${formatNumber(maxEntries)}: in steady state each chart has ` +
        `${formatNumber(churn.measured.steadyChartEvents)} chart events per second, ` +
        `${formatNumber(perUncharted)} per uncharted instance (an "added" and a "removed", ` +
        `evicted, for each of its announcements); at N = ${formatNumber(n)} that makes ` +
        `${formatNumber(perUncharted * (n - 1 - MAX_ENTRIES))} per chart and second.`,
    );
  }
  return lines;
}

if (import.meta.main) {
  const started = performance.now();
  const results = await runAll(jobs());
  console.log(render(results, performance.now() - started));
}
