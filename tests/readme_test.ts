/**
 * The README's first example, run as a reader runs it: saved to a file of
 * its own and started as three copies at once, each a `deno run -A` in a
 * fresh process, with `jsr:@x/instance-chart` pointing at this checkout.
 *
 * @module
 */

import "./_lab.ts";
import assert from "node:assert/strict";
import { Lines } from "./_lines.ts";
import { nodeProject } from "./_node_package.ts";
import { requireTool } from "./_tools.ts";

const ROOT = new URL("../", import.meta.url);
const DEADLINE = 60_000;

/**
 * The code blocks of the README in a language, in order.
 *
 * @param lang The language of the fence (`ts`, `js`).
 * @returns The blocks' code.
 */
export async function readmeBlocks(lang: string): Promise<string[]> {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  return [...readme.matchAll(new RegExp("^```" + lang + "\\n([\\s\\S]*?)^```$", "gm"))]
    .map(([, code]) => code);
}

/** A copy of an example in a process of its own. */
class Copy implements AsyncDisposable {
  readonly stdout: Lines;
  readonly stderr: Lines;
  readonly #child: Deno.ChildProcess;

  constructor(name: string, dir: string, file: string, runtime = "deno") {
    this.#child = new Deno.Command(runtime === "deno" ? Deno.execPath() : runtime, {
      args: runtime === "deno" ? ["run", "-A", file] : [file],
      cwd: dir,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.stdout = new Lines(`${name}'s stdout`, this.#child.stdout);
    this.stderr = new Lines(`${name}'s stderr`, this.#child.stderr);
  }

  /** Sends Ctrl-C and returns the exit status. */
  interrupt(): Promise<Deno.CommandStatus> {
    this.#child.kill("SIGINT");
    return this.#child.status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Exited already.
    }
    await this.#child.status;
  }
}

/** Waits until each of three copies has printed the other two, and checks what they printed. */
async function eachSeesTheOtherTwo(copies: Copy[], signal: AbortSignal): Promise<void> {
  // A line for each other instance: its id and its address (as Deno or Node.js print them).
  const ADDRESS = /^(\d+)n \{ hostname: ["']127\.0\.0\.1["'], port: 8042 \}$/;
  const seen = await Promise.all(copies.map(async (copy) => {
    await copy.stdout.line(
      "the other two",
      () => copy.stdout.lines.filter((line) => ADDRESS.test(line)).length >= 2,
      signal,
    );
    return copy.stdout.lines.map((line) => ADDRESS.exec(line)?.[1]).filter((id) => id);
  }));
  // Three instances, each seen by the other two.
  const all = new Set(seen.flat());
  assert.equal(all.size, 3, JSON.stringify(seen));
  for (const ids of seen) assert.equal(new Set(ids).size, 2, JSON.stringify(seen));
}

/** Sends each copy Ctrl-C; each must end with code 0. */
async function endOnCtrlC(copies: Copy[]): Promise<void> {
  for (const copy of copies) {
    const status = await copy.interrupt();
    assert.equal(status.code, 0, copy.stderr.lines.join("\n"));
  }
}

/** Writes the README's first example where a reader would save it, `jsr:` pointing here. */
async function savedFirstExample(): Promise<string> {
  const [first] = await readmeBlocks("ts");
  assert.match(first, /from "jsr:@x\/instance-chart"/);
  const dir = await Deno.makeTempDir({ prefix: "instance-chart-readme-" });
  await Deno.writeTextFile(
    `${dir}/deno.json`,
    JSON.stringify({ imports: { "jsr:@x/instance-chart": new URL("mod.ts", ROOT).pathname } }),
  );
  await Deno.writeTextFile(`${dir}/chart.ts`, first);
  return dir;
}

Deno.test("the README's first example, run as three copies at once, shows each the other two", async () => {
  const dir = await savedFirstExample();
  const signal = AbortSignal.timeout(DEADLINE);
  await using a = new Copy("copy 1", dir, "chart.ts");
  await using b = new Copy("copy 2", dir, "chart.ts");
  await using c = new Copy("copy 3", dir, "chart.ts");
  const copies = [a, b, c];
  await eachSeesTheOtherTwo(copies, signal);
  await endOnCtrlC(copies);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the README's Node.js example runs in Node.js 20 beside two Deno copies, and ends on Ctrl-C", async () => {
  await requireTool("node");
  const [recipe] = await readmeBlocks("js");
  assert.match(recipe, /from "@x\/instance-chart"/);
  const node = await nodeProject({ "chart.mjs": recipe });
  const dir = await savedFirstExample();
  const signal = AbortSignal.timeout(DEADLINE);
  await using a = new Copy("node", node, "chart.mjs", "node");
  await using b = new Copy("copy 1", dir, "chart.ts");
  await using c = new Copy("copy 2", dir, "chart.ts");
  const copies = [a, b, c];
  await eachSeesTheOtherTwo(copies, signal);
  await endOnCtrlC(copies);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(node, { recursive: true });
});
