/**
 * The live view of `--watch` on a terminal: the chart as a table redrawn in
 * place, with new (`+`), changed (`~`) and gone (`-`) instances marked, and
 * coloured unless `NO_COLOR` is set.
 *
 * @module
 */

import {
  addressCell,
  ago,
  alignColumns,
  clockTime,
  dataHeading,
  describeData,
  wallClock,
} from "./format.ts";
import type { Sighting } from "./sightings.ts";
import type { Paint } from "./style.ts";

/** How long a new or changed instance stays marked, in milliseconds. */
export const MARK_MS = 5_000;
/** How long a gone instance stays in the view, in milliseconds. */
export const GONE_MS = 5_000;

/** What a frame is drawn for. */
export interface FrameOptions {
  /** The time to draw, a `performance.now()` reading. */
  now: number;
  /** The terminal's width. */
  columns: number;
  /** The terminal's height. */
  rows: number;
  /** Colours, or none. */
  paint: Paint;
  /** What is watched, for the first line. */
  title: string;
  /** Something to point out below the table, such as a collision. */
  notice?: string;
}

/**
 * Returns the mark of an instance: `+` new, `~` changed, `-` gone, or a space.
 *
 * @param sighting The instance.
 * @param now The time of the frame.
 * @returns The mark.
 */
export function markOf(sighting: Sighting, now: number): string {
  if (sighting.change === "removed") return "-";
  if (now - sighting.changedAt >= MARK_MS) return " ";
  return sighting.change === "added" ? "+" : "~";
}

/**
 * Draws one frame of the live view: a title line, a heading and a line per
 * instance, each cut to the terminal's width, and no more lines than fit.
 *
 * @param sightings The instances to show, gone ones included.
 * @param options What to draw for.
 * @returns The frame's lines.
 */
export function renderFrame(sightings: readonly Sighting[], options: FrameOptions): string[] {
  const { now, paint } = options;
  const charted = sightings.filter((s) => s.change !== "removed").length;
  const title = `${options.title} · ${charted} instance(s) · ${clockTime(wallClock(now))}` +
    " · + new  ~ changed  - gone · Ctrl-C to stop";
  const rows = [
    [" ", "ID", "ADDRESS", dataHeading(sightings.map((s) => s.entry)), "FIRST SEEN", "LAST SEEN"],
    ...sightings.map((s) => [
      markOf(s, now),
      `${s.entry.id}`,
      addressCell(s.entry),
      describeData(s.entry),
      clockTime(wallClock(s.firstSeen)),
      ago(now - s.lastSeen) + (s.change === "removed" ? `, gone (${s.reason})` : ""),
    ]),
  ];
  const width = Math.max(1, options.columns - 1);
  const cut = (line: string) => line.length > width ? `${line.slice(0, width - 1)}…` : line;
  const [heading, ...lines] = alignColumns(rows).map(cut);
  const room = Math.max(1, options.rows - (options.notice ? 4 : 3));
  const shown = lines.length > room ? lines.slice(0, room - 1) : lines;
  const painted = shown.map((line) => {
    const mark = line[0];
    return mark === "+"
      ? paint.green(line)
      : mark === "~"
      ? paint.yellow(line)
      : mark === "-"
      ? paint.red(line)
      : line;
  });
  if (shown.length < lines.length) painted.push(`… and ${lines.length - shown.length} more`);
  if (lines.length === 0) painted.push(paint.dim("  (no instance heard yet)"));
  if (options.notice) painted.push(paint.yellow(cut(`! ${options.notice}`)));
  return [paint.bold(cut(title)), paint.dim(heading), ...painted];
}

const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";
const CLEAR_BELOW = "\x1b[J";
const CLEAR_SCREEN = "\x1b[H\x1b[2J";

/** The terminal the view draws on. */
export interface Terminal {
  /** Writes text as it is. */
  write(text: string): void;
  /** The terminal's size. */
  size(): { columns: number; rows: number };
}

/** A live view on a terminal, redrawn in place. */
export class LiveView {
  #terminal: Terminal;
  #paint: Paint;
  #title: string;
  #lines = 0;
  #clear = false;
  #notice: string | undefined;

  /**
   * Creates the view; it draws nothing until {@linkcode LiveView.prototype.draw}.
   *
   * @param terminal Where to draw.
   * @param paint Colours, or none.
   * @param title What is watched.
   */
  constructor(terminal: Terminal, paint: Paint, title: string) {
    this.#terminal = terminal;
    this.#paint = paint;
    this.#title = title;
  }

  /**
   * Draws the instances over the previous frame.
   *
   * @param sightings The instances, gone ones included.
   * @param now The time, a `performance.now()` reading.
   */
  draw(sightings: readonly Sighting[], now: number): void {
    const { columns, rows } = this.#terminal.size();
    const frame = renderFrame(sightings, {
      now,
      columns,
      rows,
      paint: this.#paint,
      title: this.#title,
    });
    // Back to the first line of the previous frame (or, after a resize that
    // may have rewrapped it, to the top of the screen), then clear below.
    const back = this.#clear
      ? CLEAR_SCREEN
      : this.#lines === 0
      ? HIDE_CURSOR
      : `\r\x1b[${this.#lines}A${CLEAR_BELOW}`;
    this.#terminal.write(back + frame.map((line) => `${line}\n`).join(""));
    this.#lines = frame.length;
    this.#clear = false;
  }

  /**
   * Shows a notice below the table from the next frame on, until another replaces it.
   *
   * @param text The notice.
   */
  notice(text: string): void {
    this.#notice = text;
  }

  /** Makes the next frame clear the screen first: the terminal was resized. */
  resized(): void {
    this.#clear = true;
  }

  /** Shows the cursor again; the last frame stays on the screen. */
  close(): void {
    this.#terminal.write(SHOW_CURSOR);
  }
}
