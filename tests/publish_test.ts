import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/** The files `deno publish` would upload, relative to the repository's root. */
async function publishedFiles(): Promise<Set<string>> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  assert.equal(code, 0, text);
  const files = new Set<string>();
  for (const [, url] of text.matchAll(/^\s+(file:\/\/\S+)/gm)) {
    files.add(decodeURIComponent(new URL(url).pathname.slice(new URL(ROOT).pathname.length)));
  }
  return files;
}

Deno.test("every link and image of the published README points at a published file", async () => {
  const files = await publishedFiles();
  assert.ok(files.has("README.md") && files.has("mod.ts"), [...files].join("\n"));
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const targets = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map(([, target]) => target)
    .filter((target) => !/^(?:[a-z]+:|#)/.test(target))
    .map((target) => target.replace(/#.*$/, ""));
  assert.ok(targets.length > 0, "the README links no file");
  const missing = targets.filter((target) => !files.has(target));
  assert.deepEqual(missing, [], `not published: ${missing.join(", ")}`);
});
