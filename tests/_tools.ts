/**
 * The programs the lab tests run besides Deno, and a clear failure when one
 * is missing: without it a test would fail later, with a message about
 * something else (a child's output that never came).
 *
 * @module
 */

/** What a test may need, and how to get it. */
const TOOLS = {
  node: { version: "--version", install: "Node.js 20 or newer (https://nodejs.org)" },
  bun: { version: "--version", install: "npm install -g bun" },
  tmux: { version: "-V", install: "apt-get install tmux" },
  python3: { version: "--version", install: "apt-get install python3" },
  dnsmasq: { version: "--version", install: "apt-get install dnsmasq" },
} as const;

const checked = new Map<string, Promise<void>>();

/**
 * Fails unless a program the test runs is on the PATH.
 *
 * @param tool The program.
 * @throws {Error} Naming the program and how to install it, when it is missing.
 */
export function requireTool(tool: keyof typeof TOOLS): Promise<void> {
  let check = checked.get(tool);
  if (!check) {
    check = probe(tool);
    checked.set(tool, check);
  }
  return check;
}

async function probe(tool: keyof typeof TOOLS): Promise<void> {
  const { version, install } = TOOLS[tool];
  try {
    const { success } = await new Deno.Command(tool, {
      args: [version],
      stdout: "null",
      stderr: "null",
    }).output();
    if (!success) throw new Error(`This test needs ${tool}, and \`${tool} ${version}\` failed`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Error(
      `This test needs ${tool}, which is not on the PATH: install it (${install}); ` +
        ".ci/run installs what the tests need",
    );
  }
}
