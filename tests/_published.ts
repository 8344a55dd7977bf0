/**
 * The package as `deno publish` would upload it, for the tests of what its
 * users see.
 *
 * @module
 */

import assert from "node:assert/strict";

/** The repository's root. */
export const ROOT: URL = new URL("../", import.meta.url);

/**
 * The files `deno publish --dry-run` lists.
 *
 * @returns Their paths, relative to the repository's root.
 */
export async function publishedFiles(): Promise<string[]> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  assert.equal(code, 0, text);
  return [...text.matchAll(/^\s+(file:\/\/\S+)/gm)].map(([, url]) =>
    decodeURIComponent(new URL(url).pathname.slice(ROOT.pathname.length))
  );
}
