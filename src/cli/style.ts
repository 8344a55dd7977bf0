/**
 * Colour on the terminal: only when the output is a terminal, and never when
 * the `NO_COLOR` environment variable is set (https://no-color.org).
 *
 * @module
 */

/** A way to paint text: with ANSI colours, or leaving it as it is. */
export interface Paint {
  /** Whether this paint adds colour at all. */
  readonly color: boolean;
  /** New instances. */
  green(text: string): string;
  /** Changed instances and warnings. */
  yellow(text: string): string;
  /** Gone instances and failures. */
  red(text: string): string;
  /** Headings. */
  bold(text: string): string;
  /** Less important text. */
  dim(text: string): string;
}

function sgr(open: number, close: number): (text: string) => string {
  return (text) => `\x1b[${open}m${text}\x1b[${close}m`;
}

const plain = (text: string) => text;

/**
 * Returns the paint for an output.
 *
 * @param isTerminal Whether the output is a terminal.
 * @returns Colours on a terminal without `NO_COLOR`, plain text otherwise.
 */
export function paintFor(isTerminal: boolean): Paint {
  const color = isTerminal && !Deno.noColor;
  return color
    ? {
      color,
      green: sgr(32, 39),
      yellow: sgr(33, 39),
      red: sgr(31, 39),
      bold: sgr(1, 22),
      dim: sgr(2, 22),
    }
    : { color, green: plain, yellow: plain, red: plain, bold: plain, dim: plain };
}
