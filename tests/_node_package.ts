/**
 * The npm package as a Node.js or Bun user gets it: `deno task build:node`
 * once per test process, and a project folder with the package in its
 * node_modules, imported by its name.
 *
 * @module
 */

import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

/** The unpacked package. */
export const BUILT = `${ROOT}dist/npm`;

/** The packed package. */
export const PACKED = `${ROOT}dist/instance-chart.tgz`;

let built: Promise<void> | undefined;

/** Builds the npm package, once for this test process. */
export function buildForNode(): Promise<void> {
  built ??= (async () => {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["task", "build:node"],
      cwd: ROOT,
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, `deno task build:node failed:\n${new TextDecoder().decode(stderr)}`);
  })();
  return built;
}

/**
 * A project folder with the built package in node_modules.
 *
 * @param files Files to write there, by name.
 * @returns The folder.
 */
export async function nodeProject(files: Record<string, string>): Promise<string> {
  await buildForNode();
  const dir = await Deno.makeTempDir({ prefix: "instance-chart-node-" });
  await Deno.mkdir(`${dir}/node_modules/@x`, { recursive: true });
  await Deno.symlink(BUILT, `${dir}/node_modules/@x/instance-chart`);
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  return dir;
}
