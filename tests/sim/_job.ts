/**
 * One scenario of the report, run in a worker so that the report keeps
 * both cores busy: it takes a job, runs it, and posts back what it
 * measured with its wall-clock cost and, for the starts, the heap the
 * world holds at the end.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import {
  firstRound,
  type FirstRoundMeasurement,
  type LossMeasurement,
  type StartMeasurement,
  startTogether,
  underLoss,
} from "./_scenarios.ts";

/** A scenario to run. */
export type Job =
  | { kind: "start"; n: number; maxEntries?: number }
  | { kind: "loss"; n: number; rate: number; timerLateness: number; ttls: number; warmup: number }
  | { kind: "first-round"; n: number; budget: number };

/** What a job measured, and what it cost. */
export type JobResult =
  & { job: Job; wall: number; delivered: number; heap?: number; heapPerPair?: number }
  & (
    | { kind: "start"; measured: Omit<StartMeasurement, "world"> }
    | { kind: "loss"; measured: LossMeasurement }
    | { kind: "first-round"; measured: Omit<FirstRoundMeasurement, "world"> }
  );

const SEED = 1;

/** The heap in use, after a full collection where the runtime allows one. */
function heapInUse(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Deno.memoryUsage().heapUsed;
}

function run(job: Job): JobResult {
  const started = performance.now();
  const wall = () => performance.now() - started;
  switch (job.kind) {
    case "start": {
      const limits = job.maxEntries ? { maxEntries: job.maxEntries } : undefined;
      const { world, ...measured } = startTogether(job.n, { seed: SEED, limits });
      const heap = heapInUse();
      return {
        job,
        kind: "start",
        measured,
        wall: wall(),
        delivered: measured.delivered,
        heap,
        heapPerPair: heap / world.chartedPairs,
      };
    }
    case "loss": {
      const { n, rate, timerLateness, ttls, warmup } = job;
      const loss = { kind: "independent", rate } as const;
      const measured = underLoss(n, { seed: SEED, loss, timerLateness, ttls, warmup });
      return {
        job,
        kind: "loss",
        measured,
        wall: wall(),
        delivered: measured.delivered,
      };
    }
    case "first-round": {
      const keepGoing = () => wall() < job.budget;
      const { world, ...measured } = firstRound(job.n, { seed: SEED, keepGoing });
      // Its cost is the time it ran, not the collection that measures its heap.
      const ran = wall();
      const heap = heapInUse();
      return {
        job,
        kind: "first-round",
        measured,
        wall: ran,
        delivered: measured.delivered,
        heap,
        heapPerPair: heap / world.chartedPairs,
      };
    }
  }
}

self.onmessage = (message: MessageEvent<Job>) => {
  self.postMessage(run(message.data));
};
