/**
 * The benchmark's figures and how they are shown: statistics over trials, the
 * Markdown tables and the SVG plot, and the machine they were taken on. No
 * sockets; the simulator's report (tests/sim/report.ts) shows its figures
 * with the same helpers.
 *
 * @module
 */

/** The machine a run measured. */
export interface Machine {
  /** Logical cores. */
  cores: number;
  /** The CPU model, from /proc/cpuinfo. */
  cpu: string;
  /** `Deno.version.deno`. */
  deno: string;
  /** `Deno.version.v8`. */
  v8: string;
  /** The kernel release. */
  kernel: string;
}

/**
 * Describes this machine.
 *
 * @returns Its cores, CPU, kernel and runtime.
 */
export function machine(): Machine {
  let cpu = "unknown";
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? cpu;
  } catch {
    // Not Linux, or no /proc.
  }
  return {
    cores: navigator.hardwareConcurrency,
    cpu,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    kernel: Deno.osRelease(),
  };
}

/** Where a row of discovery times is drawn in the plot. */
export type Series =
  | "convergence"
  | "processes"
  | "processes-built-at-start"
  | "lab"
  | "join-host"
  | "join-lab"
  | "join-seeds";

/** Discovery times of one scenario, in milliseconds; `Infinity` for a trial that timed out. */
export interface TimeRow {
  /** What was measured. */
  scenario: string;
  /** How many instances (running instances, for a join). */
  n: number;
  /** The plot line it belongs to. */
  series: Series;
  /** One time per trial. */
  trials: number[];
  /** The floor's time per trial, measured in the same run. */
  floor: number[];
  /** The trials planned; fewer ran when the scenario was stopped. */
  planned: number;
  /** Why trials are missing or failed, when they are. */
  note?: string;
  /** The Rust crate's figure from issue 6, or "—". */
  rust: string;
  /** The target from issue 6, or "—". */
  target: string;
}

/** The packets one join caused, one value per trial. */
export interface JoinPacketsRow {
  /** Where the join happened. */
  scenario: string;
  /** Running instances. */
  n: number;
  /** Unicast answers the running instances sent. */
  answers: number[];
  /** Everything the running instances sent (answers and announcements). */
  sentByRunning: number[];
  /** Everything the newcomer sent. */
  sentByNewcomer: number[];
  /** Datagrams every instance received, summed. */
  received: number[];
}

/** Traffic per instance per second over one window. */
export interface TrafficRow {
  /** Which window. */
  phase: string;
  /** Instances. */
  n: number;
  /** Packets sent. */
  packetsSent: number;
  /** UDP payload bytes sent. */
  bytesSent: number;
  /** Packets received. */
  packetsReceived: number;
  /** UDP payload bytes received. */
  bytesReceived: number;
  /** Received over the datagrams the sends should have delivered (1 = nothing lost). */
  delivered: number;
  /** The reference from issue 6. */
  reference: string;
}

/** One cost figure. */
export interface CostRow {
  /** What was measured. */
  measure: string;
  /** The value, formatted with its unit. */
  value: string;
  /** The target from issue 6, or "—". */
  target: string;
}

/** One codec operation. */
export interface CodecRow {
  /** The operation. */
  operation: string;
  /** Nanoseconds per datagram, or undefined when not measured. */
  ns?: number;
  /** Why it was not measured. */
  missing?: string;
  /** The target from issue 6, or "—". */
  target: string;
}

/** Everything one run measured. */
export interface Report {
  /** The machine. */
  machine: Machine;
  /** `"full"` or `"quick"`. */
  mode: string;
  /** When the run began, ISO 8601. */
  date: string;
  /** Discovery times. */
  times: TimeRow[];
  /** Packets of a join. */
  joinPackets: JoinPacketsRow[];
  /** Traffic. */
  traffic: TrafficRow[];
  /** CPU and memory. */
  cost: CostRow[];
  /** Encode and decode speed. */
  codec: CodecRow[];
  /** How the figures were taken, one line each. */
  notes: string[];
  /** Sections rendered by modules of their own, in Markdown, shown before the others. */
  lead?: string[];
}

/**
 * The median of some values (the mean of the middle two for an even count).
 *
 * @param values The values; not changed.
 * @returns The median, NaN when there are none.
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * The worst (largest) of some values.
 *
 * @param values The values.
 * @returns The largest, NaN when there are none.
 */
export function worst(values: readonly number[]): number {
  return values.length === 0 ? NaN : Math.max(...values);
}

/**
 * Formats milliseconds with about three significant digits.
 *
 * @param ms The time; `Infinity` for a timeout.
 * @returns The text.
 */
export function formatMs(ms: number): string {
  if (Number.isNaN(ms)) return "—";
  if (!Number.isFinite(ms)) return "timeout";
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return ms.toFixed(0);
}

/**
 * Formats a count or rate with about three significant digits and thousands separators.
 *
 * @param value The number.
 * @returns The text.
 */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "—";
  if (!Number.isFinite(value)) return "∞";
  const digits = Math.abs(value) >= 100 || Number.isInteger(value)
    ? 0
    : Math.abs(value) >= 10
    ? 1
    : 2;
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/**
 * Formats bytes as B, KiB or MiB.
 *
 * @param bytes The size.
 * @returns The text.
 */
export function formatBytes(bytes: number): string {
  if (Math.abs(bytes) < 1024) return `${formatNumber(bytes)} B`;
  if (Math.abs(bytes) < 1024 * 1024) return `${formatNumber(bytes / 1024)} KiB`;
  return `${formatNumber(bytes / 1024 / 1024)} MiB`;
}

/**
 * Renders a Markdown table.
 *
 * @param header The column titles.
 * @param rows The cells, row by row.
 * @returns The table, one line per row.
 */
export function table(header: string[], rows: string[][]): string {
  const escape = (cell: string) => cell.replaceAll("|", "\\|");
  const line = (cells: string[]) => `| ${cells.map(escape).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

function trialsCell(row: TimeRow): string {
  const failed = row.trials.filter((value) => !Number.isFinite(value)).length;
  const ran = row.trials.length < row.planned
    ? `${row.trials.length} of ${row.planned}`
    : `${row.trials.length}`;
  const notes = [failed ? `${failed} timed out` : "", row.note ?? ""].filter(Boolean);
  return notes.length ? `${ran} (${notes.join("; ")})` : ran;
}

function ratio(value: number, floor: number): string {
  if (!Number.isFinite(value) || !Number.isFinite(floor) || floor <= 0) return "—";
  return `${formatNumber(value / floor)}×`;
}

/**
 * Renders the whole report as Markdown.
 *
 * @param report The figures.
 * @returns The Markdown document.
 */
export function renderMarkdown(report: Report): string {
  const { machine } = report;
  const out: string[] = [];
  out.push("# Benchmark results", "");
  out.push(
    `- Machine: ${machine.cores} cores, ${machine.cpu}, Linux ${machine.kernel}, ` +
      `Deno ${machine.deno} (V8 ${machine.v8})`,
    `- Mode: ${report.mode}`,
    `- Run: ${report.date}`,
    "",
  );
  for (const section of report.lead ?? []) out.push(section.trimEnd(), "");
  out.push("## Discovery time", "");
  out.push(table(
    [
      "Scenario",
      "N",
      "Trials",
      "Median (ms)",
      "Worst (ms)",
      "Floor median (ms)",
      "Floor worst (ms)",
      "Median / floor",
      "Rust crate",
      "Target",
    ],
    report.times.map((row) => [
      row.scenario,
      `${row.n}`,
      trialsCell(row),
      formatMs(median(row.trials)),
      formatMs(worst(row.trials)),
      formatMs(median(row.floor)),
      formatMs(worst(row.floor)),
      ratio(median(row.trials), median(row.floor)),
      row.rust,
      row.target,
    ]),
  ));
  out.push("", "## Packets one join causes (median per join)", "");
  out.push(table(
    [
      "Scenario",
      "N",
      "Answers from running",
      "Sent by running",
      "Sent by newcomer",
      "Received, all instances",
      "Target",
    ],
    report.joinPackets.map((row) => [
      row.scenario,
      `${row.n}`,
      formatNumber(median(row.answers)),
      formatNumber(median(row.sentByRunning)),
      formatNumber(median(row.sentByNewcomer)),
      formatNumber(median(row.received)),
      `≤ ${row.n} from running (one each)`,
    ]),
  ));
  out.push("", "## Traffic per instance per second", "");
  out.push(table(
    [
      "Window",
      "N",
      "Packets sent",
      "Bytes sent",
      "Packets received",
      "Bytes received",
      "Delivered",
      "Reference",
    ],
    report.traffic.map((row) => [
      row.phase,
      `${row.n}`,
      formatNumber(row.packetsSent),
      formatNumber(row.bytesSent),
      formatNumber(row.packetsReceived),
      formatNumber(row.bytesReceived),
      `${formatNumber(100 * row.delivered)} %`,
      row.reference,
    ]),
  ));
  out.push("", "## Cost", "");
  out.push(table(
    ["Measure", "Value", "Target"],
    report.cost.map((row) => [row.measure, row.value, row.target]),
  ));
  out.push("", "## Codec (one core)", "");
  out.push(table(
    ["Operation", "ns per datagram", "Datagrams per second", "Target"],
    report.codec.map((row) => [
      row.operation,
      row.ns === undefined ? "—" : formatNumber(row.ns),
      row.ns === undefined ? (row.missing ?? "—") : formatNumber(1e9 / row.ns),
      row.target,
    ]),
  ));
  if (report.notes.length) {
    out.push("", "## How", "");
    for (const note of report.notes) out.push(`- ${note}`);
  }
  return out.join("\n") + "\n";
}

interface PlotLine {
  label: string;
  color: string;
  dash?: string;
  hollow?: boolean;
  /** Pixels to shift the points right, so that series at the same N stay apart. */
  shift?: number;
  points: Array<{ n: number; median: number; worst?: number }>;
}

/** How each series is drawn; `ownFloor: false` when it shares the floor of the series before it. */
const SERIES_STYLE: Record<Series, { label: string; color: string; ownFloor?: false }> = {
  "convergence": { label: "Convergence, one process", color: "#1f77b4" },
  "processes": { label: "Convergence, separate processes", color: "#9467bd" },
  "processes-built-at-start": {
    label: "Convergence, separate processes, built at start",
    color: "#8c564b",
    ownFloor: false,
  },
  "lab": { label: "Convergence, lab hosts", color: "#ff7f0e" },
  "join-host": { label: "Join, one host", color: "#d62728" },
  "join-lab": { label: "Join, lab hosts", color: "#2ca02c" },
  "join-seeds": { label: "Join through seeds, across a router", color: "#17becf" },
};

/** The Rust crate's figures from issue 6, drawn for reference. */
const RUST_LINES: PlotLine[] = [
  {
    label: "Rust crate: convergence, one process",
    color: "#7f7f7f",
    dash: "2 3",
    hollow: true,
    points: [{ n: 10, median: 1.5 }, { n: 50, median: 17 }, { n: 200, median: 200 }],
  },
  {
    label: "Rust crate: join, one host",
    color: "#bcbcbc",
    dash: "2 3",
    hollow: true,
    points: [{ n: 10, median: 501 }, { n: 50, median: 991 }, { n: 200, median: 997 }],
  },
];

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/**
 * Draws discovery time against N, log-log: the median of each series, its
 * worst trial as a whisker, its floor as a dashed line of the same colour,
 * and the Rust crate's figures in grey.
 *
 * @param report The figures.
 * @returns The SVG document.
 */
export function renderSvg(report: Report): string {
  const lines: PlotLine[] = [];
  const allSeries = Object.keys(SERIES_STYLE) as Series[];
  for (const [index, series] of allSeries.entries()) {
    const rows = report.times.filter((row) => row.series === series)
      .sort((a, b) => a.n - b.n);
    if (rows.length === 0) continue;
    const { ownFloor, ...style } = SERIES_STYLE[series];
    const shift = (index - (allSeries.length - 1) / 2) * 3;
    lines.push({
      ...style,
      shift,
      points: rows.map((row) => ({
        n: row.n,
        median: median(row.trials),
        worst: worst(row.trials),
      })),
    });
    if (ownFloor === false) continue;
    lines.push({
      label: `${style.label}: floor`,
      color: style.color,
      dash: "6 4",
      hollow: true,
      shift,
      points: rows.map((row) => ({ n: row.n, median: median(row.floor) })),
    });
  }
  lines.push(...RUST_LINES);

  const width = 860, height = 480;
  const plot = { left: 70, top: 40, right: 520, bottom: 420 };
  const finite = lines.flatMap((line) =>
    line.points.flatMap((p) => [p.median, p.worst ?? p.median])
  ).filter((v) => Number.isFinite(v) && v > 0);
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...finite, 1)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...finite, 10)));
  const xMin = 1.5, xMax = 300;
  const x = (n: number) =>
    plot.left + (plot.right - plot.left) * Math.log(n / xMin) / Math.log(xMax / xMin);
  const y = (ms: number) =>
    plot.bottom - (plot.bottom - plot.top) * Math.log(ms / yMin) / Math.log(yMax / yMin);
  const f = (v: number) => v.toFixed(1);

  const svg: string[] = [];
  svg.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  svg.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  svg.push(
    `<text x="${plot.left}" y="22" font-size="14" font-weight="bold">` +
      `Discovery time against N (median, worst as whisker, floor dashed)</text>`,
  );
  for (let decade = yMin; decade <= yMax * 1.0001; decade *= 10) {
    svg.push(
      `<line x1="${plot.left}" y1="${f(y(decade))}" x2="${plot.right}" y2="${f(y(decade))}" ` +
        `stroke="#e5e5e5"/>`,
      `<text x="${plot.left - 6}" y="${f(y(decade) + 4)}" text-anchor="end">` +
        `${formatNumber(decade)}</text>`,
    );
  }
  for (const n of [2, 10, 50, 200]) {
    svg.push(
      `<line x1="${f(x(n))}" y1="${plot.top}" x2="${
        f(x(n))
      }" y2="${plot.bottom}" stroke="#e5e5e5"/>`,
      `<text x="${f(x(n))}" y="${plot.bottom + 16}" text-anchor="middle">${n}</text>`,
    );
  }
  svg.push(
    `<rect x="${plot.left}" y="${plot.top}" width="${plot.right - plot.left}" ` +
      `height="${plot.bottom - plot.top}" fill="none" stroke="#333"/>`,
    `<text x="${(plot.left + plot.right) / 2}" y="${plot.bottom + 34}" text-anchor="middle">` +
      `N (instances)</text>`,
    `<text x="18" y="${(plot.top + plot.bottom) / 2}" text-anchor="middle" ` +
      `transform="rotate(-90 18 ${(plot.top + plot.bottom) / 2})">milliseconds (log)</text>`,
  );
  for (const line of lines) {
    const px = (n: number) => x(n) + (line.shift ?? 0);
    // A median that timed out is drawn as a cross on the top edge.
    for (const p of line.points.filter((p) => p.median === Infinity)) {
      const cx = px(p.n), cy = plot.top;
      svg.push(
        `<path d="M${f(cx - 5)},${f(cy - 5)}L${f(cx + 5)},${f(cy + 5)}` +
          `M${f(cx - 5)},${f(cy + 5)}L${f(cx + 5)},${f(cy - 5)}" stroke="${line.color}" ` +
          `stroke-width="2.5"/>`,
      );
    }
    const points = line.points.filter((p) => Number.isFinite(p.median) && p.median > 0);
    if (points.length > 1) {
      svg.push(
        `<polyline fill="none" stroke="${line.color}" stroke-width="2"` +
          (line.dash ? ` stroke-dasharray="${line.dash}"` : "") +
          ` points="${points.map((p) => `${f(px(p.n))},${f(y(p.median))}`).join(" ")}"/>`,
      );
    }
    for (const p of points) {
      if (p.worst !== undefined && Number.isFinite(p.worst) && p.worst > p.median) {
        svg.push(
          `<line x1="${f(px(p.n))}" y1="${f(y(p.median))}" x2="${f(px(p.n))}" ` +
            `y2="${f(y(p.worst))}" stroke="${line.color}"/>`,
          `<line x1="${f(px(p.n) - 4)}" y1="${f(y(p.worst))}" x2="${f(px(p.n) + 4)}" ` +
            `y2="${f(y(p.worst))}" stroke="${line.color}"/>`,
        );
      }
      svg.push(
        `<circle cx="${f(px(p.n))}" cy="${f(y(p.median))}" r="3.5" ` +
          (line.hollow
            ? `fill="white" stroke="${line.color}" stroke-width="1.5"/>`
            : `fill="${line.color}"/>`),
      );
    }
  }
  lines.forEach((line, i) => {
    const ly = plot.top + 8 + i * 20;
    svg.push(
      `<line x1="${plot.right + 20}" y1="${ly}" x2="${plot.right + 50}" y2="${ly}" ` +
        `stroke="${line.color}" stroke-width="2"` +
        (line.dash ? ` stroke-dasharray="${line.dash}"` : "") + `/>`,
      `<circle cx="${plot.right + 35}" cy="${ly}" r="3.5" ` +
        (line.hollow
          ? `fill="white" stroke="${line.color}" stroke-width="1.5"/>`
          : `fill="${line.color}"/>`),
      `<text x="${plot.right + 58}" y="${ly + 4}">${escapeXml(line.label)}</text>`,
    );
  });
  svg.push(
    `<text x="${plot.right + 20}" y="${plot.top + 8 + lines.length * 20 + 4}" fill="#555">` +
      `× on the top edge: the median timed out</text>`,
  );
  const { machine } = report;
  svg.push(
    `<text x="${plot.left}" y="${height - 8}" fill="#555">` +
      escapeXml(
        `${machine.cores} cores, ${machine.cpu}, Deno ${machine.deno}; ${report.mode} run, ` +
          report.date,
      ) +
      `</text>`,
  );
  svg.push("</svg>");
  return svg.join("\n") + "\n";
}
