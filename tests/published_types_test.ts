/**
 * The builder's type-state, as the package's users see it: a consumer file
 * type-checked against the declarations of the npm build, and against the
 * package as JSR serves it (the files `deno publish --dry-run` would upload,
 * from a registry of this test's own on loopback, which Deno type-checks
 * through the declarations it derives, as it does for every JSR package).
 * Both must give exactly the errors the README promises.
 *
 * @module
 */

import "./_lab.ts";
import assert from "node:assert/strict";
import { buildForNode, BUILT } from "./_node_package.ts";
import { publishedFiles, ROOT } from "./_published.ts";

/** A consumer: each line marked `// error` must fail to type-check, and no other. */
function consumer(specifier: string): string {
  return `import { ChartBuilder } from "${specifier}";

export const complete = new ChartBuilder().withId(1).withServicePort(1).finish();
export const completeOtherOrder = new ChartBuilder().withServicePorts([1]).withRandomId().finish();
export const withMsg = new ChartBuilder().withRandomId().customMsg({ role: "db" }).finish();
export const noId = new ChartBuilder().withServicePort(1).finish(); // error
export const noData = new ChartBuilder().withId(1).finish(); // error
export const neither = new ChartBuilder().finish(); // error
export const onlyHeader = new ChartBuilder().withHeader(7).finish(); // error
`;
}

/** The lines of a consumer that must fail. */
function expectedLines(source: string): number[] {
  return source.split("\n").flatMap((line, i) => line.endsWith("// error") ? [i + 1] : []);
}

/**
 * Type-checks a file.
 *
 * @returns The lines of the file with an error, from `deno check`.
 */
async function errorLines(
  dir: string,
  file: string,
  env: Record<string, string> = {},
): Promise<{ lines: number[]; output: string }> {
  const { stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", file],
    cwd: dir,
    env: { DENO_DIR: `${dir}/.deno`, NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  const lines = [...output.matchAll(new RegExp(`${file}:(\\d+):\\d+`, "g"))].map(([, n]) =>
    Number(n)
  );
  return { lines: [...new Set(lines)].sort((a, b) => a - b), output };
}

Deno.test("the npm build's declarations keep the builder's type-state", async () => {
  await buildForNode();
  const dir = await Deno.makeTempDir({ prefix: "instance-chart-types-" });
  // The declarations alone, each importing the others' declarations.
  for (const { path, text } of await filesUnder(BUILT, ".d.ts")) {
    const rewritten = text.replaceAll(/((?:from +|import\()"\.[^"]*)\.js"/g, '$1.d.ts"');
    await Deno.mkdir(`${dir}/decl/${path}`.replace(/\/[^/]*$/, ""), { recursive: true });
    await Deno.writeTextFile(`${dir}/decl/${path}`, rewritten);
  }
  const source = consumer("./decl/mod.d.ts");
  await Deno.writeTextFile(`${dir}/consumer.ts`, source);
  const { lines, output } = await errorLines(dir, "consumer.ts");
  assert.deepEqual(lines, expectedLines(source), output);
  assert.match(output, /'this' context of type 'ChartBuilder<false, PortEntry>'/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the package as JSR would serve it keeps the builder's type-state", async () => {
  const files = await publishedFiles();
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const [, scope, name] = /^@([^/]+)\/(.+)$/.exec(config.name)!;
  const manifest: Record<string, { size: number; checksum: string }> = {};
  const bodies = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const path of files) {
    const body = await Deno.readFile(new URL(path, ROOT));
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
    const hex = [...digest].map((byte) => byte.toString(16).padStart(2, "0")).join("");
    manifest[`/${path}`] = { size: body.length, checksum: `sha256-${hex}` };
    bodies.set(`/@${scope}/${name}/${config.version}/${path}`, body);
  }
  const meta = { scope, name, latest: config.version, versions: { [config.version]: {} } };
  const versionMeta = { manifest, exports: config.exports };
  const json = (value: unknown) => new Response(JSON.stringify(value));
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const { pathname } = new URL(request.url);
    if (pathname === `/@${scope}/${name}/meta.json`) return json(meta);
    if (pathname === `/@${scope}/${name}/${config.version}_meta.json`) return json(versionMeta);
    const body = bodies.get(pathname);
    return body ? new Response(body) : new Response("not found", { status: 404 });
  });
  const dir = await Deno.makeTempDir({ prefix: "instance-chart-jsr-" });
  const source = consumer(`jsr:${config.name}@${config.version}`);
  await Deno.writeTextFile(`${dir}/consumer.ts`, source);
  const { lines, output } = await errorLines(dir, "consumer.ts", {
    JSR_URL: `http://127.0.0.1:${server.addr.port}/`,
  });
  assert.deepEqual(lines, expectedLines(source), output);
  await Deno.remove(dir, { recursive: true });
});

/** The files under a folder whose names end in `suffix`, with paths relative to it. */
async function filesUnder(
  root: string,
  suffix: string,
  under = "",
): Promise<Array<{ path: string; text: string }>> {
  const found: Array<{ path: string; text: string }> = [];
  for await (const entry of Deno.readDir(`${root}/${under}`)) {
    const path = under ? `${under}/${entry.name}` : entry.name;
    if (entry.isDirectory) found.push(...await filesUnder(root, suffix, path));
    else if (entry.name.endsWith(suffix)) {
      found.push({ path, text: await Deno.readTextFile(`${root}/${path}`) });
    }
  }
  return found;
}
