/**
 * How the CLI writes what it has seen: times, the table, one line per
 * change, and JSON lines.
 *
 * @module
 */

import type { Entry } from "../../mod.ts";
import type { Sighting } from "./sightings.ts";

/**
 * Returns the wall-clock time of a `performance.now()` reading.
 *
 * @param at The reading.
 * @returns The time.
 */
export function wallClock(at: number): Date {
  return new Date(performance.timeOrigin + at);
}

/**
 * Formats a time of day as local `HH:MM:SS.mmm`.
 *
 * @param date The time.
 * @returns The formatted time.
 */
export function clockTime(date: Date): string {
  const two = (n: number) => `${n}`.padStart(2, "0");
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.` +
    `${date.getMilliseconds()}`.padStart(3, "0");
}

/**
 * Formats how long ago something happened: `0.4 s ago`, `12.0 s ago`,
 * `3 min ago`, `1.5 h ago`.
 *
 * @param ms Milliseconds since then.
 * @returns The formatted duration.
 */
export function ago(ms: number): string {
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  return `${(seconds / 3600).toFixed(1)} h ago`;
}

/**
 * Describes an instance's data: its ports, or its message as JSON.
 *
 * @param entry The instance.
 * @returns `9042, 9043` or `{"role":"db"}`.
 */
export function describeData(entry: Entry): string {
  return "ports" in entry ? entry.ports.join(", ") : JSON.stringify(entry.msg);
}

/**
 * Names the data column for the instances shown.
 *
 * @param entries The instances.
 * @returns `PORTS`, `MSG`, or `DATA` when there are both kinds.
 */
export function dataHeading(entries: readonly Entry[]): string {
  const hasPorts = entries.some((entry) => "ports" in entry);
  const hasMsg = entries.some((entry) => !("ports" in entry));
  return hasPorts && hasMsg ? "DATA" : hasMsg ? "MSG" : "PORTS";
}

/**
 * Pads every column but the last to its widest cell, two spaces apart.
 *
 * @param rows The cells, row by row.
 * @returns The lines.
 */
export function alignColumns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => widths[i] = Math.max(widths[i] ?? 0, cell.length));
  }
  return rows.map((row) =>
    row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i])).join("  ")
  );
}

/**
 * An instance's address as the table shows it: with its other family's
 * after it when it was heard over both (`198.18.0.2 fd00::2`).
 *
 * @param entry The instance.
 * @returns The cell.
 */
export function addressCell(entry: Entry): string {
  return entry.addresses ? entry.addresses.join(" ") : entry.address;
}

/**
 * Formats instances as an aligned table: id, address, ports or message, and
 * the wall-clock times they were first and last seen.
 *
 * @param sightings The instances, in the order to show them.
 * @returns The table, a heading line and a line per instance.
 */
export function formatTable(sightings: readonly Sighting[]): string {
  return alignColumns([
    ["ID", "ADDRESS", dataHeading(sightings.map((s) => s.entry)), "FIRST SEEN", "LAST SEEN"],
    ...sightings.map((s) => [
      `${s.entry.id}`,
      addressCell(s.entry),
      describeData(s.entry),
      clockTime(wallClock(s.firstSeen)),
      clockTime(wallClock(s.lastSeen)),
    ]),
  ]).join("\n");
}

/**
 * Formats a change as one line: its time, what changed, and the instance.
 *
 * @param sighting The instance right after the change.
 * @returns `12:00:01.234  added    7  127.0.0.1  9042`, with what it was
 *   before an update and why it left after a removal.
 */
export function formatChange(sighting: Sighting): string {
  const { entry, previous } = sighting;
  const cells = [
    clockTime(wallClock(sighting.changedAt)),
    sighting.change.padEnd(7),
    `${entry.id}`,
    addressCell(entry),
    describeData(entry),
  ];
  if (previous) cells.push(`(was ${addressCell(previous)}  ${describeData(previous)})`);
  if (sighting.reason) cells.push(`(${sighting.reason})`);
  return cells.join("  ");
}

/**
 * Describes a collision: another instance announces a charted id, or ours.
 *
 * @param entry The other instance.
 * @param withUs Whether it announces our own id.
 * @returns What happened, in words.
 */
export function describeCollision(entry: Entry, withUs: boolean): string {
  const other = `another instance, at ${entry.address} with ${describeData(entry)},`;
  return withUs
    ? `${other} announces our own id ${entry.id}: give each instance an id of its own`
    : `${other} also announces id ${entry.id}: the chart keeps the one it knows`;
}

/**
 * Formats a collision as one line, like {@linkcode formatChange}.
 *
 * @param entry The other instance.
 * @param withUs Whether it announces our own id.
 * @param at When it was noticed.
 * @returns The line.
 */
export function formatCollision(entry: Entry, withUs: boolean, at: number): string {
  return [
    clockTime(wallClock(at)),
    "collision",
    `${entry.id}`,
    entry.address,
    describeData(entry),
    `(${withUs ? "our own id" : "another instance with this id"})`,
  ].join("  ");
}

/** Where an instance is and what it shares, as JSON fields; see the CLI's help. */
function placeFields(entry: Entry): Record<string, unknown> {
  const data = "ports" in entry ? { ports: entry.ports } : { msg: entry.msg };
  const addresses = entry.addresses ? { addresses: entry.addresses } : {};
  return { address: entry.address, ...addresses, ...data };
}

/** An instance's fields in JSON lines. */
function jsonFields(entry: Entry): Record<string, unknown> {
  return { id: `${entry.id}`, ...placeFields(entry) };
}

/**
 * Formats an instance as a JSON line of type `"entry"`.
 *
 * @param sighting The instance.
 * @returns The line, without a line break.
 */
export function entryJson(sighting: Sighting): string {
  return JSON.stringify({
    type: "entry",
    ...jsonFields(sighting.entry),
    firstSeen: wallClock(sighting.firstSeen).toISOString(),
    lastSeen: wallClock(sighting.lastSeen).toISOString(),
  });
}

/**
 * Formats a change as a JSON line of type `"added"`, `"updated"` or `"removed"`.
 *
 * @param sighting The instance right after the change.
 * @returns The line, without a line break.
 */
export function changeJson(sighting: Sighting): string {
  const { previous } = sighting;
  return JSON.stringify({
    type: sighting.change,
    ...jsonFields(sighting.entry),
    firstSeen: wallClock(sighting.firstSeen).toISOString(),
    lastSeen: wallClock(sighting.lastSeen).toISOString(),
    time: wallClock(sighting.changedAt).toISOString(),
    ...(previous ? { previous: placeFields(previous) } : {}),
    ...(sighting.reason ? { reason: sighting.reason } : {}),
  });
}

/**
 * Formats a collision as a JSON line of type `"collision"`.
 *
 * @param entry The other instance.
 * @param withUs Whether it announces our own id.
 * @param at When it was noticed.
 * @returns The line, without a line break.
 */
export function collisionJson(entry: Entry, withUs: boolean, at: number): string {
  return JSON.stringify({
    type: "collision",
    ...jsonFields(entry),
    withUs,
    time: wallClock(at).toISOString(),
  });
}
